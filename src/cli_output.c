/* placeholder: cli_output.c (being written) */
