/* cluster.c - this server as a member of a cluster, over Corosync or as a standalone cluster
 * of one (see cluster.h).
 *
 * Messages on the CPG group start with one byte: 'R' a replicated change (repstate.h's JSON,
 * applied by every server in agreed order and saved), 'S' one chunk of a state_sync too large
 * for one message (chunk.h), 'C' cluster traffic that is not state, encoded and strictly
 * decoded by member_msg.h (a message it refuses is dropped with a warning naming the sender):
 *   report  {node's resources and their states, ring, probed, leaving, ack, wd (the
 *            watchdog it armed: {dev, timeout}; absent when none), seen (vg_coord_seen),
 *            unrunnable ({res: why}: what it cannot run, its agent not installed there),
 *            errors ({res: last error}: what failed here since its last cleanup),
 *            stale (why it runs an old configuration; absent when it runs the committed one)}
 *   action  {node, res, op, id, ring}        the coordinator asks a node to start/stop
 *   summary {ring, epoch, version, history, recent, prev}   sent by every member after a
 *                                            membership change (history.h)
 *   heartbeat {t}                            every lease/5: the sender's own heartbeat
 *   restart {res} / cleanup {res} / fence {node}   operator requests, for the coordinator
 *   bye     {res}                            clean shutdown: sent only when every
 *                                            resource is stopped (res says so)
 * After a membership change every member sends its summary (the protocol is member_sync.h's;
 * this file runs it over Corosync); when the last one is delivered
 * (the same moment in the agreed order everywhere) every member judges the histories alike
 * (vg_history_pick, vg_history_relation): the member picked sends its whole state if anyone
 * is behind or diverged, and records what each diverged member loses (history_diverged).
 * A member that is behind keeps the changes delivered after that moment and applies them on
 * top of the state it receives.
 * Until a member is in step its coordinator view does not act.
 * With a watchdog configured, it is fed only while this node is safe to count on: a quorate
 * member that has been in step with the cluster, or running nothing (SBD's rule); a node
 * that holds resources without quorum and cannot stop them resets itself. The device is
 * opened (armed, which feeds it) only once that holds, so a restarted vigild that adopted
 * running resources does not extend a deadline the others count on; reports say what was
 * armed, and the others count only that.
 * The lease (lease.h): every server multicasts a heartbeat every lease/5 and renews its lease
 * when its own comes back in a view it believes quorate; when it runs out (and the local
 * Corosync answers nothing: hung or dead) the node halts and stops feeding the watchdog,
 * until its heartbeats come back in a quorate view and it is a synced member. Every message
 * delivered from a node is told to the coordinator view (vg_coord_heard): the quorate side
 * counts a lost node's lease from the last one.
 * Messages of one view are not acted on in another: an action counts only in the ring it
 * was sent in and from the current coordinator, a report (and its acks) only in its ring;
 * reports, actions, summaries and heartbeats queued while Corosync is busy are dropped if the
 * view changed before they went out (vg_membership_send_view).
 * Must not: decide placement, or block the loop (the state is saved by store.c off the loop).
 */
#include "cluster.h"
#include "commands.h"
#include "mem.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "chunk.h"
#include "config_diff.h"
#include "coordinator.h"
#include "corosync_conf.h"
#include "corosync_match.h"
#include "fence.h"
#include "file.h"
#include "lease.h"
#include "log.h"
#include "member_msg.h"
#include "member_sync.h"
#include "membership.h"
#include "repstate.h"
#include "store.h"
#include "supervisor.h"
#include "watchdog.h"

enum { CONNECT_GRACE_MS = 10000, PENDING_MAX = 256 };

typedef enum { PEND_CHANGE, PEND_FENCE } pend_kind;

/* A control request waiting for the cluster. */
typedef struct {
	vg_control_conn *conn;
	pend_kind kind;
	char *node; /* PEND_FENCE: the target */
	char *diff; /* config_commit: what changed */
	bool is_commit;
	json_t *ack;	 /* applied: the success to answer once this change is on disk */
	uint64_t ack_at; /* ... that is, once vg_store_durable reaches this */
} waiter;

/* One of my own 'R' messages on its way (delivered back to me in the order sent). */
typedef struct {
	int waiter; /* index into waiters, or -1 */
} sent_change;

struct vg_cluster {
	uv_loop_t *loop;
	char *node;
	char *data_dir;
	char *ocf_root;
	char *config_path;
	char *file_yaml; /* the text of the file vigild was given */
	vg_config *cfg;	 /* in use (by supervisor and coordinator) */
	vg_config *next_cfg;
	char *queued_yaml; /* a newer committed config arriving during a switch */
	/* agents' meta-data: every configuration is loaded after it is fetched (metadata.h) */
	vg_md_cache *agents;
	vg_md_req *md_req; /* a committed configuration waiting for it: md_yaml */
	char *md_yaml;
	struct apply_wait *applies; /* apply requests waiting for it */
	/* why this node could not load the committed configuration and runs its previous one
	 * (reported, shown in status); NULL: it runs the committed one */
	char *stale_config;

	vg_repstate *rs;
	vg_store *st; /* rs on disk */
	vg_membership *m;
	vg_supervisor *sv;
	vg_coord *co;
	vg_watchdog *wd;
	vg_alerts *alerts; /* the alerts: scripts run for events here (alert.h) */
	bool standalone; /* a cluster of one (loopback membership): the file is the configuration */
	bool starting;	 /* before the first membership (or the connect grace ran out) */
	bool clean_stop;
	bool been_synced;  /* in step with the cluster at least once since start-up */
	bool unclean_exit; /* shut down with something not stopped: the watchdog stays unfed */
	bool wd_refused;   /* the watchdog could not be armed: vigild is stopping */

	bool connected;
	uint32_t *members;
	size_t n_members;
	bool quorate;
	bool in_ring;
	bool ring_majority; /* the last totem ring holds a majority (or votequorum decides) */
	uint64_t ring;
	vg_lease lease;
	uv_timer_t hb_timer;
	uv_timer_t lease_timer;

	/* state transfer after a membership change */
	vg_chunk_asm chunks; /* a chunked state_sync being received */
	vg_msync *ms;	     /* summaries, the sync point, held changes (member_sync.h) */

	/* actions */
	uint64_t ack; /* highest action id taken on in this view */
	bool leaving;
	bool bootstrap_sent;

	/* my reports */
	uv_timer_t report_timer;
	uv_timer_t run_timer;
	uv_timer_t connect_timer;
	uv_timer_t fatal_timer; /* on_fatal is called from the loop, never inside a callback */
	char *last_report;

	/* fencing on the coordinator's behalf */
	vg_fence_op *fence_op;
	char *fence_target;
	char **fence_queue;
	size_t n_fence_queue;

	/* control requests */
	waiter *waiters;
	size_t n_waiters;
	sent_change *sent;
	size_t n_sent;

	vg_cluster_done_cb done_cb;
	void *done_arg;
	void (*on_fatal)(void *arg);
	void *fatal_arg;
	int open_handles;
	bool freeing;
};

static uint64_t mono_ms(void)
{
	return vg_clock_mono_ms();
}

static uint64_t wall_ms(void)
{
	return vg_clock_wall_ms();
}

static const char *node_name(const vg_cluster *c, uint32_t id)
{
	for (size_t i = 0; i < c->cfg->n_nodes; i++)
		if (c->cfg->nodes[i].id == id)
			return c->cfg->nodes[i].name;
	return NULL;
}

static uint32_t my_id(const vg_cluster *c)
{
	const vg_node *n = vg_config_node(c->cfg, c->node);
	return n ? n->id : 0;
}

static void schedule_run(vg_cluster *c, uint64_t ms);
static void fatal(vg_cluster *c);
static void wd_update(vg_cluster *c);
static void coord_membership(vg_cluster *c);
static void schedule_report(vg_cluster *c);
static void lease_update(vg_cluster *c);

/* ---- sending -------------------------------------------------------------- */

static int send_tagged(vg_cluster *c, char tag, const char *json, size_t len, bool view)
{
	char *buf = vg_malloc(len + 1);
	buf[0] = tag;
	memcpy(buf + 1, json, len);
	int rc = !c->connected ? -1
		 : view	       ? vg_membership_send_view(c->m, buf, len + 1)
			       : vg_membership_send(c->m, buf, len + 1);
	free(buf);
	return rc;
}

static int send_prefixed(vg_cluster *c, char tag, const char *json, size_t len)
{
	return send_tagged(c, tag, json, len, false);
}

/* A member message (member_msg.h), encoded by its codec; one its decoder would refuse is
 * not sent. */
static int send_mm(vg_cluster *c, const vg_member_msg *m, bool view)
{
	size_t len;
	char *s = vg_mm_encode(m, &len);
	if (!s) {
		vg_error("cannot encode a %s message: not sent", vg_mm_kind_name(m->kind));
		return -1;
	}
	int rc = send_tagged(c, 'C', s, len, view);
	free(s);
	return rc;
}

static int send_c(vg_cluster *c, const vg_member_msg *m)
{
	return send_mm(c, m, false);
}

/* A 'C' message that counts only in the current view (dropped if queued past it). */
static int send_cv(vg_cluster *c, const vg_member_msg *m)
{
	return send_mm(c, m, true);
}

