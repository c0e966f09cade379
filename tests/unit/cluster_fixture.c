/* cluster_fixture.c - a deterministic cluster of N servers in one process (see cluster_fixture.h).
 *
 * Owns: the simulated nodes (each: the real vg_coord, vg_repstate and member protocol
 * (member_sync.h), a model of the rest of cluster.c's member side and of supervisor.c's
 * managed mode), the model of Corosync (rings, agreed-order queues, CPG group changes,
 * quorum), the physical truth (what actually runs where, which is what the invariants look
 * at), virtual time, faults and the trace.
 * Sections: the Corosync model; the supervisor model; the member model (cluster.c); the
 * ADAPTER (the only code that calls vg_coord_*, so that changes of the coordinator's API touch
 * one place); faults; the step loop and the invariants; random schedules.
 * Corosync, as modelled: a fault (crash, cut, Corosync death or hang) breaks the rings it
 * touches at once (nothing more is delivered in them) and the new rings form detect_ms later
 * from the links then; a one-way cut breaks a pair's ring like a symmetric one; a hung
 * Corosync, when it runs again, forms a new ring detect_ms later and vigild's queued sends
 * then go out in it (corosync_membership.c's TRY_AGAIN queue).
 * The node side follows issue 8's: heartbeats and the lease (the real vg_lease), the halt
 * stopping everything at once within its bounds, the view rules of actions and reports
 * (the real vg_view_accepts_*), view-bound messages dropped when queued past their view.
 * Simplifications, said once: no monitors or resource failures, no watchdog (reports say wd:
 * null), no operator commands, no connect grace at start-up, the committed configuration is
 * the one every node was started with (no switch).
 * Must not: read a clock, sleep, do I/O (other than printing the trace on a violation) or keep
 * global mutable state.
 */
#include "cluster_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "coordinator.h"
#include "member_msg.h"
#include "member_sync.h"
#include "lease.h"
#include "repstate.h"

#define FX_MAX_NODES 8
#define FX_MAX_RES   16
#define NEVER	     UINT64_MAX

#define NODES3                                                                                     \
	"nodes:\n"                                                                                 \
	"  - {name: n1, address: 10.9.0.1, role: server}\n"                                        \
	"  - {name: n2, address: 10.9.0.2, role: server}\n"                                        \
	"  - {name: n3, address: 10.9.0.3, role: server}\n"
#define RES3                                                                                       \
	"resources:\n"                                                                             \
	"  - {name: vip, type: vip, params: {address: 10.9.0.100/24}}\n"                           \
	"  - {name: app, type: process, params: {command: /bin/sleep 1000}}\n"                     \
	"  - {name: db, type: 'ocf:heartbeat:Dummy'}\n"                                            \
	"groups:\n"                                                                                \
	"  - {name: svc, members: [vip, app]}\n"

const char FX_YAML_DEFAULT[] = "cluster: {name: fx, quorum_loss_delay: 50ms}\n" NODES3 RES3;
const char FX_YAML_FENCED[] =
    "cluster: {name: fx, quorum_loss_delay: 50ms}\n" NODES3 "fence_devices:\n"
    "  - {name: pdu, agent: fence_dummy, targets: [n1, n2, n3]}\n" RES3;

/* ---- types ------------------------------------------------------------------------------- */

typedef struct fxmsg {
	int refs;
	int from;      /* sender's node id */
	uint64_t ring; /* the ring it was sent in */
	bool is_r;     /* 'R' (replicated change) or 'C' (cluster traffic) */
	json_t *c;     /* 'C': the JSON object */
	char *r;       /* 'R': the repstate message JSON */
	size_t rlen;
	uint64_t change; /* 'R': the change's id in the fixture (its identity for invariant b) */
	uint64_t *hist;	 /* state_sync: the sender's history, carried with its state */
	size_t n_hist;
	/* vg_membership_send_view(): counts only in the sender's view of then (view_seq); if it
	 * is still queued when that view has changed, it is dropped, not sent */
	bool view_bound;
	uint64_t view;
} fxmsg;

typedef struct {
	uint64_t ring;
	uint32_t members[FX_MAX_NODES]; /* vigilds in the group */
	size_t n;
	uint32_t ring_members[FX_MAX_NODES]; /* Corosyncs in the ring */
	size_t n_ring;
	bool quorate;
	bool group_only; /* a CPG change within the ring (a vigild came or went) */
} fxview;

typedef enum { Q_MSG, Q_VIEW } qkind;

typedef struct {
	uint64_t at;
	qkind kind;
	fxmsg *m;
	fxview v;
} qent;

/* What actually runs (the truth the invariants look at), per node and resource. */
typedef struct {
	bool active;	/* starting, running or stopping: from a start's begin to a stop's end */
	int op;		/* 0, or VG_OP_START / VG_OP_STOP + 1 while one is in flight */
	uint64_t until; /* its end */
	uint64_t gen;	/* the vigild that started it (its completion reaches only that one) */
} phys;

/* supervisor.c's rsc, reduced to what managed mode uses. */
typedef enum { OBS_UNKNOWN, OBS_STOPPED, OBS_RUNNING, OBS_UNCLEAN } obs;
typedef enum { TGT_NONE, TGT_RUNNING, TGT_STOPPED } tgt;
typedef struct {
	obs obs;
	tgt target;
	bool busy;
	vg_op_kind busy_op;
	bool probing;
	uint64_t probe_at;
	bool blocked;
} sres;

typedef struct fxnode fxnode;
struct fxnode {
	fx *f;
	int id;
	char name[8];
	/* the machine and its Corosync */
	bool powered, cs_running;
	uint64_t hung_until; /* Corosync SIGSTOPped until then (NEVER: not hung) */
	bool gathering;	     /* after a hang: delivers nothing until the next ring */
	uint64_t ring;	     /* the latest ring its Corosync formed */
	uint32_t ring_members[FX_MAX_NODES];
	size_t n_ring_members;
	bool ring_quorate;
	qent *q;
	size_t nq, capq;
	fxmsg **outbox; /* sends Corosync could not take (hung, gathering): sent later */
	size_t n_out;
	/* a view is on its way to vigild (corosync_membership.c's change_pending): the queue waits for it */
	bool view_pending;
	/* the last moment its Corosync answered a request (vg_membership_answered_at), while it
	 * does not answer (hung or dead); while it works it answers at every moment */
	uint64_t cs_answered_at;
	int64_t wall_off;
	phys ph[FX_MAX_RES];
	uint64_t stop_ms[FX_MAX_RES], start_ms[FX_MAX_RES];
	uint64_t default_stop_ms[FX_MAX_RES];
	vg_repstate *rs; /* state.json: survives vigild deaths and crashes */
	uint64_t *hist;	 /* the ids of the changes in rs, in the order applied (a shadow) */
	size_t n_hist;
	/* its vigild (valid while vd_alive) */
	bool vd_alive;
	uint64_t vd_gen;
	vg_coord *co;
	sres sv[FX_MAX_RES];
	bool sv_started, sv_halted;
	bool sv_shutting_down, leaving, exit_due; /* a clean stop (SIGTERM) under way */
	size_t probes_pending;
	bool connected, quorate, in_ring, bootstrap_sent;
	uint64_t cur_ring, ack;
	uint32_t members[FX_MAX_NODES];
	size_t n_members;
	/* the member protocol, the real one (member_sync.h): summaries, the sync point, the
	 * 'R' messages held until the state arrives (each a reference to its fxmsg) */
	vg_msync *ms;
	char *last_report;
	bool report_due;
	uint64_t run_at;
	char *fence_queue[FX_MAX_NODES];
	size_t n_fence_queue;
	char *fence_target;
	uint64_t fence_end;
	json_t *last_action; /* the last action delivered, the ring it came in, its sender */
	uint64_t last_action_ring;
	int last_action_from;
	/* cluster.c's lease (the real vg_lease), its heartbeat and lease timers */
	vg_lease lease;
	uint64_t hb_due;    /* the heartbeat timer's next tick (see member_heartbeat) */
	uint64_t lease_at;  /* the lease timer (lease_update), NEVER when not armed */
	bool ring_majority; /* on_m_ring(): the latest ring holds a majority of the servers */
	uint64_t ring_seen; /* the ring on_m_ring() last told it (0: none since it connected) */
	uint64_t view_seq;  /* corosync_membership.c's view: +1 at every change reported to vigild */
};

struct fx {
	fx_opts o;
	const vg_config *cfg;
	vg_config *own_cfg; /* loaded here (NULL when borrowed from o.cfg) */
	size_t n;
	fxnode nodes[FX_MAX_NODES];
	bool cut[FX_MAX_NODES][FX_MAX_NODES]; /* cut[a][b]: a's packets do not reach b */
	uint64_t now;
	uint64_t ring_seq;
	uint64_t *reforms;
	size_t n_reforms;
	uint64_t gen_seq;
	char *trace;
	size_t trace_len, trace_cap;
	char *violation;
	struct {
		uint64_t id;
		char what[160];
		bool reported; /* named lost in a history_diverged event: not lost silently */
	} * committed;	       /* changes applied by a quorate member */
	size_t n_committed;
	uint64_t change_seq;
	bool hist_dirty; /* a history or the set of live nodes changed: check (b) */
};

static const uint64_t WALL_BASE = 1750000000000ull;

/* ---- trace ---------------------------------------------------------------------------------- */

static void vtrace(fx *f, const char *fmt, va_list ap)
{
	char line[1024];
	int k = snprintf(line, sizeof line, "[%8llu ms] ", (unsigned long long)f->now);
	vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
	size_t l = strlen(line);
	if (f->trace_len + l + 2 > f->trace_cap) {
		f->trace_cap = (f->trace_cap + l + 2) * 2;
		f->trace = realloc(f->trace, f->trace_cap);
	}
	memcpy(f->trace + f->trace_len, line, l);
	f->trace_len += l;
	f->trace[f->trace_len++] = '\n';
	f->trace[f->trace_len] = '\0';
}

