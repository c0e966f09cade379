/* repstate.h - the replicated cluster state: a pure state machine fed by messages delivered in
 * Corosync's agreed order, identical on every server.
 *
 * Counters: `version` is +1 for every applied change (of any kind); `epoch` is the configuration
 * generation, +1 for every committed configuration (config_commit). Both only grow along one
 * history, so (epoch, version) orders replicas of the same history. Which history a state is
 * on is its history id (history.h: a hash chain over every applied change's canonical
 * encoding), kept with the last VG_HIST_RING (version, id, kind) points so a member behind on
 * the same history is told from one that diverged (both halves of a two_node split commit).
 * Encoding of the whole state (vg_repstate_encode) is canonical (sorted keys, sorted tables) and
 * is both the snapshot file DIR/state.json (store.h) and the payload of a state_sync message.
 */
#ifndef VIGIL_REPSTATE_H
#define VIGIL_REPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"

/* ---- types ---------------------------------------------------------------- */

#define VG_REPSTATE_EVENTS_MAX 1000		  /* event log keeps the last this many */
#define VG_REPMSG_MAX	       (8u * 1024 * 1024) /* largest encoded message / state file accepted */
#define VG_REPSTATE_YAML_MAX   (1024 * 1024)	  /* largest configuration text */
#define VG_REPSTATE_NAME_MAX   255		  /* node, resource, kind, device names */
#define VG_REPSTATE_TEXT_MAX   4096		  /* event text */

typedef struct {
	char *node;
	bool standby;
	bool maintenance;
} vg_rs_node_admin; /* only nodes with a flag set are kept */

typedef struct {
	char *node;
	uint64_t time_ms; /* wall clock of the recorder: for people, never for ordering */
	char *by;	  /* fence device or operator */
	char *method;	  /* e.g. "off", "reboot", "confirm-down" */
	/* The state's version once this record was applied (the change's own sequence number):
	 * it orders the fencing against the losses of the node (coordinator.c). 0: recorded
	 * before records were ordered (a state file without it), which counts for no loss. */
	uint64_t version;
} vg_rs_fence; /* the latest fencing of each node */

typedef struct {
	char *resource;
	char *node;
	uint32_t count;
	uint64_t last_failure_ms;
} vg_rs_failcount;

typedef struct {
	uint64_t time_ms;
	char *kind;
	char *text;
} vg_rs_event;

typedef struct {
	uint64_t epoch;
	uint64_t version;
	char *config_yaml;	 /* committed configuration, NULL before the first commit */
	vg_rs_node_admin *nodes; /* sorted by node */
	size_t n_nodes;
	vg_rs_fence *fences; /* sorted by node */
	size_t n_fences;
	vg_rs_failcount *failcounts; /* sorted by (resource, node) */
	size_t n_failcounts;
	vg_rs_event *events; /* oldest first, at most VG_REPSTATE_EVENTS_MAX */
	size_t n_events;
	vg_history hist; /* the id of this history and its recent points (history.h) */
} vg_repstate;

typedef enum {
	VG_REPMSG_CONFIG_COMMIT,
	VG_REPMSG_NODE_ADMIN,
	VG_REPMSG_FENCE_RECORD,
	VG_REPMSG_FAILCOUNT_SET,
	VG_REPMSG_FAILCOUNT_CLEAR,
	VG_REPMSG_EVENT,
	VG_REPMSG_STATE_SYNC,
} vg_repmsg_kind;

/* One message; which fields are used depends on kind (unused ones are NULL/0).
 *   config_commit:   yaml, base_version (rejected unless state.version == base_version)
 *   node_admin:      node, standby and/or maintenance (-1 = leave as is, 0/1 = set)
 *   fence_record:    node, time_ms, by, method
 *   failcount_set:   resource, node, count, time_ms (= last_failure_ms)
 *   failcount_clear: resource, node (NULL = every node)
 *   event:           time_ms, event_kind, text
 *   state_sync:      state (whole state; applied only if not older than the receiver's) */
typedef struct {
	vg_repmsg_kind kind;
	char *yaml;
	uint64_t base_version;
	char *node;
	int standby;
	int maintenance;
	uint64_t time_ms;
	char *by;
	char *method;
	char *resource;
	uint32_t count;
	char *event_kind;
	char *text;
	vg_repstate *state;
} vg_repmsg;

/* A member's state summary, exchanged after a membership change (history.h). */
typedef vg_history_summary vg_repstate_summary;

/* ---- functions ------------------------------------------------------------ */

/* Empty state (epoch 0, version 0). NULL on out of memory. */
vg_repstate *vg_repstate_new(void);
void vg_repstate_free(vg_repstate *s);
/* A deep copy (e.g. for encoding elsewhere while s goes on changing). NULL on OOM. */
vg_repstate *vg_repstate_clone(const vg_repstate *s);

/* Apply one agreed-order message. Deterministic: the same sequence gives the same state on
 * every replica. Returns 0 when applied (version +1, or the whole state replaced for
 * state_sync), -1 when rejected with the reason in err; a rejected message changes nothing.
 * Without quorum every change is rejected; state_sync is accepted without quorum (it carries
 * history a quorate partition already committed) but never replaces a newer state. */
int vg_repstate_apply(vg_repstate *s, const vg_repmsg *m, bool quorate, char *err, size_t errlen);

/* Whole state as canonical JSON (NUL-terminated, malloc'd, *len without the NUL). NULL on OOM. */
char *vg_repstate_encode(const vg_repstate *s, size_t *len);
/* Strictly parse the JSON of vg_repstate_encode. NULL with err on any defect. */
vg_repstate *vg_repstate_decode(const char *data, size_t len, char *err, size_t errlen);

/* Who sends its state after a membership change: vg_history_pick's rule (the highest
 * (epoch, version), then the larger previous view, then the lowest nodeid). n when n == 0. */
size_t vg_repstate_pick_source(const vg_repstate_summary *members, size_t n);

/* This state's summary (recent points into s; prev_members as given). */
vg_repstate_summary vg_repstate_summarize(const vg_repstate *s, uint32_t nodeid,
					  uint32_t prev_members);

/* The history id s would have after applying m (a change, not state_sync): the chain over
 * m's canonical encoding. 0, or -1 on OOM or a bad kind. */
int vg_repstate_next_id(const vg_repstate *s, const vg_repmsg *m, vg_hid *out);

/* Message as JSON {"kind": ..., ...} (malloc'd, NUL-terminated). NULL on OOM or bad kind. */
char *vg_repmsg_encode(const vg_repmsg *m, size_t *len);
/* Strictly parse a message: wrong types, missing or unknown fields, unknown kind, oversized
 * input or out-of-range values give NULL with err. Free with vg_repmsg_free. */
vg_repmsg *vg_repmsg_decode(const void *data, size_t len, char *err, size_t errlen);
void vg_repmsg_free(vg_repmsg *m);

#endif