/* Send a replicated change; waiter (or -1) is answered when it comes back. */
static int send_r(vg_cluster *c, const vg_repmsg *m, int waiter_ix)
{
	size_t len;
	char *s = vg_repmsg_encode(m, &len);
	if (!s)
		return -1;
	int rc = send_prefixed(c, 'R', s, len);
	free(s);
	if (rc == 0) {
		c->sent = vg_realloc(c->sent, (c->n_sent + 1) * sizeof *c->sent);
		c->sent[c->n_sent++] = (sent_change){waiter_ix};
	}
	return rc;
}

static void send_event(vg_cluster *c, const char *kind, const char *text)
{
	vg_repmsg m = {.kind = VG_REPMSG_EVENT,
		       .time_ms = wall_ms(),
		       .event_kind = (char *)kind,
		       .text = (char *)text};
	if (c->quorate)
		send_r(c, &m, -1);
}

/* ---- control requests waiting for the cluster ------------------------------ */

static int waiter_add(vg_cluster *c, vg_control_reply *r, pend_kind kind, const char *node)
{
	c->waiters = vg_realloc(c->waiters, (c->n_waiters + 1) * sizeof *c->waiters);
	waiter *w = &c->waiters[c->n_waiters];
	*w = (waiter){
	    .conn = vg_control_defer(r), .kind = kind, .node = node ? vg_strdup(node) : NULL};
	return (int)c->n_waiters++;
}

/* Answer and retire waiter i (the slot stays, emptied, so indexes stay valid). */
static void waiter_finish(vg_cluster *c, int i, int code, json_t *result, const char *error)
{
	if (i < 0 || (size_t)i >= c->n_waiters || !c->waiters[i].conn) {
		json_decref(result);
		return;
	}
	waiter *w = &c->waiters[i];
	vg_control_reply r = {.code = code, .result = result};
	snprintf(r.error, sizeof r.error, "%s", error ? error : "");
	vg_control_finish(w->conn, &r);
	w->conn = NULL;
	free(w->node);
	free(w->diff);
	w->node = w->diff = NULL;
	json_decref(w->ack);
	w->ack = NULL;
	bool any = false;
	for (size_t k = 0; k < c->n_waiters; k++)
		any = any || c->waiters[k].conn;
	if (!any) {
		c->n_waiters = 0;
		for (size_t k = 0; k < c->n_sent; k++)
			c->sent[k].waiter = -1;
	}
}

static void waiters_fail_all(vg_cluster *c, const char *why)
{
	for (size_t i = 0; i < c->n_waiters; i++) {
		json_t *applied = c->waiters[i].conn ? c->waiters[i].ack : NULL;
		c->waiters[i].ack = NULL;
		if (applied) /* it was applied, only not yet on disk: still a success */
			waiter_finish(c, (int)i, 0, applied, NULL);
		else
			waiter_finish(c, (int)i, 3, NULL, why);
	}
	c->n_sent = 0;
}

/* ---- configuration --------------------------------------------------------- */

static void on_config_switched(void *arg);

static void on_committed_agents(void *arg);

/* A committed configuration to follow: its agents' meta-data first (the loop goes on), then
 * the switch; one arriving meanwhile supersedes it. */
static void use_committed_yaml(vg_cluster *c, const char *yaml)
{
	if (!yaml)
		return;
	if (c->next_cfg || c->md_req) { /* a switch is under way: take this one after it */
		free(c->queued_yaml);
		c->queued_yaml = vg_strdup(yaml);
		return;
	}
	c->md_yaml = vg_strdup(yaml);
	const char *texts[] = {yaml};
	c->md_req = vg_md_cache_prepare(c->agents, texts, 1, on_committed_agents, c);
}

/* Whether a and b differ in what cannot run here (an agent installed or removed since). */
static bool unrunnable_changed(const vg_config *a, const vg_config *b)
{
	for (size_t i = 0; i < b->n_resources; i++) {
		const vg_resource *ra = vg_config_resource(a, b->resources[i].name);
		if (ra && !ra->unrunnable != !b->resources[i].unrunnable)
			return true;
	}
	return false;
}

/* Load the committed configuration for this node (vg_config_load_local: what this node
 * lacks an agent for is marked, not refused). NULL when it cannot be loaded at all (it was
 * validated when committed, so that should not happen): then the reason is logged, sent to
 * the replicated history and reported (status shows the node runs an old configuration). */
static vg_config *load_committed(vg_cluster *c, const char *yaml, const char *keeping)
{
	vg_config_errors errs = {0};
	vg_agent_info ai = vg_md_cache_info(c->agents);
	vg_config *nc =
	    vg_config_load_local("committed configuration", yaml, strlen(yaml), &ai, &errs);
	if (nc) {
		vg_config_errors_free(&errs);
		for (size_t i = 0; i < nc->n_resources; i++)
			if (nc->resources[i].unrunnable)
				vg_warn("%s cannot run on this node: %s", nc->resources[i].name,
					nc->resources[i].unrunnable);
		return nc;
	}
	char line[1024] = "?";
	if (errs.count)
		vg_config_error_format(&errs.items[0], line, sizeof line);
	vg_config_errors_free(&errs);
	vg_error("the committed configuration cannot be loaded on this node (%s); running %s", line,
		 keeping);
	free(c->stale_config);
	c->stale_config = vg_strdup(line);
	char text[1200];
	snprintf(text, sizeof text, "%s cannot load the committed configuration (%s); it runs %s",
		 c->node, line, keeping);
	send_event(c, "config_not_applied", text); /* at start-up (no quorum yet): the log */
	if (c->sv)
		schedule_report(c);
	return NULL;
}

static void switch_committed(vg_cluster *c, const char *yaml)
{
	vg_config *nc = load_committed(c, yaml, "its previous one");
	if (!nc)
		return;
	if (c->stale_config) {
		free(c->stale_config);
		c->stale_config = NULL;
		schedule_report(c);
	}
	char *diff = vg_config_diff(c->cfg, nc);
	if (diff && !*diff && !unrunnable_changed(c->cfg, nc)) {
		free(diff);
		vg_config_free(nc);
		return;
	}
	vg_info("switching to the committed configuration:\n%s", diff ? diff : "");
	free(diff);
	if (!vg_config_node(nc, c->node))
		vg_warn("this node (%s) is not in the committed configuration", c->node);
	c->next_cfg = nc;
	vg_supervisor_set_config(c->sv, nc, on_config_switched, c);
}

static void on_committed_agents(void *arg)
{
	vg_cluster *c = arg;
	char *yaml = c->md_yaml;
	c->md_req = NULL;
	c->md_yaml = NULL;
	if (c->queued_yaml) { /* superseded while its agents were read */
		char *y = c->queued_yaml;
		c->queued_yaml = NULL;
		use_committed_yaml(c, y);
		free(y);
	} else {
		switch_committed(c, yaml);
	}
	free(yaml);
}

static void on_config_switched(void *arg)
{
	vg_cluster *c = arg;
	vg_config *old = c->cfg;
	c->cfg = c->next_cfg;
	c->next_cfg = NULL;
	vg_coord_set_config(c->co, c->cfg); /* keeps what it knows of each node, and the view */
	vg_config_free(old);
	if (c->queued_yaml) {
		char *y = c->queued_yaml;
		c->queued_yaml = NULL;
		use_committed_yaml(c, y);
		free(y);
	}
	schedule_report(c);
	schedule_run(c, 0);
}

/* ---- the replicated state ---------------------------------------------------- */

/* On disk, off the loop (store.h): the change's record, or a snapshot for a whole state. */
static void save_change(vg_cluster *c, const vg_repmsg *m, const char *data, size_t len)
{
	if (m->kind == VG_REPMSG_STATE_SYNC)
		vg_store_snapshot(c->st, c->rs);
	else
		vg_store_append(c->st, c->rs, data, len);
}

/* A change of mine applied (in a quorate view): the client hears of it once it is on this
 * server's disk too, as when each change was saved before the reply. */
static void answer_on_disk(vg_cluster *c, int wix, json_t *result)
{
	uint64_t at = vg_store_recorded(c->st);
	if (vg_store_durable(c->st) >= at) {
		waiter_finish(c, wix, 0, result, NULL);
		return;
	}
	waiter *w = &c->waiters[wix];
	json_decref(w->ack);
	w->ack = result;
	w->ack_at = at;
}

static void on_durable(void *arg, uint64_t durable)
{
	vg_cluster *c = arg;
	for (size_t i = 0; i < c->n_waiters; i++) {
		waiter *w = &c->waiters[i];
		if (w->conn && w->ack && w->ack_at <= durable) {
			json_t *r = w->ack;
			w->ack = NULL;
			waiter_finish(c, (int)i, 0, r, NULL);
		}
	}
}

static void after_change(vg_cluster *c, const vg_repmsg *m)
{
	if (m->kind == VG_REPMSG_CONFIG_COMMIT || m->kind == VG_REPMSG_STATE_SYNC)
		use_committed_yaml(c, c->rs->config_yaml);
	/* fence requests waiting for this node */
	if (m->kind == VG_REPMSG_FENCE_RECORD || m->kind == VG_REPMSG_EVENT) {
		for (size_t i = 0; i < c->n_waiters; i++) {
			waiter *w = &c->waiters[i];
			if (!w->conn || w->kind != PEND_FENCE)
				continue;
			if (m->kind == VG_REPMSG_FENCE_RECORD && !strcmp(m->node, w->node)) {
				waiter_finish(c, (int)i, 0,
					      json_pack("{s:s, s:s}", "node", m->node, "by", m->by),
					      NULL);
			} else if (m->kind == VG_REPMSG_EVENT &&
				   !strcmp(m->event_kind, "fence_failed") &&
				   !strncmp(m->text, w->node, strlen(w->node)) &&
				   m->text[strlen(w->node)] == ':') {
				waiter_finish(c, (int)i, 1, NULL, m->text);
			}
		}
	}
	schedule_run(c, 0);
}