static void tr(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tr(fx *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vtrace(f, fmt, ap);
	va_end(ap);
}

void fx_note(fx *f, const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	tr(f, "NOTE %s", buf);
}

static void violate(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violate(fx *f, const char *fmt, ...)
{
	if (f->violation)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	f->violation = strdup(buf);
	tr(f, "VIOLATION %s", buf);
	if (!f->o.quiet)
		fprintf(stderr, "---- cluster fixture trace ----\n%s---- end of trace ----\n",
			f->trace);
}

/* ---- helpers -------------------------------------------------------------------------------- */

static fxnode *node_of(fx *f, int id)
{
	return id >= 1 && (size_t)id <= f->n ? &f->nodes[id - 1] : NULL;
}

static fxnode *node_named(fx *f, const char *name)
{
	for (size_t i = 0; name && i < f->n; i++)
		if (!strcmp(f->nodes[i].name, name))
			return &f->nodes[i];
	return NULL;
}

static uint64_t wall(const fxnode *n)
{
	return (uint64_t)((int64_t)(WALL_BASE + n->f->now) + n->wall_off);
}

static int res_index(const fx *f, const char *name)
{
	for (size_t i = 0; name && i < f->cfg->n_resources; i++)
		if (!strcmp(f->cfg->resources[i].name, name))
			return (int)i;
	return -1;
}

static void msg_unref(fxmsg *m)
{
	if (!m || --m->refs > 0)
		return;
	json_decref(m->c);
	free(m->r);
	free(m->hist);
	free(m);
}

static void q_clear(fxnode *n)
{
	for (size_t i = 0; i < n->nq; i++)
		msg_unref(n->q[i].m);
	n->nq = 0;
	n->view_pending = false; /* whatever view was on its way went with the queue */
}

static void q_push(fxnode *n, qent e)
{
	if (n->nq && e.at < n->q[n->nq - 1].at)
		e.at = n->q[n->nq - 1].at; /* one stream: never overtakes what is before it */
	if (n->nq == n->capq) {
		n->capq = n->capq ? n->capq * 2 : 16;
		n->q = realloc(n->q, n->capq * sizeof *n->q);
	}
	if (e.m)
		e.m->refs++;
	n->q[n->nq++] = e;
}

static bool corosync_works(const fxnode *n)
{
	return n->powered && n->cs_running && n->hung_until == NEVER;
}

static bool is_server(const fx *f, int id)
{
	const vg_node *vn = vg_config_node(f->cfg, f->nodes[id - 1].name);
	return vn && vn->role == VG_ROLE_SERVER;
}

static void schedule_reform(fx *f, uint64_t at)
{
	f->reforms = realloc(f->reforms, (f->n_reforms + 1) * sizeof *f->reforms);
	f->reforms[f->n_reforms++] = at;
}

static void sv_reconcile(fxnode *n);
static void member_all_down(fxnode *n);
static void member_on_view(fxnode *n, const fxview *v);
static void member_on_msg(fxnode *n, fxmsg *m);
static void member_lost_corosync(fxnode *n);
static void ad_new(fxnode *n);
static void ad_free(fxnode *n);

/* ==== the Corosync model ====================================================================== */

/* Multicast in the sender's ring: appended, in one global order, to the queue of every node
 * whose Corosync is in the same ring and whose vigild is in the group (agreed order: every
 * member gets the messages of a ring in the same order). A Corosync that cannot take it now
 * (hung, or forming a ring after a hang) leaves it in vigild's queue (corosync_membership.c's
 * TRY_AGAIN queue), sent once Corosync takes messages again and the view it leads to has
 * reached vigild (corosync_membership.c's flush waits while a change is pending); a view-bound message
 * of an older view is then dropped (vg_sendq_head). */
static void cs_send(fxnode *s, fxmsg *m)
{
	fx *f = s->f;
	if (!corosync_works(s) || s->gathering) {
		s->outbox = realloc(s->outbox, (s->n_out + 1) * sizeof *s->outbox);
		s->outbox[s->n_out++] = m;
		return;
	}
	m->ring = s->ring;
	for (size_t i = 0; i < f->n; i++) {
		fxnode *d = &f->nodes[i];
		if (corosync_works(d) && !d->gathering && d->vd_alive && d->connected &&
		    d->ring == s->ring)
			q_push(d, (qent){f->now + f->o.latency_ms, Q_MSG, m, {0}});
	}
	msg_unref(m);
}

static bool cs_may_flush(const fxnode *n)
{
	return n->n_out && corosync_works(n) && !n->gathering && n->vd_alive && !n->view_pending;
}

static void cs_flush_outbox(fxnode *n)
{
	if (!cs_may_flush(n))
		return;
	fxmsg **out = n->outbox;
	size_t k = n->n_out, dropped = 0;
	n->outbox = NULL;
	n->n_out = 0;
	for (size_t i = 0; i < k; i++)
		if (out[i]->view_bound && out[i]->view != n->view_seq) {
			msg_unref(out[i]);
			out[i] = NULL;
			dropped++;
		}
	tr(n->f, "%s: Corosync takes %zu queued message(s) again (%zu of an older view dropped)",
	   n->name, k - dropped, dropped);
	for (size_t i = 0; i < k; i++)
		if (out[i])
			cs_send(n, out[i]);
	free(out);
}

static void outbox_clear(fxnode *n)
{
	for (size_t i = 0; i < n->n_out; i++)
		msg_unref(n->outbox[i]);
	free(n->outbox);
	n->outbox = NULL;
	n->n_out = 0;
}

static bool link_ok(const fx *f, int a, int b)
{
	return !f->cut[a - 1][b - 1] && !f->cut[b - 1][a - 1];
}

/* Totem delivers nothing while its ring is broken (a member's Corosync gone or hung, a link
 * between members cut): the token does not come round until the next ring forms. */
static bool ring_broken(const fxnode *n)
{
	const fx *f = n->f;
	for (size_t k = 0; k < n->n_ring_members; k++) {
		const fxnode *m = &f->nodes[n->ring_members[k] - 1];
		if (!corosync_works(m) || m->gathering || m->ring != n->ring ||
		    !link_ok(f, n->id, m->id))
			return true;
	}
	return false;
}

/* A new ring forms: what the old ring had not delivered yet is delivered only to those who
 * move on together with its sender (the transitional configuration), before the new view. */
static void q_prune(fxnode *n, const uint32_t *g, size_t ng)
{
	size_t k = 0;
	for (size_t i = 0; i < n->nq; i++) {
		qent e = n->q[i];
		bool keep = e.kind != Q_MSG;
		for (size_t j = 0; !keep && j < ng; j++)
			keep = e.m->from == (int)g[j];
		if (keep)
			n->q[k++] = e;
		else
			msg_unref(e.m);
	}
	n->nq = k;
}

static void fill_group(fx *f, fxview *v)
{
	v->n = 0;
	for (size_t k = 0; k < v->n_ring; k++) {
		fxnode *m = node_of(f, (int)v->ring_members[k]);
		if (m->vd_alive && m->connected)
			v->members[v->n++] = v->ring_members[k];
	}
}

/* The rings Corosync forms from the links: in id order, each node not yet placed starts a
 * ring and takes every later node linked both ways with all of its members. Quorum: a
 * majority of the servers (two servers: two_node, each half keeps it). Each member of a new
 * ring gets the view majority_lag_ms or minority_lag_ms after it forms. */
static void cs_reform(fx *f)
{
	bool placed[FX_MAX_NODES] = {0};
	size_t servers = vg_config_servers(f->cfg);
	for (size_t i = 0; i < f->n; i++) {
		if (placed[i] || !corosync_works(&f->nodes[i]))
			continue;
		uint32_t g[FX_MAX_NODES];
		size_t ng = 0;
		g[ng++] = (uint32_t)i + 1;
		placed[i] = true;
		for (size_t j = i + 1; j < f->n; j++) {
			if (placed[j] || !corosync_works(&f->nodes[j]))
				continue;
			bool ok = true;
			for (size_t k = 0; k < ng; k++)
				ok = ok && link_ok(f, (int)j + 1, (int)g[k]);
			if (ok) {
				g[ng++] = (uint32_t)j + 1;
				placed[j] = true;
			}
		}
		/* unchanged when every member already has exactly this ring */
		bool same = true;
		uint64_t r0 = f->nodes[g[0] - 1].ring;
		for (size_t k = 0; k < ng && same; k++) {
			fxnode *m = &f->nodes[g[k] - 1];
			same = !m->gathering && m->ring == r0 && r0 != 0 &&
			       m->n_ring_members == ng &&
			       !memcmp(m->ring_members, g, ng * sizeof *g);
		}
		if (same)
			continue;
		size_t votes = 0;
		for (size_t k = 0; k < ng; k++)
			votes += is_server(f, (int)g[k]);
		fxview v = {.ring = ++f->ring_seq, .n_ring = ng};
		memcpy(v.ring_members, g, ng * sizeof *g);
		v.quorate = servers == 2 ? votes >= 1 : votes * 2 > servers;
		fill_group(f, &v);
		char list[64] = "";
		for (size_t k = 0; k < ng; k++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%sn%u",
				 k ? "," : "", g[k]);
		tr(f, "corosync: ring %llu forms: [%s], %s", (unsigned long long)v.ring, list,
		   v.quorate ? "quorate" : "no quorum");
		uint64_t lag = v.quorate ? f->o.majority_lag_ms : f->o.minority_lag_ms;
		for (size_t k = 0; k < ng; k++) {
			fxnode *m = &f->nodes[g[k] - 1];
			m->ring = v.ring;
			memcpy(m->ring_members, g, ng * sizeof *g);
			m->n_ring_members = ng;
			m->ring_quorate = v.quorate;
			m->gathering = false;
			q_prune(m, g, ng);
			if (m->vd_alive && m->connected) {
				q_push(m, (qent){f->now + lag, Q_VIEW, NULL, v});
				m->view_pending = true;
			}
		}
	}
}

/* A vigild joins or leaves the CPG group: every vigild in the ring sees the new group. */
static void cs_group_change(fxnode *n)
{
	fx *f = n->f;
	if (!corosync_works(n) || n->gathering || !n->ring)
		return;
	fxview v = {.ring = n->ring,
		    .n_ring = n->n_ring_members,
		    .quorate = n->ring_quorate,
		    .group_only = true};
	memcpy(v.ring_members, n->ring_members, v.n_ring * sizeof *v.ring_members);
	fill_group(f, &v);
	for (size_t k = 0; k < v.n; k++) {
		fxnode *m = node_of(f, (int)v.members[k]);
		if (m->ring == n->ring) {
			q_push(m, (qent){f->now + f->o.latency_ms, Q_VIEW, NULL, v});
			m->view_pending = true;
		}
	}
}

/* ==== the supervisor model (supervisor.c, managed mode) ====================================== */

/* From SIGKILL of a process group to its members gone (stop_bound.h allows
 * VG_STOP_BOUND_KILL_MS; measured on namespaces: about 11 ms). */
#define FX_KILL_MS 11u

/* How long a stop begun now takes on n: its configured time (the agent's stop, or how long
 * the service takes to exit after SIGTERM); on a halt a process gets cluster.halt_grace after
 * SIGTERM and is then killed with its group (process_grace(), on_process_kill()); a vip goes
 * by one netlink request whatever else happens. Outside a halt the stop timeout would kill a
 * process too, but the slow stops drawn here stay below it. */
static uint64_t sv_stop_time(const fxnode *n, size_t i)
{
	const vg_resource *res = &n->f->cfg->resources[i];
	uint64_t ms = n->stop_ms[i];
	if (res->cls == VG_CLASS_VIP)
		return n->default_stop_ms[i]; /* vip_op(): one netlink request, never slow */
	if (n->sv_halted && res->cls == VG_CLASS_PROCESS &&
	    ms > n->f->cfg->halt_grace_ms + FX_KILL_MS)
		ms = n->f->cfg->halt_grace_ms + FX_KILL_MS;
	return ms;
}

/* run_op(): the operation begins; what actually runs changes with it. */
static void sv_run_op(fxnode *n, size_t i, vg_op_kind op)
{
	sres *r = &n->sv[i];
	phys *p = &n->ph[i];
	r->busy = true;
	r->busy_op = op;
	p->op = (int)op + 1;
	p->gen = n->vd_gen;
	p->until = n->f->now + (op == VG_OP_START ? n->start_ms[i] : sv_stop_time(n, i));
	if (op == VG_OP_START)
		p->active = true;
	tr(n->f, "%s: %s %s begins (ends at %llu)", n->name, vg_op_name(op),
	   n->f->cfg->resources[i].name, (unsigned long long)p->until);
}

/* op_done() for a start or a stop (no failures are modelled). */
static void sv_op_done(fxnode *n, size_t i, vg_op_kind op)
{
	sres *r = &n->sv[i];
	r->busy = false;
	if (op == VG_OP_START) {
		if (r->target == TGT_RUNNING)
			r->target = TGT_NONE;
		r->obs = OBS_RUNNING;
	} else {
		if (r->target == TGT_STOPPED)
			r->target = TGT_NONE;
		r->obs = OBS_STOPPED;
	}
	sv_reconcile(n);
}

/* is_down() and stop_allowed() of a clean shutdown: strictly in reverse order of the config
 * (a halt has no order: stop_allowed() answers true). */
static bool sv_is_down(const sres *r)
{
	return r->obs == OBS_STOPPED && !(r->busy && r->busy_op == VG_OP_START);
}

static bool sv_stop_allowed(const fxnode *n, size_t i)
{
	if (n->sv_halted)
		return true;
	for (size_t j = i + 1; j < n->f->cfg->n_resources; j++)
		if (!sv_is_down(&n->sv[j]) && !n->sv[j].blocked)
			return false;
	return true;
}

/* halt_stops(): every stop at once, the addresses first, then the rest, all in parallel. */
static void sv_halt_stops(fxnode *n)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n->f->cfg->n_resources; i++) {
			sres *r = &n->sv[i];
			if ((n->f->cfg->resources[i].cls == VG_CLASS_VIP) != (pass == 0))
				continue;
			if (r->busy || r->blocked || r->probing)
				continue;
			if (r->obs == OBS_RUNNING || r->obs == OBS_UNCLEAN)
				sv_run_op(n, i, VG_OP_STOP);
		}
}

