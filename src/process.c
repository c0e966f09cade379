/* placeholder: process.c (being written) */