/* Apply one delivered 'R' message. mine: sent by this node (answers its waiter). */
static void apply_r(vg_cluster *c, const char *data, size_t len, bool mine)
{
	char err[512];
	vg_repmsg *m = vg_repmsg_decode(data, len, err, sizeof err);
	int wix = -1;
	if (mine && (!m || m->kind != VG_REPMSG_STATE_SYNC) && c->n_sent > 0) {
		wix = c->sent[0].waiter;
		memmove(c->sent, c->sent + 1, (c->n_sent - 1) * sizeof *c->sent);
		c->n_sent--;
	}
	if (!m) {
		vg_warn("dropped a malformed cluster change: %s", err);
		waiter_finish(c, wix, 1, NULL, err);
		return;
	}
	bool was_sync = m->kind == VG_REPMSG_STATE_SYNC;
	if (was_sync && vg_msync_synced(c->ms) && m->state && !vg_hid_is_zero(&m->state->hist.id) &&
	    m->state->epoch == c->rs->epoch && m->state->version == c->rs->version &&
	    vg_hid_equal(&m->state->hist.id, &c->rs->hist.id)) {
		vg_repmsg_free(m); /* the very state this in-step member has: nothing to do */
		return;
	}
	int rc = vg_repstate_apply(c->rs, m, c->quorate, err, sizeof err);
	if (rc != 0) {
		if (m->kind != VG_REPMSG_STATE_SYNC)
			vg_warn("cluster change rejected: %s", err);
		waiter_finish(c, wix, c->quorate ? 1 : 3, NULL, err);
	} else {
		save_change(c, m, data, len);
		if (wix >= 0 && (size_t)wix < c->n_waiters && c->waiters[wix].conn) {
			waiter *w = &c->waiters[wix];
			if (w->is_commit)
				answer_on_disk(c, wix,
					       json_pack("{s:s, s:I, s:I}", "diff",
							 w->diff ? w->diff : "", "epoch",
							 (json_int_t)c->rs->epoch, "version",
							 (json_int_t)c->rs->version));
			else if (w->kind == PEND_CHANGE)
				answer_on_disk(
				    c, wix,
				    json_pack("{s:I}", "version", (json_int_t)c->rs->version));
		}
		after_change(c, m);
	}
	vg_repmsg_free(m);
	vg_msync_applied(c->ms, was_sync, c->rs); /* in step now? then the held ones on top */
}

/* member_sync.h: in step, before the held changes are applied on top. */
static void ms_synced(void *arg)
{
	vg_cluster *c = arg;
	c->been_synced = true;
	vg_coord_set_synced(c->co, true);
	vg_coord_in_step(c->co, c->rs); /* before the held changes are applied on top */
	schedule_report(c); /* what it knows of lost nodes is ordered now (vg_coord_seen) */
	wd_update(c);
	vg_info("cluster state in step: epoch %llu, version %llu", (unsigned long long)c->rs->epoch,
		(unsigned long long)c->rs->version);
	lease_update(c);
}

/* member_sync.h: a change held after the sync point, on top of the state received. */
static void ms_apply_held(void *arg, uint32_t from, const char *data, size_t len, void *tag)
{
	vg_cluster *c = arg;
	(void)tag;
	apply_r(c, data, len, from == my_id(c));
}

static void on_r_message(vg_cluster *c, uint32_t from, const char *data, size_t len)
{
	/* behind at the sync point: held for after the state (my own are answered then) */
	if (!vg_msync_r(c->ms, from, data, len, NULL))
		apply_r(c, data, len, from == my_id(c));
}

/* This node's whole state to the members behind: one 'R' state_sync when it fits a chunk,
 * else 'S' chunks (chunk.h) below Corosync's message size. */
static int send_state(vg_cluster *c)
{
	vg_repmsg m = {.kind = VG_REPMSG_STATE_SYNC, .state = c->rs};
	size_t len;
	char *s = vg_repmsg_encode(&m, &len);
	if (!s)
		return -1;
	if (len <= VG_CHUNK_SIZE) {
		int rc = send_prefixed(c, 'R', s, len);
		free(s);
		return rc;
	}
	uint8_t hash[VG_CHUNK_HASH];
	vg_chunk_hash(s, len, hash);
	uint32_t n = vg_chunk_count(len);
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		size_t cl;
		uint8_t *ch = vg_chunk_build(c->ring, s, len, hash, i, &cl);
		rc = ch ? send_prefixed(c, 'S', (const char *)ch, cl) : -1;
		free(ch);
	}
	vg_info("sent the cluster state in %u chunks (%zu bytes)", n, len);
	free(s);
	return rc;
}

/* A chunk of a state transfer; the whole, once verified, is a state_sync. */
static void on_chunk(vg_cluster *c, uint32_t from, const void *data, size_t len)
{
	char err[256];
	vg_chunk_result r =
	    vg_chunk_add(&c->chunks, from, data, len, VG_REPMSG_MAX, err, sizeof err);
	if (r == VG_CHUNK_REFUSED) {
		vg_warn("dropped a state transfer from node id %u: %s", from, err);
		return;
	}
	if (r != VG_CHUNK_DONE)
		return;
	size_t n;
	char *buf = (char *)vg_chunk_take(&c->chunks, &n);
	if (vg_msync_is_state_sync(buf, n))
		apply_r(c, buf, n, from == my_id(c));
	else
		vg_warn("dropped a state transfer from node id %u: not a state_sync", from);
	free(buf);
}

/* member_sync.h: the summary this node sends after a membership change. */
static void ms_send_summary(void *arg, const vg_member_msg *m)
{
	send_cv(arg, m);
}

static int ms_send_state(void *arg)
{
	return send_state(arg);
}

/* member_sync.h: the source records what a member loses at a merge. */
static void ms_record_lost(void *arg, uint32_t who, const char *kind, const char *text)
{
	(void)who;
	send_event(arg, kind, text);
}

static const char *ms_node_name(void *arg, uint32_t id)
{
	return node_name(arg, id);
}

/* ---- reports and actions ------------------------------------------------------ */

static void send_report(vg_cluster *c)
{
	if (!c->in_ring || !c->connected)
		return;
	vg_member_msg m = {.kind = VG_MM_REPORT,
			   .ring = c->ring,
			   .probed = vg_supervisor_probed(c->sv),
			   .leaving = c->leaving,
			   .ack = c->ack,
			   .resources = vg_supervisor_report(c->sv),
			   .seen = vg_coord_seen(c->co, c->rs),
			   .unrunnable = vg_supervisor_unrunnable(c->sv),
			   .errors = vg_supervisor_errors(c->sv),
			   .stale = c->stale_config};
	/* the watchdog it armed; a timeout the others would not count is not reported */
	uint32_t wt = c->wd ? vg_watchdog_timeout_s(c->wd) : 0;
	if (wt > 0 && wt <= VG_MM_WD_MAX_S) {
		m.wd.dev = (char *)vg_watchdog_path(c->wd);
		m.wd.timeout_s = wt;
	}
	size_t len;
	char *s = vg_mm_encode(&m, &len);
	json_decref(m.resources);
	json_decref(m.seen);
	json_decref(m.unrunnable);
	json_decref(m.errors);
	if (!s) {
		vg_error("cannot encode this node's report: not sent");
		return;
	}
	if (c->last_report && !strcmp(s, c->last_report)) {
		free(s);
		return;
	}
	free(c->last_report);
	c->last_report = s;
	send_tagged(c, 'C', s, len, true);
}

static void on_report_timer(uv_timer_t *t)
{
	send_report(t->data);
}

static void schedule_report(vg_cluster *c)
{
	if (!c->freeing && !uv_is_active((uv_handle_t *)&c->report_timer))
		uv_timer_start(&c->report_timer, on_report_timer, 0, 0);
}

static void on_report(vg_cluster *c, const char *from, const vg_member_msg *o)
{
	/* decoded: the watchdog, when given, has a timeout 1..VG_MM_WD_MAX_S */
	vg_node_report r = {
	    .ring = o->ring,
	    .probed = o->probed,
	    .leaving = o->leaving,
	    .ack = o->ack,
	    .resources = o->resources,
	    .watchdog = o->wd.dev,
	    .watchdog_s = o->wd.dev ? (uint32_t)o->wd.timeout_s : 0,
	    .seen = o->seen,
	    .unrunnable = o->unrunnable,
	    .errors = o->errors,
	    .stale_config = o->stale,
	};
	if (!vg_view_accepts_report(c->ring, r.ring)) {
		vg_debug("dropped a report of ring %llu from %s (this view: ring %llu)",
			 (unsigned long long)r.ring, from, (unsigned long long)c->ring);
		return;
	}
	vg_coord_report(c->co, from, &r);
	schedule_run(c, 0);
}

