/* coordinator.h - the cluster's view of itself, and on the coordinator, the plan put to work.
 *
 * Owns: what every server knows of every node (membership, the last report of what it runs,
 * when it was lost, fencing in progress), the cluster state the scheduler consumes built from
 * that and the replicated state, and, while this server is the coordinator, turning the
 * scheduler's actions into requests to the nodes (one at a time per resource and node) and
 * into fencing. Every server keeps the view, so `vigil status` works anywhere.
 * Must not: do I/O or read a clock. Time comes in as arguments; messages, fencing and timers
 * go out through vg_coord_io, so the logic is tested without a network.
 */
#ifndef VIGIL_COORDINATOR_H
#define VIGIL_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster_state.h"
#include "config.h"
#include "repstate.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_coord vg_coord;

typedef struct {
	/* Ask `node` to start or stop `resource`; id grows with every request. */
	void (*send_action)(void *arg, const char *node, const char *resource, vg_op_kind op,
			    uint64_t id);
	/* Fence `node` now (the owner runs the devices and calls vg_coord_fence_done). */
	void (*fence)(void *arg, const char *node);
	/* Call vg_coord_run again in `ms` milliseconds (a deadline inside the view passes). */
	void (*rearm)(void *arg, uint64_t ms);
} vg_coord_io;

/* A node's report: what runs there, as vg_supervisor_report gives it. Reports count for the
 * membership view in which they are delivered (Corosync delivers a message sent after a view
 * change after that change everywhere); acks are per view too. */
typedef struct {
	uint64_t ring;	   /* the ring the reporter was in when it sent this */
	bool probed;	   /* every resource probed */
	bool leaving;	   /* the node is shutting down: move everything away */
	uint64_t ack;	   /* highest action id it has taken on in this view */
	json_t *resources; /* {"name": "state"}; borrowed during the call */
	/* The watchdog the node armed and the timeout the device took (which may be below the
	 * configured one): the only watchdog deadline counted for it once lost. NULL / 0: it
	 * armed none (yet). Borrowed during the call. */
	const char *watchdog;
	uint32_t watchdog_s;
	/* {"node": version}: for each node gone from its membership, the replicated version at
	 * which the reporter last knew it a member (vg_coord_seen); NULL when none. Borrowed. */
	json_t *seen;
	/* {"name": "why"}: the resources that cannot run on that node (their agent is not
	 * installed there, vg_supervisor_unrunnable): reported stopped, kept off it by the
	 * scheduler (vg_inst_cond.unrunnable), shown failed with the reason. NULL: none. Borrowed.
	 */
	json_t *unrunnable;
	/* {"name": "last error"}: each resource there that has failed since its last cleanup,
	 * in that node's words (vg_supervisor_errors), shown as its last_error. NULL: none.
	 * Borrowed. */
	json_t *errors;
	/* Why the node could not load the committed configuration and runs its previous one
	 * (shown as the node's reason); NULL: it runs the committed one. Borrowed. */
	const char *stale_config;
} vg_node_report;

/* ---- functions ------------------------------------------------------------ */

vg_coord *vg_coord_new(const char *local_node, const vg_coord_io *io, void *arg);
void vg_coord_free(vg_coord *c);

/* Inputs. Each may change what should happen: call vg_coord_run afterwards. */
void vg_coord_set_config(vg_coord *c, const vg_config *cfg); /* cfg outlives its use */
/* A new membership: members (node ids whose vigild is in the group), ring (node ids whose
 * Corosync is in the totem ring: a node there but not a member has lost its vigild, not
 * quorum), quorum; now: monotonic ms, wall: ms since the epoch. Back in a quorate view after
 * one without quorum, a node that is not a member now nor was in the last view counts as
 * lost and last heard from at this change and its last report is forgotten: it may have
 * been in the quorate partition until now, running what that partition gave it. */
void vg_coord_membership(vg_coord *c, const uint32_t *members, size_t n,
			 const uint32_t *ring_members, size_t n_ring, bool quorate, uint64_t ring,
			 uint64_t now, uint64_t wall);
void vg_coord_report(vg_coord *c, const char *node, const vg_node_report *r);
/* silent: this server heard nothing for a while (its lease ran out: its Corosync was hung or
 * dead). Until vg_coord_silenced(c, false) (its lease is held again) it acts on nothing,
 * not even as the coordinator (vg_coord_is_leader is false). At the next membership change,
 * every node not in the new view counts as last heard at that change and what it last
 * reported here is forgotten: while this server heard nothing, it may have run things with
 * the others until that very change. If no change came by the time the lease is held again,
 * nothing was missed (Corosync delivers what was sent meanwhile) and that is dropped. */
