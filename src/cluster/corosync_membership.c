/* corosync_membership.c - the Corosync backend of membership.h: the one place vigil talks to the
 * local Corosync for membership, quorum and ordered messaging, and reads the nodelist it runs with.
 *
 * Owns: the libcpg and libquorum handles, their descriptors on the libuv loop (uv_poll), the
 * threads that connect and that leave and finalize (see below) and the uv_async they wake
 * the loop with, the reconnect timer (every 500 ms while Corosync is absent), and the bounded
 * queue of messages that Corosync asked us to send again later (CS_ERR_TRY_AGAIN), kept in
 * order; the copy of the running Corosync's nodelist, cluster name and totem hold read from
 * cmap at each connection (the cmap handle is opened, read and finalized there, not kept).
 * Messages delivered between a membership event (CPG or totem confchg) and the moment the change
 * is reported (when group, ring and quorum agree) are held and delivered right after on_change,
 * so on every member a message sent after a view change comes after that change, as Corosync's
 * virtual synchrony orders it.
 * Must not: decide anything about resources; it only reports membership and quorum and carries
 * messages, nor judge whether the nodelist fits the configuration (corosync_match.c does).
 * Must not block the loop: every Corosync call made on it is a quick local IPC call made when
 * its descriptor is readable, and nothing sleeps. What a hung Corosync (SIGSTOP) does to each
 * call vigil makes (Corosync 3.1 lib/cpg.c, libqb): cpg_dispatch/quorum_dispatch with
 * CS_DISPATCH_ALL read with timeout 0 and are only called when the descriptor is readable
 * (the byte libqb reads after each event is sent with it); cpg_mcast_joined of a message up
 * to the IPC buffer is one non-blocking qb_ipcc_sendv (a full buffer gives TRY_AGAIN: queued
 * here); a larger one is sent in fragments, each waiting for Corosync's reply without a
 * timeout and sleeping on TRY_AGAIN: so nothing larger than VG_MEMBERSHIP_SEND_MAX is given
 * to it (refused; the caller splits); cpg_context_get/set, quorum_context_get/set and the
 * fd_get calls are local. The calls made while connecting (initialize, local_get, trackstart,
 * join, the cmap reads) and at the end of a connection (cpg_leave, cpg_finalize) wait for
 * Corosync's answer without a timeout, so none is made on the loop: each connect attempt runs
 * in a detached thread of its own (one at a time; the next RETRY_MS after one failed; one
 * still running after SLOW_MS is logged) that hands the handles to the loop through the
 * uv_async (the loop then sets their context and polls their descriptors: a handle's
 * callbacks run only in its dispatch, on the loop); each connection is left (at free) and
 * finalized by a detached thread once its polls have closed (finalizing closes the
 * descriptors). Both are records shared with the loop under a mutex and refcounted:
 * vg_membership_free abandons a running attempt (its thread finalizes what it made) and
 * waits for the leave at most LEAVE_WAIT_MS before its last handles close (so that a live
 * Corosync takes what was sent before it; a hung one is not waited for).
 * quorum_finalize and cmap_finalize only disconnect.
 * Whether the local Corosync still answers at all is asked from a thread of its own (the
 * prober: its own votequorum handle, votequorum_getinfo every period), which may block as long
 * as Corosync hangs: the loop only reads when it last answered (vg_membership_answered_at).
 * votequorum, because while Corosync is in sync, and in particular while votequorum waits for
 * qdevice's vote after a membership change (up to qdevice's sync_timeout), Corosync 3.1 reads
 * no IPC request of any other service (exec/ipc_glue.c, cs_ipcs_check_for_flow_control): a
 * quorum_getquorate then stalls although Corosync is alive, and the survivor of a cut with a
 * qnetd arbiter would halt on its lease. The price: a server cut off with a qnetd arbiter
 * keeps answering until votequorum tells it the outcome (at most that sync_timeout), so its
 * lease does not stop it before then; the other side cannot bound that, which is why recovery
 * with a qnetd arbiter waits for fencing (coordinator.c). libquorum's quorum_getquorate is
 * asked only when votequorum cannot be reached (another quorum provider; votequorum is tried
 * again every PROBE_VQ_RETRY requests).
 */
#include "membership.h"
#include "mem.h"
#include "clock.h"

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frag.h"
#include "log.h"
#include "sendq.h"

typedef struct cs_membership cs_membership;

#define RETRY_MS      500
#define SEND_RETRY_MS 10
#define SLOW_MS	      2000 /* a connect attempt this long: Corosync does not answer (logged) */
#define LEAVE_WAIT_MS 2000 /* at free, how long the loop waits for the leave to be answered */
#define QUEUE_MAX     4096
#define MEMBERS_MAX   384 /* Corosync's PROCESSOR_COUNT_MAX */

enum { POLL_CPG, POLL_QUORUM };

/* The thread that asks the local Corosync whether it answers (see the top); shared with the
 * loop under mu, freed by whichever of the two lets go last. */
typedef struct {
	pthread_mutex_t mu;
	int refs;
	bool stop;
	uint64_t period_ms;
	uint64_t answered_at; /* monotonic ms of the last request Corosync answered; 0: none */
} prober;

typedef struct qmsg {
	struct qmsg *next;
	size_t len;
	unsigned char data[];
} qmsg;

/* What is read from cmap with each connection. */
typedef struct {
	vg_corosync_node *nodelist;
	size_t n_nodelist;
	bool nodelist_known;
	char cluster_name[VG_COROSYNC_STR_MAX];
	bool has_cluster_name;
	uint32_t hold_ms; /* runtime.config.totem.hold, 0 when not known */
} cs_info;

/* One connect attempt, made by a thread of its own (see the top); shared with the loop under
 * mu, freed by whichever of the two lets go last. What the thread made belongs to the loop
 * once it is finished, connected and not abandoned; otherwise the thread finalizes it. */