static void on_action(vg_cluster *c, const char *from, const vg_member_msg *o)
{
	const char *res = o->resource, *op = vg_op_name(o->op);
	uint64_t id = o->id, ring = o->ring;
	if (strcmp(o->node, c->node))
		return;
	if (!vg_view_accepts_action(c->ring, vg_coord_leader(c->co), ring, from)) {
		vg_warn("ignored %s %s from %s (ring %llu): not the coordinator of this view "
			"(ring %llu)",
			op, res, from, (unsigned long long)ring, (unsigned long long)c->ring);
		return;
	}
	/* Leaving: the shutdown stops everything here in its own order. The action is not
	 * acknowledged, so the coordinator keeps it pending instead of asking again at once
	 * (it would, in a loop, while the resource has not stopped yet); the membership change
	 * when this node is gone clears it. */
	if (c->leaving) {
		vg_debug("%s %s from %s: not done while leaving", op, res, from);
		return;
	}
	if (id > c->ack)
		c->ack = id;
	if (vg_supervisor_request(c->sv, res, o->op) != 0)
		vg_warn("coordinator asked to %s %s here: not done", op, res);
	free(c->last_report); /* acknowledge even if nothing else changed */
	c->last_report = NULL;
	schedule_report(c);
}

/* ---- fencing (coordinator) ------------------------------------------------------ */

static void fence_next(vg_cluster *c);

static void on_fenced(void *arg, const vg_fence_result *res)
{
	vg_cluster *c = arg;
	c->fence_op = NULL;
	char *target = c->fence_target;
	c->fence_target = NULL;
	if (res->ok) {
		vg_warn("fenced %s (%s, level %d)", target, res->device, res->level);
		vg_repmsg m = {.kind = VG_REPMSG_FENCE_RECORD,
			       .node = target,
			       .time_ms = wall_ms(),
			       .by = (char *)res->device,
			       .method = "off"};
		if (!c->quorate || send_r(c, &m, -1) != 0)
			vg_error("fenced %s but cannot record it (no quorum)", target);
		char text[600];
		snprintf(text, sizeof text, "%s: fenced by %s (level %d)", target, res->device,
			 res->level);
		send_event(c, "fenced", text);
	} else {
		vg_error("fencing %s failed: %s", target, res->detail);
		char text[700];
		snprintf(text, sizeof text, "%s: %s", target, res->detail);
		send_event(c, "fence_failed", text);
	}
	/* the fencing alert, on the node that fenced (Pacemaker's words) */
	char desc[900];
	snprintf(desc, sizeof desc, "Operation off of %s by %s for vigild@%s: %s%s%s", target,
		 res->device[0] ? res->device : "(no device)", c->node, res->ok ? "OK" : "Error",
		 res->ok ? "" : " (", res->ok ? "" : res->detail);
	if (!res->ok)
		strncat(desc, ")", sizeof desc - strlen(desc) - 1);
	const vg_node *tn = vg_config_node(c->cfg, target);
	vg_alerts_send(c->alerts, c->cfg,
		       &(vg_alert_event){.kind = VG_ALERT_FENCING,
					 .node = target,
					 .nodeid = tn ? tn->id : 0,
					 .desc = desc,
					 .task = "off",
					 .rc = res->ok ? 0 : 1});
	vg_coord_fence_done(c->co, target, res->ok, res->detail, mono_ms());
	free(target);
	fence_next(c);
	schedule_run(c, 0);
}

static void fence_next(vg_cluster *c)
{
	if (c->fence_op || c->n_fence_queue == 0 || c->freeing)
		return;
	c->fence_target = c->fence_queue[0];
	memmove(c->fence_queue, c->fence_queue + 1, (c->n_fence_queue - 1) * sizeof(char *));
	c->n_fence_queue--;
	c->fence_op = vg_fence_run(c->loop, c->cfg, c->fence_target, "off", on_fenced, c);
	if (!c->fence_op) {
		vg_coord_fence_done(c->co, c->fence_target, false, "out of memory", mono_ms());
		free(c->fence_target);
		c->fence_target = NULL;
	}
}

static void io_fence(void *arg, const char *node)
{
	vg_cluster *c = arg;
	if (c->fence_target && !strcmp(c->fence_target, node))
		return;
	for (size_t i = 0; i < c->n_fence_queue; i++)
		if (!strcmp(c->fence_queue[i], node))
			return;
	c->fence_queue = vg_realloc(c->fence_queue, (c->n_fence_queue + 1) * sizeof(char *));
	c->fence_queue[c->n_fence_queue++] = vg_strdup(node);
	fence_next(c);
}

static void io_send_action(void *arg, const char *node, const char *resource, vg_op_kind op,
			   uint64_t id)
{
	vg_cluster *c = arg;
	vg_member_msg m = {.kind = VG_MM_ACTION,
			   .ring = c->ring,
			   .node = (char *)node,
			   .resource = (char *)resource,
			   .op = op,
			   .id = id};
	send_cv(c, &m);
}

static void on_run_timer(uv_timer_t *t);

static void io_rearm(void *arg, uint64_t ms)
{
	schedule_run(arg, ms);
}

static void schedule_run(vg_cluster *c, uint64_t ms)
{
	if (c->freeing)
		return;
	if (uv_is_active((uv_handle_t *)&c->run_timer) && uv_timer_get_due_in(&c->run_timer) <= ms)
		return;
	uv_timer_start(&c->run_timer, on_run_timer, ms, 0);
}

static void on_run_timer(uv_timer_t *t)
{
	vg_cluster *c = t->data;
	if (c->next_cfg)
		return; /* the switch's end runs it again */
	vg_coord_run(c->co, c->rs, mono_ms(), wall_ms());
	/* a new cluster: the coordinator commits the file it was started with; standalone, the
	 * file is the configuration, so one that differs from the saved one is committed */
	bool file_differs = c->standalone && c->file_yaml &&
			    (!c->rs->config_yaml || strcmp(c->rs->config_yaml, c->file_yaml));
	if (vg_coord_is_leader(c->co) && vg_msync_synced(c->ms) &&
	    (c->rs->epoch == 0 || file_differs) && !c->bootstrap_sent && c->file_yaml) {
		c->bootstrap_sent = true;
		vg_info("%s: committing %s",
			c->rs->epoch == 0 ? "no committed configuration yet"
					  : "standalone: the file is the configuration",
			c->config_path);
		vg_repmsg m = {.kind = VG_REPMSG_CONFIG_COMMIT,
			       .yaml = c->file_yaml,
			       .base_version = c->rs->version};
		send_r(c, &m, -1);
	}
}

/* ---- membership ------------------------------------------------------------------- */

static void coord_membership(vg_cluster *c)
{
	uint32_t ring[384];
	size_t n = vg_membership_ring_members(c->m, ring, 384);
	if (n > 384)
		n = 384;
	vg_coord_membership(c->co, c->members, c->n_members, ring, n, c->quorate, c->ring,
			    mono_ms(), wall_ms());
}

/* A node alert, sent by the coordinator of the new view: a node joined ("member") or left
 * ("lost"). */
static void node_alert(vg_cluster *c, uint32_t id, const char *desc)
{
	vg_alerts_send(
	    c->alerts, c->cfg,
	    &(vg_alert_event){
		.kind = VG_ALERT_NODE, .node = node_name(c, id), .nodeid = id, .desc = desc});
}

static void on_m_change(void *arg, const uint32_t *members, size_t n, bool quorate, uint64_t ring)
{
	vg_cluster *c = arg;
	uint32_t *before = c->members;
	size_t n_before = c->n_members;
	c->members = vg_malloc((n ? n : 1) * sizeof *members);
	memcpy(c->members, members, n * sizeof *members);
	c->n_members = n;
	bool was_quorate = c->quorate;
	c->quorate = quorate;
	c->ring = ring;
	c->in_ring = true;
	c->starting = false;
	uv_timer_stop(&c->connect_timer);
	char list[512] = "";
	for (size_t i = 0; i < n; i++) {
		const char *nm = node_name(c, members[i]);
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s%s", i ? " " : "", nm ? nm : "?");
	}
	vg_info("membership: [%s], %s, ring %llu", list, quorate ? "quorate" : "NO QUORUM",
		(unsigned long long)ring);
	/* the new coordinator records who left and who came */
	bool leader = false;
	if (quorate) {
		uint32_t low = UINT32_MAX;
		for (size_t i = 0; i < n; i++)
			low = members[i] < low ? members[i] : low;
		leader = low == my_id(c);
	}
	for (size_t i = 0; leader && i < n_before; i++) {
		bool still = false;
		for (size_t k = 0; k < n; k++)
			still = still || members[k] == before[i];
		const char *nm = node_name(c, before[i]);
		char text[800];
		snprintf(text, sizeof text, "%s left the membership (now: %s)", nm ? nm : "?",
			 list);
		if (!still) {
			send_event(c, "node_lost", text);
			node_alert(c, before[i], "lost");
		}
	}
	for (size_t k = 0; leader && k < n; k++) {
		bool was = false;
		for (size_t i = 0; i < n_before; i++)
			was = was || members[k] == before[i];
		if (!was)
			node_alert(c, members[k], "member");
	}
	if (quorate && !was_quorate && leader)
		send_event(c, "quorum", list);
	free(before);
	if (!quorate && c->cfg->no_quorum == VG_NO_QUORUM_STOP)
		vg_supervisor_halt(c->sv, true);
	else if (quorate && !c->leaving && !c->lease.halted)
		vg_supervisor_halt(c->sv, false);
	c->ack = 0; /* a new view: the coordinator's requests start afresh */
	/* state transfer round; a transfer of the old view is dropped */
	vg_chunk_reset(&c->chunks);
	vg_msync_view(c->ms, my_id(c), c->members, c->n_members);
	vg_coord_set_synced(c->co, false);
	coord_membership(c);
	vg_msync_send_summary(c->ms, c->rs, c->ring, n_before);
	free(c->last_report);
	c->last_report = NULL;
	schedule_report(c);
	schedule_run(c, 0);
	wd_update(c);
	lease_update(c);
}

