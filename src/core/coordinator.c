/* coordinator.c - the cluster's view, and the plan put to work (see coordinator.h).
 *
 * Node states come from the membership and what the replicated state says:
 * - a member is online (standby / maintenance from the admin flags, standby while leaving);
 * - a node that said goodbye (everything stopped) and left is offline;
 * - a node that left otherwise, or was never seen since this server started, is unclean
 *   until a fencing record applied after its loss exists (then fenced). What it ran is its
 *   last report; a node never heard from counts as possibly running everything. Records
 *   and losses are ordered by the replicated history, never by clocks: a loss is noted at
 *   the state's version when this server is next in step after it (raised to the highest
 *   version any server reports having known it a member at), a node never seen since
 *   start-up at the version this server first was in step at, and a record counts when its
 *   version (vg_rs_fence.version) is above that. A goodbye counts only when it reports
 *   every resource stopped.
 * - a `requires: quorum` resource of an unclean node counts as stopped there once the node
 *   has certainly halted and the resource's stop has certainly ended (halt_at() + its stop
 *   bound, stop_bound.h; the node is self_stopped once that holds for all it may run): it
 *   halts when its lease runs out (its own
 *   heartbeat has not come back through Corosync for cluster.lease) or when its Corosync
 *   shows it a ring without a majority, whichever comes first. Counted on this server's
 *   monotonic clock from the last message delivered from it (vg_coord_heard) and from the
 *   moment it left. Only if its vigild was a live member of the group when it left the
 *   ring: a node whose vigild had already gone (its Corosync stayed, then died) stops
 *   nothing itself and waits for fencing, the watchdog deadline or confirm-down. A resource
 *   whose stop nothing bounds (ocf, lsb, systemd) counts as `requires: fencing` here unless
 *   a watchdog backs the bound. Never with two_node, where both halves keep quorum, or with a
 *   qnetd arbiter, where the cut-off side keeps quorum until its qdevice hears from qnetd or
 *   times out: then only fencing counts. A node never seen since this server started has
 *   been without quorum since this server has it: counted from then.
 * With a watchdog armed (every server feeds its own, and stops feeding while it holds
 * anything without quorum), a lost node counts as fenced once the watchdog deadline has
 * passed since it left, as SBD does: the deadline of the device and timeout the node itself
 * reported armed, never the configuration's (which may have changed since).
 * As in Pacemaker, a resource that requires fencing starts nowhere while any node is unclean
 * (what it would do there is unknown), and neither does a `requires: quorum` one until the
 * unclean nodes count as having stopped it; with two_node, where both halves keep quorum,
 * that means fenced.
 * Actions are level-triggered: every run plans afresh, and a request already sent and not
 * yet taken on by its node (its report acknowledges the id) is not sent again.
 * Must not: do I/O or read a clock.
 */
#include "coordinator.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corosync_conf.h"
#include "fence_targets.h"
#include "log.h"
#include "scheduler.h"
#include "stop_bound.h"

typedef struct {
	char *name;
	uint32_t id;
	bool member;
	bool in_ring; /* its Corosync is in the ring (a non-member there lost its vigild) */
	bool ever_member;
	bool bye;
	uint64_t lost_at; /* monotonic ms */
	/* fencing order: the replicated version at which it was lost (see the top) */
	bool lost_pending;     /* lost; its version is taken when next in step */
	uint64_t lost_version; /* valid when ever_member && !lost_pending */
	bool has_seen;	       /* another server reported knowing it a member ... */
	uint64_t seen_version; /* ... at most this version */
	bool left_live;	       /* its vigild was a member when its node left the ring */
	uint64_t heard_at;     /* monotonic ms of the last message delivered from it */
	uint64_t wait_logged;  /* lost_at + 1 of the loss whose recovery wait was logged */
	bool has_report;
	uint64_t rep_view;  /* the view in which it arrived */
	vg_node_report rep; /* rep.resources owned */
	bool fencing;
	uint64_t fence_retry_at;
	uint64_t fence_wait_until;
	char reason[300];
} cnode;

typedef struct {
	char *node;
	char *resource;
	uint64_t id;
} pending;

struct vg_coord {
	char *local;
	vg_coord_io io;
	void *arg;
	const vg_config *cfg;
	cnode *nodes;
	size_t n;
	uint64_t ring;
	uint64_t view; /* +1 at every membership change: reports count in the view they came in */
	bool quorate;
	bool silenced;		/* heard nothing for a while: see vg_coord_silenced */
	bool halted;		/* ... and is still halted: it does not act */
	uint64_t silenced_view; /* the view it was silenced in */
	uint64_t quorate_since;
	bool synced;
	uint32_t corosync_hold_ms; /* the local Corosync's totem hold, 0 when not known */
	bool have_base;		   /* in step at least once since start-up ... */
	uint64_t base_version;	   /* ... first at this version */
	pending *pend;
	size_t n_pend;
	uint64_t next_id;
};

enum {
	FENCE_RETRY_MS = 5000,
	/* a node not seen since start-up is fenced only this long after quorum (others are
	 * usually just starting), as Pacemaker's dc-deadtime */
	STARTUP_GRACE_MS = 20000,
	/* a node whose vigild left while its Corosync stayed is given this long to come back
	 * (a restart) before it is fenced */
	VIGILD_GRACE_MS = 10000,
};

static cnode *node_by_name(const vg_coord *c, const char *name)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (c->nodes[i].name && !strcmp(c->nodes[i].name, name))
			return &c->nodes[i];
	return NULL;
}

static void pend_clear(vg_coord *c)
{
	for (size_t i = 0; i < c->n_pend; i++) {
		free(c->pend[i].node);
		free(c->pend[i].resource);
	}
	c->n_pend = 0;
}