typedef struct {
	pthread_mutex_t mu;
	int refs;
	bool abandoned; /* the owner was freed */
	bool finished;
	uv_async_t *wake; /* the owner's: sent under mu when finished, unless abandoned */
	struct cpg_name group;
	/* the outcome, written by the thread before finished */
	const char *step; /* the call that failed; NULL: connected and joined */
	cs_error_t err;
	cpg_handle_t cpg;
	quorum_handle_t quorum;
	int cpg_fd, quorum_fd;
	uint32_t local_nodeid;
	cs_info info;
	bool info_ok;
	char why[CMAP_KEYNAME_MAXLEN + 64]; /* why the nodelist could not be read */
} attempt;

/* The end of one connection: leave (when asked), then finalize, from a thread of its own,
 * started once the connection's polls have closed (finalizing closes their descriptors).
 * Shared under mu like an attempt; wake is set when the owner waits for it (at free). */
typedef struct {
	pthread_mutex_t mu;
	int refs;
	bool abandoned, finished;
	uv_async_t *wake;
	struct cpg_name group;
	bool leave, have_cpg, have_quorum;
	cpg_handle_t cpg;
	quorum_handle_t quorum;
	int polls; /* the connection's polls not closed yet */
} closer;

/* One descriptor of one connection; when it has closed, its closer may start. */
typedef struct {
	uv_poll_t poll;
	cs_membership *m;
	int kind;
	uint64_t handle;
	closer *k;
} conn_poll;

struct cs_membership {
	vg_membership base; /* first: the interface every backend shares (membership.h) */
	uv_loop_t *loop;
	struct cpg_name group;
	vg_membership_cbs cbs;
	void *arg;

	uv_timer_t retry_timer; /* the next attempt; while one runs, when it is slow; at free, the
				   bound on the wait for the leave */
	uv_timer_t send_timer;
	uv_async_t wake;  /* an attempt or the closer waited for at free has finished */
	int open_handles; /* timers, the async and polls not yet closed */
	bool freeing, closed;
	attempt *attempt; /* the connect attempt running, or finished and not yet taken */
	bool logged_slow; /* said that the attempt is slow */
	closer *leaving;  /* at free: the closer the loop waits for */

	bool connected;
	bool logged_wait;
	cpg_handle_t cpg;
	quorum_handle_t quorum;
	bool have_cpg, have_quorum;
	conn_poll *cpg_poll, *quorum_poll;
	uint32_t local_nodeid;

	/* the running Corosync's nodelist and totem.cluster_name, as read at connect time */
	cs_info info;

	/* what is known of the current ring */
	uint32_t gmembers[MEMBERS_MAX];
	size_t n_group;
	bool group_known;
	uint32_t totem[MEMBERS_MAX];
	size_t n_totem;
	uint64_t totem_seq;
	bool totem_known;
	bool totem_stale; /* a member's node went down; its new ring is not known yet */
	bool quorate;
	uint64_t quorum_seq;
	bool quorum_known;

	/* last reported */
	uint32_t rep_members[MEMBERS_MAX];
	size_t rep_n;
	bool rep_quorate;
	uint64_t rep_ring;
	bool reported;

	vg_sendq q;
	uint64_t view;	/* +1 at every reported change: a queued view-bound message checks it */
	vg_frag_rx *rx; /* messages delivered in pieces, per sender (frag.h) */
	uint32_t next_msg_id;
	prober *prober;

	bool change_pending;   /* a confchg arrived that is not reported yet */
	qmsg *h_head, *h_tail; /* messages held meanwhile, with their sender */
};

static void start_connect(cs_membership *m);

static void take_attempt(cs_membership *m);
static void on_wake(uv_async_t *h);

/* The next attempt, or, while one runs, a word that Corosync does not answer it. */
static void retry_cb(uv_timer_t *t)
{
	cs_membership *m = t->data;
	if (m->attempt) {
		take_attempt(m); /* it may have finished just now */
		if (!m->attempt)
			return; /* taken: connected, or the next one is timed */
		if (!m->logged_slow)
			vg_warn("membership: corosync has not answered the connection for %d ms "
				"(hung?); still waiting",
				SLOW_MS);
		m->logged_slow = true;
		uv_timer_start(&m->retry_timer, retry_cb, SLOW_MS, 0);
		return;
	}
	start_connect(m);
}

static void maybe_release(cs_membership *m)
{
	if (m->freeing && m->open_handles == 0) {
		vg_frag_rx_free(m->rx);
		free(m);
	}
}

static void handle_closed(uv_handle_t *h)
{
	cs_membership *m = h->data;
	m->open_handles--;
	maybe_release(m);
}

/* ---- the end of a connection (the closer) ------------------------------------------------ */

static void closer_release(closer *k)
{
	pthread_mutex_lock(&k->mu);
	bool last = --k->refs == 0;
	pthread_mutex_unlock(&k->mu);
	if (last) {
		pthread_mutex_destroy(&k->mu);
		free(k);
	}
}

/* cpg_leave and cpg_finalize wait for Corosync's answer without a timeout (a hung Corosync
 * never gives it); quorum_finalize only disconnects. */
static void *closer_main(void *arg)
{
	closer *k = arg;
	if (k->leave)
		cpg_leave(k->cpg, &k->group);
	if (k->have_cpg)
		cpg_finalize(k->cpg);
	if (k->have_quorum)
		quorum_finalize(k->quorum);
	pthread_mutex_lock(&k->mu);
	k->finished = true;
	if (k->wake && !k->abandoned)
		uv_async_send(k->wake);
	pthread_mutex_unlock(&k->mu);
	closer_release(k);
	return NULL;
}