/* A new totem ring, before quorum is reported for it: when it holds no majority of the
 * servers (and not two_node, where a half keeps quorum, nor with a qnetd arbiter, whose vote
 * may keep a minority quorate), this node is about to lose quorum
 * and stops now instead of waiting for votequorum's notice: the quorate side counts on
 * the lost side stopping within quorum_loss_delay of the change. */
static void on_m_ring(void *arg, const uint32_t *members, size_t n, uint64_t ring)
{
	vg_cluster *c = arg;
	size_t servers = 0, in = 0;
	for (size_t i = 0; i < c->cfg->n_nodes; i++) {
		if (c->cfg->nodes[i].role != VG_ROLE_SERVER)
			continue;
		servers++;
		for (size_t k = 0; k < n; k++)
			in += members[k] == c->cfg->nodes[i].id;
	}
	/* with a qnetd arbiter a minority (or half) may keep quorum: votequorum decides */
	c->ring_majority = servers == 2 || in * 2 > servers || c->cfg->qnetd.host;
	if (servers == 2 || in * 2 > servers || c->cfg->no_quorum != VG_NO_QUORUM_STOP ||
	    c->cfg->qnetd.host)
		return;
	if (c->quorate)
		vg_warn("ring %llu has %zu of %zu servers: no majority, stopping resources before "
			"the quorum notice",
			(unsigned long long)ring, in, servers);
	vg_supervisor_halt(c->sv, true);
}

static void on_m_message(void *arg, uint32_t from, const void *data, size_t len)
{
	vg_cluster *c = arg;
	const char *p = data;
	if (len < 2 || (p[0] != 'R' && p[0] != 'C' && p[0] != 'S')) {
		vg_warn("dropped a malformed message from node id %u", from);
		return;
	}
	if (p[0] == 'S') {
		on_chunk(c, from, p + 1, len - 1);
		return;
	}
	if (p[0] == 'R') {
		if (node_name(c, from))
			vg_coord_heard(c->co, node_name(c, from), mono_ms());
		char *copy = vg_malloc(len);
		memcpy(copy, p + 1, len - 1);
		copy[len - 1] = '\0';
		on_r_message(c, from, copy, len - 1);
		free(copy);
		return;
	}
	const char *fname = node_name(c, from);
	if (fname) /* any message delivered from it: the quorate side counts its lease from here */
		vg_coord_heard(c->co, fname, mono_ms());
	char err[256] = "";
	vg_member_msg *o = fname ? vg_mm_decode(p + 1, len - 1, err, sizeof err) : NULL;
	if (!o) {
		/* one line per sender and defect: the log limits the repeats */
		vg_warn("dropped a message from %s (node id %u): %s", fname ? fname : "?", from,
			fname ? err : "not a node of the configuration");
		return;
	}
	switch (o->kind) {
	case VG_MM_HEARTBEAT:
		if (from == my_id(c) && from) {
			vg_lease_delivered(&c->lease, o->t,
					   c->connected && c->quorate && c->ring_majority);
			lease_update(c);
		}
		vg_mm_free(o);
		return; /* nothing else to do: no run */
	case VG_MM_REPORT:
		on_report(c, fname, o);
		break;
	case VG_MM_ACTION:
		on_action(c, fname, o);
		break;
	case VG_MM_SUMMARY:
		vg_msync_summary(c->ms, from, o, c->rs);
		break;
	case VG_MM_BYE:
		vg_coord_bye(c->co, fname, o->resources);
		break;
	case VG_MM_FENCE:
		if (vg_coord_is_leader(c->co) && vg_config_node(c->cfg, o->node))
			io_fence(c, o->node);
		break;
	case VG_MM_CLEANUP: {
		const char *res = o->resource;
		const vg_resource *rr = vg_config_resource(c->cfg, res);
		vg_supervisor_cleanup(c->sv, res);
		/* loaded without its agent: look again (installed since? the switch probes it) */
		if (rr && rr->unrunnable)
			use_committed_yaml(c, c->rs->config_yaml);
		break;
	}
	case VG_MM_RESTART: {
		if (!vg_coord_is_leader(c->co))
			break;
		const char *res = o->resource;
		json_t *st = vg_coord_status(c->co, c->rs, mono_ms(), wall_ms());
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(st, "resources"), i, v)
		{
			if (strcmp(json_string_value(json_object_get(v, "name")), res))
				continue;
			size_t k;
			json_t *inst;
			json_array_foreach(json_object_get(v, "instances"), k, inst)
			    io_send_action(c, json_string_value(json_object_get(inst, "node")), res,
					   VG_OP_STOP, 0);
		}
		json_decref(st);
		break;
	}
	}
	vg_mm_free(o);
	schedule_run(c, 0);
}

static void on_connect_timeout(uv_timer_t *t)
{
	vg_cluster *c = t->data;
	vg_error("Corosync is not reachable: stopping local resources until it is");
	c->starting = false;
	vg_supervisor_halt(c->sv, true);
	wd_update(c);
}

/* Does the running Corosync's nodelist (read at connect time) hold the configuration's servers
 * and nothing else? Logs the differences when it does not; a nodelist that could not be read
 * (corosync_membership.c logged why) is not held against it. */
static bool corosync_matches(vg_cluster *c)
{
	if (!vg_membership_nodelist_known(c->m))
		return true;
	size_t n = vg_membership_nodelist(c->m, NULL, 0);
	vg_corosync_node *nodes = vg_calloc(n ? n : 1, sizeof *nodes);
	if (!nodes)
		return true;
	n = vg_membership_nodelist(c->m, nodes, n);
	char why[1024];
	int rc =
	    vg_corosync_match(c->cfg, vg_membership_cluster_name(c->m), nodes, n, why, sizeof why);
	free(nodes);
	if (rc == 0)
		return true;
	vg_error("the local Corosync's nodelist does not match the configuration: %s. Its "
		 "corosync.conf does not match (vigil corosync-conf makes one that does); "
		 "refusing to run",
		 why);
	return false;
}

/* The two sides of a cut see it up to one idle token hold apart: the quorate side allows for
 * the running Corosync's hold (read from cmap) in every wait for a lost node (coordinator.h). */
static void set_corosync_hold(vg_cluster *c)
{
	uint32_t hold = vg_membership_hold_ms(c->m);
	vg_coord_set_corosync_hold(c->co, hold);
	if (hold > vg_corosync_hold_ms(c->cfg->token_ms))
		vg_warn("Corosync's totem hold is %u ms (vigil corosync-conf writes hold: %u): a "
			"lost node's requires: quorum resources count as stopped %llu ms after it "
			"left at the earliest",
			hold, vg_corosync_hold_ms(c->cfg->token_ms),
			(unsigned long long)vg_coord_quorum_loss_delay(c->co));
}

static void on_m_connection(void *arg, bool connected)
{
	vg_cluster *c = arg;
	c->connected = connected;
	if (connected && c->standalone) {
		vg_info("standalone: a cluster of one (node id %u)", my_id(c));
		return;
	}
	if (connected) {
		vg_info("connected to Corosync (node id %u)", vg_membership_local_nodeid(c->m));
		if (vg_membership_local_nodeid(c->m) != my_id(c)) {
			vg_error("the local Corosync's node id is %u but %s is node id %u in the "
				 "configuration: its corosync.conf does not match (vigil "
				 "corosync-conf makes one that does); refusing to run",
				 vg_membership_local_nodeid(c->m), c->node, my_id(c));
			c->connected = false;
			vg_supervisor_halt(c->sv, true);
			fatal(c);
			return;
		}
		if (!corosync_matches(c)) {
			c->connected = false;
			vg_supervisor_halt(c->sv, true);
			fatal(c);
			return;
		}
		set_corosync_hold(c);
		return;
	}
	vg_error("lost Corosync: stopping local resources (cannot know whether this node is "
		 "in the quorate partition)");
	c->in_ring = false;
	c->quorate = false;
	vg_msync_disconnected(c->ms);
	vg_coord_set_synced(c->co, false);
	vg_coord_membership(c->co, NULL, 0, NULL, 0, false, 0, mono_ms(), wall_ms());
	vg_supervisor_halt(c->sv, true);
	wd_update(c);
	waiters_fail_all(c, "lost the connection to Corosync");
}

/* ---- the lease ---------------------------------------------------------------------- */

static uint64_t heartbeat_ms(const vg_cluster *c)
{
	uint64_t ms = c->cfg->lease_ms / VG_LEASE_BEATS;
	return ms ? ms : 1;
}

static void on_hb_timer(uv_timer_t *t)
{
	vg_cluster *c = t->data;
	uv_timer_set_repeat(t, heartbeat_ms(c)); /* the lease may have changed */
	if (c->connected && c->in_ring)
		send_cv(c, &(vg_member_msg){.kind = VG_MM_HEARTBEAT, .t = mono_ms()});
}