vg_coord *vg_coord_new(const char *local_node, const vg_coord_io *io, void *arg)
{
	vg_coord *c = vg_calloc(1, sizeof *c);
	c->local = vg_strdup(local_node);
	c->io = *io;
	c->arg = arg;
	return c;
}

static void cnode_free(cnode *n)
{
	free(n->name);
	json_decref(n->rep.resources);
	free((char *)n->rep.watchdog);
	json_decref(n->rep.unrunnable);
	json_decref(n->rep.errors);
	free((char *)n->rep.stale_config);
}

/* Forget cn's last report: it may run anything (what a node never heard from may). */
static void drop_report(cnode *cn)
{
	json_decref(cn->rep.resources);
	free((char *)cn->rep.watchdog);
	json_decref(cn->rep.unrunnable);
	json_decref(cn->rep.errors);
	free((char *)cn->rep.stale_config);
	memset(&cn->rep, 0, sizeof cn->rep);
	cn->has_report = false;
}

void vg_coord_free(vg_coord *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		cnode_free(&c->nodes[i]);
	free(c->nodes);
	pend_clear(c);
	free(c->pend);
	free(c->local);
	free(c);
}

void vg_coord_set_config(vg_coord *c, const vg_config *cfg)
{
	/* Keep what is known of nodes that stay; new nodes are unknown (never seen). */
	cnode *nn = vg_calloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof *nn);
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		cnode *old = node_by_name(c, cfg->nodes[i].name);
		if (old) {
			nn[i] = *old;
			old->name = NULL;
			old->rep.resources = NULL;
			old->rep.watchdog = NULL;
			old->rep.unrunnable = NULL;
			old->rep.errors = NULL;
			old->rep.stale_config = NULL;
		} else {
			nn[i].name = vg_strdup(cfg->nodes[i].name);
			nn[i].lost_at = c->quorate_since;
		}
		nn[i].id = cfg->nodes[i].id;
	}
	for (size_t i = 0; i < c->n; i++)
		cnode_free(&c->nodes[i]);
	free(c->nodes);
	c->nodes = nn;
	c->n = cfg->n_nodes;
	c->cfg = cfg;
	pend_clear(c);
}

void vg_coord_membership(vg_coord *c, const uint32_t *members, size_t n,
			 const uint32_t *ring_members, size_t n_ring, bool quorate, uint64_t ring,
			 uint64_t now, uint64_t wall)
{
	(void)wall; /* no safety decision reads a clock of another machine, nor this one's wall */
	/* back in a quorate view after one without quorum (or at start-up): what this server
	 * knows of a node that is not with it now nor was in its last view is from before that
	 * time away, while the node may have been in the quorate partition with the members of
	 * this view until this very change, running what its coordinator gave it */
	bool regained = quorate && (!c->quorate || c->silenced);
	bool silenced = c->silenced;
	c->silenced = false;
	if (regained)
		c->quorate_since = now;
	c->quorate = quorate;
	c->ring = ring;
	c->view++;
	pend_clear(c);
	for (size_t i = 0; i < c->n; i++) {
		cnode *cn = &c->nodes[i];
		bool was = cn->member;
		cn->member = false;
		for (size_t k = 0; k < n; k++)
			cn->member = cn->member || members[k] == cn->id;
		cn->in_ring = false;
		for (size_t k = 0; k < n_ring; k++)
			cn->in_ring = cn->in_ring || ring_members[k] == cn->id;
		if (cn->member) {
			cn->ever_member = true;
			cn->bye = false;
			cn->reason[0] = '\0';
			cn->fence_wait_until = 0;
			cn->fence_retry_at = 0;
			cn->left_live = false;
			if (cn->heard_at < now)
				cn->heard_at =
				    now; /* in this view: as if heard now (later is safer) */
		} else if (was) {
			cn->lost_at = now;
			cn->lost_pending = true;
			cn->fence_wait_until = 0;
			/* its node left with its vigild in the group (crash, cut, hung Corosync)
			 * or only its vigild left (its Corosync stays): then it halts nothing */
			cn->left_live = !cn->in_ring;
			if (silenced && !cn->bye) {
				/* we heard nothing of it for a while: it may have run things since,
				 * with the others, until this very change */
				if (cn->heard_at < now)
					cn->heard_at = now;
				drop_report(cn);
			}
			if (!cn->bye)
				vg_warn("node %s left the membership%s", cn->name,
					cn->in_ring ? " (its vigild left; its Corosync is still up)"
						    : "");
		} else if (!cn->ever_member && quorate && cn->lost_at < c->quorate_since) {
			cn->lost_at = c->quorate_since; /* never seen: count from quorum */
		} else if (cn->ever_member && regained) {
			/* so it left that partition now, as far as this server can tell (its halt
			 * is counted from here), and what it runs is not known: its last report
			 * here may say "stopped" of what it started since */
			if (cn->lost_at < now)
				cn->lost_at = now;
			if (cn->heard_at < now)
				cn->heard_at = now; /* the others may have heard it until now */
			drop_report(cn);
		}
	}
}

void vg_coord_silenced(vg_coord *c, bool silent)
{
	if (silent) {
		c->silenced = true;
		c->halted = true;
		c->silenced_view = c->view;
		return;
	}
	c->halted = false;
	if (c->view == c->silenced_view)
		c->silenced = false; /* no change came meanwhile: nothing was missed */
}

