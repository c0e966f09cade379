/* placeholder: garp.c (being written) */