static void closer_start(closer *k)
{
	pthread_t t;
	if (pthread_create(&t, NULL, closer_main, k) != 0) {
		vg_warn("membership: cannot start a thread to finalize the corosync connection; "
			"finalizing from the loop");
		closer_main(k);
		return;
	}
	pthread_detach(t);
}

static void poll_closed(uv_handle_t *h)
{
	conn_poll *p = h->data;
	cs_membership *m = p->m;
	closer *k = p->k;
	free(p);
	if (--k->polls == 0)
		closer_start(k);
	m->open_handles--;
	maybe_release(m);
}

static void list_clear(qmsg **head, qmsg **tail)
{
	while (*head) {
		qmsg *q = *head;
		*head = q->next;
		free(q);
	}
	*tail = NULL;
}

static void held_clear(cs_membership *m)
{
	list_clear(&m->h_head, &m->h_tail);
}

static void queue_clear(cs_membership *m)
{
	vg_sendq_clear(&m->q);
}

static void close_poll(closer *k, conn_poll **pp)
{
	conn_poll *p = *pp;
	if (!p)
		return;
	*pp = NULL;
	p->k = k;
	k->polls++;
	uv_poll_stop(&p->poll);
	uv_close((uv_handle_t *)&p->poll, poll_closed);
}

static void info_clear(cs_info *i)
{
	free(i->nodelist);
	*i = (cs_info){0};
}

/* Drop the connection: its closer leaves the group (when leave) and finalizes the handles off
 * the loop, once their polls have closed. At free the loop waits for it (m->leaving). */
static void teardown(cs_membership *m, bool leave)
{
	if (m->have_cpg || m->have_quorum) {
		closer *k = vg_calloc(1, sizeof *k);
		pthread_mutex_init(&k->mu, NULL);
		k->refs = 1; /* the thread's */
		k->group = m->group;
		k->leave = leave && m->have_cpg;
		k->have_cpg = m->have_cpg;
		k->have_quorum = m->have_quorum;
		k->cpg = m->cpg;
		k->quorum = m->quorum;
		if (m->freeing) {
			k->refs++;
			k->wake = &m->wake;
			m->leaving = k;
		}
		close_poll(k, &m->cpg_poll);
		close_poll(k, &m->quorum_poll);
		if (k->polls == 0)
			closer_start(k);
	}
	m->have_cpg = m->have_quorum = false;
	m->group_known = m->totem_known = m->quorum_known = false;
	m->totem_stale = false;
	m->reported = false;
	m->local_nodeid = 0;
	info_clear(&m->info);
	uv_timer_stop(&m->send_timer);
	m->change_pending = false;
	held_clear(m);
	if (m->q.len)
		vg_warn("membership: dropping %zu unsent messages", m->q.len);
	queue_clear(m);
	vg_frag_rx_free(m->rx); /* unfinished messages of the old connection */
	m->rx = vg_frag_rx_new();
}

static void lost(cs_membership *m, const char *why)
{
	bool was = m->connected;
	vg_warn("membership: lost the connection to corosync (%s); reconnecting", why);
	teardown(m, false);
	m->connected = false;
	m->logged_wait = true; /* already said why */
	uv_timer_start(&m->retry_timer, retry_cb, RETRY_MS, 0);
	if (was && m->cbs.on_connection)
		m->cbs.on_connection(m->arg, false);
}

static bool in_list(uint32_t id, const uint32_t *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] == id)
			return true;
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Report when the group, the totem ring and quorum agree on one ring and something changed. */
static void try_report(cs_membership *m)
{
	if (!m->group_known || !m->totem_known || !m->quorum_known || m->freeing)
		return;
	if (m->quorum_seq != m->totem_seq || m->totem_stale)
		return; /* the other half of this change is still on its way */
	for (size_t i = 0; i < m->n_group; i++)
		if (!in_list(m->gmembers[i], m->totem, m->n_totem))
			return; /* the group's confchg for this ring has not arrived yet */
	bool same = m->reported && m->rep_n == m->n_group && m->rep_quorate == m->quorate &&
		    m->rep_ring == m->totem_seq &&
		    memcmp(m->rep_members, m->gmembers, m->n_group * sizeof(uint32_t)) == 0;
	if (!same) {
		memcpy(m->rep_members, m->gmembers, m->n_group * sizeof(uint32_t));
		m->rep_n = m->n_group;
		m->rep_quorate = m->quorate;
		m->rep_ring = m->totem_seq;
		m->reported = true;
		m->view++;
		if (m->cbs.on_change)
			m->cbs.on_change(m->arg, m->rep_members, m->rep_n, m->rep_quorate,
					 m->rep_ring);
	}
	/* then what arrived after the change, in order */
	m->change_pending = false;
	while (m->h_head && !m->freeing && !m->change_pending) {
		qmsg *q = m->h_head;
		m->h_head = q->next;
		if (!m->h_head)
			m->h_tail = NULL;
		uint32_t from;
		memcpy(&from, q->data, sizeof from);
		if (m->cbs.on_message)
			m->cbs.on_message(m->arg, from, q->data + sizeof from,
					  q->len - sizeof from);
		free(q);
	}
}