void vg_coord_report(vg_coord *c, const char *node, const vg_node_report *r)
{
	cnode *cn = node_by_name(c, node);
	if (!cn)
		return;
	json_decref(cn->rep.resources);
	free((char *)cn->rep.watchdog);
	json_decref(cn->rep.unrunnable);
	json_decref(cn->rep.errors);
	free((char *)cn->rep.stale_config);
	cn->rep = *r;
	cn->rep.resources = json_incref(r->resources);
	cn->rep.unrunnable = json_is_object(r->unrunnable) ? json_incref(r->unrunnable) : NULL;
	cn->rep.errors = json_is_object(r->errors) ? json_incref(r->errors) : NULL;
	cn->rep.stale_config = r->stale_config ? vg_strdup(r->stale_config) : NULL;
	cn->rep.watchdog = r->watchdog && r->watchdog_s ? vg_strdup(r->watchdog) : NULL;
	cn->rep.watchdog_s = cn->rep.watchdog ? r->watchdog_s : 0;
	cn->rep.seen = NULL;
	cn->has_report = true;
	const char *name;
	json_t *v;
	json_object_foreach(r->seen, name, v)
	{
		cnode *other = node_by_name(c, name);
		if (!other || !strcmp(name, c->local) || !json_is_integer(v) ||
		    json_integer_value(v) < 0)
			continue;
		uint64_t ver = (uint64_t)json_integer_value(v);
		if (!other->has_seen || ver > other->seen_version)
			other->seen_version = ver;
		other->has_seen = true;
	}
	cn->rep_view = c->view;
	size_t k = 0;
	for (size_t i = 0; i < c->n_pend; i++) {
		pending *p = &c->pend[i];
		if (!strcmp(p->node, node) && p->id <= r->ack) {
			free(p->node);
			free(p->resource);
		} else {
			c->pend[k++] = *p;
		}
	}
	c->n_pend = k;
}

void vg_coord_heard(vg_coord *c, const char *node, uint64_t now)
{
	cnode *cn = node_by_name(c, node);
	if (cn && cn->heard_at < now)
		cn->heard_at = now;
}

bool vg_coord_bye(vg_coord *c, const char *node, const json_t *resources)
{
	cnode *cn = node_by_name(c, node);
	if (!cn)
		return false;
	if (!json_is_object(resources)) {
		vg_warn("%s says goodbye without saying what it stopped: not a clean stop", node);
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)resources, k, v)
	{
		const char *st = json_string_value(v);
		if (!st || strcmp(st, "stopped")) {
			vg_warn("%s says goodbye but %s is %s there: not a clean stop", node, k,
				st ? st : "?");
			return false;
		}
	}
	cn->bye = true;
	return true;
}

void vg_coord_fence_done(vg_coord *c, const char *node, bool ok, const char *detail, uint64_t now)
{
	cnode *cn = node_by_name(c, node);
	if (!cn)
		return;
	cn->fencing = false;
	if (ok) {
		/* its fencing record is on its way through Corosync: do not fence it again before
		 * it is applied (or, should it be lost, before the retry interval) */
		snprintf(cn->reason, sizeof cn->reason, "fenced; recording it");
		cn->fence_retry_at = now + FENCE_RETRY_MS;
	} else {
		snprintf(cn->reason, sizeof cn->reason, "fencing failed: %s; retrying",
			 detail ? detail : "?");
		cn->fence_retry_at = now + FENCE_RETRY_MS;
	}
}

void vg_coord_set_synced(vg_coord *c, bool synced)
{
	c->synced = synced;
}

void vg_coord_set_corosync_hold(vg_coord *c, uint32_t hold_ms)
{
	c->corosync_hold_ms = hold_ms;
}

uint64_t vg_coord_quorum_loss_delay(const vg_coord *c)
{
	if (!c->cfg)
		return 0;
	uint32_t hold =
	    c->corosync_hold_ms ? c->corosync_hold_ms : vg_corosync_hold_ms(c->cfg->token_ms);
	return c->cfg->quorum_loss_delay_ms + hold + VG_COORD_SKEW_MARGIN_MS;
}

uint64_t vg_coord_lease_margin(const vg_coord *c)
{
	return c->cfg ? c->cfg->lease_ms / VG_LEASE_BEATS + vg_coord_quorum_loss_delay(c) : 0;
}

/* ---- the view ------------------------------------------------------------- */

static const cnode *leader_node(const vg_coord *c)
{
	if (!c->quorate)
		return NULL;
	const cnode *best = NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->nodes[i].member && (!best || c->nodes[i].id < best->id))
			best = &c->nodes[i];
	return best;
}

const char *vg_coord_leader(const vg_coord *c)
{
	const cnode *l = leader_node(c);
	return l ? l->name : NULL;
}

bool vg_coord_is_leader(const vg_coord *c)
{
	if (c->halted)
		return false; /* its lease ran out: it acts on nothing (see vg_coord_silenced) */
	const char *l = vg_coord_leader(c);
	return l && !strcmp(l, c->local);
}

bool vg_coord_quorate(const vg_coord *c)
{
	return c->quorate;
}

/* Whether a node cut off from us may keep quorum for a while: with two_node both halves keep
 * it; with a qnetd arbiter the cut-off side keeps its vote until qnetd answers its qdevice or
 * the qdevice times out, which no delay of ours bounds. Then only fencing (or an operator)
 * says that it stopped what it ran. */
static bool lost_side_may_keep_quorum(const vg_config *cfg)
{
	return vg_config_two_node(cfg) || cfg->qnetd.host;
}

static const vg_rs_fence *fence_record(const vg_repstate *rs, const char *node)
{
	for (size_t i = 0; rs && i < rs->n_fences; i++)
		if (!strcmp(rs->fences[i].node, node))
			return &rs->fences[i];
	return NULL;
}

/* In step: the losses seen since the last time get their place in the replicated history. */
static void order_losses(vg_coord *c, const vg_repstate *rs)
{
	if (!c->synced || !rs)
		return;
	if (!c->have_base) {
		c->have_base = true;
		c->base_version = rs->version;
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->nodes[i].lost_pending) {
			c->nodes[i].lost_pending = false;
			c->nodes[i].lost_version = rs->version;
		}
}