void vg_coord_silenced(vg_coord *c, bool silent);
/* The node says goodbye before it leaves: resources is its own report of what it runs
 * ({"name": "state"}). The goodbye counts (the node is offline, not unclean, once gone) only
 * when every entry is "stopped"; otherwise it is ignored and false returned. */
bool vg_coord_bye(vg_coord *c, const char *node, const json_t *resources);
/* A message (any: heartbeat, report, summary, ...) from node was delivered at monotonic now. */
void vg_coord_heard(vg_coord *c, const char *node, uint64_t now);
/* The owner's fencing of node ended (ok or not, with a reason for status). */
void vg_coord_fence_done(vg_coord *c, const char *node, bool ok, const char *detail, uint64_t now);
/* Whether the view may act: this server's replicated state is in step with the others'.
 * Call it with false before a membership change (vg_coord_membership), true once in step:
 * the nodes lost in the change are then ordered against the replicated history at the
 * version of the first vg_coord_in_step / _run / _status / _state / _seen call in step (a
 * fencing record counts for a loss only if applied after it, see vg_rs_fence.version), and a
 * node never a member since this server started against the version at which it first was
 * in step. No clock takes part. */
void vg_coord_set_synced(vg_coord *c, bool synced);
/* Once in step (after vg_coord_set_synced(c, true)), with the state as it is at that moment
 * (before changes held for after the sync are applied on top): orders the losses at its
 * version at once instead of at the next call above. */
void vg_coord_in_step(vg_coord *c, const vg_repstate *rs);
/* What this server knows of the nodes gone from its membership, for its report (.seen):
 * {"node": the version at which it last knew it a member}; merged, in vg_coord_report, from
 * everyone's reports (the highest counts), so a server that was away (cut off, with nobody
 * changing the replicated state meanwhile) does not take an old fencing record for a newer
 * loss it did not see. A new reference. */
json_t *vg_coord_seen(vg_coord *c, const vg_repstate *rs);
/* The local Corosync's totem hold (ms; 0: not known, then Corosync's default for the token
 * is assumed). The two sides of a cut see the new membership up to about one hold apart.
 * vg_coord_quorum_loss_delay(): that skew, hold + VG_COORD_SKEW_MARGIN_MS (the margin covers
 * a busy loop's timer latency), plus cluster.quorum_loss_delay (an extra margin, default 0).
 * vg_coord_lease_margin(): what is added to a lost node's lease counted from the last message
 * delivered from it: one heartbeat interval (lease / VG_LEASE_BEATS: the last heartbeat that
 * renewed its lease may not have reached this side of the cut) and the skew above.
 * A lost node's `requires: quorum` resource counts as stopped by it once
 *   max(heard + lease + lease_margin, lost + quorum_loss_delay) + its stop bound
 *   (stop_bound.h; a node is self_stopped once that holds for all it may run)
 * has passed, heard and lost on this server's monotonic clock (vg_coord_heard, the membership
 * change), and only if its vigild was in the group when it left the ring. */
#define VG_COORD_SKEW_MARGIN_MS 30u
#define VG_LEASE_BEATS		5u /* heartbeats per lease */
void vg_coord_set_corosync_hold(vg_coord *c, uint32_t hold_ms);
uint64_t vg_coord_quorum_loss_delay(const vg_coord *c);
uint64_t vg_coord_lease_margin(const vg_coord *c);

/* Re-plan and act when this server is the coordinator. now: monotonic ms; wall: ms since the
 * epoch (failure times are wall clock). The replicated state gives admin flags, fencing
 * records and failcounts. */
void vg_coord_run(vg_coord *c, const vg_repstate *rs, uint64_t now, uint64_t wall);

/* The coordinator's name (quorate member with the lowest node id), NULL without quorum. */
const char *vg_coord_leader(const vg_coord *c);
bool vg_coord_is_leader(const vg_coord *c);
bool vg_coord_quorate(const vg_coord *c);

/* The `vigil status --json` document of the whole cluster as this server sees it. */
json_t *vg_coord_status(vg_coord *c, const vg_repstate *rs, uint64_t now, uint64_t wall);

/* The cluster state handed to the scheduler (for tests and `vigil simulate` replays). */
vg_cluster_state *vg_coord_state(vg_coord *c, const vg_repstate *rs, uint64_t now, uint64_t wall);

#endif
