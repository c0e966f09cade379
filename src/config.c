/* placeholder: config.c (being written) */