void vg_coord_in_step(vg_coord *c, const vg_repstate *rs)
{
	order_losses(c, rs);
}

/* The version a fencing record of a node gone from the membership must be above to count
 * for it; false while that is not known yet. */
static bool loss_version(const vg_coord *c, const cnode *cn, uint64_t *out)
{
	uint64_t v;
	if (cn->ever_member && !cn->lost_pending)
		v = cn->lost_version;
	else if (!cn->ever_member && c->have_base)
		v = c->base_version;
	else
		return false;
	if (cn->has_seen && cn->seen_version > v)
		v = cn->seen_version;
	*out = v;
	return true;
}

static bool is_fenced(const vg_coord *c, const vg_repstate *rs, const cnode *cn)
{
	const vg_rs_fence *f = fence_record(rs, cn->name);
	uint64_t after;
	return f && loss_version(c, cn, &after) && f->version > after;
}

json_t *vg_coord_seen(vg_coord *c, const vg_repstate *rs)
{
	order_losses(c, rs);
	json_t *o = json_object();
	for (size_t i = 0; i < c->n; i++) {
		const cnode *cn = &c->nodes[i];
		if (cn->member || !strcmp(cn->name, c->local))
			continue;
		bool mine = cn->ever_member && !cn->lost_pending;
		if (!mine && !cn->has_seen)
			continue;
		uint64_t v = mine ? cn->lost_version : 0;
		if (cn->has_seen && cn->seen_version > v)
			v = cn->seen_version;
		json_object_set_new(o, cn->name, json_integer((json_int_t)v));
	}
	return o;
}

/* The watchdog timeout the node reported armed, 0 when none. */
static uint32_t armed_watchdog_s(const cnode *cn)
{
	return cn->has_report ? cn->rep.watchdog_s : 0;
}

/* By when a lost node has certainly begun its halt (monotonic ms, this server's clock): its
 * lease ran out (its own heartbeat stopped coming back: at most one lease after the last one
 * that did; the last of them may not have reached us, hence one heartbeat interval and the
 * delivery skew on top of the last message we had from it), or its Corosync showed it the
 * ring without a majority (about when ours did, within the skew). Whichever came first; the
 * later of the two bounds both. */
static uint64_t halt_at(const vg_coord *c, const cnode *cn)
{
	/* a node never seen since this server started: not with us since we have quorum, so
	 * without quorum (or halted) since then at the latest */
	uint64_t heard =
	    !cn->ever_member && cn->lost_at > cn->heard_at ? cn->lost_at : cn->heard_at;
	uint64_t by_lease = heard + c->cfg->lease_ms + vg_coord_lease_margin(c);
	uint64_t by_ring = cn->lost_at + vg_coord_quorum_loss_delay(c);
	return by_lease > by_ring ? by_lease : by_ring;
}

/* When a lost node has certainly reset itself (or stopped everything), 0 when it did not
 * report an armed watchdog: it stops feeding when it halts. */
static uint64_t watchdog_at(const vg_coord *c, const cnode *cn)
{
	uint32_t armed = armed_watchdog_s(cn);
	if (!armed)
		return 0;
	return halt_at(c, cn) + vg_watchdog_deadline_ms(armed);
}

/* Whether r, on a lost node that halts, is stopped by that node itself within a known bound:
 * a `requires: quorum` resource whose class bounds its stop, or any with a watchdog (the node
 * that cannot stop it in time is reset). The others wait for fencing. */
static bool stops_itself(const vg_coord *c, const cnode *cn, const vg_resource *r)
{
	return r->requires == VG_REQUIRES_QUORUM &&
	       (vg_stop_bound_ms(c->cfg, r) != VG_STOP_UNBOUNDED || armed_watchdog_s(cn));
}

/* How long after a halt began r has certainly stopped (or its node was reset). */
static uint64_t res_bound(const vg_coord *c, const cnode *cn, const vg_resource *r)
{
	uint64_t b = vg_stop_bound_ms(c->cfg, r);
	return b != VG_STOP_UNBOUNDED ? b : vg_watchdog_deadline_ms(armed_watchdog_s(cn));
}

/* What its last report says it does not run (a node never heard from may run anything). */
static bool reported_stopped(const cnode *cn, const vg_resource *r)
{
	const char *s =
	    cn->has_report ? json_string_value(json_object_get(cn->rep.resources, r->name)) : NULL;
	return s && !strcmp(s, "stopped");
}

/* How long after its halt began cn has certainly stopped every such resource it may run. */
static uint64_t stop_bound(const vg_coord *c, const cnode *cn)
{
	uint64_t most = 0;
	for (size_t i = 0; i < c->cfg->n_resources; i++) {
		const vg_resource *r = &c->cfg->resources[i];
		if (!stops_itself(c, cn, r) || reported_stopped(cn, r))
			continue;
		uint64_t b = res_bound(c, cn, r);
		most = b > most ? b : most;
	}
	return most;
}

/* Why cn's `requires: quorum` resources may not count as stopped by it, ever: NULL when they
 * will (at self_stopped_at). */
static const char *never_self_stopped(const vg_coord *c, const cnode *cn)
{
	if (lost_side_may_keep_quorum(c->cfg))
		return "it may keep quorum";
	/* only `no_quorum: stop` stops on quorum loss; with freeze the lost side keeps them */
	if (c->cfg->no_quorum != VG_NO_QUORUM_STOP)
		return "no_quorum: freeze";
	if (cn->in_ring)
		return "its vigild is gone but its Corosync is not";
	if (cn->ever_member && !cn->left_live)
		return "its vigild was gone when it left";
	return NULL;
}

static uint64_t self_stopped_at(const vg_coord *c, const cnode *cn)
{
	return halt_at(c, cn) + stop_bound(c, cn);
}

