/* loopback_membership.c - the membership of a standalone server (membership.h): a cluster of
 * one, so that a standalone node runs the same cluster.c, coordinator and scheduler as a
 * member of a Corosync cluster, with the same rules.
 *
 * Owns: the one view (this node alone, quorate, ring 1), announced once from the loop, and
 * the queue of messages sent and not yet delivered back (sendq.h's bounded queue, none bound
 * to a view: there is only one), each delivered whole, in the order
 * sent, from an idle handle on the loop: one batch per turn, so the loop polls its sockets
 * between batches (a timer re-armed at 0 ms from its own callback would run again in the same
 * turn, for ever, in libuv 1.44). The queue is bounded (QUEUE_MAX: a send beyond it fails,
 * as Corosync's full queue does).
 * Must not: call back inside a call of the interface or after free, deliver a message twice
 * or out of order, or talk to Corosync.
 */
#include "membership.h"
#include "clock.h"
#include "mem.h"
#include "sendq.h"

#include <stdlib.h>

enum {
	QUEUE_MAX = 4096, /* messages not yet delivered back */
	BATCH_MAX = 64	  /* delivered per turn of the loop: the rest wait for the next */
};

typedef struct {
	vg_membership base; /* first: the interface (membership.h) */
	uv_loop_t *loop;
	uint32_t nodeid;
	vg_membership_cbs cbs;
	void *arg;
	uv_idle_t deliver; /* the announcement, then the queue; active while there is work */
	bool announced;	   /* on_connection, on_ring and on_change have been called */
	bool freeing;
	vg_sendq q;
} lb_membership;

static void on_deliver(uv_idle_t *h)
{
	lb_membership *m = h->data;
	if (!m->announced) {
		m->announced = true;
		uint32_t me = m->nodeid;
		if (m->cbs.on_connection)
			m->cbs.on_connection(m->arg, true);
		if (!m->freeing && m->cbs.on_ring)
			m->cbs.on_ring(m->arg, &me, 1, 1);
		if (!m->freeing && m->cbs.on_change)
			m->cbs.on_change(m->arg, &me, 1, true, 1);
	}
	/* Only what was queued before this turn: a message sent from on_message waits for the
	 * next one, so a handler that answers itself cannot keep the loop here. */
	size_t n = m->q.len < BATCH_MAX ? m->q.len : BATCH_MAX, dropped = 0;
	for (size_t i = 0; i < n && !m->freeing; i++) {
		const vg_sendq_msg *msg = vg_sendq_head(&m->q, 0, &dropped);
		if (m->cbs.on_message)
			m->cbs.on_message(m->arg, m->nodeid, msg->data, msg->len);
		if (!m->freeing) /* freed in the callback: the queue goes when it closes */
			vg_sendq_pop(&m->q);
	}
	if (!m->freeing && !m->q.len)
		uv_idle_stop(&m->deliver);
}

static void wake(lb_membership *m)
{
	if (!uv_is_active((uv_handle_t *)&m->deliver))
		uv_idle_start(&m->deliver, on_deliver);
}

static int lb_send(vg_membership *mb, const void *data, size_t len)
{
	lb_membership *m = (lb_membership *)mb;
	if (m->freeing || !m->announced || vg_sendq_push(&m->q, data, len, false, 0) != 0)
		return -1; /* as Corosync's: not connected yet, or the queue is full */
	wake(m);
	return 0;
}

static int lb_watch(vg_membership *mb, uint64_t period_ms)
{
	(void)mb, (void)period_ms;
	return 0; /* nothing to ask: it always answers */
}

static uint64_t lb_answered_at(const vg_membership *mb)
{
	(void)mb;
	return vg_clock_mono_ms();
}

static size_t lb_ring_members(const vg_membership *mb, uint32_t *out, size_t max)
{
	const lb_membership *m = (const lb_membership *)mb;
	if (!m->announced)
		return 0;
	if (max > 0)
		out[0] = m->nodeid;
	return 1;
}

static uint32_t lb_local_nodeid(const vg_membership *mb)
{
	const lb_membership *m = (const lb_membership *)mb;
	return m->announced ? m->nodeid : 0;
}

static bool lb_nodelist_known(const vg_membership *mb)
{
	(void)mb;
	return false;
}

static size_t lb_nodelist(const vg_membership *mb, vg_corosync_node *out, size_t max)
{
	(void)mb, (void)out, (void)max;
	return 0;
}

static const char *lb_cluster_name(const vg_membership *mb)
{
	(void)mb;
	return NULL;
}

static uint32_t lb_hold_ms(const vg_membership *mb)
{
	(void)mb;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	lb_membership *m = h->data;
	vg_sendq_clear(&m->q); /* what was not delivered: dropped */
	free(m);
}

static void lb_free(vg_membership *mb)
{
	lb_membership *m = (lb_membership *)mb;
	if (m->freeing)
		return;
	m->freeing = true;
	uv_close((uv_handle_t *)&m->deliver, on_closed);
}

static const vg_membership_ops loopback_ops = {
    .send = lb_send,
    .send_view = lb_send, /* one view for ever: nothing sent in it is dropped */
    .watch = lb_watch,
    .answered_at = lb_answered_at,
    .ring_members = lb_ring_members,
    .local_nodeid = lb_local_nodeid,
    .nodelist_known = lb_nodelist_known,
    .nodelist = lb_nodelist,
    .cluster_name = lb_cluster_name,
    .hold_ms = lb_hold_ms,
    .free = lb_free,
};

vg_membership *vg_membership_loopback_new(uv_loop_t *loop, uint32_t nodeid,
					  const vg_membership_cbs *cbs, void *arg)
{
	if (!loop || nodeid == 0)
		return NULL;
	lb_membership *m = vg_calloc(1, sizeof *m);
	m->base.ops = &loopback_ops;
	m->loop = loop;
	m->nodeid = nodeid;
	if (cbs)
		m->cbs = *cbs;
	m->arg = arg;
	vg_sendq_init(&m->q, QUEUE_MAX);
	uv_idle_init(loop, &m->deliver);
	m->deliver.data = m;
	uv_idle_start(&m->deliver, on_deliver);
	return &m->base;
}