/* reconcile() + reconcile_managed(): run what the coordinator asked for, one operation per
 * resource; a clean shutdown stops everything in reverse order, a halt everything at once
 * (halt_stops(); probes are not waited for). notify() -> cluster.c's sv_change() ->
 * schedule_report(). */
static void sv_reconcile(fxnode *n)
{
	n->report_due = true;
	if (!n->sv_started || (n->probes_pending > 0 && !n->sv_halted))
		return;
	if (n->sv_halted)
		sv_halt_stops(n);
	size_t nr = n->f->cfg->n_resources;
	bool stopping_all = n->sv_halted || n->sv_shutting_down;
	for (size_t k = 0; k < nr; k++) {
		size_t i = stopping_all ? nr - 1 - k : k;
		sres *r = &n->sv[i];
		if (r->busy || r->blocked || r->probing)
			continue;
		bool up = r->obs == OBS_RUNNING || r->obs == OBS_UNCLEAN;
		if (stopping_all) {
			if (up && sv_stop_allowed(n, i))
				sv_run_op(n, i, VG_OP_STOP);
			continue;
		}
		if (r->target == TGT_RUNNING) {
			if (r->obs == OBS_STOPPED)
				sv_run_op(n, i, VG_OP_START);
			else if (r->obs == OBS_UNCLEAN)
				sv_run_op(n, i, VG_OP_STOP);
			else if (r->obs == OBS_RUNNING)
				r->target = TGT_NONE;
		} else if (r->target == TGT_STOPPED) {
			if (up)
				sv_run_op(n, i, VG_OP_STOP);
			else if (r->obs == OBS_STOPPED)
				r->target = TGT_NONE;
		}
	}
	/* all_down() -> the shutdown's callback, cluster.c's on_all_down(): bye, then exit */
	bool down = true;
	for (size_t i = 0; i < nr; i++)
		down = down && !n->sv[i].busy && (n->sv[i].obs == OBS_STOPPED || n->sv[i].blocked);
	if (n->sv_shutting_down && down && !n->exit_due) {
		n->exit_due = true;
		n->report_due =
		    false; /* reconcile() returns after the callback, without notify() */
		member_all_down(n);
	}
}

/* vg_supervisor_start(): probe every resource and adopt what runs. */
static void sv_start(fxnode *n)
{
	memset(n->sv, 0, sizeof n->sv);
	n->sv_started = true;
	n->sv_halted = false;
	n->probes_pending = n->f->cfg->n_resources;
	for (size_t i = 0; i < n->f->cfg->n_resources; i++) {
		n->sv[i].probing = true;
		n->sv[i].probe_at = n->f->now + n->f->o.probe_ms;
	}
}

static void sv_probe_done(fxnode *n, size_t i)
{
	sres *r = &n->sv[i];
	if (n->ph[i].op) { /* an operation of the previous vigild is still running: wait */
		r->probe_at = n->ph[i].until;
		return;
	}
	r->probing = false;
	r->obs = n->ph[i].active ? OBS_RUNNING : OBS_STOPPED;
	if (r->obs == OBS_RUNNING)
		tr(n->f, "%s: probe finds %s running, adopted", n->name,
		   n->f->cfg->resources[i].name);
	n->probes_pending--;
	sv_reconcile(n);
}

/* halt_resource(): nothing new begins and what is in flight ends now. A probe or a start is
 * cancelled (an agent's process group killed, a process not yet ready left to the stop); the
 * resource may be (partly) running, so it is unclean and the halt stops it. A process being
 * stopped gets cluster.halt_grace from now (then SIGKILL); an agent's stop or a vip's runs
 * on. Cancelled and stopped alike, what actually runs stays active until the stop ends. */
static void sv_halt_resource(fxnode *n, size_t i)
{
	sres *r = &n->sv[i];
	phys *p = &n->ph[i];
	const vg_resource *res = &n->f->cfg->resources[i];
	if (r->probing) {
		r->probing = false;
		n->probes_pending--;
		r->obs = OBS_UNCLEAN;
		tr(n->f, "%s: probe of %s cancelled by the halt", n->name, res->name);
		return;
	}
	if (!r->busy)
		return;
	if (r->busy_op == VG_OP_STOP) {
		uint64_t kill = n->f->now + n->f->cfg->halt_grace_ms + FX_KILL_MS;
		if (res->cls == VG_CLASS_PROCESS && p->op && p->gen == n->vd_gen &&
		    p->until > kill) {
			p->until = kill;
			tr(n->f, "%s: stop of %s: killed at halt_grace (ends at %llu)", n->name,
			   res->name, (unsigned long long)kill);
		}
		return;
	}
	r->busy = false; /* a start: cancelled */
	r->obs = OBS_UNCLEAN;
	if (p->op && p->gen == n->vd_gen)
		p->op = 0; /* its end never comes; p->active stays until the stop ends */
	tr(n->f, "%s: start of %s cancelled by the halt", n->name, res->name);
}

/* vg_supervisor_halt() */
static void sv_halt(fxnode *n, bool halt)
{
	if (n->sv_halted == halt)
		return;
	n->sv_halted = halt;
	tr(n->f, "%s: %s", n->name,
	   halt ? "halt: stopping every resource at once" : "may run again");
	for (size_t i = 0; i < n->f->cfg->n_resources; i++)
		n->sv[i].target = TGT_NONE;
	if (halt && n->sv_started)
		for (size_t i = 0; i < n->f->cfg->n_resources; i++)
			sv_halt_resource(n, i);
	sv_reconcile(n);
}

/* vg_supervisor_request() */
static void sv_request(fxnode *n, const char *res, vg_op_kind op)
{
	int i = res_index(n->f, res);
	if (i < 0)
		return;
	n->sv[i].target = op == VG_OP_START ? TGT_RUNNING : TGT_STOPPED;
	sv_reconcile(n);
}

/* state_name() / vg_supervisor_report() */
static const char *sv_state_name(const sres *r)
{
	if (r->busy && r->busy_op == VG_OP_START)
		return "starting";
	if (r->busy && r->busy_op == VG_OP_STOP)
		return "stopping";
	if (r->blocked)
		return r->obs == OBS_STOPPED ? "failed" : "unmanaged";
	if (r->obs == OBS_UNCLEAN)
		return "failed";
	if (r->obs == OBS_RUNNING)
		return "running";
	return r->obs == OBS_UNKNOWN ? "unknown" : "stopped";
}

static json_t *sv_report(const fxnode *n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n->f->cfg->n_resources; i++)
		json_object_set_new(o, n->f->cfg->resources[i].name,
				    json_string(sv_state_name(&n->sv[i])));
	return o;
}

/* ==== the member model (cluster.c) =========================================================== */

/* What goes out is what cluster.c's codec would send (member_msg.h): a message it refuses is
 * a bug of the model, and the receivers see its canonical encoding. */
static json_t *member_encode(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	char err[256] = "";
	vg_member_msg *mm = s ? vg_mm_decode(s, strlen(s), err, sizeof err) : NULL;
	char *e = mm ? vg_mm_encode(mm, NULL) : NULL;
	if (!e) {
		fprintf(stderr, "cluster_fixture: a member message the codec refuses (%s): %s\n",
			err, s ? s : "?");
		abort();
	}
	json_t *c = json_loads(e, 0, NULL);
	free(e);
	vg_mm_free(mm);
	free(s);
	json_decref(o);
	return c;
}

/* send_json(): send_c() (view false) or send_cv() (view true: reports, actions, summaries,
 * heartbeats, vg_membership_send_view) */
static void member_send_json(fxnode *n, json_t *o, bool view)
{
	if (!n->connected) { /* send_tagged() fails without a connection */
		json_decref(o);
		return;
	}
	fxmsg *m = calloc(1, sizeof *m);
	m->refs = 1;
	m->from = n->id;
	m->c = member_encode(o);
	m->view_bound = view;
	m->view = n->view_seq;
	cs_send(n, m);
}

static void member_send_c(fxnode *n, json_t *o)
{
	member_send_json(n, o, false);
}

static void member_send_cv(fxnode *n, json_t *o)
{
	member_send_json(n, o, true);
}