/* Every `requires: quorum` resource cn may run has stopped there. */
static bool self_stopped(const vg_coord *c, const cnode *cn, uint64_t now)
{
	return c->quorate && !never_self_stopped(c, cn) && now >= self_stopped_at(c, cn);
}

/* When r has certainly stopped on the lost node cn, each resource after its own bound (a VIP
 * does not wait for a process the node ran beside it to be killed). */
static uint64_t res_stopped_at(const vg_coord *c, const cnode *cn, const vg_resource *r)
{
	return halt_at(c, cn) + res_bound(c, cn, r);
}

static bool res_self_stopped(const vg_coord *c, const cnode *cn, const vg_resource *r, uint64_t now)
{
	return stops_itself(c, cn, r) && c->quorate && !never_self_stopped(c, cn) &&
	       now >= res_stopped_at(c, cn, r);
}

static vg_inst_state inst_state(const char *s, bool *busy)
{
	*busy = false;
	if (!s || !strcmp(s, "unknown"))
		return VG_INST_UNKNOWN;
	if (!strcmp(s, "stopped"))
		return VG_INST_STOPPED;
	if (!strcmp(s, "starting") || !strcmp(s, "stopping")) {
		*busy = true;
		return VG_INST_RUNNING;
	}
	if (!strcmp(s, "failed") || !strcmp(s, "unmanaged"))
		return VG_INST_FAILED;
	if (!strcmp(s, "promoted"))
		return VG_INST_PROMOTED;
	return VG_INST_RUNNING;
}

static const char *reported(const cnode *cn, const char *resource)
{
	if (!cn->has_report)
		return NULL;
	return json_string_value(json_object_get(cn->rep.resources, resource));
}

/* The node gave up stopping it (blocked, reported "unmanaged"): asking again would spin;
 * only fencing (or an operator's cleanup) ends it. */
static bool pinned_on(const cnode *cn, const char *resource)
{
	const char *s = reported(cn, resource);
	return s && !strcmp(s, "unmanaged");
}

static bool busy_on(const cnode *cn, const char *resource)
{
	bool busy;
	inst_state(reported(cn, resource), &busy);
	return busy;
}

/* for_display: a node never heard from shows no instances (for the scheduler it may run
 * anything). */
static vg_cluster_state *build_state(vg_coord *c, const vg_repstate *rs, uint64_t now,
				     uint64_t wall, bool for_display)
{
	const vg_config *cfg = c->cfg;
	order_losses(c, rs);
	vg_cluster_state *st = vg_cluster_state_new(cfg);
	const char *leader = vg_coord_leader(c);
	st->leader = leader ? vg_strdup(leader) : NULL;
	st->quorate = c->quorate;
	st->now_ms = wall;
	for (size_t i = 0; i < c->n; i++) {
		const cnode *cn = &c->nodes[i];
		vg_node_cond *nc = vg_cluster_state_node(st, cn->name);
		if (!nc)
			continue;
		bool runs = true, unknown_all = false;
		if (cn->member) {
			nc->state = VG_NODE_ONLINE;
			nc->probed = cn->has_report && cn->rep_view == c->view && cn->rep.probed;
			for (size_t k = 0; rs && k < rs->n_nodes; k++) {
				if (strcmp(rs->nodes[k].node, cn->name))
					continue;
				if (rs->nodes[k].maintenance)
					nc->state = VG_NODE_MAINTENANCE;
				else if (rs->nodes[k].standby)
					nc->state = VG_NODE_STANDBY;
			}
			if (cn->rep.leaving && nc->state == VG_NODE_ONLINE)
				nc->state = VG_NODE_STANDBY;
		} else if (cn->bye) {
			nc->state = VG_NODE_OFFLINE;
			runs = false;
		} else if (is_fenced(c, rs, cn) ||
			   (watchdog_at(c, cn) && now >= watchdog_at(c, cn) && c->quorate)) {
			nc->state = VG_NODE_FENCED;
			runs = false;
		} else {
			nc->state = VG_NODE_UNCLEAN;
			nc->self_stopped = self_stopped(c, cn, now);
			nc->fence_pending = cn->fencing;
			unknown_all = !cn->has_report;
			runs = !(for_display && unknown_all);
		}
		if (!runs)
			continue;
		for (size_t r = 0; r < cfg->n_resources; r++) {
			const char *name = cfg->resources[r].name;
			if (nc->state == VG_NODE_UNCLEAN &&
			    res_self_stopped(c, cn, &cfg->resources[r], now))
				continue; /* stopped there by the lost side itself */
			bool busy;
			vg_inst_state s = unknown_all ? VG_INST_FAILED /* may run it */
						      : inst_state(reported(cn, name), &busy);
			if (s == VG_INST_STOPPED || (s == VG_INST_UNKNOWN && !cn->member))
				continue;
			if (s == VG_INST_UNKNOWN && !cn->has_report)
				continue; /* a member not heard from yet: probed is false */
			vg_inst_cond *ic = vg_cluster_state_inst_get(st, name, cn->name);
			ic->state = s;
			ic->count = s >= VG_INST_RUNNING ? 1 : 0;
		}
		/* what it cannot run: kept off it (a member's report says so; it runs none) */
		const char *uname;
		json_t *why;
		json_object_foreach(cn->member ? cn->rep.unrunnable : NULL, uname, why)
		{
			if (vg_config_resource(cfg, uname))
				vg_cluster_state_inst_get(st, uname, cn->name)->unrunnable = true;
		}
	}
	for (size_t k = 0; rs && k < rs->n_failcounts; k++) {
		const vg_rs_failcount *f = &rs->failcounts[k];
		if (!vg_config_resource(cfg, f->resource) || !vg_cluster_state_node(st, f->node))
			continue;
		vg_inst_cond *ic = vg_cluster_state_inst_get(st, f->resource, f->node);
		ic->failcount = f->count;
		ic->last_failure_ms = f->last_failure_ms;
	}
	return st;
}

