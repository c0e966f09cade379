/* placeholder: executor.c (being written) */
