/* Unit tests: the loopback membership (membership.h, loopback_membership.c), a standalone
 * server's cluster of one, on a real libuv loop: the view is announced once, from the loop and
 * not inside the constructor; sends before it fail; every message comes back whole and in the
 * order sent, never inside the send; a message sent from on_message waits for the next turn;
 * the queue is bounded; nothing is called after free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "membership.h"

typedef struct {
	vg_membership *m;
	int connections, rings, changes;
	uint32_t member;
	bool quorate;
	uint64_t ring;
	int msgs;
	char got[64][16];
	uint32_t from;
	bool in_send; /* a callback while this is set ran inside a send */
	bool echo;    /* answer the first message with one more, from on_message */
	bool free_on_message;
	bool called_after_free;
	bool freed;
} rec;

static void on_connection(void *arg, bool connected)
{
	rec *r = arg;
	assert_true(connected);
	assert_false(r->in_send);
	r->called_after_free |= r->freed;
	r->connections++;
}

static void on_ring(void *arg, const uint32_t *members, size_t n, uint64_t ring_id)
{
	rec *r = arg;
	assert_int_equal(n, 1);
	r->called_after_free |= r->freed;
	r->member = members[0];
	r->ring = ring_id;
	r->rings++;
}

static void on_change(void *arg, const uint32_t *members, size_t n, bool quorate, uint64_t ring)
{
	rec *r = arg;
	assert_int_equal(n, 1);
	assert_int_equal(members[0], r->member);
	assert_int_equal(ring, r->ring);
	r->called_after_free |= r->freed;
	r->quorate = quorate;
	r->changes++;
}

static void on_message(void *arg, uint32_t from, const void *data, size_t len)
{
	rec *r = arg;
	assert_false(r->in_send);
	r->called_after_free |= r->freed;
	r->from = from;
	assert_true(len < sizeof r->got[0] && r->msgs < 64);
	memcpy(r->got[r->msgs], data, len);
	r->got[r->msgs][len] = '\0';
	r->msgs++;
	if (r->echo && r->msgs == 1) {
		r->in_send = true;
		assert_int_equal(vg_membership_send(r->m, "echo", 4), 0);
		r->in_send = false;
		assert_int_equal(r->msgs, 1); /* not delivered inside the send */
	}
	if (r->free_on_message) {
		vg_membership_free(r->m);
		r->freed = true;
	}
}

static const vg_membership_cbs cbs = {.on_change = on_change,
				      .on_message = on_message,
				      .on_ring = on_ring,
				      .on_connection = on_connection};

static void run(uv_loop_t *loop)
{
	for (int i = 0; i < 20; i++)
		uv_run(loop, UV_RUN_NOWAIT);
}

static void test_view_announced_from_the_loop(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	rec r = {0};
	r.m = vg_membership_loopback_new(&loop, 7, &cbs, &r);
	assert_non_null(r.m);
	assert_int_equal(r.connections + r.rings + r.changes, 0); /* not inside the call */
	assert_int_equal(vg_membership_local_nodeid(r.m), 0);	  /* not connected yet */
	assert_int_equal(vg_membership_send(r.m, "early", 5), -1);
	run(&loop);
	assert_int_equal(r.connections, 1);
	assert_int_equal(r.rings, 1);
	assert_int_equal(r.changes, 1);
	assert_true(r.quorate);
	assert_int_equal(r.member, 7);
	assert_int_equal(vg_membership_local_nodeid(r.m), 7);
	uint32_t ring[4];
	assert_int_equal(vg_membership_ring_members(r.m, ring, 4), 1);
	assert_int_equal(ring[0], 7);
	assert_false(vg_membership_nodelist_known(r.m));
	assert_int_equal(vg_membership_nodelist(r.m, NULL, 0), 0);
	assert_null(vg_membership_cluster_name(r.m));
	assert_int_equal(vg_membership_hold_ms(r.m), 0);
	assert_int_equal(vg_membership_watch_corosync(r.m, 100), 0);
	assert_true(vg_membership_answered_at(r.m) > 0);
	run(&loop);
	assert_int_equal(r.changes, 1); /* once */
	vg_membership_free(r.m);
	run(&loop);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_messages_back_in_order_never_inside_send(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	rec r = {.echo = true};
	r.m = vg_membership_loopback_new(&loop, 3, &cbs, &r);
	run(&loop);
	const char *sent[] = {"one", "two", "three", "four"};
	for (int i = 0; i < 4; i++) {
		r.in_send = true;
		assert_int_equal(vg_membership_send(r.m, sent[i], strlen(sent[i])), 0);
		r.in_send = false;
	}
	r.in_send = true;
	assert_int_equal(vg_membership_send_view(r.m, "five", 4), 0);
	r.in_send = false;
	assert_int_equal(r.msgs, 0);
	run(&loop);
	assert_int_equal(r.msgs, 6);
	assert_int_equal(r.from, 3);
	const char *want[] = {"one", "two", "three", "four", "five", "echo"};
	for (int i = 0; i < 6; i++)
		assert_string_equal(r.got[i], want[i]);
	vg_membership_free(r.m);
	run(&loop);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_queue_is_bounded(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	rec r = {0};
	r.m = vg_membership_loopback_new(&loop, 1, &cbs, &r);
	run(&loop);
	int ok = 0;
	for (int i = 0; i < 5000; i++)
		ok += vg_membership_send(r.m, "x", 1) == 0;
	assert_true(ok >= 64 && ok < 5000); /* full: refused, as Corosync's queue */
	vg_membership_free(r.m);	    /* what is queued is dropped: nothing comes */
	r.freed = true;
	run(&loop);
	assert_false(r.called_after_free);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_nothing_after_free_from_a_callback(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	rec r = {.free_on_message = true};
	r.m = vg_membership_loopback_new(&loop, 1, &cbs, &r);
	run(&loop);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vg_membership_send(r.m, "m", 1), 0);
	run(&loop);
	assert_int_equal(r.msgs, 1); /* freed in the first: the others are not delivered */
	assert_false(r.called_after_free);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	assert_null(vg_membership_loopback_new(&loop, 0, &cbs, NULL));
	assert_null(vg_membership_loopback_new(NULL, 1, &cbs, NULL));
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_view_announced_from_the_loop),
	    cmocka_unit_test(test_messages_back_in_order_never_inside_send),
	    cmocka_unit_test(test_queue_is_bounded),
	    cmocka_unit_test(test_nothing_after_free_from_a_callback),
	    cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