static void on_lease_timer(uv_timer_t *t)
{
	lease_update(t->data);
}

/* Halt when the lease has run out (and Corosync answers nothing), resume when it is held
 * again and this node is a synced member; then look again when that may next change. */
static void lease_update(vg_cluster *c)
{
	if (c->freeing)
		return;
	uint64_t now = mono_ms();
	c->lease.lease_ms = c->cfg->lease_ms;
	vg_lease_answered(&c->lease, vg_membership_answered_at(c->m));
	if (c->cfg->no_quorum != VG_NO_QUORUM_STOP)
		return; /* freeze: keeps running without quorum; nobody counts on it stopping */
	bool was = c->lease.halted;
	if (vg_lease_check(&c->lease, now) && !was) {
		vg_error("lease expired: this node's heartbeat has not come back through Corosync "
			 "in a quorate view for %llu ms and Corosync does not answer: stopping "
			 "every resource",
			 (unsigned long long)c->lease.lease_ms);
		vg_supervisor_halt(c->sv, true);
		/* what this server heard before its Corosync went silent is old news by the next
		 * membership change: a node away from it may have run things meanwhile */
		vg_coord_silenced(c->co, true);
		wd_update(c);
	}
	if (c->lease.halted &&
	    vg_lease_resume(&c->lease, now, vg_msync_synced(c->ms) && c->quorate && c->in_ring)) {
		vg_info("lease held again (heartbeat back in a quorate view, state in step): "
			"resuming");
		vg_coord_silenced(c->co, false);
		if (c->connected && c->quorate && !c->leaving)
			vg_supervisor_halt(c->sv, false);
		wd_update(c);
		schedule_run(c, 0);
	}
	if (c->lease.until)
		uv_timer_start(&c->lease_timer, on_lease_timer, vg_lease_next_check(&c->lease, now),
			       0);
}

/* ---- supervisor callbacks ------------------------------------------------------- */

static void sv_change(void *arg)
{
	schedule_report(arg);
	wd_update(arg);
}

/* Fed while nothing runs here, or while a quorate member that has been in step (so the
 * others see it and what it runs). Not while starting with adopted resources: the others may
 * count on the deadline of a watchdog this node armed before it lost them. */
static void wd_update(vg_cluster *c)
{
	bool healthy = !c->unclean_exit &&
		       (vg_supervisor_all_stopped(c->sv) ||
			(c->connected && c->quorate && c->been_synced && !c->lease.halted));
	if (!c->wd && healthy && c->cfg->watchdog && !c->freeing && !c->leaving && !c->wd_refused) {
		char err[512];
		c->wd = vg_watchdog_open(c->loop, c->cfg->watchdog, c->cfg->watchdog_timeout_s, err,
					 sizeof err);
		if (!c->wd) {
			vg_error("watchdog: %s; refusing to run without it", err);
			c->wd_refused = true;
			fatal(c); /* stops everything, then exits */
			return;
		}
		vg_info("watchdog %s armed (%u s)", c->cfg->watchdog, vg_watchdog_timeout_s(c->wd));
		schedule_report(c); /* the others count its deadline from now on */
		return;
	}
	if (c->wd)
		vg_watchdog_set_healthy(c->wd, healthy);
}

static void sv_failure(void *arg, const char *resource, const char *what, bool hard)
{
	vg_cluster *c = arg;
	if (!c->quorate)
		return;
	uint32_t count = 0;
	for (size_t i = 0; i < c->rs->n_failcounts; i++)
		if (!strcmp(c->rs->failcounts[i].resource, resource) &&
		    !strcmp(c->rs->failcounts[i].node, c->node))
			count = c->rs->failcounts[i].count;
	const vg_resource *r = vg_config_resource(c->cfg, resource);
	if (!r && c->next_cfg) /* reported while switching to the configuration that adds it */
		r = vg_config_resource(c->next_cfg, resource);
	uint32_t next = count + 1;
	if (hard && r && r->migration_threshold > next)
		next = r->migration_threshold;
	vg_repmsg m = {.kind = VG_REPMSG_FAILCOUNT_SET,
		       .resource = (char *)resource,
		       .node = c->node,
		       .count = next,
		       .time_ms = wall_ms()};
	send_r(c, &m, -1);
	char text[700];
	snprintf(text, sizeof text, "%s on %s: %s (failcount %u)", resource, c->node, what, next);
	send_event(c, "resource_failed", text);
}

/* A stop here failed for good: the resource may still run and this node will not stop it.
 * Count the failure and, unless on_fail is block, ask the coordinator to fence this node:
 * nothing else makes a must-run-once resource safe to start elsewhere. */
/* A resource alert on the node where it ran: every result but a probe's and a recurring
 * monitor's success (Pacemaker's rule). */
static void sv_op(void *arg, const vg_supervisor_op *op)
{
	vg_cluster *c = arg;
	if (op->probe || (op->interval_ms && op->rc == 0 && !op->timed_out))
		return;
	vg_alerts_send(
	    c->alerts, c->cfg,
	    &(vg_alert_event){.kind = VG_ALERT_RESOURCE,
			      .node = c->node,
			      .nodeid = my_id(c),
			      .rsc = op->resource,
			      .task = op->task,
			      .rc = op->rc,
			      .interval_ms = op->interval_ms,
			      .status = op->timed_out ? 2 : 0,
			      .exec_time_ms = op->exec_ms,
			      .desc = op->timed_out ? "Timed Out" : vg_alert_rc_desc(op->rc)});
}

