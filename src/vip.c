/* placeholder: vip.c (being written) */