static void member_send_r(fxnode *n, const vg_repmsg *rm)
{
	size_t len;
	char *s = vg_repmsg_encode(rm, &len);
	if (!s || !n->connected) {
		free(s);
		return;
	}
	fxmsg *m = calloc(1, sizeof *m);
	m->refs = 1;
	m->from = n->id;
	m->is_r = true;
	m->r = s;
	m->rlen = len;
	m->change = ++n->f->change_seq;
	if (rm->kind == VG_REPMSG_STATE_SYNC) {
		m->n_hist = n->n_hist;
		m->hist = malloc((n->n_hist ? n->n_hist : 1) * sizeof *m->hist);
		if (n->n_hist)
			memcpy(m->hist, n->hist, n->n_hist * sizeof *m->hist);
	}
	cs_send(n, m);
}

/* send_event() */
static void member_send_event(fxnode *n, const char *kind, const char *text)
{
	vg_repmsg m = {.kind = VG_REPMSG_EVENT,
		       .time_ms = wall(n),
		       .event_kind = (char *)kind,
		       .text = (char *)text};
	if (n->quorate)
		member_send_r(n, &m);
}

static void schedule_run(fxnode *n, uint64_t ms)
{
	if (n->f->now + ms < n->run_at)
		n->run_at = n->f->now + ms;
}

static json_t *ad_seen(fxnode *n);

/* send_report(): no watchdog is modelled, so wd is null; seen is the coordinator view's
 * (vg_coord_seen) */
static void member_send_report(fxnode *n)
{
	if (!n->in_ring || !n->connected)
		return;
	bool probed = n->sv_started && n->probes_pending == 0;
	/* no watchdog is modelled: cluster.c leaves "wd" out then */
	json_t *o = json_pack("{s:s, s:I, s:b, s:b, s:I, s:o, s:o}", "kind", "report", "ring",
			      (json_int_t)n->cur_ring, "probed", probed, "leaving", n->leaving,
			      "ack", (json_int_t)n->ack, "res", sv_report(n), "seen", ad_seen(n));
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (n->last_report && !strcmp(s, n->last_report)) {
		free(s);
		json_decref(o);
		return;
	}
	free(n->last_report);
	n->last_report = s;
	char res[256] = "";
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(o, "res"), k, v)
	{
		snprintf(res + strlen(res), sizeof res - strlen(res), "%s%s=%s", res[0] ? " " : "",
			 k, json_string_value(v));
	}
	tr(n->f, "%s: reports %s (ring %llu, ack %llu%s%s)", n->name, res,
	   (unsigned long long)n->cur_ring, (unsigned long long)n->ack, probed ? "" : ", probing",
	   n->leaving ? ", leaving" : "");
	member_send_cv(n, o);
}

/* The invariant (b) bookkeeping: every node's state carries a shadow history, the ids of the
 * changes in it (a state_sync brings the sender's). A change applied by a quorate member is
 * committed (agreed order gives it to every member of that view); it is lost when no live
 * node's history holds it any more and no history_diverged event named it (issue 8 item 7:
 * a merge may discard a diverged history's changes, never silently). */
static void hist_add(fxnode *n, uint64_t id)
{
	n->hist = realloc(n->hist, (n->n_hist + 1) * sizeof *n->hist);
	n->hist[n->n_hist++] = id;
	n->f->hist_dirty = true;
}

static void commit(fxnode *n, const fxmsg *m)
{
	fx *f = n->f;
	for (size_t i = 0; i < f->n_committed; i++)
		if (f->committed[i].id == m->change)
			return;
	f->committed = realloc(f->committed, (f->n_committed + 1) * sizeof *f->committed);
	f->committed[f->n_committed].id = m->change;
	f->committed[f->n_committed].reported = false;
	snprintf(f->committed[f->n_committed].what, sizeof f->committed[0].what,
		 "#%llu from n%d, first applied by %s at %llu ms: %.80s",
		 (unsigned long long)m->change, m->from, n->name, (unsigned long long)f->now, m->r);
	f->n_committed++;
}

static void ad_set_synced(fxnode *n, bool synced);
static void ad_in_step(fxnode *n);
static void member_lease_update(fxnode *n);

static bool member_synced(const fxnode *n)
{
	return n->ms && vg_msync_synced(n->ms);
}

/* apply_r() (without the control-request waiters) and after_change() */
static void member_apply_r(fxnode *n, const fxmsg *fm)
{
	char err[512];
	vg_repmsg *m = vg_repmsg_decode(fm->r, fm->rlen, err, sizeof err);
	if (!m)
		return;
	bool was_sync = m->kind == VG_REPMSG_STATE_SYNC;
	int rc = vg_repstate_apply(n->rs, m, n->quorate, err, sizeof err);
	vg_repmsg_free(m);
	if (rc == 0) {
		tr(n->f, "%s: applied %s -> epoch %llu version %llu", n->name,
		   was_sync ? "state_sync" : "change", (unsigned long long)n->rs->epoch,
		   (unsigned long long)n->rs->version);
		if (was_sync) {
			free(n->hist);
			n->n_hist = fm->n_hist;
			n->hist = malloc((n->n_hist ? n->n_hist : 1) * sizeof *n->hist);
			if (n->n_hist)
				memcpy(n->hist, fm->hist, n->n_hist * sizeof *n->hist);
			n->f->hist_dirty = true;
		} else {
			hist_add(n, fm->change);
			if (n->quorate)
				commit(n, fm);
		}
		schedule_run(n, 0);
	}
	vg_msync_applied(n->ms, was_sync, n->rs);
}

/* on_r_message(): held while behind at the sync point (the module keeps a reference to the
 * fxmsg, with the fixture's change id and shadow history) */
static void member_on_r(fxnode *n, fxmsg *m)
{
	if (vg_msync_r(n->ms, (uint32_t)m->from, m->r, m->rlen, m))
		m->refs++; /* given back through ms_apply_held or ms_drop_held */
	else
		member_apply_r(n, m);
}

/* The fixture knows every node's shadow history: the changes a diverged member loses (in its
 * history, not in the source's) are named in the source's history_diverged event. */
static void mark_reported(fx *f, const fxnode *src, uint32_t lost_id)
{
	const fxnode *l = NULL;
	for (size_t i = 0; i < f->n; i++)
		if ((uint32_t)f->nodes[i].id == lost_id)
			l = &f->nodes[i];
	for (size_t c = 0; l && c < f->n_committed; c++) {
		bool in_lost = false, in_src = false;
		for (size_t k = 0; k < l->n_hist; k++)
			in_lost = in_lost || l->hist[k] == f->committed[c].id;
		for (size_t k = 0; k < src->n_hist; k++)
			in_src = in_src || src->hist[k] == f->committed[c].id;
		if (in_lost && !in_src)
			f->committed[c].reported = true;
	}
}

/* ---- the member protocol's I/O (member_sync.h's vg_msync_io, as cluster.c's ms_*) ---- */

static void ms_send_summary(void *arg, const vg_member_msg *m)
{
	fxnode *n = arg;
	char *s = vg_mm_encode(m, NULL);
	json_t *o = s ? json_loads(s, 0, NULL) : NULL;
	free(s);
	if (!o) {
		fprintf(stderr, "cluster_fixture: a summary the codec refuses\n");
		abort();
	}
	member_send_cv(n, o);
}

static int ms_send_state(void *arg)
{
	fxnode *n = arg;
	tr(n->f, "%s: sends its state to the members behind", n->name);
	vg_repmsg m = {.kind = VG_REPMSG_STATE_SYNC, .state = n->rs};
	member_send_r(n, &m);
	return 0;
}

/* send_event() of what a member loses; the changes a diverged one loses are named (the
 * invariant (b) bookkeeping) when the event goes out, that is, in a quorate view */
static void ms_record_lost(void *arg, uint32_t who, const char *kind, const char *text)
{
	fxnode *n = arg;
	tr(n->f, "%s: %s: %s", n->name, kind, text);
	if (n->quorate && !strcmp(kind, "history_diverged"))
		mark_reported(n->f, n, who);
	member_send_event(n, kind, text);
}

/* set_synced(): the losses are ordered at this version (vg_coord_in_step) before the held
 * changes go on top; a report says what it knows of lost nodes; the lease may resume. */
static void ms_synced(void *arg)
{
	fxnode *n = arg;
	ad_set_synced(n, true);
	ad_in_step(n);
	n->report_due = true;
	tr(n->f, "%s: state in step (epoch %llu, version %llu)", n->name,
	   (unsigned long long)n->rs->epoch, (unsigned long long)n->rs->version);
	member_lease_update(n);
}

static void ms_apply_held(void *arg, uint32_t from, const char *data, size_t len, void *tag)
{
	fxmsg *m = tag;
	(void)from, (void)data, (void)len; /* the module's copy of m->r */
	member_apply_r(arg, m);
	msg_unref(m);
}

static void ms_drop_held(void *arg, void *tag)
{
	(void)arg;
	msg_unref(tag);
}

static const char *ms_node_name(void *arg, uint32_t id)
{
	const vg_config *cfg = ((fxnode *)arg)->f->cfg;
	for (size_t i = 0; i < cfg->n_nodes; i++)
		if (cfg->nodes[i].id == id)
			return cfg->nodes[i].name;
	return NULL;
}

static const vg_msync_io ms_io = {.send_summary = ms_send_summary,
				  .send_state = ms_send_state,
				  .record_lost = ms_record_lost,
				  .synced = ms_synced,
				  .apply_held = ms_apply_held,
				  .drop_held = ms_drop_held,
				  .node_name = ms_node_name};

static void ad_report(fxnode *n, const char *from, json_t *o);
static void ad_heard(fxnode *n, const char *from, uint64_t at);
static void ad_bye(fxnode *n, const char *from, const json_t *res);
static void ad_membership(fxnode *n, const fxview *v);
static void ad_silenced(fxnode *n, bool silent);
static void ad_run(fxnode *n);
static bool ad_is_leader(const fxnode *n);
static const char *ad_leader(const fxnode *n);
static void ad_fence_done(fxnode *n, const char *target, bool ok);

/* on_action() */
static void member_on_action(fxnode *n, json_t *o, int from)
{
	const char *node = json_string_value(json_object_get(o, "node"));
	const char *res = json_string_value(json_object_get(o, "res"));
	const char *op = json_string_value(json_object_get(o, "op"));
	uint64_t id = (uint64_t)json_integer_value(json_object_get(o, "id"));
	uint64_t ring = (uint64_t)json_integer_value(json_object_get(o, "ring"));
	if (!node || !res || !op || strcmp(node, n->name))
		return;
	const char *fname = node_of(n->f, from)->name;
	if (!vg_view_accepts_action(n->cur_ring, ad_leader(n), ring, fname)) {
		tr(n->f,
		   "%s: ignores %s %s from %s (ring %llu): not the coordinator of this view "
		   "(ring %llu)",
		   n->name, op, res, fname, (unsigned long long)ring,
		   (unsigned long long)n->cur_ring);
		return;
	}
	json_decref(n->last_action);
	n->last_action = json_incref(o);
	n->last_action_ring = n->cur_ring;
	n->last_action_from = from;
	if (id > n->ack)
		n->ack = id;
	vg_op_kind k;
	tr(n->f, "%s: takes on %s %s (id %llu, sent in ring %llu)", n->name, op, res,
	   (unsigned long long)id,
	   (unsigned long long)json_integer_value(json_object_get(o, "ring")));
	if (!n->leaving && vg_op_from_name(op, &k) == 0)
		sv_request(n, res, k);
	free(n->last_report);
	n->last_report = NULL;
	n->report_due = true;
}