vg_cluster_state *vg_coord_state(vg_coord *c, const vg_repstate *rs, uint64_t now, uint64_t wall)
{
	return build_state(c, rs, now, wall, false);
}

/* ---- acting ---------------------------------------------------------------- */

static size_t active_count(const cnode *cn)
{
	size_t n = 0;
	const char *k;
	json_t *v;
	if (!cn->has_report)
		return 0;
	json_object_foreach(cn->rep.resources, k, v)
	{
		bool busy;
		n += inst_state(json_string_value(v), &busy) >= VG_INST_RUNNING;
	}
	return n;
}

/* Fence races (two_node): both halves keep quorum and each would fence the other. The node
 * that ran more resources (at its last report both sides received) survives: the other
 * waits fence_delay before it fences, and is normally fenced first. Ties: lower id wins. */
static bool must_wait_to_fence(const vg_coord *c, const cnode *target)
{
	const cnode *me = node_by_name(c, c->local);
	if (!me || !vg_config_two_node(c->cfg) || !c->cfg->fence_delay_ms)
		return false;
	size_t mine = active_count(me), theirs = active_count(target);
	if (mine != theirs)
		return theirs > mine;
	return target->id < me->id;
}

/* The unclean node a start of r must wait for, or NULL. */
static const vg_node_cond *start_blocked_by(const vg_coord *c, const vg_cluster_state *st,
					    const vg_resource *r, uint64_t now)
{
	for (size_t i = 0; i < st->n_nodes; i++) {
		const vg_node_cond *nc = &st->nodes[i];
		if (nc->state != VG_NODE_UNCLEAN)
			continue;
		const cnode *cn = node_by_name(c, nc->name);
		if (cn && res_self_stopped(c, cn, r, now))
			continue;
		return nc;
	}
	return NULL;
}

static bool starting_anywhere(const vg_coord *c, const char *resource)
{
	for (size_t i = 0; i < c->n; i++) {
		const char *rep = c->nodes[i].member ? reported(&c->nodes[i], resource) : NULL;
		if (rep && !strcmp(rep, "starting"))
			return true;
	}
	return false;
}

/* The name an order's end stands for: a group's last member as `first`, its first as `then`. */
static const char *order_end(const vg_config *cfg, const char *name, bool last)
{
	for (size_t i = 0; i < cfg->n_groups; i++)
		if (!strcmp(cfg->groups[i].name, name) && cfg->groups[i].n_members)
			return cfg->groups[i].members[last ? cfg->groups[i].n_members - 1 : 0];
	return name;
}

/* The scheduler counts a start in flight as up (it may not start elsewhere); what must come
 * after it (later group members, mandatory orders) still waits until it has started. */
static bool predecessor_starting(const vg_coord *c, const char *resource)
{
	const vg_config *cfg = c->cfg;
	const vg_group *g = vg_config_group_of(cfg, resource);
	for (size_t i = 0; g && i < g->n_members && strcmp(g->members[i], resource); i++)
		if (starting_anywhere(c, g->members[i]))
			return true;
	for (size_t i = 0; i < cfg->n_constraints; i++) {
		const vg_constraint *k = &cfg->constraints[i];
		if (k->kind != VG_CONS_ORDER || k->u.order.optional ||
		    strcmp(order_end(cfg, k->u.order.then, false), resource))
			continue;
		if (starting_anywhere(c, order_end(cfg, k->u.order.first, true)))
			return true;
	}
	return false;
}

static bool is_pending(const vg_coord *c, const char *node, const char *resource)
{
	for (size_t i = 0; i < c->n_pend; i++)
		if (!strcmp(c->pend[i].node, node) && !strcmp(c->pend[i].resource, resource))
			return true;
	return false;
}

static void rearm_min(uint64_t *next, uint64_t at, uint64_t now)
{
	if (at > now && (*next == 0 || at - now < *next))
		*next = at - now;
}

static void act_fence(vg_coord *c, cnode *cn, uint64_t now, uint64_t *next)
{
	if (cn->fencing || now < cn->fence_retry_at) {
		rearm_min(next, cn->fence_retry_at, now);
		return;
	}
	if (!vg_fence_configured(c->cfg, cn->name)) {
		uint64_t wd = watchdog_at(c, cn);
		if (wd) {
			snprintf(
			    cn->reason, sizeof cn->reason,
			    "no fence device; its watchdog (%s, %u s) resets it: counted off in "
			    "%llu s",
			    cn->rep.watchdog, cn->rep.watchdog_s,
			    (unsigned long long)((wd > now ? wd - now : 0) + 999) / 1000);
			rearm_min(next, wd, now);
			return;
		}
		snprintf(cn->reason, sizeof cn->reason,
			 "no fence device for %s: waiting for `vigil node confirm-down %s`",
			 cn->name, cn->name);
		return;
	}
	uint64_t grace = !cn->ever_member ? c->quorate_since + STARTUP_GRACE_MS
			 : cn->in_ring	  ? cn->lost_at + VIGILD_GRACE_MS
					  : 0;
	if (now < grace) {
		snprintf(cn->reason, sizeof cn->reason, "%s; fencing it in %llu s if it stays away",
			 cn->ever_member ? "its vigild is gone but its Corosync is not"
					 : "not seen since start-up",
			 (unsigned long long)((grace - now + 999) / 1000));
		rearm_min(next, grace, now);
		return;
	}
	if (must_wait_to_fence(c, cn)) {
		if (!cn->fence_wait_until) {
			cn->fence_wait_until = now + c->cfg->fence_delay_ms;
			vg_info("waiting fence_delay (%llu ms) before fencing %s",
				(unsigned long long)c->cfg->fence_delay_ms, cn->name);
		}
		if (now < cn->fence_wait_until) {
			snprintf(cn->reason, sizeof cn->reason,
				 "waiting fence_delay before fencing (the other side goes first)");
			rearm_min(next, cn->fence_wait_until, now);
			return;
		}
	}
	cn->fencing = true;
	snprintf(cn->reason, sizeof cn->reason, "being fenced");
	vg_warn("fencing %s", cn->name);
	c->io.fence(c->arg, cn->name);
}

