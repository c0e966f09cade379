/* placeholder: scheduler.c (being written) */