static void sv_stop_failed(void *arg, const char *resource, const char *what, bool fence)
{
	vg_cluster *c = arg;
	sv_failure(arg, resource, what, false);
	if (!fence || !c->connected)
		return;
	vg_warn("%s: cannot be stopped here (%s): asking to be fenced", resource, what);
	send_c(c, &(vg_member_msg){.kind = VG_MM_FENCE, .node = c->node});
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void on_fatal_timer(uv_timer_t *t)
{
	vg_cluster *c = t->data;
	if (c->on_fatal && !c->freeing)
		c->on_fatal(c->fatal_arg);
}

static void fatal(vg_cluster *c)
{
	uv_timer_start(&c->fatal_timer, on_fatal_timer, 0, 0);
}

static void timer_init(vg_cluster *c, uv_timer_t *t)
{
	uv_timer_init(c->loop, t);
	t->data = c;
}

vg_cluster *vg_cluster_new(const vg_cluster_opts *o, char *err, size_t errlen)
{
	vg_repstate *rs;
	vg_store *st = vg_store_open(o->loop, o->data_dir, &rs, err, errlen);
	if (!st)
		return NULL;
	vg_cluster *c = vg_calloc(1, sizeof *c);
	c->st = st;
	vg_store_on_durable(st, on_durable, c);
	c->loop = o->loop;
	c->node = vg_strdup(o->node);
	c->data_dir = vg_strdup(o->data_dir);
	c->ocf_root = o->ocf_root ? vg_strdup(o->ocf_root) : NULL;
	c->config_path = vg_strdup(o->config_path);
	c->on_fatal = o->on_fatal;
	c->fatal_arg = o->fatal_arg;
	c->standalone = o->standalone;
	c->file_yaml = vg_file_read(o->config_path, VG_REPMSG_MAX, NULL, NULL, 0);
	c->agents = o->agents;
	c->rs = rs;
	c->cfg = o->file_config;
	vg_msync_io mio = {.send_summary = ms_send_summary,
			   .send_state = ms_send_state,
			   .record_lost = ms_record_lost,
			   .synced = ms_synced,
			   .apply_held = ms_apply_held,
			   .node_name = ms_node_name};
	c->ms = vg_msync_new(&mio, c);
	if (rs->config_yaml && !c->standalone) {
		vg_config *cc = load_committed(c, rs->config_yaml, o->config_path);
		if (cc && vg_config_node(cc, c->node)) {
			char *diff = vg_config_diff(cc, o->file_config);
			if (diff && *diff)
				vg_warn("%s differs from the cluster's committed configuration "
					"(epoch %llu), which is followed; the differences:\n%s",
					o->config_path, (unsigned long long)rs->epoch, diff);
			free(diff);
			vg_config_free(c->cfg);
			c->cfg = cc;
		} else if (cc) {
			vg_error("this node is not in the saved committed configuration; using %s",
				 o->config_path);
			vg_config_free(cc);
		}
	}
	vg_supervisor_opts so = {.loop = c->loop,
				 .config = c->cfg,
				 .node_name = c->node,
				 .data_dir = c->data_dir,
				 .ocf_root = c->ocf_root,
				 .cbs = {sv_change, sv_failure, sv_stop_failed, sv_op},
				 .cb_arg = c};
	c->alerts = vg_alerts_new(c->loop, c->node);
	c->sv = vg_supervisor_new(&so);
	vg_coord_io io = {io_send_action, io_fence, io_rearm};
	c->co = vg_coord_new(c->node, &io, c);
	vg_coord_set_config(c->co, c->cfg);
	timer_init(c, &c->report_timer);
	timer_init(c, &c->run_timer);
	timer_init(c, &c->connect_timer);
	timer_init(c, &c->fatal_timer);
	timer_init(c, &c->hb_timer);
	timer_init(c, &c->lease_timer);
	vg_lease_init(&c->lease, c->cfg->lease_ms);
	return c;
}

void vg_cluster_start(vg_cluster *c)
{
	c->starting = true;
	vg_supervisor_start(c->sv); /* probes first: a refusal below then stops what runs */
	uint64_t grace = CONNECT_GRACE_MS;
	/* the watchdog is armed by wd_update once nothing runs here or this node is a member in
	 * step; a watchdog left armed by a vigild before this one is not fed until then */
	if (c->cfg->watchdog && grace > c->cfg->watchdog_timeout_s * 500u)
		grace = c->cfg->watchdog_timeout_s * 500u;
	vg_membership_cbs cbs = {.on_change = on_m_change,
				 .on_message = on_m_message,
				 .on_ring = on_m_ring,
				 .on_connection = on_m_connection};
	char group[128];
	snprintf(group, sizeof group, "vigil-%s", c->cfg->name ? c->cfg->name : "cluster");
	c->m = c->standalone ? vg_membership_loopback_new(c->loop, my_id(c), &cbs, c)
			     : vg_membership_corosync_new(c->loop, group, &cbs, c);
	if (vg_membership_watch_corosync(c->m, heartbeat_ms(c)) != 0)
		vg_warn("cannot start the thread that asks Corosync whether it answers: a lease "
			"that runs out halts this node even while its Corosync forms a new "
			"membership");
	uv_timer_start(&c->hb_timer, on_hb_timer, 0, heartbeat_ms(c));
	uv_timer_start(&c->connect_timer, on_connect_timeout, grace, 0);
	wd_update(c); /* nothing configured to run: armed at once */
}

/* Everything is down or given up (blocked). Goodbye, and a disarmed watchdog, only when
 * every resource is verifiably stopped: otherwise the others must treat this node as
 * unclean (fence it, or count on its watchdog, which stays armed and unfed). */
static void on_all_down(void *arg)
{
	vg_cluster *c = arg;
	c->clean_stop = vg_supervisor_all_stopped(c->sv);
	json_t *res = vg_supervisor_report(c->sv);
	if (!c->clean_stop) {
		c->unclean_exit = true;
		char list[512] = "";
		const char *k;
		json_t *v;
		json_object_foreach(res, k, v)
		{
			size_t l = strlen(list);
			if (strcmp(json_string_value(v), "stopped"))
				snprintf(list + l, sizeof list - l, "%s%s (%s)", l ? ", " : "", k,
					 json_string_value(v));
		}
		vg_error("not everything stopped: %s; leaving without a goodbye, the others treat "
			 "this node as unclean%s",
			 list, c->wd ? " (its watchdog stays armed, unfed)" : "");
		json_decref(res);
		if (c->wd)
			vg_watchdog_set_healthy(c->wd, false);
	} else if (c->connected) {
		/* each one verified stopped (a "failed" one that its monitor found down, too) */
		json_t *bye = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(res, k, v) json_object_set_new(bye, k, json_string("stopped"));
		json_decref(res);
		send_c(c, &(vg_member_msg){.kind = VG_MM_BYE, .resources = bye});
		json_decref(bye);
	} else {
		json_decref(res);
	}
	vg_cluster_done_cb cb = c->done_cb;
	c->done_cb = NULL;
	if (cb)
		cb(c->done_arg);
}

void vg_cluster_shutdown(vg_cluster *c, vg_cluster_done_cb cb, void *arg)
{
	c->leaving = true;
	c->done_cb = cb;
	c->done_arg = arg;
	send_report(c); /* the coordinator moves things away and starts nothing here */
	vg_supervisor_shutdown(c->sv, on_all_down, c);
}

static void on_close(uv_handle_t *h)
{
	vg_cluster *c = h->data;
	if (--c->open_handles > 0)
		return;
	free(c);
}

static void applies_fail_all(vg_cluster *c, const char *why);

void vg_cluster_free(vg_cluster *c)
{
	if (!c)
		return;
	c->freeing = true;
	waiters_fail_all(c, "vigild is stopping");
	applies_fail_all(c, "vigild is stopping: nothing was changed");
	vg_md_req_cancel(c->md_req);
	free(c->md_yaml);
	if (c->fence_op)
		vg_fence_cancel(c->fence_op);
	free(c->fence_target);
	for (size_t i = 0; i < c->n_fence_queue; i++)
		free(c->fence_queue[i]);
	free(c->fence_queue);
	if (c->wd)
		vg_watchdog_close(c->wd, c->clean_stop); /* a crash leaves it armed */
	vg_membership_free(c->m);
	vg_supervisor_free(c->sv);
	vg_alerts_free(c->alerts);
	vg_coord_free(c->co);
	vg_store_close(c->st); /* what is queued is written first */
	vg_repstate_free(c->rs);
	vg_config_free(c->cfg);
	vg_config_free(c->next_cfg);
	free(c->queued_yaml);
	free(c->stale_config);
	free(c->members);
	vg_msync_free(c->ms);
	vg_chunk_reset(&c->chunks);
	free(c->last_report);
	free(c->waiters);
	free(c->sent);
	free(c->node);
	free(c->data_dir);
	free(c->ocf_root);
	free(c->config_path);
	free(c->file_yaml);
	uv_timer_t *ts[] = {&c->report_timer, &c->run_timer, &c->connect_timer,
			    &c->fatal_timer,  &c->hb_timer,  &c->lease_timer};
	c->open_handles = 6;
	for (size_t i = 0; i < 6; i++)
		uv_close((uv_handle_t *)ts[i], on_close);
}

/* ---- control commands --------------------------------------------------------------- */

/* Changes need a quorate member in step with the cluster. */
static bool may_change(vg_cluster *c, vg_control_reply *r)
{
	if (!c->connected || !c->quorate) {
		vg_cmd_fail(r, 3, "%s", "this node has no quorum: nothing was changed");
		return false;
	}
	if (!vg_msync_synced(c->ms)) {
		vg_cmd_fail(
		    r, 3, "%s",
		    "this node is catching up with the cluster's state; try again in a moment");
		return false;
	}
	if (c->n_waiters >= PENDING_MAX) {
		vg_cmd_fail(r, 1, "%s", "too many requests in flight");
		return false;
	}
	return true;
}

/* An apply waiting for its agents' meta-data. */
struct apply_wait {
	vg_cluster *c;
	vg_control_conn *conn;
	vg_md_req *req;
	char *yaml, *file;
	struct apply_wait *next;
};

static void apply_unlink(vg_cluster *c, struct apply_wait *a)
{
	for (struct apply_wait **p = &c->applies; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	free(a->yaml);
	free(a->file);
	free(a);
}

static void applies_fail_all(vg_cluster *c, const char *why)
{
	while (c->applies) {
		struct apply_wait *a = c->applies;
		vg_md_req_cancel(a->req);
		vg_control_reply r = {.code = 3};
		snprintf(r.error, sizeof r.error, "%s", why);
		vg_control_finish(a->conn, &r);
		apply_unlink(c, a);
	}
}

static void apply_loaded(vg_cluster *c, const char *yaml, const char *file, vg_control_reply *r)
{
	vg_config_errors errs = {0};
	vg_agent_info ai = vg_md_cache_info(c->agents);
	vg_config *nc = vg_config_load_buffer(file, yaml, strlen(yaml), &ai, &errs);
	if (!nc) {
		json_t *list = json_array();
		char line[1024];
		for (size_t i = 0; i < errs.count; i++) {
			vg_config_error_format(&errs.items[i], line, sizeof line);
			json_array_append_new(list, json_string(line));
		}
		r->code = 2;
		r->result = json_pack("{s:o}", "errors", list);
		vg_config_error_format(&errs.items[0], line, sizeof line);
		snprintf(r->error, sizeof r->error, "%.400s (%zu error(s); nothing was changed)",
			 line, errs.count);
		vg_config_errors_free(&errs);
		return;
	}
	char *diff = vg_config_diff(c->cfg, nc);
	vg_config_free(nc);
	if (!may_change(c, r)) {
		free(diff);
		return;
	}
	if (!diff || !*diff) {
		r->result =
		    json_pack("{s:s, s:I, s:I}", "diff", "", "epoch", (json_int_t)c->rs->epoch,
			      "version", (json_int_t)c->rs->version);
		free(diff);
		return;
	}
	int w = waiter_add(c, r, PEND_CHANGE, NULL);
	c->waiters[w].is_commit = true;
	c->waiters[w].diff = diff;
	vg_repmsg m = {
	    .kind = VG_REPMSG_CONFIG_COMMIT, .yaml = (char *)yaml, .base_version = c->rs->version};
	if (send_r(c, &m, w) != 0)
		waiter_finish(c, w, 3, NULL, "cannot reach the cluster: nothing was changed");
}

static void on_apply_agents(void *arg)
{
	struct apply_wait *a = arg;
	vg_control_reply r = vg_control_resume(a->conn);
	apply_loaded(a->c, a->yaml, a->file, &r);
	vg_control_settle(&r);
	apply_unlink(a->c, a);
}

/* The reply waits for the meta-data of the text's agents (fetched on the loop, or cached). */
static void cmd_apply(vg_cluster *c, json_t *args, vg_control_reply *r)
{
	const char *yaml = json_string_value(json_object_get(args, "yaml"));
	const char *file = json_string_value(json_object_get(args, "file"));
	if (!yaml) {
		vg_cmd_fail(r, 2, "%s", "apply: missing \"yaml\"");
		return;
	}
	size_t waiting = 0;
	for (struct apply_wait *w = c->applies; w; w = w->next)
		waiting++;
	if (waiting >= PENDING_MAX) {
		vg_cmd_fail(r, 1, "%s", "too many requests in flight");
		return;
	}
	struct apply_wait *a = vg_calloc(1, sizeof *a);
	*a = (struct apply_wait){.c = c,
				 .conn = vg_control_defer(r),
				 .yaml = vg_strdup(yaml),
				 .file = vg_strdup(file ? file : "(apply)"),
				 .next = c->applies};
	c->applies = a;
	const char *texts[] = {yaml};
	a->req = vg_md_cache_prepare(c->agents, texts, 1, on_apply_agents, a);
}

static void cmd_change(vg_cluster *c, const vg_repmsg *m, vg_control_reply *r)
{
	if (!may_change(c, r))
		return;
	int w = waiter_add(c, r, PEND_CHANGE, NULL);
	if (send_r(c, m, w) != 0)
		waiter_finish(c, w, 3, NULL, "cannot reach the cluster: nothing was changed");
}

static bool is_member(const vg_cluster *c, const char *node)
{
	const vg_node *n = vg_config_node(c->cfg, node);
	for (size_t i = 0; n && i < c->n_members; i++)
		if (c->members[i] == n->id)
			return true;
	return false;
}

static void cmd_node(void *ctx, const vg_cmd *cmd, const char *node, json_t *args,
		     vg_control_reply *r)
{
	vg_cluster *c = ctx;
	json_t *on = json_object_get(args, "on");
	int flag = on && json_is_false(on) ? 0 : 1;
	vg_repmsg m = {
	    .kind = VG_REPMSG_NODE_ADMIN, .node = (char *)node, .standby = -1, .maintenance = -1};
	switch (cmd->id) {
	case VG_CMD_NODE_STANDBY:
		m.standby = flag;
		break;
	case VG_CMD_NODE_UNSTANDBY:
		m.standby = 0;
		break;
	case VG_CMD_NODE_MAINTENANCE:
		m.maintenance = flag;
		break;
	case VG_CMD_NODE_CONFIRM_DOWN:
		if (is_member(c, node)) {
			vg_cmd_fail(r, 1,
				    "%s is a member of the cluster (it is up): not confirmed down",
				    node);
			return;
		}
		m = (vg_repmsg){.kind = VG_REPMSG_FENCE_RECORD,
				.node = (char *)node,
				.time_ms = wall_ms(),
				.by = "operator",
				.method = "confirm-down"};
		if (may_change(c, r)) {
			char text[300];
			snprintf(text, sizeof text, "%s: confirmed down by an operator", node);
			cmd_change(c, &m, r);
			send_event(c, "fenced", text);
		}
		return;
	default: /* VG_CMD_NODE_FENCE */
		if (!may_change(c, r))
			return;
		if (!vg_fence_configured(c->cfg, node)) {
			vg_cmd_fail(r, 1, "no fence device targets %s", node);
			return;
		}
		waiter_add(c, r, PEND_FENCE, node);
		send_c(c, &(vg_member_msg){.kind = VG_MM_FENCE, .node = (char *)node});
		return;
	}
	cmd_change(c, &m, r);
}

static void cmd_status(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
		       vg_control_reply *r)
{
	vg_cluster *c = ctx;
	(void)cmd, (void)target, (void)args;
	r->result = vg_coord_status(c->co, c->rs, mono_ms(), wall_ms());
	json_t *cl = json_object_get(r->result, "cluster");
	json_object_set_new(cl, "node", json_string(c->node));
	if (c->standalone)
		json_object_set_new(cl, "mode", json_string("standalone"));
}

static void cmd_ping(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
		     vg_control_reply *r)
{
	vg_cluster *c = ctx;
	(void)cmd, (void)target, (void)args;
	r->result = json_pack("{s:s}", "node", c->node);
}

static void cmd_config_show(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
			    vg_control_reply *r)
{
	vg_cluster *c = ctx;
	(void)cmd, (void)target, (void)args;
	char hex[VG_HID_HEX];
	vg_hid_hex(&c->rs->hist.id, hex);
	r->result = json_pack("{s:s?, s:I, s:I, s:s}", "yaml",
			      c->rs->config_yaml ? c->rs->config_yaml : c->file_yaml, "epoch",
			      (json_int_t)c->rs->epoch, "version", (json_int_t)c->rs->version,
			      "history", hex);
}

static void cmd_events(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
		       vg_control_reply *r)
{
	vg_cluster *c = ctx;
	(void)cmd, (void)target, (void)args;
	json_t *ev = json_array();
	for (size_t i = 0; i < c->rs->n_events; i++)
		json_array_append_new(ev, json_pack("{s:I, s:s, s:s}", "time_ms",
						    (json_int_t)c->rs->events[i].time_ms, "kind",
						    c->rs->events[i].kind, "text",
						    c->rs->events[i].text));
	r->result = json_pack("{s:o}", "events", ev);
}

static void cmd_resource_show(void *ctx, const vg_cmd *cmd, const char *name, json_t *args,
			      vg_control_reply *r)
{
	vg_cluster *c = ctx;
	(void)cmd, (void)args;
	r->result = vg_supervisor_resource(c->sv, name);
	json_t *st = vg_coord_status(c->co, c->rs, mono_ms(), wall_ms());
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(st, "resources"), i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "name")), name))
			continue;
		const char *keys[] = {"state", "instances", "failcount", "waiting"};
		for (size_t k = 0; k < 4; k++)
			json_object_set(r->result, keys[k], json_object_get(v, keys[k]));
	}
	json_decref(st);
}