static cs_membership *cpg_owner(cpg_handle_t h)
{
	void *ctx = NULL;
	if (cpg_context_get(h, &ctx) != CS_OK)
		return NULL;
	return ctx;
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t len)
{
	(void)group;
	cs_membership *m = cpg_owner(h);
	if (!m || m->freeing || !m->cbs.on_message)
		return;
	const void *whole;
	size_t wlen;
	int rc = vg_frag_rx_feed(m->rx, nodeid, pid, msg, len, &whole, &wlen);
	if (rc < 0) {
		vg_warn("membership: dropped a malformed or incomplete message from node %u",
			nodeid);
		return;
	}
	if (rc == 0)
		return; /* a piece: the message counts when its last piece is delivered */
	msg = (void *)whole;
	len = wlen;
	if (m->change_pending) {
		qmsg *q = vg_malloc(sizeof *q + sizeof nodeid + len);
		q->next = NULL;
		q->len = sizeof nodeid + len;
		memcpy(q->data, &nodeid, sizeof nodeid);
		memcpy(q->data + sizeof nodeid, msg, len);
		if (m->h_tail)
			m->h_tail->next = q;
		else
			m->h_head = q;
		m->h_tail = q;
		return;
	}
	m->cbs.on_message(m->arg, nodeid, msg, len);
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
		       const struct cpg_address *members, size_t n, const struct cpg_address *left,
		       size_t n_left, const struct cpg_address *joined, size_t n_joined)
{
	(void)group;
	(void)joined;
	cs_membership *m = cpg_owner(h);
	if (!m)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n && k < MEMBERS_MAX; i++)
		if (!in_list(members[i].nodeid, m->gmembers, k)) /* one entry per node */
			m->gmembers[k++] = members[i].nodeid;
	qsort(m->gmembers, k, sizeof(uint32_t), cmp_u32);
	m->n_group = k;
	m->group_known = true;
	m->change_pending = true;
	vg_debug("membership: group has %zu nodes (%zu left, %zu joined)", k, n_left, n_joined);
	for (size_t i = 0; i < n_left; i++) /* its unfinished message never ends */
		vg_frag_rx_forget(m->rx, left[i].nodeid, left[i].pid);
	/* a node that went down makes a new ring: report the group with that ring, not the old */
	for (size_t i = 0; i < n_left; i++)
		if (left[i].reason == CPG_REASON_NODEDOWN &&
		    in_list(left[i].nodeid, m->totem, m->n_totem))
			m->totem_stale = true;
	try_report(m);
}

static void on_totem_confchg(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n,
			     const uint32_t *members)
{
	cs_membership *m = cpg_owner(h);
	if (!m)
		return;
	if (n > MEMBERS_MAX)
		n = MEMBERS_MAX;
	memcpy(m->totem, members, n * sizeof(uint32_t));
	m->n_totem = n;
	m->totem_seq = ring.seq;
	m->totem_known = true;
	m->totem_stale = false;
	m->change_pending = true;
	vg_debug("membership: totem ring %llu with %u nodes", (unsigned long long)ring.seq, n);
	if (m->cbs.on_ring && !m->freeing)
		m->cbs.on_ring(m->arg, m->totem, m->n_totem, ring.seq);
	try_report(m);
}

static void on_quorum(quorum_handle_t h, uint32_t quorate, uint64_t ring_seq, uint32_t n,
		      uint32_t *view)
{
	(void)n;
	(void)view;
	void *ctx = NULL;
	if (quorum_context_get(h, (const void **)&ctx) != CS_OK || !ctx)
		return;
	cs_membership *m = ctx;
	m->quorate = quorate != 0;
	m->quorum_seq = ring_seq;
	m->quorum_known = true;
	vg_debug("membership: quorum %s for ring %llu", quorate ? "yes" : "NO",
		 (unsigned long long)ring_seq);
	try_report(m);
}

static void on_poll(uv_poll_t *ph, int status, int events)
{
	conn_poll *p = ph->data;
	cs_membership *m = p->m;
	const char *what = p->kind == POLL_CPG ? "cpg" : "quorum";
	if (status < 0) {
		lost(m, uv_strerror(status));
		return;
	}
	cs_error_t err = p->kind == POLL_CPG ? cpg_dispatch(p->handle, CS_DISPATCH_ALL)
					     : quorum_dispatch(p->handle, CS_DISPATCH_ALL);
	if (m->freeing)
		return;
	if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
		char why[64];
		snprintf(why, sizeof(why), "%s dispatch: error %d", what, (int)err);
		lost(m, why);
		return;
	}
	if ((events & UV_DISCONNECT) && (p == m->cpg_poll || p == m->quorum_poll))
		lost(m, "hang-up");
}

static conn_poll *add_poll(cs_membership *m, int kind, uint64_t handle, int fd)
{
	conn_poll *p = vg_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->m = m;
	p->kind = kind;
	p->handle = handle;
	if (uv_poll_init(m->loop, &p->poll, fd) != 0) {
		free(p);
		return NULL;
	}
	p->poll.data = p;
	m->open_handles++;
	uv_poll_start(&p->poll, UV_READABLE | UV_DISCONNECT, on_poll);
	return p;
}

static void connect_failed(cs_membership *m, const char *step, cs_error_t err)
{
	if (!m->logged_wait) {
		vg_info("membership: waiting for corosync (%s: error %d); retrying every %d ms",
			step, (int)err, RETRY_MS);
		m->logged_wait = true;
	}
	teardown(m, false);
	uv_timer_start(&m->retry_timer, retry_cb, RETRY_MS, 0);
}

/* ---- the nodelist (cmap) ---------------------------------------------------------- */

#define NODELIST_PREFIX "nodelist.node."

typedef struct {
	unsigned long idx; /* N of nodelist.node.N */
	vg_corosync_node node;
} cmap_node;

static int cmp_cmap_node(const void *a, const void *b)
{
	unsigned long x = ((const cmap_node *)a)->idx, y = ((const cmap_node *)b)->idx;
	return x < y ? -1 : x > y;
}

/* Copy a cmap string value (freed here) into dst. */
static cs_error_t get_str(cmap_handle_t h, const char *key, char *dst, size_t len)
{
	char *v = NULL;
	cs_error_t err = cmap_get_string(h, key, &v);
	if (err == CS_OK)
		snprintf(dst, len, "%s", v);
	free(v);
	return err;
}

