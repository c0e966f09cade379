/* member_sync.h - how a member gets in step with the others after a membership change.
 *
 * Owns: the per-view bookkeeping of the member protocol (cluster.c runs it over Corosync):
 * the members of the view, the summary each sends after the change (epoch, version, history,
 * member_msg.h's summary), the sync point (the moment in agreed order when every member's
 * summary is in: the same moment on every member), what is decided there alike everywhere
 * (the source, vg_repstate_pick_source; each member's history against it,
 * vg_history_relation: the source sends its whole state if anyone is behind or diverged and
 * records what each diverged member loses), the picked state (its epoch, version and id),
 * whether this member is in step, and the 'R' messages (replicated changes) delivered to a
 * member behind after the sync point, held until the state arrives and handed back, in the
 * order delivered, on top of it.
 * Must not: do I/O, read a clock or apply a change itself: messages go out, the state is
 * sent, changes are applied and losses recorded through vg_msync_io; the replicated state is
 * only read (for the summary and the synced check).
 */
#ifndef VIGIL_MEMBER_SYNC_H
#define VIGIL_MEMBER_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "member_msg.h"
#include "repstate.h"

typedef struct vg_msync vg_msync;

typedef struct {
	/* Send this member's summary, to count in the current view only (a summary queued
	 * past the view is dropped: vg_membership_send_view). m is borrowed for the call. */
	void (*send_summary)(void *arg, const vg_member_msg *m);
	/* Send this member's whole state (a state_sync) to the members behind: the source
	 * does at the sync point. 0 when it went out. */
	int (*send_state)(void *arg);
	/* The source records (as an event of the replicated history, after its state) what
	 * member `who` loses: kind "history_diverged" (text: vg_history_lost_text) or
	 * "history_unverified" (further behind than the source's recent history reaches). */
	void (*record_lost)(void *arg, uint32_t who, const char *kind, const char *text);
	/* This member is in step now (vg_msync_synced is true), with the state as it is: called
	 * before any held message is handed back. */
	void (*synced)(void *arg);
	/* A held 'R' message handed back, after the state, in the order it was delivered:
	 * apply it (tag: as given to vg_msync_r). The module is done with it afterwards. */
	void (*apply_held)(void *arg, uint32_t from, const char *data, size_t len, void *tag);
	/* A held message dropped unapplied (a new view, or vg_msync_free): its tag is the
	 * owner's again. May be NULL. */
	void (*drop_held)(void *arg, void *tag);
	/* The name of node id (for the log and the records), NULL when it has none. */
	const char *(*node_name)(void *arg, uint32_t id);
} vg_msync_io;

vg_msync *vg_msync_new(const vg_msync_io *io, void *arg);
/* Frees; held messages are dropped (io->drop_held). */
void vg_msync_free(vg_msync *s);

/* A new membership view: self is this member's node id, members the view's (copied).
 * Forgets the previous view's summaries and sync point, drops its held messages; not in step
 * until the new sync point says so. Call vg_msync_send_summary afterwards. */
void vg_msync_view(vg_msync *s, uint32_t self, const uint32_t *members, size_t n);
/* Send this member's summary for ring (io->send_summary): rs's epoch, version, history id
 * and recent history; prev: the size of its previous view. */
void vg_msync_send_summary(vg_msync *s, const vg_repstate *rs, uint64_t ring, size_t prev);
/* A summary (m: decoded, kind VG_MM_SUMMARY) delivered from node id `from`; rs: this
 * member's state. Only the first of each member since the view counts, and none after the
 * sync point; one whose recent history cannot be read counts as an empty, unknown state
 * (else the sync point would never come). The last one missing is the sync point: there,
 * alike on every member, the source is picked and each history judged against it (a
 * diverged one logged as an error, one beyond the source's recent history as a warning);
 * the source, if anyone is not exactly at its state, sends its state (io->send_state) and
 * then records the losses (io->record_lost); a member at the picked state is in step at once
 * (io->synced), one behind waits for the state. */
void vg_msync_summary(vg_msync *s, uint32_t from, const vg_member_msg *m, const vg_repstate *rs);
/* A delivered 'R' message (len bytes of JSON) from node id `from`. Returns true when it was
 * held: this member is behind at the sync point and it is not a state_sync; a copy is kept
 * (with tag, the owner's, which must stay valid until io->apply_held or io->drop_held) and
 * handed back after the state. false: apply it now, then call vg_msync_applied. */
bool vg_msync_r(vg_msync *s, uint32_t from, const char *data, size_t len, void *tag);
/* After a delivered 'R' message was applied (or refused: call it either way, once the
 * message is done with); was_state: it was a state_sync; rs: the state now. A state_sync
 * that leaves a member behind at the sync point at (or past) the picked state puts it in
 * step: io->synced, then every held message in order through io->apply_held. */
void vg_msync_applied(vg_msync *s, bool was_state, const vg_repstate *rs);
/* The connection to Corosync is lost: not in step until the next view's sync point; what
 * this view gathered stays (nothing more is delivered in it). */
void vg_msync_disconnected(vg_msync *s);

/* Whether this member's state is in step with the view's (the sync point passed and it has
 * the picked state). */
bool vg_msync_synced(const vg_msync *s);
/* Whether every member's summary of this view is in. */
bool vg_msync_at_sync_point(const vg_msync *s);
/* How many 'R' messages are held. */
size_t vg_msync_held(const vg_msync *s);
/* Whether an 'R' message (len bytes of JSON) is a state_sync, by its kind alone. */
bool vg_msync_is_state_sync(const char *data, size_t len);

#endif
