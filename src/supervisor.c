/* placeholder: supervisor.c (being written) */
