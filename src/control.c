/* placeholder: control.c (being written) */
