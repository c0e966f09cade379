/* placeholder: check.c (being written) */