/* One key of the nodelist (nodelist.node.N.FIELD) into its entry of nodes. */
static cs_error_t read_node_key(cmap_handle_t h, const char *key, cmap_node *nodes, size_t *n)
{
	const char *p = key + strlen(NODELIST_PREFIX);
	char *end;
	unsigned long idx = strtoul(p, &end, 10);
	if (end == p || *end != '.')
		return CS_OK; /* not a node's key */
	const char *field = end + 1;
	bool is_id = !strcmp(field, "nodeid"), is_addr = !strcmp(field, "ring0_addr");
	if (!is_id && !is_addr && strcmp(field, "name"))
		return CS_OK; /* other links, votes, ... */
	cmap_node *e = NULL;
	for (size_t i = 0; i < *n && !e; i++)
		if (nodes[i].idx == idx)
			e = &nodes[i];
	if (!e) {
		if (*n == MEMBERS_MAX)
			return CS_ERR_NO_RESOURCES;
		e = &nodes[(*n)++];
		memset(e, 0, sizeof *e);
		e->idx = idx;
	}
	if (is_id)
		return cmap_get_uint32(h, key, &e->node.nodeid);
	if (is_addr)
		return get_str(h, key, e->node.addr, sizeof e->node.addr);
	return get_str(h, key, e->node.name, sizeof e->node.name);
}

/* Read the nodelist (in the order of N), totem.cluster_name and the totem hold from cmap, from
 * the connect thread; the handle is finalized before returning. false with what failed in
 * why. */
