/* placeholder: yamlpos.c (being written) */
