/* placeholder: simulate.c (being written) */