static bool read_nodelist(cs_info *info, char *why, size_t whylen)
{
	cmap_handle_t h;
	cmap_iter_handle_t it;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	const char *step = "cmap_initialize";
	cs_error_t err = cmap_initialize(&h);
	if (err != CS_OK) {
		snprintf(why, whylen, "%s: error %d", step, (int)err);
		return false;
	}
	cmap_node *nodes = vg_calloc(MEMBERS_MAX, sizeof *nodes);
	size_t n = 0;
	if (!nodes) {
		err = CS_ERR_NO_MEMORY;
		step = "calloc";
		goto out;
	}
	step = "cmap_iter_init(" NODELIST_PREFIX ")";
	if ((err = cmap_iter_init(h, NODELIST_PREFIX, &it)) != CS_OK)
		goto out;
	step = "cmap_iter_next";
	while ((err = cmap_iter_next(h, it, key, NULL, NULL)) == CS_OK) {
		if ((err = read_node_key(h, key, nodes, &n)) != CS_OK) {
			step = key; /* the key that could not be read */
			break;
		}
	}
	cmap_iter_finalize(h, it);
	if (err != CS_ERR_NO_SECTIONS) /* the end of the iteration */
		goto out;
	step = "totem.cluster_name";
	err = get_str(h, "totem.cluster_name", info->cluster_name, sizeof info->cluster_name);
	if (err != CS_OK && err != CS_ERR_NOT_EXIST)
		goto out;
	info->has_cluster_name = err == CS_OK;
	/* the totem timings Corosync derived (runtime.config: what it runs with) */
	if (cmap_get_uint32(h, "runtime.config.totem.hold", &info->hold_ms) != CS_OK)
		info->hold_ms = 0;
	qsort(nodes, n, sizeof *nodes, cmp_cmap_node);
	info->nodelist = vg_calloc(n ? n : 1, sizeof *info->nodelist);
	if (!info->nodelist) {
		err = CS_ERR_NO_MEMORY;
		step = "calloc";
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		info->nodelist[i] = nodes[i].node;
	info->n_nodelist = n;
	info->nodelist_known = true;
	err = CS_OK;
out:
	free(nodes);
	cmap_finalize(h);
	if (err != CS_OK) {
		info->has_cluster_name = false;
		snprintf(why, whylen, "%s: error %d", step, (int)err);
		return false;
	}
	return true;
}

/* ---- connecting (the attempt thread) ------------------------------------------------------ */

static void attempt_release(attempt *a)
{
	pthread_mutex_lock(&a->mu);
	bool last = --a->refs == 0;
	pthread_mutex_unlock(&a->mu);
	if (last) {
		info_clear(&a->info);
		pthread_mutex_destroy(&a->mu);
		free(a);
	}
}

/* Every call here waits for Corosync's answer without a timeout. The handles are made with no
 * context: the loop sets it when it takes them, before it dispatches anything. */
static void *attempt_main(void *arg)
{
	static const cpg_model_v1_data_t model_tmpl = {
	    .model = CPG_MODEL_V1,
	    .cpg_deliver_fn = on_deliver,
	    .cpg_confchg_fn = on_confchg,
	    .cpg_totem_confchg_fn = on_totem_confchg,
	    .flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	attempt *a = arg;
	cpg_model_v1_data_t model = model_tmpl;
	quorum_callbacks_t qcb = {.quorum_notify_fn = on_quorum};
	uint32_t qtype = 0;
	bool have_cpg = false, have_quorum = false;
	const char *step = NULL;
	cs_error_t err;

	if ((err = cpg_model_initialize(&a->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, NULL)) !=
	    CS_OK)
		step = "cpg_model_initialize";
	else
		have_cpg = true;
	if (!step && (err = quorum_initialize(&a->quorum, &qcb, &qtype)) != CS_OK)
		step = "quorum_initialize";
	else if (!step)
		have_quorum = true;
	if (!step && (err = cpg_local_get(a->cpg, &a->local_nodeid)) != CS_OK)
		step = "cpg_local_get";
	if (!step && (err = cpg_fd_get(a->cpg, &a->cpg_fd)) != CS_OK)
		step = "cpg_fd_get";
	if (!step && (err = quorum_fd_get(a->quorum, &a->quorum_fd)) != CS_OK)
		step = "quorum_fd_get";
	if (!step &&
	    (err = quorum_trackstart(a->quorum, CS_TRACK_CHANGES | CS_TRACK_CURRENT)) != CS_OK)
		step = "quorum_trackstart";
	if (!step && (err = cpg_join(a->cpg, &a->group)) != CS_OK)
		step = "cpg_join";
	if (!step)
		a->info_ok = read_nodelist(&a->info, a->why, sizeof a->why);

	pthread_mutex_lock(&a->mu);
	a->step = step;
	a->err = err;
	a->finished = true;
	bool keep = !step && !a->abandoned; /* the loop takes the handles */
	if (!a->abandoned)
		uv_async_send(a->wake);
	pthread_mutex_unlock(&a->mu);
	if (!keep) {
		if (have_cpg)
			cpg_finalize(a->cpg);
		if (have_quorum)
			quorum_finalize(a->quorum);
	}
	attempt_release(a);
	return NULL;
}

/* One attempt at a time, in a thread: the calls it makes block while Corosync hangs. */
static void start_connect(cs_membership *m)
{
	if (m->freeing || m->attempt || m->connected)
		return;
	attempt *a = vg_calloc(1, sizeof *a);
	pthread_mutex_init(&a->mu, NULL);
	a->refs = 2; /* the loop's and the thread's */
	a->wake = &m->wake;
	a->group = m->group;
	pthread_t t;
	if (pthread_create(&t, NULL, attempt_main, a) != 0) {
		pthread_mutex_destroy(&a->mu);
		free(a);
		return connect_failed(m, "pthread_create", CS_ERR_NO_RESOURCES);
	}
	pthread_detach(t); /* it may be blocked in Corosync when vigild stops */
	m->attempt = a;
	m->logged_slow = false;
	uv_timer_start(&m->retry_timer, retry_cb, SLOW_MS, 0);
}

/* The attempt, if it has finished: connected (the loop now owns its handles and polls them)
 * or failed (retried). With freeing only the handles are taken, for the closer. */
static void take_attempt(cs_membership *m)
{
	attempt *a = m->attempt;
	pthread_mutex_lock(&a->mu);
	bool finished = a->finished;
	pthread_mutex_unlock(&a->mu);
	if (!finished)
		return;
	m->attempt = NULL;
	if (a->step) {
		if (!m->freeing)
			connect_failed(m, a->step, a->err);
		attempt_release(a);
		return;
	}
	m->cpg = a->cpg;
	m->quorum = a->quorum;
	m->have_cpg = m->have_quorum = true;
	m->local_nodeid = a->local_nodeid;
	info_clear(&m->info);
	m->info = a->info; /* moved */
	memset(&a->info, 0, sizeof a->info);
	bool info_ok = a->info_ok;
	char why[sizeof a->why];
	memcpy(why, a->why, sizeof why);
	int cpg_fd = a->cpg_fd, quorum_fd = a->quorum_fd;
	attempt_release(a);
	if (m->freeing)
		return;
	uv_timer_stop(&m->retry_timer);
	cpg_context_set(m->cpg, m);
	quorum_context_set(m->quorum, m);
	if (!(m->cpg_poll = add_poll(m, POLL_CPG, m->cpg, cpg_fd)))
		return connect_failed(m, "uv_poll_init(cpg)", CS_ERR_NO_MEMORY);
	if (!(m->quorum_poll = add_poll(m, POLL_QUORUM, m->quorum, quorum_fd)))
		return connect_failed(m, "uv_poll_init(quorum)", CS_ERR_NO_MEMORY);
	if (info_ok)
		vg_debug("membership: corosync's nodelist has %zu nodes, cluster_name %s",
			 m->info.n_nodelist,
			 m->info.has_cluster_name ? m->info.cluster_name : "(none)");
	else
		vg_warn("membership: cannot read corosync's nodelist from cmap (%s): it is not "
			"checked against the configuration",
			why);
	vg_info("membership: connected to corosync as node %u, joined group %.*s", m->local_nodeid,
		(int)m->group.length, m->group.value);
	m->connected = true;
	m->logged_wait = false;
	if (m->cbs.on_connection)
		m->cbs.on_connection(m->arg, true);
}

/* Each queued message in order; one made for a view that is no longer the current one is
 * dropped, not replayed: it was meant for that view. While a change is on its way nothing
 * goes (its view is not known yet). */
static void send_retry(uv_timer_t *t)
{
	cs_membership *m = t->data;
	const vg_sendq_msg *q;
	size_t dropped = 0;
	if (m->change_pending && m->connected) { /* wait for the view it leads to */
		uv_timer_start(&m->send_timer, send_retry, SEND_RETRY_MS, 0);
		return;
	}
	while (m->connected && (q = vg_sendq_head(&m->q, m->view, &dropped))) {
		struct iovec iov = {.iov_base = (void *)q->data, .iov_len = q->len};
		cs_error_t err = cpg_mcast_joined(m->cpg, CPG_TYPE_AGREED, &iov, 1);
		if (err == CS_ERR_TRY_AGAIN) {
			uv_timer_start(&m->send_timer, send_retry, SEND_RETRY_MS, 0);
			break;
		}
		if (err != CS_OK)
			vg_warn("membership: cpg_mcast_joined: error %d; message dropped",
				(int)err);
		vg_sendq_pop(&m->q);
	}
	if (dropped)
		vg_info("membership: dropped %zu queued messages of an older view", dropped);
}

/* One frame: now, or queued behind the others. */
static int send_frame(cs_membership *m, const void *data, size_t len, bool view_bound)
{
	if (!m->q.head) {
		struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
		cs_error_t err = cpg_mcast_joined(m->cpg, CPG_TYPE_AGREED, &iov, 1);
		if (err == CS_OK)
			return 0;
		if (err != CS_ERR_TRY_AGAIN) {
			vg_warn("membership: cpg_mcast_joined: error %d", (int)err);
			return -1;
		}
	}
	if (vg_sendq_push(&m->q, data, len, view_bound, m->view)) {
		vg_warn("membership: send queue full (%d messages)", QUEUE_MAX);
		return -1;
	}
	if (m->q.len == 1)
		vg_debug("membership: corosync is busy; queueing messages");
	if (!uv_is_active((uv_handle_t *)&m->send_timer))
		uv_timer_start(&m->send_timer, send_retry, SEND_RETRY_MS, 0);
	return 0;
}

/* Framed (frag.h): a message larger than libcpg sends without blocking goes in pieces. */
static int send_msg(cs_membership *m, const void *data, size_t len, bool view_bound)
{
	if (!m || !m->connected || m->freeing || (len && !data))
		return -1;
	if (len > VG_FRAG_MAX_MESSAGE) {
		vg_warn("membership: a %zu-byte message is larger than %u bytes: not sent", len,
			VG_FRAG_MAX_MESSAGE);
		return -1;
	}
	size_t n = vg_frag_count(len);
	if (m->q.len + n > QUEUE_MAX) {
		vg_warn("membership: send queue full (%d messages)", QUEUE_MAX);
		return -1;
	}
	unsigned char *buf =
	    vg_malloc(VG_FRAG_HEADER + (len < VG_FRAG_PAYLOAD ? len : VG_FRAG_PAYLOAD));
	if (!buf)
		abort();
	uint32_t id = ++m->next_msg_id;
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++)
		rc = send_frame(m, buf, vg_frag_frame(data, len, id, k, buf), view_bound);
	free(buf);
	return rc;
}

static int cs_send(vg_membership *mb, const void *data, size_t len)
{
	cs_membership *m = (cs_membership *)mb;
	return send_msg(m, data, len, false);
}

static int cs_send_view(vg_membership *mb, const void *data, size_t len)
{
	cs_membership *m = (cs_membership *)mb;
	return send_msg(m, data, len, true);
}

/* ---- the prober --------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	return vg_clock_mono_ms(); /* uv_hrtime's clock: answered_at compares with the loop's */
}