void vg_coord_run(vg_coord *c, const vg_repstate *rs, uint64_t now, uint64_t wall)
{
	order_losses(c, rs);
	if (!c->cfg || !c->synced || !vg_coord_is_leader(c))
		return;
	vg_cluster_state *st = vg_coord_state(c, rs, now, wall);
	vg_plan plan;
	if (vg_schedule(c->cfg, st, &plan) != 0) {
		vg_cluster_state_free(st);
		vg_error("scheduler: out of memory");
		return;
	}
	uint64_t next = 0;
	for (size_t i = 0; i < plan.n_actions; i++) {
		const vg_action *a = &plan.actions[i];
		cnode *cn = node_by_name(c, a->node);
		if (!cn)
			continue;
		if (a->kind == VG_ACT_FENCE) {
			act_fence(c, cn, now, &next);
			continue;
		}
		if (a->kind != VG_ACT_START && a->kind != VG_ACT_STOP)
			continue; /* nodes probe themselves; roles come with clones */
		if (!cn->member || busy_on(cn, a->resource) || pinned_on(cn, a->resource) ||
		    is_pending(c, a->node, a->resource))
			continue;
		if (a->kind == VG_ACT_START &&
		    (start_blocked_by(c, st, vg_config_resource(c->cfg, a->resource), now) ||
		     predecessor_starting(c, a->resource)))
			continue;
		vg_op_kind op = a->kind == VG_ACT_START ? VG_OP_START : VG_OP_STOP;
		uint64_t id = ++c->next_id;
		c->pend = vg_realloc(c->pend, (c->n_pend + 1) * sizeof *c->pend);
		c->pend[c->n_pend++] = (pending){vg_strdup(a->node), vg_strdup(a->resource), id};
		vg_info("%s %s on %s: %s", vg_action_kind_name(a->kind), a->resource, a->node,
			a->reason);
		c->io.send_action(c->arg, a->node, a->resource, op, id);
	}
	/* Deadlines inside the view: an unclean node's quorum resources count as stopped. */
	for (size_t i = 0; i < st->n_nodes; i++) {
		const vg_node_cond *nc = &st->nodes[i];
		const cnode *cn = node_by_name(c, nc->name);
		if (!cn || nc->state != VG_NODE_UNCLEAN || nc->self_stopped ||
		    never_self_stopped(c, cn))
			continue;
		uint64_t first = 0, last = 0;
		for (size_t r = 0; r < c->cfg->n_resources; r++) {
			const vg_resource *res = &c->cfg->resources[r];
			if (!stops_itself(c, cn, res) || reported_stopped(cn, res))
				continue;
			uint64_t at = res_stopped_at(c, cn, res);
			rearm_min(&next, at, now);
			first = !first || at < first ? at : first;
			last = at > last ? at : last;
		}
		if (first > now && cn->wait_logged != cn->lost_at + 1) {
			cnode *w = (cnode *)cn;
			w->wait_logged = cn->lost_at + 1;
			vg_info("%s left: its requires: quorum resources count as stopped there in "
				"%llu "
				"to %llu ms (its lease, then each one's stop bound)",
				cn->name, (unsigned long long)(first - now),
				(unsigned long long)(last - now));
		}
	}
	/* Failures expire (failure_timeout): decide again once the next one has. */
	for (size_t i = 0; i < st->n_insts; i++) {
		const vg_inst_cond *ic = &st->insts[i];
		const vg_resource *res =
		    ic->failcount ? vg_config_resource(c->cfg, ic->resource) : NULL;
		if (res && res->failure_timeout_ms && vg_inst_cond_failcount(res, ic, wall))
			rearm_min(&next, ic->last_failure_ms + res->failure_timeout_ms, wall);
	}
	vg_plan_free(&plan);
	vg_cluster_state_free(st);
	if (next)
		c->io.rearm(c->arg, next);
}

/* ---- status ----------------------------------------------------------------- */

static void node_reason(const vg_coord *c, const cnode *cn, const vg_node_cond *nc, char *buf,
			size_t len)
{
	buf[0] = '\0';
	if (nc->state != VG_NODE_UNCLEAN)
		return;
	const char *why = !cn->ever_member ? "not seen since start-up"
			  : cn->in_ring	   ? "its vigild left (its Corosync is still up)"
			  : !cn->left_live ? "its vigild was gone when it left"
					   : "left the membership";
	if (cn->reason[0])
		snprintf(buf, len, "%s; %s", why, cn->reason);
	else if (!c->quorate)
		snprintf(buf, len, "%s; no quorum here", why);
	else if (!vg_fence_configured(c->cfg, cn->name) && !armed_watchdog_s(cn))
		snprintf(buf, len, "%s; no fence device: waiting for `vigil node confirm-down %s`",
			 why, cn->name);
	else
		snprintf(buf, len, "%s; to be fenced", why);
}