/* on_m_message(): every message delivered from a node is told to the coordinator view
 * (vg_coord_heard); this node's own heartbeat renews its lease when it comes back in a view
 * it believes quorate; a report counts only in its ring (on_report). */
static void member_on_msg(fxnode *n, fxmsg *m)
{
	const char *fname = node_of(n->f, m->from)->name;
	ad_heard(n, fname, n->f->now);
	if (m->is_r) {
		member_on_r(n, m);
		return;
	}
	char *s = json_dumps(m->c, JSON_COMPACT);
	vg_member_msg *mm = s ? vg_mm_decode(s, strlen(s), NULL, 0) : NULL;
	free(s);
	if (!mm) /* cluster.c drops what its codec refuses */
		return;
	if (mm->kind == VG_MM_SUMMARY) { /* the member protocol's (member_sync.h) */
		vg_msync_summary(n->ms, (uint32_t)m->from, mm, n->rs);
		vg_mm_free(mm);
		schedule_run(n, 0);
		return;
	}
	vg_mm_free(mm);
	const char *kind = json_string_value(json_object_get(m->c, "kind"));
	if (!kind)
		return;
	if (!strcmp(kind, "heartbeat")) {
		if (m->from == n->id) {
			vg_lease_delivered(&n->lease,
					   (uint64_t)json_integer_value(json_object_get(m->c, "t")),
					   n->connected && n->quorate && n->ring_majority);
			member_lease_update(n);
		}
		return; /* no run */
	}
	if (!strcmp(kind, "report")) {
		uint64_t ring = (uint64_t)json_integer_value(json_object_get(m->c, "ring"));
		if (vg_view_accepts_report(n->cur_ring, ring))
			ad_report(n, fname, m->c);
		else
			tr(n->f, "%s: drops a report of ring %llu from %s (ring %llu)", n->name,
			   (unsigned long long)ring, fname, (unsigned long long)n->cur_ring);
	} else if (!strcmp(kind, "action"))
		member_on_action(n, m->c, m->from);
	else if (!strcmp(kind, "bye"))
		ad_bye(n, fname, json_object_get(m->c, "res"));
	schedule_run(n, 0);
}

/* on_m_ring(): a ring without a majority of the servers stops everything at once. */
static void member_on_ring(fxnode *n, const fxview *v)
{
	const vg_config *cfg = n->f->cfg;
	size_t servers = 0, in = 0;
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		if (cfg->nodes[i].role != VG_ROLE_SERVER)
			continue;
		servers++;
		for (size_t k = 0; k < v->n_ring; k++)
			in += v->ring_members[k] == cfg->nodes[i].id;
	}
	n->ring_majority = servers == 2 || in * 2 > servers || cfg->qnetd.host;
	if (servers == 2 || in * 2 > servers || cfg->no_quorum != VG_NO_QUORUM_STOP ||
	    cfg->qnetd.host)
		return;
	sv_halt(n, true);
}

/* on_m_change() (on_m_ring() first for a new ring) */
static void member_on_view(fxnode *n, const fxview *v)
{
	fx *f = n->f;
	char list[64] = "";
	for (size_t k = 0; k < v->n; k++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%sn%u", k ? "," : "",
			 v->members[k]);
	tr(f, "%s: membership [%s], %s, ring %llu%s", n->name, list,
	   v->quorate ? "quorate" : "NO QUORUM", (unsigned long long)v->ring,
	   v->group_only ? " (group change)" : "");
	n->view_seq++; /* corosync_membership.c: m->view++ before on_change */
	n->view_pending = false;
	/* on_m_ring() for every new ring, and on joining (CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF:
	 * a vigild that joins an existing ring is told it too) */
	if (!v->group_only || n->ring_seen != v->ring)
		member_on_ring(n, v);
	n->ring_seen = v->ring;
	uint32_t before[FX_MAX_NODES];
	size_t n_before = n->n_members;
	memcpy(before, n->members, sizeof before);
	memcpy(n->members, v->members, v->n * sizeof *v->members);
	n->n_members = v->n;
	bool was_quorate = n->quorate;
	n->quorate = v->quorate;
	n->cur_ring = v->ring;
	n->in_ring = true;
	bool leader = false;
	if (v->quorate) {
		uint32_t low = UINT32_MAX;
		for (size_t i = 0; i < v->n; i++)
			low = v->members[i] < low ? v->members[i] : low;
		leader = low == (uint32_t)n->id;
	}
	for (size_t i = 0; leader && i < n_before; i++) {
		bool still = false;
		for (size_t k = 0; k < v->n; k++)
			still = still || v->members[k] == before[i];
		char text[128];
		snprintf(text, sizeof text, "n%u left the membership (now: %s)", before[i], list);
		if (!still)
			member_send_event(n, "node_lost", text);
	}
	if (v->quorate && !was_quorate && leader)
		member_send_event(n, "quorum", list);
	if (!v->quorate && f->cfg->no_quorum == VG_NO_QUORUM_STOP)
		sv_halt(n, true);
	else if (v->quorate && !n->leaving && !n->lease.halted)
		sv_halt(n, false);
	n->ack = 0;
	vg_msync_view(n->ms, (uint32_t)n->id, n->members, n->n_members);
	ad_set_synced(n, false);
	ad_membership(n, v);
	vg_msync_send_summary(n->ms, n->rs, v->ring, n_before);
	free(n->last_report);
	n->last_report = NULL;
	n->report_due = true;
	schedule_run(n, 0);
	member_lease_update(n);
}

/* on_m_connection(false): Corosync went away under a running vigild. */
static void member_lost_corosync(fxnode *n)
{
	tr(n->f, "%s: lost Corosync: stopping local resources", n->name);
	n->connected = false;
	n->ring_seen = 0;
	n->in_ring = false;
	n->quorate = false;
	vg_msync_disconnected(n->ms);
	ad_set_synced(n, false);
	fxview none = {0};
	ad_membership(n, &none);
	sv_halt(n, true);
	outbox_clear(n);
}

/* ---- the lease (cluster.c's heartbeat_ms, on_hb_timer, lease_update) ---- */

static uint64_t heartbeat_ms(const fxnode *n)
{
	uint64_t ms = n->f->cfg->lease_ms / VG_LEASE_BEATS;
	return ms ? ms : 1;
}

/* When its Corosync last answered a request (vg_membership_answered_at: a thread asks every
 * heartbeat period). One that works answers at every moment here; one that hangs or died
 * answered last at that moment (the latest it may have, which keeps the node running the
 * longest). */
static uint64_t cs_answered(const fxnode *n)
{
	return corosync_works(n) ? n->f->now : n->cs_answered_at;
}

/* lease_update(): halt when the lease has run out and the local Corosync has not answered for
 * a lease; resume when it is held again and this node is a synced quorate member; arm the
 * lease timer for when that may next change. The timer is armed only while Corosync answers
 * nothing: while it answers vg_lease_check cannot halt, so a timer would change nothing. */
static void member_lease_update(fxnode *n)
{
	fx *f = n->f;
	n->lease_at = NEVER;
	n->lease.lease_ms = f->cfg->lease_ms;
	vg_lease_answered(&n->lease, cs_answered(n));
	if (f->cfg->no_quorum != VG_NO_QUORUM_STOP)
		return;
	bool was = n->lease.halted;
	if (vg_lease_check(&n->lease, f->now) && !was) {
		tr(f, "%s: lease expired (held until %llu, Corosync last answered at %llu): halt",
		   n->name, (unsigned long long)n->lease.until,
		   (unsigned long long)n->lease.answered_at);
		sv_halt(n, true);
		ad_silenced(n, true); /* as lease_update() does */
	}
	if (n->lease.halted &&
	    vg_lease_resume(&n->lease, f->now, member_synced(n) && n->quorate && n->in_ring)) {
		tr(f, "%s: lease held again (until %llu): resumes", n->name,
		   (unsigned long long)n->lease.until);
		ad_silenced(n, false);
		if (n->connected && n->quorate && !n->leaving)
			sv_halt(n, false);
		schedule_run(n, 0);
	}
	if (n->lease.until && !n->lease.halted && !corosync_works(n))
		n->lease_at = f->now + vg_lease_next_check(&n->lease, f->now);
}

/* Whether the heartbeat n sends now would reach every vigild of its ring at once and after
 * nothing else: its ring works, nothing waits in its queue nor in theirs, no view is on its
 * way. Nothing changes between steps, so this held since the last one. */
static bool hb_quiet(const fxnode *n)
{
	const fx *f = n->f;
	if (!corosync_works(n) || n->gathering || !n->ring || ring_broken(n) || n->n_out ||
	    n->view_pending)
		return false;
	for (size_t i = 0; i < f->n; i++) {
		const fxnode *d = &f->nodes[i];
		if (d->ring == n->ring && corosync_works(d) && d->vd_alive && d->connected &&
		    (d->nq || d->view_pending || d->gathering))
			return false;
	}
	return true;
}

/* on_hb_timer(): the heartbeat, every lease/5 while connected and in a ring. Modelled
 * cheaply, so that long quiet stretches cost nothing: the timer's ticks are looked at only
 * when something happens (at every step and before every fault), and only the latest tick
 * since the last look counts (a heartbeat's effects are a latest time: the sender's lease
 * until, the others' vg_coord_heard). In a quiet ring (hb_quiet) that tick's heartbeat is
 * delivered at once to every vigild of the ring (to the sender: vg_lease_delivered, to all:
 * vg_coord_heard at its delivery time), as the real one was; otherwise it is sent now as a
 * message, in agreed order with the rest. Only while the lease is halted (resuming waits for
 * a heartbeat) is each tick an event of its own (next_time). */
static void member_heartbeat(fxnode *n)
{
	fx *f = n->f;
	uint64_t p = heartbeat_ms(n);
	uint64_t tick = n->hb_due + (f->now - n->hb_due) / p * p;
	n->hb_due = tick + p;
	if (!n->connected || !n->in_ring)
		return;
	if (!hb_quiet(n)) {
		member_send_cv(
		    n, json_pack("{s:s, s:I}", "kind", "heartbeat", "t", (json_int_t)f->now));
		return;
	}
	uint64_t at = tick + f->o.latency_ms < f->now ? tick + f->o.latency_ms : f->now;
	for (size_t i = 0; i < f->n; i++) {
		fxnode *d = &f->nodes[i];
		if (d->ring != n->ring || !corosync_works(d) || !d->vd_alive || !d->connected)
			continue;
		ad_heard(d, n->name, at);
		if (d == n) {
			vg_lease_delivered(&n->lease, tick,
					   n->connected && n->quorate && n->ring_majority);
			member_lease_update(n);
		}
	}
}