static void prober_release(prober *p)
{
	pthread_mutex_lock(&p->mu);
	bool last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (last) {
		pthread_mutex_destroy(&p->mu);
		free(p);
	}
}

/* The prober's own connection: votequorum's, whose requests Corosync serves even while it
 * holds back every other service's (see the top); libquorum's only where votequorum cannot
 * be reached (another quorum provider). */
typedef struct {
	bool open, vq;
	votequorum_handle_t vh;
	quorum_handle_t qh;
	unsigned fallback_asks; /* requests made over libquorum since votequorum last failed */
} probe_conn;

#define PROBE_VQ_RETRY 50 /* on libquorum, try votequorum again every this many requests */

static void probe_close(probe_conn *c)
{
	if (c->open) {
		if (c->vq)
			votequorum_finalize(c->vh);
		else
			quorum_finalize(c->qh);
	}
	c->open = false;
}

static void probe_open(probe_conn *c)
{
	if (votequorum_initialize(&c->vh, NULL) == CS_OK) {
		c->open = c->vq = true;
		return;
	}
	quorum_callbacks_t cb = {0};
	uint32_t type = 0;
	c->vq = false;
	c->open = quorum_initialize(&c->qh, &cb, &type) == CS_OK;
	c->fallback_asks = 0;
}

/* One request; true when Corosync answered it. */
static bool probe_ask(probe_conn *c)
{
	if (c->open && !c->vq && ++c->fallback_asks >= PROBE_VQ_RETRY) {
		probe_close(c); /* votequorum may have come up since */
		probe_open(c);
	}
	if (!c->open)
		probe_open(c);
	if (!c->open)
		return false;
	bool ok;
	if (c->vq) {
		struct votequorum_info info;
		ok = votequorum_getinfo(c->vh, 0 /* this node */, &info) == CS_OK;
	} else {
		int quorate = 0;
		ok = quorum_getquorate(c->qh, &quorate) == CS_OK;
	}
	if (!ok)
		probe_close(c);
	return ok;
}

static void *prober_main(void *arg)
{
	prober *p = arg;
	probe_conn c = {0};
	for (;;) {
		pthread_mutex_lock(&p->mu);
		bool stop = p->stop;
		uint64_t period = p->period_ms;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		uint64_t asked = mono_ms();
		if (probe_ask(&c)) {
			pthread_mutex_lock(&p->mu);
			p->answered_at = asked;
			pthread_mutex_unlock(&p->mu);
		}
		uv_sleep((unsigned int)period);
	}
	probe_close(&c);
	prober_release(p);
	return NULL;
}

