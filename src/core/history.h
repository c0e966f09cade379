/* history.h - the identity of the replicated history: a hash chain over the applied changes,
 * the bounded ring of its recent (version, id) points, and the merge rule that, after a
 * membership change, tells "behind on the same history" from "diverged" and picks the history
 * every member continues with.
 *
 * The chain: id(version n) = BLAKE2b-256(id(n-1) || canonical encoding of change n), computed
 * with libsodium's crypto_generichash. The starting id is 32 zero bytes: the id of the empty
 * state and the id given to a state file written before history ids existed ("unknown").
 * Pure: no I/O, no clocks.
 */
#ifndef VIGIL_HISTORY_H
#define VIGIL_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_HID_LEN	 32  /* bytes of a history id */
#define VG_HID_HEX	 65  /* its hex text with the NUL */
#define VG_HIST_RING	 128 /* recent (version, id) points kept in the state */
#define VG_HIST_KIND_MAX 24

typedef struct {
	uint8_t b[VG_HID_LEN];
} vg_hid;

/* One applied change: the version it made, the id after it and the kind of change. */
typedef struct {
	uint64_t version;
	vg_hid id;
	char kind[VG_HIST_KIND_MAX];
} vg_hist_entry;

/* The history of a state: the current id and the last VG_HIST_RING points, oldest first.
 * When non-empty, the newest entry is the state's own (version, id). */
typedef struct {
	vg_hid id;
	vg_hist_entry ring[VG_HIST_RING];
	size_t n;
} vg_history;

/* ---- ids ------------------------------------------------------------------------ */

/* out = H(prev || change), change being the canonical encoding of one applied message. */
void vg_hid_next(vg_hid *out, const vg_hid *prev, const void *change, size_t len);
bool vg_hid_is_zero(const vg_hid *id);
bool vg_hid_equal(const vg_hid *a, const vg_hid *b);
void vg_hid_hex(const vg_hid *id, char out[VG_HID_HEX]);
/* 64 lowercase hex digits. 0, or -1 on anything else. */
int vg_hid_parse(const char *hex, vg_hid *out);

/* ---- the ring ------------------------------------------------------------------- */

/* Record an applied change: h->id = id and (version, id, kind) pushed (the oldest dropped). */
void vg_history_push(vg_history *h, uint64_t version, const vg_hid *id, const char *kind);
/* The ring's entry for version, NULL when it is not (or no longer) in the ring. */
const vg_hist_entry *vg_history_find(const vg_hist_entry *ring, size_t n, uint64_t version);

/* The ring as JSON [[version, "id", "kind"], ...] (new reference, NULL on OOM). */
json_t *vg_history_ring_json(const vg_hist_entry *ring, size_t n);
/* Strictly parse that array into ring (at most VG_HIST_RING entries, versions strictly
 * increasing, kinds 1..23 printable bytes). Returns the number of entries, -1 with err. */
int vg_history_ring_parse(const json_t *a, vg_hist_entry *ring, char *err, size_t errlen);

/* ---- merging after a membership change ------------------------------------------ */

/* A member's state summary, exchanged after a membership change. recent points at the
 * member's ring (oldest first); prev_members is how many members its previous view had. */
typedef struct {
	uint32_t nodeid;
	uint64_t epoch;
	uint64_t version;
	vg_hid id;
	uint32_t prev_members;
	const vg_hist_entry *recent;
	size_t n_recent;
} vg_history_summary;

typedef enum {
	VG_HIST_SAME,	    /* the source's state exactly */
	VG_HIST_BEHIND,	    /* a prefix of the source's history (or empty / unknown id) */
	VG_HIST_UNVERIFIED, /* behind further than the source's ring reaches: not checkable */
	VG_HIST_DIVERGED,   /* not a prefix: its changes after the fork are discarded */
} vg_hist_rel;

/* The member whose history everyone continues with, the same on every member:
 * the highest epoch, then the highest version, then the larger previous view (the history
 * of the larger partition, holding its coordinator), then the lowest node id.
 * Returns n when n == 0. */
size_t vg_history_pick(const vg_history_summary *m, size_t n);

/* How member m's history stands to src's (src picked by vg_history_pick). For DIVERGED,
 * *fork is the last version both share as far as m's ring shows, and *fork_known says
 * whether such a version was found (else the fork is before m's oldest ring entry). */
vg_hist_rel vg_history_relation(const vg_history_summary *src, const vg_history_summary *m,
				uint64_t *fork, bool *fork_known);

/* One line naming what a DIVERGED member loses: "<name>'s history (epoch E, version V, id
 * 0123abcd) diverged from <src_name>'s (epoch, version, id) after version F: discarded
 * version 10 node_admin, 11 event, ...", shortened with "and N more" to fit out. */
void vg_history_lost_text(const vg_history_summary *src, const char *src_name,
			  const vg_history_summary *m, const char *name, uint64_t fork,
			  bool fork_known, char *out, size_t outlen);

#endif