/* Every vigild's heartbeat timer, looked at now (see member_heartbeat). */
static void heartbeats(fx *f)
{
	for (size_t i = 0; i < f->n; i++) {
		fxnode *n = &f->nodes[i];
		if (n->powered && n->vd_alive && n->hb_due <= f->now)
			member_heartbeat(n);
	}
}

/* on_run_timer(): the coordinator runs; a new cluster's coordinator commits its file. */
static void member_run(fxnode *n)
{
	ad_run(n);
	if (ad_is_leader(n) && member_synced(n) && n->rs->epoch == 0 && !n->bootstrap_sent) {
		n->bootstrap_sent = true;
		tr(n->f, "%s: no committed configuration yet: committing the file", n->name);
		vg_repmsg m = {.kind = VG_REPMSG_CONFIG_COMMIT,
			       .yaml = (char *)n->f->o.yaml,
			       .base_version = n->rs->version};
		member_send_r(n, &m);
	}
}

/* fence_next() / io_fence(): the fence device runs fence_ms, then the target is off. */
static void member_fence_next(fxnode *n)
{
	if (n->fence_target || n->n_fence_queue == 0)
		return;
	n->fence_target = n->fence_queue[0];
	memmove(n->fence_queue, n->fence_queue + 1, (n->n_fence_queue - 1) * sizeof(char *));
	n->n_fence_queue--;
	n->fence_end = n->f->now + n->f->o.fence_ms;
	tr(n->f, "%s: fence device runs against %s (ends at %llu)", n->name, n->fence_target,
	   (unsigned long long)n->fence_end);
}

static void power_off(fx *f, fxnode *t, const char *why);

/* on_fenced() */
static void member_fenced(fxnode *n)
{
	fx *f = n->f;
	char *target = n->fence_target;
	n->fence_target = NULL;
	fxnode *t = node_named(f, target);
	if (t && t->powered)
		power_off(f, t, "fenced (powered off)");
	tr(f, "%s: fenced %s", n->name, target);
	vg_repmsg m = {.kind = VG_REPMSG_FENCE_RECORD,
		       .node = target,
		       .time_ms = wall(n),
		       .by = "pdu",
		       .method = "off"};
	if (n->quorate)
		member_send_r(n, &m);
	char text[64];
	snprintf(text, sizeof text, "%s: fenced by pdu (level 1)", target);
	member_send_event(n, "fenced", text);
	ad_fence_done(n, target, true);
	free(target);
	member_fence_next(n);
	schedule_run(n, 0);
}

static void member_fence_request(fxnode *n, const char *node)
{
	if (n->fence_target && !strcmp(n->fence_target, node))
		return;
	for (size_t i = 0; i < n->n_fence_queue; i++)
		if (!strcmp(n->fence_queue[i], node))
			return;
	if (n->n_fence_queue < FX_MAX_NODES)
		n->fence_queue[n->n_fence_queue++] = strdup(node);
	member_fence_next(n);
}

/* vg_cluster_new() + vg_cluster_start(): state from disk, the supervisor probes, the
 * coordinator's view; Corosync is joined (if it runs). */
static void vigild_start(fxnode *n)
{
	fx *f = n->f;
	n->vd_alive = true;
	n->vd_gen = ++f->gen_seq;
	n->connected = n->cs_running && n->powered;
	n->quorate = n->in_ring = n->bootstrap_sent = false;
	n->leaving = n->sv_shutting_down = n->exit_due = false;
	n->cur_ring = n->ack = 0;
	n->n_members = 0;
	n->run_at = NEVER;
	n->report_due = false;
	vg_lease_init(&n->lease, f->cfg->lease_ms);
	n->hb_due = f->now; /* uv_timer_start(hb_timer, 0, period) */
	n->lease_at = NEVER;
	n->ring_majority = false;
	n->ring_seen = 0;
	ad_new(n);
	n->ms = vg_msync_new(&ms_io, n);
	sv_start(n);
	tr(f, "%s: vigild starts (state epoch %llu version %llu)", n->name,
	   (unsigned long long)n->rs->epoch, (unsigned long long)n->rs->version);
	if (n->connected)
		cs_group_change(n);
}

/* The vigild process is gone: nothing of it remains but state.json and what runs. */
static void vigild_gone(fxnode *n)
{
	ad_free(n);
	n->vd_alive = false;
	n->connected = false;
	vg_msync_free(n->ms); /* drops what it held */
	n->ms = NULL;
	free(n->last_report);
	n->last_report = NULL;
	for (size_t i = 0; i < n->n_fence_queue; i++)
		free(n->fence_queue[i]);
	n->n_fence_queue = 0;
	free(n->fence_target);
	n->fence_target = NULL;
	json_decref(n->last_action);
	n->last_action = NULL;
	outbox_clear(n);
	q_clear(n);
}

/* on_all_down(): the goodbye goes out only when every resource is stopped
 * (vg_supervisor_all_stopped; a blocked one is not), with res saying so; otherwise vigild
 * leaves without one and the others treat this node as unclean. vigild exits after it. */
static void member_all_down(fxnode *n)
{
	bool clean = true;
	for (size_t i = 0; i < n->f->cfg->n_resources; i++)
		clean = clean && !n->sv[i].busy && n->sv[i].obs == OBS_STOPPED;
	tr(n->f, "%s: %s", n->name,
	   clean ? "everything stopped: says goodbye and exits"
		 : "not everything stopped: exits without a goodbye");
	if (!clean || !n->connected)
		return;
	json_t *bye = json_object();
	for (size_t i = 0; i < n->f->cfg->n_resources; i++)
		json_object_set_new(bye, n->f->cfg->resources[i].name, json_string("stopped"));
	member_send_c(n, json_pack("{s:s, s:o}", "kind", "bye", "res", bye));
}

/* ==== ADAPTER: every call into the coordinator (vg_coord_*) is in this section =================
 */

static void ad_io_send_action(void *arg, const char *node, const char *resource, vg_op_kind op,
			      uint64_t id)
{
	fxnode *n = arg;
	tr(n->f, "%s: coordinator asks %s to %s %s (id %llu)", n->name, node, vg_op_name(op),
	   resource, (unsigned long long)id);
	member_send_cv(n, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "kind", "action", "node",
				    node, "res", resource, "op", vg_op_name(op), "id",
				    (json_int_t)id, "ring", (json_int_t)n->cur_ring));
}

static void ad_io_fence(void *arg, const char *node)
{
	fxnode *n = arg;
	tr(n->f, "%s: coordinator fences %s", n->name, node);
	member_fence_request(n, node);
}

static void ad_io_rearm(void *arg, uint64_t ms)
{
	schedule_run(arg, ms);
}

static void ad_new(fxnode *n)
{
	vg_coord_io io = {ad_io_send_action, ad_io_fence, ad_io_rearm};
	n->co = vg_coord_new(n->name, &io, n);
	vg_coord_set_config(n->co, n->f->cfg);
	if (n->f->o.corosync_hold_ms)
		vg_coord_set_corosync_hold(n->co, n->f->o.corosync_hold_ms);
}

static void ad_free(fxnode *n)
{
	vg_coord_free(n->co);
	n->co = NULL;
}

static void ad_membership(fxnode *n, const fxview *v)
{
	vg_coord_membership(n->co, v->members, v->n, v->ring_members, v->n_ring, v->quorate,
			    v->ring, n->f->now, wall(n));
}

/* lease_update(): what was heard before a lease ran out is old news by the next change */
static void ad_silenced(fxnode *n, bool silent)
{
	vg_coord_silenced(n->co, silent);
}

/* on_report() */
static void ad_report(fxnode *n, const char *from, json_t *o)
{
	vg_node_report r = {
	    .ring = (uint64_t)json_integer_value(json_object_get(o, "ring")),
	    .probed = json_is_true(json_object_get(o, "probed")),
	    .leaving = json_is_true(json_object_get(o, "leaving")),
	    .ack = (uint64_t)json_integer_value(json_object_get(o, "ack")),
	    .resources = json_object_get(o, "res"),
	    .seen = json_object_get(o, "seen"),
	};
	if (!json_is_object(r.seen))
		r.seen = NULL; /* wd: null, no watchdog is modelled */
	if (json_is_object(r.resources))
		vg_coord_report(n->co, from, &r);
}

static void ad_bye(fxnode *n, const char *from, const json_t *res)
{
	vg_coord_bye(n->co, from, res);
}

static void ad_fence_done(fxnode *n, const char *target, bool ok)
{
	vg_coord_fence_done(n->co, target, ok, ok ? NULL : "failed", n->f->now);
}

static void ad_set_synced(fxnode *n, bool synced)
{
	vg_coord_set_synced(n->co, synced);
}

static void ad_in_step(fxnode *n)
{
	vg_coord_in_step(n->co, n->rs);
}

static json_t *ad_seen(fxnode *n)
{
	return vg_coord_seen(n->co, n->rs);
}

static void ad_heard(fxnode *n, const char *from, uint64_t at)
{
	vg_coord_heard(n->co, from, at);
}

static void ad_run(fxnode *n)
{
	vg_coord_run(n->co, n->rs, n->f->now, wall(n));
}

static bool ad_is_leader(const fxnode *n)
{
	return vg_coord_is_leader(n->co);
}

static const char *ad_leader(const fxnode *n)
{
	return vg_coord_leader(n->co);
}

/* ==== end of the adapter =======================================================================
 */

/* ---- lifecycle --------------------------------------------------------------------------------
 */

vg_config *fx_config_load(const char *yaml)
{
	if (!yaml)
		yaml = FX_YAML_DEFAULT;
	vg_config_errors errs = {0};
	vg_config *c = vg_config_load_buffer("fixture.yaml", yaml, strlen(yaml), NULL, &errs);
	if (!c) {
		char line[512] = "?";
		if (errs.count)
			vg_config_error_format(&errs.items[0], line, sizeof line);
		fprintf(stderr, "cluster fixture: configuration: %s\n", line);
	}
	vg_config_errors_free(&errs);
	return c;
}

