/* placeholder: config_schema.c (being written) */