static void waiting_reason(const vg_coord *c, const vg_cluster_state *st, const vg_resource *r,
			   uint64_t now, char *buf, size_t len)
{
	buf[0] = '\0';
	if (r->disabled)
		return;
	for (size_t i = 0; i < st->n_insts; i++) {
		const vg_inst_cond *ic = &st->insts[i];
		if (!strcmp(ic->resource, r->name) && ic->state >= VG_INST_RUNNING) {
			const vg_node_cond *nc = NULL;
			for (size_t k = 0; k < st->n_nodes; k++)
				if (!strcmp(st->nodes[k].name, ic->node))
					nc = &st->nodes[k];
			if (nc && nc->state != VG_NODE_UNCLEAN)
				return; /* it runs somewhere reachable */
		}
	}
	if (!c->quorate) {
		snprintf(buf, len, "no quorum");
		return;
	}
	const vg_node_cond *nc = start_blocked_by(c, st, r, now);
	const cnode *cn = nc ? node_by_name(c, nc->name) : NULL;
	if (cn) {
		const char *never = never_self_stopped(c, cn);
		if (stops_itself(c, cn, r) && !never) {
			uint64_t at = res_stopped_at(c, cn, r);
			snprintf(buf, len, "waiting until %s's lease has expired (in %llu ms)",
				 cn->name, (unsigned long long)(at > now ? at - now : 0));
			return;
		}
		if (r->requires == VG_REQUIRES_QUORUM && never &&
		    !lost_side_may_keep_quorum(c->cfg) && c->cfg->no_quorum == VG_NO_QUORUM_STOP &&
		    !cn->in_ring && cn->ever_member) {
			snprintf(buf, len,
				 "%s is unclean: its vigild was gone when it left: fence it or run "
				 "`vigil node confirm-down %s`%s%s",
				 cn->name, cn->name, cn->reason[0] ? "; " : "", cn->reason);
			return;
		}
		if (!vg_fence_configured(c->cfg, cn->name) && !armed_watchdog_s(cn))
			snprintf(buf, len,
				 "waiting for fencing of %s: no fence device; run `vigil node "
				 "confirm-down %s`",
				 cn->name, cn->name);
		else if (cn->reason[0])
			snprintf(buf, len, "waiting for fencing of %s: %s", cn->name, cn->reason);
		else
			snprintf(buf, len, "waiting for fencing of %s", cn->name);
		return;
	}
}

json_t *vg_coord_status(vg_coord *c, const vg_repstate *rs, uint64_t now, uint64_t wall)
{
	if (!c->cfg)
		return json_object();
	vg_cluster_state *st = build_state(c, rs, now, wall, true);
	json_t *o = vg_cluster_state_to_jansson(c->cfg, st);
	json_object_set_new(json_object_get(o, "cluster"), "mode", json_string("cluster"));
	json_object_set_new(json_object_get(o, "cluster"), "synced", json_boolean(c->synced));
	char buf[400];
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, "nodes"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const cnode *cn = name ? node_by_name(c, name) : NULL;
		const vg_node_cond *nc = name ? vg_cluster_state_node(st, name) : NULL;
		buf[0] = '\0';
		if (cn && nc)
			node_reason(c, cn, nc, buf, sizeof buf);
		if (cn && cn->member && cn->has_report && cn->rep.stale_config)
			snprintf(
			    buf, sizeof buf,
			    "runs an old configuration: it cannot load the committed one (%.300s)",
			    cn->rep.stale_config);
		json_object_set_new(v, "reason", buf[0] ? json_string(buf) : json_null());
		/* the watchdog it reported armed: the only deadline counted for it */
		json_object_set_new(v, "watchdog",
				    cn && armed_watchdog_s(cn)
					? json_pack("{s:s, s:I}", "device", cn->rep.watchdog,
						    "timeout_s", (json_int_t)cn->rep.watchdog_s)
					: json_null());
	}
	json_array_foreach(json_object_get(o, "resources"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const vg_resource *r = name ? vg_config_resource(c->cfg, name) : NULL;
		buf[0] = '\0';
		if (r)
			waiting_reason(c, st, r, now, buf, sizeof buf);
		json_object_set_new(v, "waiting", buf[0] ? json_string(buf) : json_null());
		/* instances in flight show as such */
		size_t k;
		json_t *inst;
		json_array_foreach(json_object_get(v, "instances"), k, inst)
		{
			const char *node = json_string_value(json_object_get(inst, "node"));
			const cnode *cn = node ? node_by_name(c, node) : NULL;
			const char *rep = cn && cn->member ? reported(cn, name) : NULL;
			if (rep && (!strcmp(rep, "starting") || !strcmp(rep, "stopping")))
				json_object_set_new(inst, "state", json_string(rep));
			/* why it cannot run there, in that node's words */
			json_t *why = cn && json_is_true(json_object_get(inst, "unrunnable"))
					  ? json_object_get(cn->rep.unrunnable, name)
					  : NULL;
			if (json_is_string(why))
				json_object_set(inst, "reason", why);
		}
		/* the last error, in the words of a member node where it failed */
		for (size_t n = 0; r && n < c->n; n++) {
			const cnode *cn = &c->nodes[n];
			json_t *e = cn->member ? json_object_get(cn->rep.errors, name) : NULL;
			if (json_is_string(e)) {
				json_object_set(v, "last_error", e);
				break;
			}
		}
		/* running only once an instance is: while every one is still being started
		 * (or stopped), the resource says so */
		const char *rs_state = json_string_value(json_object_get(v, "state"));
		if (rs_state && !strcmp(rs_state, "running")) {
			bool up = false, starting = false;
			json_array_foreach(json_object_get(v, "instances"), k, inst)
			{
				const char *is = json_string_value(json_object_get(inst, "state"));
				up |= is && !strcmp(is, "running");
				starting |= is && !strcmp(is, "starting");
			}
			if (!up)
				json_object_set_new(
				    v, "state", json_string(starting ? "starting" : "stopping"));
		}
	}
	vg_cluster_state_free(st);
	return o;
}