fx *fx_new(const fx_opts *o)
{
	fx *f = calloc(1, sizeof *f);
	fx_opts d = {.detect_ms = 1100,
		     .latency_ms = 1,
		     .start_ms = 5,
		     .stop_ms = 5,
		     .probe_ms = 2,
		     .fence_ms = 3000,
		     .boot_ms = 10};
	if (o) {
		d = *o;
		if (!d.detect_ms)
			d.detect_ms = 1100;
		if (!d.latency_ms)
			d.latency_ms = 1;
		if (!d.start_ms)
			d.start_ms = 5;
		if (!d.stop_ms)
			d.stop_ms = 5;
		if (!d.probe_ms)
			d.probe_ms = 2;
		if (!d.fence_ms)
			d.fence_ms = 3000;
		if (!d.boot_ms)
			d.boot_ms = 10;
	}
	if (!d.yaml)
		d.yaml = FX_YAML_DEFAULT;
	f->o = d;
	f->cfg = d.cfg;
	if (!f->cfg)
		f->cfg = f->own_cfg = fx_config_load(d.yaml);
	if (!f->cfg || f->cfg->n_nodes > FX_MAX_NODES || f->cfg->n_resources > FX_MAX_RES) {
		if (f->cfg)
			fprintf(stderr, "cluster fixture: at most %d nodes and %d resources\n",
				FX_MAX_NODES, FX_MAX_RES);
		vg_config_free(f->own_cfg);
		free(f);
		return NULL;
	}
	for (size_t i = 0; i < f->cfg->n_nodes; i++)
		if (f->cfg->nodes[i].id != i + 1) {
			fprintf(stderr, "cluster fixture: node %s must have id %zu\n",
				f->cfg->nodes[i].name, i + 1);
			vg_config_free(f->own_cfg);
			free(f);
			return NULL;
		}
	f->n = f->cfg->n_nodes;
	for (size_t i = 0; i < f->n; i++) {
		fxnode *n = &f->nodes[i];
		n->f = f;
		n->id = (int)i + 1;
		snprintf(n->name, sizeof n->name, "%s", f->cfg->nodes[i].name);
		n->hung_until = NEVER;
		n->run_at = NEVER;
		for (size_t r = 0; r < f->cfg->n_resources; r++) {
			bool vip = f->cfg->resources[r].cls == VG_CLASS_VIP;
			n->start_ms[r] = vip ? 1 : d.start_ms;
			n->stop_ms[r] = n->default_stop_ms[r] = vip ? 1 : d.stop_ms;
		}
		char err[256];
		n->rs = d.initial_state
			    ? vg_repstate_decode(d.initial_state, strlen(d.initial_state), err,
						 sizeof err)
			    : vg_repstate_new();
		if (!n->rs)
			n->rs = vg_repstate_new();
	}
	tr(f, "fixture: %zu nodes; detect %llu ms, lag majority %llu / minority %llu ms", f->n,
	   (unsigned long long)d.detect_ms, (unsigned long long)d.majority_lag_ms,
	   (unsigned long long)d.minority_lag_ms);
	for (size_t i = 0; i < f->n; i++)
		fx_boot(f, (int)i + 1);
	return f;
}

void fx_free(fx *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		fxnode *n = &f->nodes[i];
		if (n->vd_alive)
			vigild_gone(n);
		q_clear(n);
		free(n->q);
		outbox_clear(n);
		vg_repstate_free(n->rs);
		free(n->hist);
	}
	free(f->committed);
	free(f->reforms);
	free(f->trace);
	free(f->violation);
	vg_config_free(f->own_cfg);
	free(f);
}

/* ---- faults -----------------------------------------------------------------------------------
 */

static void power_off(fx *f, fxnode *t, const char *why)
{
	tr(f, "%s: %s: everything on it stops at once", t->name, why);
	if (t->vd_alive)
		vigild_gone(t);
	t->powered = false;
	t->cs_running = false;
	t->hung_until = NEVER;
	t->gathering = false;
	t->ring = 0;
	t->n_ring_members = 0;
	memset(t->ph, 0, sizeof t->ph);
	q_clear(t);
	outbox_clear(t);
	f->hist_dirty = true;
	schedule_reform(f, f->now + f->o.detect_ms);
}

void fx_crash(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (n && n->powered)
		power_off(f, n, "CRASH");
}

void fx_boot(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (!n || n->powered)
		return;
	tr(f, "%s: boots (Corosync and vigild start)", n->name);
	n->powered = true;
	n->cs_running = true;
	f->hist_dirty = true;
	n->ring = 0;
	vigild_start(n);
	schedule_reform(f, f->now + (f->now ? f->o.detect_ms : f->o.boot_ms));
}

void fx_partition(fx *f, const int *side, size_t k)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	bool in[FX_MAX_NODES] = {0};
	char list[64] = "";
	for (size_t i = 0; i < k; i++) {
		if (side[i] >= 1 && (size_t)side[i] <= f->n)
			in[side[i] - 1] = true;
		snprintf(list + strlen(list), sizeof list - strlen(list), "%sn%d", i ? "," : "",
			 side[i]);
	}
	tr(f, "PARTITION [%s] | the others", list);
	for (size_t a = 0; a < f->n; a++)
		for (size_t b = 0; b < f->n; b++)
			if (in[a] != in[b])
				f->cut[a][b] = true;
	schedule_reform(f, f->now + f->o.detect_ms);
}

void fx_cut_oneway(fx *f, int from, int to)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	if (!node_of(f, from) || !node_of(f, to) || from == to)
		return;
	tr(f, "CUT one way: n%d -> n%d", from, to);
	f->cut[from - 1][to - 1] = true;
	schedule_reform(f, f->now + f->o.detect_ms);
}

void fx_heal(fx *f)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	tr(f, "HEAL every link");
	memset(f->cut, 0, sizeof f->cut);
	schedule_reform(f, f->now + f->o.detect_ms);
}

void fx_kill_vigild(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (!n || !n->vd_alive)
		return;
	tr(f, "%s: VIGILD KILLED (its resources keep running as they are)", n->name);
	vigild_gone(n);
	cs_group_change(n);
}

void fx_shutdown_vigild(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (!n || !n->vd_alive || n->sv_shutting_down)
		return;
	tr(f, "%s: vigild is told to stop (SIGTERM): moves everything away", n->name);
	/* vg_cluster_shutdown(): leaving, reported at once; vg_supervisor_shutdown() */
	n->leaving = true;
	member_send_report(n);
	n->sv_shutting_down = true;
	sv_reconcile(n);
}

void fx_start_vigild(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (n && n->powered && !n->vd_alive)
		vigild_start(n);
}

void fx_kill_corosync(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (!n || !n->powered || !n->cs_running)
		return;
	tr(f, "%s: COROSYNC KILLED", n->name);
	n->cs_answered_at = f->now;
	n->cs_running = false;
	n->hung_until = NEVER;
	n->gathering = false;
	n->ring = 0;
	n->n_ring_members = 0;
	q_clear(n);
	if (n->vd_alive && n->connected)
		member_lost_corosync(n);
	if (n->vd_alive)
		member_lease_update(n); /* the lease timer runs on */
	schedule_reform(f, f->now + f->o.detect_ms);
}

void fx_start_corosync(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (!n || !n->powered || n->cs_running)
		return;
	tr(f, "%s: Corosync starts", n->name);
	n->cs_running = true;
	n->ring = 0;
	if (n->vd_alive)
		n->connected = true; /* vigild reconnects (every 500 ms; taken as at once) */
	schedule_reform(f, f->now + f->o.detect_ms);
}

void fx_hang_corosync(fx *f, int node, uint64_t ms)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (!n || !corosync_works(n))
		return;
	tr(f, "%s: COROSYNC HANGS for %llu ms (its vigild keeps running)", n->name,
	   (unsigned long long)ms);
	n->hung_until = f->now + ms;
	n->cs_answered_at = f->now;
	if (n->vd_alive)
		member_lease_update(n);
	schedule_reform(f, f->now + f->o.detect_ms);
}

void fx_set_stop_ms(fx *f, int node, const char *resource, uint64_t ms)
{
	fxnode *n = node_of(f, node);
	if (!n)
		return;
	tr(f, "%s: stops of %s take %llu ms from now on", n->name, resource ? resource : "all",
	   (unsigned long long)ms);
	for (size_t r = 0; r < f->cfg->n_resources; r++)
		if (!resource || !strcmp(resource, f->cfg->resources[r].name))
			n->stop_ms[r] = ms;
}

int fx_replay_stale_action(fx *f, int node)
{
	heartbeats(f); /* what the timers did up to now, before the fault */
	fxnode *n = node_of(f, node);
	if (!n || !n->vd_alive || !n->last_action || n->last_action_ring >= n->cur_ring)
		return -1;
	char *s = json_dumps(n->last_action, JSON_COMPACT);
	tr(f, "%s: STALE message of ring %llu delivered now (ring %llu): %s", n->name,
	   (unsigned long long)n->last_action_ring, (unsigned long long)n->cur_ring, s);
	free(s);
	fxmsg *m = calloc(1, sizeof *m);
	m->refs = 1;
	m->c = json_deep_copy(n->last_action);
	m->ring = n->last_action_ring;
	m->from = n->last_action_from; /* the coordinator of then, still the coordinator now */
	q_push(n, (qent){f->now + f->o.latency_ms, Q_MSG, m, {0}});
	msg_unref(m);
	return 0;
}

void fx_clock_step(fx *f, int node, int64_t ms)
{
	fxnode *n = node_of(f, node);
	if (!n)
		return;
	tr(f, "%s: CLOCK STEP of %lld ms", n->name, (long long)ms);
	n->wall_off += ms;
}

/* ---- observation ------------------------------------------------------------------------------
 */

uint64_t fx_now(const fx *f)
{
	return f->now;
}

bool fx_failed(const fx *f)
{
	return f->violation != NULL;
}

const char *fx_violation(const fx *f)
{
	return f->violation;
}

const char *fx_trace(const fx *f)
{
	return f->trace ? f->trace : "";
}

size_t fx_nodes(const fx *f)
{
	return f->n;
}

uint64_t fx_epoch(const fx *f, int node)
{
	const fxnode *n = node_of((fx *)f, node);
	return n ? n->rs->epoch : 0;
}

uint64_t fx_version(const fx *f, int node)
{
	const fxnode *n = node_of((fx *)f, node);
	return n ? n->rs->version : 0;
}

size_t fx_active_count(const fx *f, const char *resource)
{
	int r = res_index(f, resource);
	size_t k = 0;
	for (size_t i = 0; r >= 0 && i < f->n; i++)
		k += f->nodes[i].powered && f->nodes[i].ph[r].active;
	return k;
}

int fx_holder(const fx *f, const char *resource)
{
	int r = res_index(f, resource);
	for (size_t i = 0; r >= 0 && i < f->n; i++)
		if (f->nodes[i].powered && f->nodes[i].ph[r].active)
			return (int)i + 1;
	return 0;
}

int fx_leader(const fx *f, int node)
{
	const fxnode *n = node_of((fx *)f, node);
	if (!n || !n->vd_alive)
		return 0;
	const char *l = ad_leader(n);
	const fxnode *ln = l ? node_named((fx *)f, l) : NULL;
	return ln ? ln->id : 0;
}

bool fx_synced(const fx *f, int node)
{
	const fxnode *n = node_of((fx *)f, node);
	return n && n->vd_alive && member_synced(n);
}

/* ---- the step loop and the invariants ---------------------------------------------------------
 */

static bool can_deliver(const fxnode *n)
{
	return n->powered && n->cs_running && n->hung_until == NEVER && !n->gathering &&
	       n->vd_alive && n->nq > 0 && !ring_broken(n);
}

