/* cluster_state.h - the cluster's observed condition, as the scheduler consumes it.
 *
 * Owns: the types describing nodes (state, attributes, fencing), observed resource
 * instances (state, failcounts) and the conversion to and from the `vigil status --json`
 * form. Must not: decide anything (that is the scheduler) or do I/O beyond string buffers.
 */
#ifndef VIGIL_CLUSTER_STATE_H
#define VIGIL_CLUSTER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "strmap.h"

/* ---- types ---------------------------------------------------------------- */

typedef enum {
	VG_NODE_ONLINE,
	VG_NODE_OFFLINE,     /* cleanly gone: runs nothing */
	VG_NODE_UNCLEAN,     /* lost, may still run what it ran: must be fenced */
	VG_NODE_FENCED,	     /* was unclean, confirmed off: runs nothing */
	VG_NODE_STANDBY,     /* online, may run nothing */
	VG_NODE_MAINTENANCE, /* online, its resources are unmanaged */
} vg_node_state;

typedef enum {
	VG_INST_UNKNOWN, /* not probed yet */
	VG_INST_STOPPED,
	VG_INST_RUNNING, /* started (not promotable), or not yet known role */
	VG_INST_UNPROMOTED,
	VG_INST_PROMOTED,
	VG_INST_FAILED, /* a monitor/start failed: possibly active, needs recovery */
} vg_inst_state;

typedef struct {
	char *key;
	char *value;
} vg_attr;

typedef struct {
	char *name;
	vg_node_state state;
	bool probed;	    /* false: resources without a record here are unknown */
	bool fence_pending; /* a fence of this node is under way: do not ask again */
	/* unclean node known to have stopped its resources itself (it lost quorum and its
	 * stop deadline passed): its `requires: quorum` resources count as stopped, its
	 * `requires: fencing` ones still wait for the fence */
	bool self_stopped;
	vg_attr *attrs;
	size_t n_attrs;
} vg_node_cond;

/* One record per (resource, node). `count` is the number of active instances there
 * (clones with max_per_node > 1); failcount/last_failure_ms are kept even when stopped. */
typedef struct {
	char *resource;
	char *node;
	vg_inst_state state;
	uint32_t count;
	uint32_t failcount;
	uint64_t last_failure_ms; /* same clock as vg_cluster_state.now_ms */
	/* It cannot run on this node (its agent is not installed there): not running there (the
	 * state says so), never placed there, nothing to stop. In the status form an instance
	 * with state "failed" and "unrunnable": true. */
	bool unrunnable;
} vg_inst_cond;

typedef struct {
	char *name;   /* cluster name (may be NULL) */
	char *leader; /* may be NULL */
	bool quorate;
	uint64_t now_ms; /* "now" for failure expiry; the scheduler reads no clock */
	vg_node_cond *nodes;
	size_t n_nodes;
	vg_inst_cond *insts;
	size_t n_insts;
	/* private to cluster_state.c: insts' capacity, and the (resource, node) index of the
	 * first n_indexed of them (extended on lookup, so instances appended by hand are found) */
	size_t cap_insts;
	size_t n_indexed;
	vg_strmap index;
} vg_cluster_state;

/* ---- functions ------------------------------------------------------------ */

/* A state where every node of the config is online and probed and nothing runs. */
vg_cluster_state *vg_cluster_state_new(const vg_config *cfg);
vg_cluster_state *vg_cluster_state_dup(const vg_cluster_state *s);
void vg_cluster_state_free(vg_cluster_state *s);

vg_node_cond *vg_cluster_state_node(vg_cluster_state *s, const char *node);
vg_inst_cond *vg_cluster_state_inst(vg_cluster_state *s, const char *resource, const char *node);
/* Find or add the (resource, node) record (added as stopped, count 0). */
vg_inst_cond *vg_cluster_state_inst_get(vg_cluster_state *s, const char *resource,
					const char *node);
/* Append a (resource, node) record without looking for an existing one (stopped, count 0). */
vg_inst_cond *vg_cluster_state_inst_add(vg_cluster_state *s, const char *resource,
					const char *node);
/* The failures of an instance that still count at now_ms: none once r's failure_timeout has
 * passed since the last one (the one rule, for the scheduler and the status alike). */
uint32_t vg_inst_cond_failcount(const vg_resource *r, const vg_inst_cond *ic, uint64_t now_ms);
/* Set (or add) a node attribute. */
void vg_node_cond_set_attr(vg_node_cond *n, const char *key, const char *value);
const char *vg_node_cond_attr(const vg_node_cond *n, const char *key);

/* Parse the `vigil status --json` form. Nodes of cfg missing from the JSON are offline.
 * Returns NULL on error with a message naming the JSON path in err. now_ms is used when
 * the JSON carries no "cluster.now". Extensions read (all optional): nodes[].attributes
 * (object), nodes[].probed (bool), nodes[].fence_pending (bool), nodes[].self_stopped (bool),
 * instances[].failcount, instances[].last_failure (ms), instance state "unknown", cluster.now (ms).
 */
vg_cluster_state *vg_cluster_state_parse(const vg_config *cfg, const char *json, size_t len,
					 uint64_t now_ms, char *err, size_t errlen);

/* Emit the state in the `vigil status --json` form (a new reference / a malloc'd string). */
json_t *vg_cluster_state_to_jansson(const vg_config *cfg, const vg_cluster_state *s);
char *vg_cluster_state_to_json(const vg_config *cfg, const vg_cluster_state *s);

const char *vg_node_state_name(vg_node_state st);
int vg_node_state_from_name(const char *s, vg_node_state *out);
const char *vg_inst_state_name(vg_inst_state st);

#endif
