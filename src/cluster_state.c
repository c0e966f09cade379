/* placeholder: cluster_state.c (being written) */
