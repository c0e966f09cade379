/* placeholder: backoff.c (being written) */
