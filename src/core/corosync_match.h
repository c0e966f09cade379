/* corosync_match.h - does a running Corosync's nodelist match the configuration's servers?
 *
 * Owns: the comparison of the nodelist and cluster name read from the local Corosync (see
 * membership.h) with a vg_config, and the message naming the first differences.
 * Must not: talk to Corosync or read files; it is pure (the unit tests call it directly).
 */
#ifndef VIGIL_COROSYNC_MATCH_H
#define VIGIL_COROSYNC_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* One node of the running Corosync's nodelist (cmap nodelist.node.N), as its corosync.conf
 * says. Strings are "" when the key is absent. */
#define VG_COROSYNC_STR_MAX 256
typedef struct {
	uint32_t nodeid;		/* 0 when the entry has no nodeid */
	char addr[VG_COROSYNC_STR_MAX]; /* ring0_addr */
	char name[VG_COROSYNC_STR_MAX];
} vg_corosync_node;

/* How many differences the message names before "and N more". */
#define VG_COROSYNC_MATCH_MAX_NAMED 3

/* 0 when Corosync's nodelist (nodes, n) holds exactly the servers of c, each with the node id
 * of the configuration (vg_node.id, given or derived by the configuration's loader, as
 * `vigil corosync-conf` writes it) at the same ring0_addr (IP addresses compare by value, other
 * addresses as text, case-insensitively), and its cluster_name (NULL: none or unknown, not
 * compared) is c's cluster.name. Corosync's node names are not compared (they are labels).
 * Otherwise -1 with the first differences in err, separated by "; ". */
int vg_corosync_match(const vg_config *c, const char *cluster_name, const vg_corosync_node *nodes,
		      size_t n, char *err, size_t errlen);

#endif