static int cs_watch(vg_membership *mb, uint64_t period_ms)
{
	cs_membership *m = (cs_membership *)mb;
	if (!m || m->prober)
		return -1;
	prober *p = vg_calloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	p->refs = 2;
	p->period_ms = period_ms ? period_ms : 100;
	pthread_t t;
	if (pthread_create(&t, NULL, prober_main, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return -1;
	}
	pthread_detach(t); /* it may be blocked in Corosync when vigild stops */
	m->prober = p;
	return 0;
}

static uint64_t cs_answered_at(const vg_membership *mb)
{
	const cs_membership *m = (const cs_membership *)mb;
	if (!m || !m->prober)
		return 0;
	pthread_mutex_lock(&m->prober->mu);
	uint64_t t = m->prober->answered_at;
	pthread_mutex_unlock(&m->prober->mu);
	return t;
}

static uint32_t cs_local_nodeid(const vg_membership *mb)
{
	const cs_membership *m = (const cs_membership *)mb;
	return m && m->connected ? m->local_nodeid : 0;
}

static bool cs_nodelist_known(const vg_membership *mb)
{
	const cs_membership *m = (const cs_membership *)mb;
	return m && m->connected && m->info.nodelist_known;
}

static size_t cs_nodelist(const vg_membership *mb, vg_corosync_node *out, size_t max)
{
	const cs_membership *m = (const cs_membership *)mb;
	if (!cs_nodelist_known(mb))
		return 0;
	for (size_t i = 0; i < m->info.n_nodelist && i < max; i++)
		out[i] = m->info.nodelist[i];
	return m->info.n_nodelist;
}

static uint32_t cs_hold_ms(const vg_membership *mb)
{
	const cs_membership *m = (const cs_membership *)mb;
	return cs_nodelist_known(mb) ? m->info.hold_ms : 0;
}

static const char *cs_cluster_name(const vg_membership *mb)
{
	const cs_membership *m = (const cs_membership *)mb;
	return cs_nodelist_known(mb) && m->info.has_cluster_name ? m->info.cluster_name : NULL;
}

static cs_membership *cs_new(uv_loop_t *loop, const char *group, const vg_membership_cbs *cbs,
			     void *arg)
{
	if (!loop || !group || !*group || strlen(group) > CPG_MAX_NAME_LENGTH)
		return NULL;
	cs_membership *m = vg_calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->loop = loop;
	m->group.length = (uint32_t)strlen(group);
	memcpy(m->group.value, group, m->group.length);
	if (cbs)
		m->cbs = *cbs;
	m->arg = arg;
	vg_sendq_init(&m->q, QUEUE_MAX);
	m->rx = vg_frag_rx_new();
	uv_timer_init(loop, &m->retry_timer);
	uv_timer_init(loop, &m->send_timer);
	if (uv_async_init(loop, &m->wake, on_wake) != 0)
		abort();
	uv_unref((uv_handle_t *)&m->wake); /* the timers and polls keep the loop running */
	m->retry_timer.data = m;
	m->send_timer.data = m;
	m->wake.data = m;
	m->open_handles = 3;
	/* the first attempt from the loop: no callback runs inside this call */
	uv_timer_start(&m->retry_timer, retry_cb, 0, 0);
	return m;
}

/* The last handles close: now, or when the leave was answered, or after LEAVE_WAIT_MS. */
static void finish_free(cs_membership *m)
{
	if (m->closed)
		return;
	m->closed = true;
	closer *k = m->leaving;
	if (k) {
		m->leaving = NULL;
		pthread_mutex_lock(&k->mu);
		k->abandoned = true; /* it may still be blocked in Corosync: not waited for */
		pthread_mutex_unlock(&k->mu);
		closer_release(k);
	}
	uv_close((uv_handle_t *)&m->retry_timer, handle_closed);
	uv_close((uv_handle_t *)&m->wake, handle_closed);
}

static bool closer_finished(closer *k)
{
	pthread_mutex_lock(&k->mu);
	bool fin = k->finished;
	pthread_mutex_unlock(&k->mu);
	return fin;
}

static void leave_wait_cb(uv_timer_t *t)
{
	cs_membership *m = t->data;
	if (m->leaving && !closer_finished(m->leaving))
		vg_warn("membership: corosync did not answer the leave within %d ms (hung?); not "
			"waiting for it",
			LEAVE_WAIT_MS);
	finish_free(m);
}

/* An attempt finished, or (at free) the closer did. */
static void on_wake(uv_async_t *h)
{
	cs_membership *m = h->data;
	if (m->attempt)
		take_attempt(m);
	if (m->leaving && closer_finished(m->leaving))
		finish_free(m);
}

static void cs_free(vg_membership *mb)
{
	cs_membership *m = (cs_membership *)mb;
	if (!m || m->freeing)
		return;
	m->freeing = true;
	if (m->prober) {
		pthread_mutex_lock(&m->prober->mu);
		m->prober->stop = true;
		pthread_mutex_unlock(&m->prober->mu);
		prober_release(m->prober);
		m->prober = NULL;
	}
	if (m->attempt) {
		/* finished (and connected): its handles are left with the rest; still running
		 * (decided under the lock the thread decides under): it finalizes what it made */
		attempt *a = m->attempt;
		pthread_mutex_lock(&a->mu);
		bool finished = a->finished;
		a->abandoned = !finished;
		pthread_mutex_unlock(&a->mu);
		if (finished) {
			take_attempt(m);
		} else {
			m->attempt = NULL;
			attempt_release(a);
		}
	}
	/* the leave (it waits for Corosync's answer) and the finalizing go off the loop; the loop
	 * waits a bounded time for them, so that what was sent before is taken first */
	teardown(m, true);
	m->connected = false;
	uv_close((uv_handle_t *)&m->send_timer, handle_closed);
	uv_timer_stop(&m->retry_timer);
	if (m->leaving)
		uv_timer_start(&m->retry_timer, leave_wait_cb, LEAVE_WAIT_MS, 0);
	else
		finish_free(m);
}

static size_t cs_ring_members(const vg_membership *mb, uint32_t *out, size_t max)
{
	const cs_membership *m = (const cs_membership *)mb;
	if (!m->totem_known)
		return 0;
	for (size_t i = 0; i < m->n_totem && i < max; i++)
		out[i] = m->totem[i];
	return m->n_totem;
}

static const vg_membership_ops corosync_ops = {
    .send = cs_send,
    .send_view = cs_send_view,
    .watch = cs_watch,
    .answered_at = cs_answered_at,
    .ring_members = cs_ring_members,
    .local_nodeid = cs_local_nodeid,
    .nodelist_known = cs_nodelist_known,
    .nodelist = cs_nodelist,
    .cluster_name = cs_cluster_name,
    .hold_ms = cs_hold_ms,
    .free = cs_free,
};

vg_membership *vg_membership_corosync_new(uv_loop_t *loop, const char *group,
					  const vg_membership_cbs *cbs, void *arg)
{
	cs_membership *m = cs_new(loop, group, cbs, arg);
	if (!m)
		return NULL;
	m->base.ops = &corosync_ops;
	return &m->base;
}
