/* Unit tests: this server's lease (renewed by its own heartbeat in a quorate view, run out a
 * lease after the heartbeat that renewed it was sent, kept while the local Corosync answers),
 * the view rules of actions and reports, and the send queue that drops a message of an older
 * view instead of replaying it. Time is an argument. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "frag.h"
#include "lease.h"
#include "sendq.h"

/* Renewed only in a quorate view, counted from when the heartbeat was sent. */
static void test_lease_renews_from_the_send_time_in_a_quorate_view(void **st)
{
	(void)st;
	vg_lease l;
	vg_lease_init(&l, 500);
	assert_false(vg_lease_held(&l, 0));
	assert_false(vg_lease_check(&l, 10000)); /* never held: start-up rules decide */
	vg_lease_delivered(&l, 1000, false);	 /* delivered in a view without quorum */
	assert_false(vg_lease_held(&l, 1001));
	vg_lease_delivered(&l, 1000, true); /* delivered at (say) 1003: from 1000 */
	assert_true(vg_lease_held(&l, 1499));
	assert_false(vg_lease_held(&l, 1500));
	vg_lease_delivered(&l, 900, true); /* an older one, delivered late: no effect */
	assert_false(vg_lease_held(&l, 1500));
	assert_int_equal(vg_lease_next_check(&l, 1200), 300);
}

/* Silence for a lease with a Corosync that answers nothing (hung): halt at once; it stays
 * halted until a heartbeat comes back in a quorate view and the node is a synced member. */
static void test_hung_corosync_halts_within_a_lease(void **st)
{
	(void)st;
	vg_lease l;
	vg_lease_init(&l, 500);
	vg_lease_answered(&l, 950);
	vg_lease_delivered(&l, 1000, true); /* Corosync stops here (SIGSTOP) */
	assert_false(vg_lease_check(&l, 1449));
	assert_false(vg_lease_check(&l, 1499));
	assert_true(vg_lease_check(&l, 1500));
	assert_true(l.halted);
	/* SIGCONT: heartbeats come back, first in a view without quorum, then with */
	assert_false(vg_lease_resume(&l, 7000, true));
	vg_lease_delivered(&l, 7000, false);
	assert_false(vg_lease_resume(&l, 7001, true));
	vg_lease_delivered(&l, 7100, true);
	assert_false(vg_lease_resume(&l, 7101, false)); /* not in step with the others yet */
	assert_true(vg_lease_check(&l, 7101));
	assert_true(vg_lease_resume(&l, 7102, true));
	assert_false(vg_lease_check(&l, 7103));
}

/* While the local Corosync keeps answering it is forming a new membership (no heartbeat is
 * delivered anywhere meanwhile): no halt; that membership decides. Once it stops answering,
 * the lease counts. */
static void test_answering_corosync_keeps_the_node_running(void **st)
{
	(void)st;
	vg_lease l;
	vg_lease_init(&l, 500);
	vg_lease_delivered(&l, 1000, true);
	for (uint64_t t = 1000; t <= 2100; t += 100)
		vg_lease_answered(&l, t);
	assert_false(vg_lease_check(&l, 2150)); /* the lease ran out at 1500 */
	assert_false(vg_lease_held(&l, 2150));
	assert_int_equal(vg_lease_next_check(&l, 2150), 2600 - 2150);
	assert_false(vg_lease_check(&l, 2599));
	assert_true(vg_lease_check(&l, 2600)); /* no answer since 2100 */
}

/* Item 6: an action counts only in the ring it was sent in and from the current coordinator;
 * a report only in its ring. */