static void cmd_resource_cleanup(void *ctx, const vg_cmd *cmd, const char *name, json_t *args,
				 vg_control_reply *r)
{
	vg_cluster *c = ctx;
	(void)cmd, (void)args;
	vg_repmsg m = {.kind = VG_REPMSG_FAILCOUNT_CLEAR, .resource = (char *)name};
	if (!may_change(c, r))
		return;
	send_c(c, &(vg_member_msg){.kind = VG_MM_CLEANUP, .resource = (char *)name});
	cmd_change(c, &m, r);
}

static void cmd_resource_restart(void *ctx, const vg_cmd *cmd, const char *name, json_t *args,
				 vg_control_reply *r)
{
	vg_cluster *c = ctx;
	(void)cmd, (void)args;
	if (!may_change(c, r))
		return;
	send_c(c, &(vg_member_msg){.kind = VG_MM_RESTART, .resource = (char *)name});
}

static void cmd_apply_fn(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
			 vg_control_reply *r)
{
	(void)cmd, (void)target;
	cmd_apply(ctx, args, r);
}

static bool cmd_exists(void *ctx, vg_cmd_target kind, const char *name)
{
	vg_cluster *c = ctx;
	return kind == VG_TARGET_RESOURCE ? vg_config_resource(c->cfg, name) != NULL
					  : vg_config_node(c->cfg, name) != NULL;
}

/* What a cluster node serves (commands.h). */
static const vg_cmd_handlers cluster_cmds = {
    .mode = "a cluster node",
    .fn = {[VG_CMD_PING] = cmd_ping,
	   [VG_CMD_STATUS] = cmd_status,
	   [VG_CMD_CONFIG_SHOW] = cmd_config_show,
	   [VG_CMD_EVENTS] = cmd_events,
	   [VG_CMD_APPLY] = cmd_apply_fn,
	   [VG_CMD_RESOURCE_SHOW] = cmd_resource_show,
	   [VG_CMD_RESOURCE_RESTART] = cmd_resource_restart,
	   [VG_CMD_RESOURCE_CLEANUP] = cmd_resource_cleanup,
	   [VG_CMD_NODE_STANDBY] = cmd_node,
	   [VG_CMD_NODE_UNSTANDBY] = cmd_node,
	   [VG_CMD_NODE_MAINTENANCE] = cmd_node,
	   [VG_CMD_NODE_FENCE] = cmd_node,
	   [VG_CMD_NODE_CONFIRM_DOWN] = cmd_node},
    .exists = cmd_exists,
};

/* What a standalone node serves: the cluster's reads and its resources' commands; there is
 * no other node to change and the file is its configuration. */
static const vg_cmd_handlers standalone_cmds = {
    .mode = "a standalone node (one server: no cluster to change)",
    .fn = {[VG_CMD_PING] = cmd_ping,
	   [VG_CMD_STATUS] = cmd_status,
	   [VG_CMD_CONFIG_SHOW] = cmd_config_show,
	   [VG_CMD_EVENTS] = cmd_events,
	   [VG_CMD_RESOURCE_SHOW] = cmd_resource_show,
	   [VG_CMD_RESOURCE_RESTART] = cmd_resource_restart,
	   [VG_CMD_RESOURCE_CLEANUP] = cmd_resource_cleanup},
    .exists = cmd_exists,
};

void vg_cluster_handle(vg_cluster *c, const char *cmd, json_t *args, vg_control_reply *r)
{
	vg_cmd_dispatch(c->standalone ? &standalone_cmds : &cluster_cmds, c, false, cmd, args, r);
}

const vg_config *vg_cluster_config(const vg_cluster *c)
{
	return c ? c->cfg : NULL;
}
