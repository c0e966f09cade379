/* placeholder: ocf.c (being written) */
