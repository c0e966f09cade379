/* member_msg.h - the member messages: what servers say to each other about this membership
 * view (the 'C' messages of the CPG group; the 'R' ones are the replicated changes of
 * repstate.h).
 *
 * Owns: the typed form of each message and its strict codec: a report of what a node runs,
 * an action the coordinator asks of a node, a state summary after a membership change, a
 * goodbye, a heartbeat (the lease's), and the operator's fence, cleanup and restart requests,
 * exactly as cluster.c sends them (tests/unit/cluster_fixture.c builds them too). Decoding
 * refuses unknown kinds, unknown or missing fields, wrong types, out-of-range numbers, bad
 * names and unknown resource states, naming what and where. Must not: act on a message or
 * judge whether it is current (the cluster does, with the ring it carries and who sent it).
 */
#ifndef VIGIL_MEMBER_MSG_H
#define VIGIL_MEMBER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "history.h"

/* ---- types ---------------------------------------------------------------- */

#define VG_MM_MAX      (1024u * 1024) /* largest encoded member message accepted */
#define VG_MM_NAME_MAX 255
#define VG_MM_TEXT_MAX 4096  /* a reason (stale, unrunnable): 1..this bytes, may be multiline */
#define VG_MM_PREV_MAX 65535 /* summary.prev: a count of members */
#define VG_MM_WD_MAX_S 3600  /* report.wd.timeout: 1..this seconds */

typedef enum {
	VG_MM_REPORT,	 /* ring, probed, leaving, ack, res; wd, seen, unrunnable, errors,
			    stale optional */
	VG_MM_ACTION,	 /* ring, node, res, op, id */
	VG_MM_SUMMARY,	 /* ring, epoch, version; history, recent, prev optional */
	VG_MM_BYE,	 /* res */
	VG_MM_HEARTBEAT, /* t */
	VG_MM_FENCE,	 /* node */
	VG_MM_CLEANUP,	 /* res */
	VG_MM_RESTART,	 /* res */
} vg_mm_kind;

typedef struct {
	vg_mm_kind kind;
	uint64_t ring; /* the sender's ring when it sent this */
	/* report */
	bool probed;
	bool leaving;
	uint64_t ack;
	json_t *resources; /* report, bye: {"name": "state", ...}; a reference owned by the
			    * message */
	struct {
		char *dev;	    /* the watchdog device the node armed; NULL: none */
		uint64_t timeout_s; /* the timeout it took, 1..VG_MM_WD_MAX_S */
	} wd;
	json_t *seen;	    /* {"node": version} (vg_coord_seen); NULL when not given */
	json_t *unrunnable; /* {"name": "why"} (vg_supervisor_unrunnable); NULL when not given */
	json_t *errors;	    /* {"name": "last error"} (vg_supervisor_errors); NULL when not given */
	char *stale;	    /* why it runs its previous configuration; NULL: the committed one */
	/* action, fence */
	char *node;
	/* action, cleanup, restart */
	char *resource;
	vg_op_kind op;
	uint64_t id;
	/* summary */
	uint64_t epoch;
	uint64_t version;
	vg_hid history; /* the state's history id (history.h); zero when not given */
	json_t *recent; /* its ring of recent points, a reference owned by the message;
			 * NULL when not given (an older vigild), else a valid ring */
	uint64_t prev;	/* members of the sender's previous view; 0 when not given */
	/* heartbeat */
	uint64_t t; /* the sender's monotonic ms when it sent it (the lease's send time) */
} vg_member_msg;

/* ---- functions ------------------------------------------------------------ */

const char *vg_mm_kind_name(vg_mm_kind k);
/* Is s one of the states a report may give ("running", "stopped", ...)? */
bool vg_mm_state_valid(const char *s);

/* The message as compact JSON with sorted keys (malloc'd, NUL-terminated, *len without the
 * NUL). NULL on out of memory or a message that its own decoder would refuse: each field is
 * checked by the decoder's reader of that field as it is written, and the size by its limit
 * (the text is not parsed again). An optional field is written when given: a pointer that is
 * not NULL, a number or history id that is not zero. The JSON values given (resources, seen,
 * unrunnable, recent) are jansson's, made with its checking constructors (UTF-8). */
char *vg_mm_encode(const vg_member_msg *m, size_t *len);
/* Strictly decode; NULL with err naming the defect. Free with vg_mm_free. */
vg_member_msg *vg_mm_decode(const void *data, size_t len, char *err, size_t errlen);
void vg_mm_free(vg_member_msg *m);

#endif