static uint64_t next_time(const fx *f)
{
	uint64_t t = NEVER;
	for (size_t i = 0; i < f->n_reforms; i++)
		t = f->reforms[i] < t ? f->reforms[i] : t;
	for (size_t i = 0; i < f->n; i++) {
		const fxnode *n = &f->nodes[i];
		if (!n->powered)
			continue;
		for (size_t r = 0; r < f->cfg->n_resources; r++) {
			if (n->ph[r].op && n->ph[r].until < t)
				t = n->ph[r].until;
			if (n->vd_alive && n->sv[r].probing && n->sv[r].probe_at < t)
				t = n->sv[r].probe_at;
		}
		if (n->hung_until < t)
			t = n->hung_until;
		if (can_deliver(n) && n->q[0].at < t)
			t = n->q[0].at;
		if (n->vd_alive) {
			if (n->run_at < t)
				t = n->run_at;
			if (n->lease_at < t)
				t = n->lease_at;
			if (n->lease.halted && n->connected && n->in_ring && n->hb_due < t)
				t = n->hb_due;
			if (n->report_due || n->exit_due)
				t = f->now < t ? f->now : t;
			if (n->fence_target && n->fence_end < t)
				t = n->fence_end;
			if (cs_may_flush(n))
				t = f->now < t ? f->now : t;
		}
	}
	return t;
}

static const char *phys_name(const phys *p)
{
	if (p->op == VG_OP_START + 1)
		return "starting";
	if (p->op == VG_OP_STOP + 1)
		return "stopping";
	return p->active ? "running" : "stopped";
}

static void check_invariants(fx *f)
{
	for (size_t r = 0; r < f->cfg->n_resources; r++) {
		if (f->cfg->resources[r].clone.enabled)
			continue;
		size_t k = 0;
		char where[256] = "";
		for (size_t i = 0; i < f->n; i++) {
			const fxnode *n = &f->nodes[i];
			if (!n->powered || !n->ph[r].active)
				continue;
			k++;
			snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s (%s)",
				 k > 1 ? " and " : "", n->name, phys_name(&n->ph[r]));
		}
		if (k > 1)
			violate(f, "(a) %s is active on two live nodes: %s",
				f->cfg->resources[r].name, where);
	}
	if (!f->hist_dirty)
		return;
	f->hist_dirty = false;
	size_t servers = vg_config_servers(f->cfg), live = 0;
	for (size_t i = 0; i < f->n; i++)
		live += f->nodes[i].powered && is_server(f, f->nodes[i].id);
	if (live * 2 <= servers)
		return;
	for (size_t c = 0; c < f->n_committed; c++) {
		bool held = f->committed[c].reported; /* lost, but never silently */
		for (size_t i = 0; i < f->n && !held; i++) {
			const fxnode *n = &f->nodes[i];
			for (size_t k = 0; n->powered && k < n->n_hist && !held; k++)
				held = n->hist[k] == f->committed[c].id;
		}
		if (!held) {
			violate(
			    f,
			    "(b) a committed change is in no live node's state any more, and was "
			    "not reported lost (%zu of "
			    "%zu servers live): %s",
			    live, servers, f->committed[c].what);
			return;
		}
	}
}

/* Everything due at time t, in a fixed order: rings, operations' ends, probes, hangs' ends,
 * deliveries, fencing, coordinator runs, reports and queued sends. */
static bool run_due(fx *f, uint64_t t)
{
	bool any = false;
	heartbeats(f);
	for (size_t i = 0; i < f->n_reforms;) {
		if (f->reforms[i] <= t) {
			f->reforms[i] = f->reforms[--f->n_reforms];
			cs_reform(f);
			any = true;
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		fxnode *n = &f->nodes[i];
		if (!n->powered)
			continue;
		for (size_t r = 0; r < f->cfg->n_resources; r++) {
			phys *p = &n->ph[r];
			if (p->op && p->until <= t) {
				vg_op_kind op = (vg_op_kind)(p->op - 1);
				p->op = 0;
				if (op == VG_OP_STOP)
					p->active = false;
				tr(f, "%s: %s %s ends", n->name, vg_op_name(op),
				   f->cfg->resources[r].name);
				if (n->vd_alive && p->gen == n->vd_gen)
					sv_op_done(n, r, op);
				any = true;
			}
			if (n->vd_alive && n->sv[r].probing && n->sv[r].probe_at <= t) {
				sv_probe_done(n, r);
				any = true;
			}
		}
		if (n->hung_until <= t) {
			tr(f, "%s: Corosync runs again; it forms a new ring", n->name);
			n->hung_until = NEVER;
			n->gathering = true;
			q_clear(n);
			schedule_reform(f, t + f->o.detect_ms);
			any = true;
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		fxnode *n = &f->nodes[i];
		while (can_deliver(n) && n->q[0].at <= t && !f->violation) {
			qent e = n->q[0];
			memmove(n->q, n->q + 1, (n->nq - 1) * sizeof *n->q);
			n->nq--;
			if (e.kind == Q_VIEW)
				member_on_view(n, &e.v);
			else
				member_on_msg(n, e.m);
			msg_unref(e.m);
			any = true;
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		fxnode *n = &f->nodes[i];
		if (!n->vd_alive)
			continue;
		if (n->fence_target && n->fence_end <= t) {
			member_fenced(n);
			any = true;
		}
		if (n->vd_alive && n->lease_at <= t) {
			member_lease_update(n);
			any = true;
		}
		if (n->vd_alive && n->run_at <= t) {
			n->run_at = NEVER;
			member_run(n);
			any = true;
		}
		if (n->vd_alive && n->report_due) {
			n->report_due = false;
			member_send_report(n);
			any = true;
		}
		if (cs_may_flush(n)) {
			cs_flush_outbox(n);
			any = true;
		}
		if (n->vd_alive && n->exit_due) {
			tr(f, "%s: vigild exits", n->name);
			vigild_gone(n);
			cs_group_change(n);
			any = true;
		}
	}
	return any;
}

int fx_step(fx *f)
{
	if (f->violation)
		return -1;
	uint64_t t = next_time(f);
	if (t == NEVER)
		return 0;
	if (t > f->now)
		f->now = t;
	for (int guard = 0; guard < 10000 && run_due(f, f->now); guard++)
		;
	check_invariants(f);
	return f->violation ? -1 : 0;
}

int fx_advance(fx *f, uint64_t ms)
{
	uint64_t end = f->now + ms;
	while (!f->violation) {
		uint64_t t = next_time(f);
		if (t > end)
			break;
		if (fx_step(f) != 0)
			return -1;
	}
	if (f->violation)
		return -1;
	f->now = end;
	return 0;
}

/* ---- random schedules --------------------------------------------------------------------------
 */

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static uint64_t rnd_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + rnd(s) % (hi - lo + 1);
}

int fx_random_run(const fx_random_opts *o, fx **out)
{
	fx_opts fo = {.yaml = o->yaml, .cfg = o->cfg, .quiet = true};
	fx *f = fx_new(&fo);
	if (out)
		*out = NULL;
	if (!f)
		return -1;
	uint64_t s = o->seed * 0x9E3779B97F4A7C15ull + 1;
	unsigned kinds[16];
	size_t nk = 0;
	for (unsigned b = 0; b < 16; b++)
		if (o->faults & (1u << b))
			kinds[nk++] = 1u << b;
	int rc = fx_advance(f, 3000);
	int n = (int)f->n;
	for (unsigned k = 0; rc == 0 && nk && k < o->n_faults; k++) {
		unsigned kind = kinds[rnd(&s) % nk];
		int a = (int)rnd_range(&s, 1, (uint64_t)n);
		bool heal_now = !o->overlap || rnd(&s) % 2;
		switch (kind) {
		case FX_F_CRASH:
			fx_crash(f, a);
			break;
		case FX_F_COORD_CRASH: {
			int l = 0;
			for (int i = 1; i <= n && !l; i++)
				l = fx_leader(f, i);
			fx_crash(f, l ? l : a);
			break;
		}
		case FX_F_PARTITION: {
			int side[FX_MAX_NODES];
			size_t ns = 0;
			uint64_t mask = rnd_range(&s, 1, (1ull << n) - 2);
			for (int i = 0; i < n; i++)
				if (mask & (1ull << i))
					side[ns++] = i + 1;
			fx_partition(f, side, ns);
			break;
		}
		case FX_F_ONEWAY: {
			int b = (int)rnd_range(&s, 1, (uint64_t)n);
			fx_cut_oneway(f, a, b == a ? (a % n) + 1 : b);
			break;
		}
		case FX_F_VIGILD_DEATH:
			fx_kill_vigild(f, a);
			break;
		case FX_F_COROSYNC_HANG:
			fx_hang_corosync(f, a, rnd_range(&s, 500, 8000));
			break;
		case FX_F_SLOW_STOP:
			fx_set_stop_ms(f, a, NULL, rnd_range(&s, 500, 5000));
			break;
		case FX_F_STALE:
			fx_replay_stale_action(f, a);
			break;
		case FX_F_CLOCK_STEP:
			fx_clock_step(f, a, (int64_t)rnd_range(&s, 0, 7200000) - 3600000);
			break;
		case FX_F_COROSYNC_KILL:
			fx_kill_corosync(f, a);
			break;
		}
		rc = fx_advance(f, rnd_range(&s, 50, 5000));
		if (rc == 0 && heal_now) {
			fx_note(f, "heal the fault");
			fx_heal(f);
			for (int i = 1; i <= n; i++) {
				fx_boot(f, i);
				fx_start_corosync(f, i);
				fx_start_vigild(f, i);
			}
			/* without overlap the cluster re-forms and settles before the next */
			uint64_t min = o->overlap ? 0 : f->o.detect_ms + 2000;
			rc = fx_advance(f, rnd_range(&s, min, min + 4000));
		}
	}
	if (rc == 0) {
		fx_note(f, "heal everything");
		fx_heal(f);
		for (int i = 1; i <= n; i++) {
			fx_boot(f, i);
			fx_start_corosync(f, i);
			fx_start_vigild(f, i);
			memcpy(f->nodes[i - 1].stop_ms, f->nodes[i - 1].default_stop_ms,
			       sizeof f->nodes[i - 1].stop_ms);
		}
		rc = fx_advance(f, o->settle_ms ? o->settle_ms : 30000);
	}
	if (rc == 0 && o->check_recovery) {
		for (size_t r = 0; r < f->cfg->n_resources; r++) {
			const char *name = f->cfg->resources[r].name;
			if (fx_active_count(f, name) != 1) {
				violate(f, "after healing, %s is active on %zu nodes, not 1", name,
					fx_active_count(f, name));
				rc = -1;
				break;
			}
		}
	}
	if ((rc != 0 || o->keep) && out)
		*out = f;
	else
		fx_free(f);
	return rc;
}