static void test_view_rules(void **st)
{
	(void)st;
	struct {
		uint64_t ring;
		const char *leader;
		uint64_t msg_ring;
		const char *from;
		bool ok;
	} rows[] = {
	    {8, "n1", 8, "n1", true},  {8, "n1", 7, "n1", false}, /* from an older ring */
	    {8, "n2", 8, "n1", false}, /* from a member that is not the coordinator */
	    {8, NULL, 8, "n1", false}, /* no coordinator here (no quorum) */
	    {8, "n1", 9, "n1", false},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		assert_int_equal(vg_view_accepts_action(rows[i].ring, rows[i].leader,
							rows[i].msg_ring, rows[i].from),
				 rows[i].ok);
	assert_true(vg_view_accepts_report(8, 8));
	assert_false(vg_view_accepts_report(8, 7));
}

/* Messages queued while Corosync said TRY_AGAIN: in order; one bound to a view that has
 * changed by the time Corosync takes it is dropped, the others go out. */
static void test_sendq_drops_messages_of_an_older_view(void **st)
{
	(void)st;
	vg_sendq q;
	vg_sendq_init(&q, 3);
	assert_int_equal(vg_sendq_push(&q, "Caction", 7, true, 4), 0);
	assert_int_equal(vg_sendq_push(&q, "Rchange", 7, false, 4), 0);
	assert_int_equal(vg_sendq_push(&q, "Creport", 7, true, 5), 0);
	assert_int_equal(vg_sendq_push(&q, "Cfull", 5, true, 5), -1);
	size_t dropped = 0;
	const vg_sendq_msg *m = vg_sendq_head(&q, 4, &dropped);
	assert_memory_equal(m->data, "Caction", 7); /* same view: sent */
	vg_sendq_pop(&q);
	m = vg_sendq_head(&q, 5, &dropped); /* the view changed: a change still goes */
	assert_memory_equal(m->data, "Rchange", 7);
	vg_sendq_pop(&q);
	assert_int_equal(dropped, 0);
	m = vg_sendq_head(&q, 6, &dropped); /* and again: the report of view 5 is dropped */
	assert_null(m);
	assert_int_equal(dropped, 1);
	assert_int_equal(q.len, 0);
	vg_sendq_push(&q, "x", 1, true, 6);
	vg_sendq_clear(&q);
	assert_null(vg_sendq_head(&q, 6, NULL));
}

/* A message larger than libcpg sends without blocking goes in pieces of at most
 * VG_FRAG_PAYLOAD and is whole again on delivery, between other senders' messages; a piece out
 * of order, or a sender that left, drops the unfinished message. */
static void test_frag_splits_and_reassembles(void **st)
{
	(void)st;
	size_t len = 2 * VG_FRAG_PAYLOAD + 1000;
	unsigned char *msg = malloc(len);
	for (size_t i = 0; i < len; i++)
		msg[i] = (unsigned char)(i * 7);
	assert_int_equal(vg_frag_count(len), 3);
	assert_int_equal(vg_frag_count(VG_FRAG_PAYLOAD), 1);
	unsigned char *fr[3], small[16];
	size_t fl[3];
	for (size_t k = 0; k < 3; k++) {
		fr[k] = malloc(VG_FRAG_HEADER + VG_FRAG_PAYLOAD);
		fl[k] = vg_frag_frame(msg, len, 9, k, fr[k]);
		assert_true(fl[k] <= VG_FRAG_HEADER + VG_FRAG_PAYLOAD);
	}
	size_t sl = vg_frag_frame("Chello", 6, 1, 0, small);
	vg_frag_rx *rx = vg_frag_rx_new();
	const void *out;
	size_t out_len;
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, fr[0], fl[0], &out, &out_len), 0);
	assert_int_equal(vg_frag_rx_feed(rx, 2, 200, small, sl, &out, &out_len), 1);
	assert_int_equal(out_len, 6);
	assert_memory_equal(out, "Chello", 6);
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, fr[1], fl[1], &out, &out_len), 0);
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, fr[2], fl[2], &out, &out_len), 1);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, msg, len);
	assert_int_equal(vg_frag_rx_pending(rx), 0);
	/* a piece missing: the rest is dropped */
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, fr[0], fl[0], &out, &out_len), 0);
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, fr[2], fl[2], &out, &out_len), -1);
	assert_int_equal(vg_frag_rx_pending(rx), 0);
	/* the sender left in the middle */
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, fr[0], fl[0], &out, &out_len), 0);
	vg_frag_rx_forget(rx, 1, 100);
	assert_int_equal(vg_frag_rx_pending(rx), 0);
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, fr[1], fl[1], &out, &out_len), -1);
	assert_int_equal(vg_frag_rx_feed(rx, 1, 100, "X", 1, &out, &out_len), -1);
	vg_frag_rx_free(rx);
	for (size_t k = 0; k < 3; k++)
		free(fr[k]);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lease_renews_from_the_send_time_in_a_quorate_view),
	    cmocka_unit_test(test_hung_corosync_halts_within_a_lease),
	    cmocka_unit_test(test_answering_corosync_keeps_the_node_running),
	    cmocka_unit_test(test_view_rules),
	    cmocka_unit_test(test_sendq_drops_messages_of_an_older_view),
	    cmocka_unit_test(test_frag_splits_and_reassembles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
