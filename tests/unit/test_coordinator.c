/* Unit tests: the coordinator's view and its actions, driven without a network (the I/O
 * interface records what it is asked to do; time is an argument). Table-driven where the
 * shape allows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator.h"
#include "repstate.h"

#include "coord_fixture.h"

/* ---- configurations ------------------------------------------------------------ */

#define NODES3                                                                                     \
	"cluster: {name: t, quorum_loss_delay: 100ms}\n"                                           \
	"nodes:\n"                                                                                 \
	"  - {name: n1, address: 10.9.0.1, role: server}\n"                                        \
	"  - {name: n2, address: 10.9.0.2, role: server}\n"                                        \
	"  - {name: n3, address: 10.9.0.3, role: server}\n"

#define NODES2                                                                                     \
	"cluster: {name: t, fence_delay: 5s}\n"                                                    \
	"nodes:\n"                                                                                 \
	"  - {name: n1, address: 10.9.0.1, role: server}\n"                                        \
	"  - {name: n2, address: 10.9.0.2, role: server}\n"                                        \
	"fence_devices:\n"                                                                         \
	"  - {name: pdu, agent: fence_dummy, targets: [n1, n2]}\n"

#define VIP                                                                                        \
	"resources:\n"                                                                             \
	"  - {name: vip, type: vip, params: {address: 10.9.0.100/24}}\n"

#define DUMMY                                                                                      \
	"resources:\n"                                                                             \
	"  - {name: db, type: 'ocf:heartbeat:Dummy'}\n"

/* ---- tests ------------------------------------------------------------------------ */

static const uint32_t all3[] = {1, 2, 3};

typedef enum { N1_CRASHES, N1_VIGILD_DIES, N1_SAYS_BYE } loss;

/* Three members report (n1 runs `res`, unless it says goodbye: then it stopped it), then n1
 * leaves the group at t=1000 (still in the ring when only its vigild died) and n2, n3 report
 * again. */
static void lose_n1(fx *f, const char *res, loss how)
{
	char on[64], off[64];
	snprintf(on, sizeof on, "%s=%s", res, how == N1_SAYS_BYE ? "stopped" : "running");
	snprintf(off, sizeof off, "%s=stopped", res);
	bool in_ring = how == N1_VIGILD_DIES;
	fx_members(f, all3, 3, true, 5, 0);
	fx_report_ack(f, "n1", 5, on, 0);
	fx_report_ack(f, "n2", 5, off, 0);
	fx_report_ack(f, "n3", 5, off, 0);
	if (how == N1_SAYS_BYE) {
		json_t *bye = json_pack("{s:s}", res, "stopped");
		assert_true(vg_coord_bye(f->co, "n1", bye));
		json_decref(bye);
	}
	vg_coord_membership(f->co, all3 + 1, 2, all3 + (in_ring ? 0 : 1), in_ring ? 3 : 2, true, 6,
			    1000, 1001000);
	fx_report_ack(f, "n2", 6, off, 0);
	fx_report_ack(f, "n3", 6, off, 0);
}

/* Two servers report (n1 with n1_states, n2 with n2_states), then the other one leaves at
 * t=1000: `local` is alone in the new ring (quorate or not) and reports again. */
static void split_two(fx *f, const char *local, const char *n1_states, const char *n2_states,
		      bool quorate)
{
	static const uint32_t both[] = {1, 2};
	bool one = !strcmp(local, "n1");
	fx_members(f, both, 2, true, 5, 0);
	fx_report_ack(f, "n1", 5, n1_states, 0);
	fx_report_ack(f, "n2", 5, n2_states, 0);
	fx_members(f, both + (one ? 0 : 1), 1, quorate, 6, 1000);
	fx_report_ack(f, local, 6, one ? n1_states : n2_states, 0);
}

static void test_leader_is_lowest_quorate_member(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n2");
	fx_members(&f, all3 + 1, 2, true, 7, 0);
	assert_string_equal(vg_coord_leader(f.co), "n2");
	assert_true(vg_coord_is_leader(f.co));
	fx_members(&f, all3, 3, true, 8, 10);
	assert_string_equal(vg_coord_leader(f.co), "n1");
	assert_false(vg_coord_is_leader(f.co));
	fx_members(&f, all3 + 1, 1, false, 9, 20);
	assert_null(vg_coord_leader(f.co));
	fx_free(&f);
}

/* Nothing is started before every member has reported (probed) in the current ring, and a
 * request is sent once until its node acknowledges it. */
static void test_probe_first_then_one_request(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n1");
	fx_members(&f, all3, 3, true, 5, 0);
	fx_report_ack(&f, "n1", 5, "vip=stopped", 0);
	fx_report_ack(&f, "n2", 5, "vip=stopped", 0);
	fx_run(&f, 1);
	assert_string_equal(f.rec.log, "");  /* n3 has not reported */
	fx_members(&f, all3, 3, true, 5, 2); /* a new view: the reports so far were of the last */
	fx_report_ack(&f, "n1", 5, "vip=stopped", 0);
	fx_report_ack(&f, "n3", 5, "vip=stopped", 0);
	fx_run(&f, 2);
	assert_string_equal(f.rec.log, ""); /* n2 has not reported in this view */
	fx_report_ack(&f, "n2", 5, "vip=stopped", 0);
	fx_run(&f, 3);
	assert_string_equal(f.rec.log, "start vip n1; ");
	uint64_t id = f.rec.last_id;
	fx_run(&f, 4);
	assert_string_equal(f.rec.log, ""); /* in flight: not asked again */
	fx_report_ack(&f, "n1", 5, "vip=starting", id);
	fx_run(&f, 5);
	assert_string_equal(f.rec.log, "");
	fx_report_ack(&f, "n1", 5, "vip=running", id);
	fx_run(&f, 6);
	assert_string_equal(f.rec.log, "");
	fx_free(&f);
}

static void test_not_leader_or_not_synced_does_nothing(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n2");
	fx_members(&f, all3, 3, true, 5, 0);
	for (int i = 0; i < 3; i++)
		fx_report_ack(&f, (const char *[]){"n1", "n2", "n3"}[i], 5, "vip=stopped", 0);
	fx_run(&f, 1);
	assert_string_equal(f.rec.log, "");
	fx_free(&f);
	fx_init(&f, NODES3 VIP, "n1");
	vg_coord_set_synced(f.co, false);
	fx_members(&f, all3, 3, true, 5, 0);
	for (int i = 0; i < 3; i++)
		fx_report_ack(&f, (const char *[]){"n1", "n2", "n3"}[i], 5, "vip=stopped", 0);
	fx_run(&f, 1);
	assert_string_equal(f.rec.log, "");
	fx_free(&f);
}

/* n1 (running `states`) is last heard from at `heard` and leaves the ring at `lost`; n2 and n3
 * report again. */
static void lose_n1_at(fx *f, const char *states, uint64_t heard, uint64_t lost)
{
	fx_members(f, all3, 3, true, 5, 0);
	fx_report_ack(f, "n1", 5, states, 0);
	vg_coord_heard(f->co, "n1", heard);
	vg_coord_membership(f->co, all3 + 1, 2, all3 + 1, 2, true, 6, lost, 1000000 + lost);
	fx_report_ack(f, "n2", 6, "vip=stopped,web=stopped,db=stopped", 0);
	fx_report_ack(f, "n3", 6, "vip=stopped,web=stopped,db=stopped", 0);
}

/* n2 is the coordinator; its own lease runs out (its Corosync hung) while n1 holds the VIP.
 * Silenced, it acts on nothing. The next view (n1 gone) counts n1 from that change, not from
 * what n2 heard before its silence: n1 may have run things with n3 meanwhile. Without a
 * change, a lease held again forgets the silence. */
static void test_silenced_coordinator(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n2");
	uint32_t n23[] = {2, 3};
	fx_members(&f, all3 + 1, 2, true, 5, 0); /* n1 is away: n2 coordinates */
	vg_coord_silenced(f.co, true);
	fx_run(&f, 100);
	assert_string_equal(f.rec.log, ""); /* would start the VIP: it acts on nothing */
	assert_false(vg_coord_is_leader(f.co));
	vg_coord_silenced(f.co, false);
	assert_true(vg_coord_is_leader(f.co));
	fx_free(&f);

	fx_init(&f, NODES3 VIP, "n2");
	fx_members(&f, all3, 3, true, 5, 0);
	fx_report_ack(&f, "n1", 5, "vip=running", 0);
	fx_report_ack(&f, "n3", 5, "vip=stopped", 0);
	vg_coord_silenced(f.co, true); /* at t=1000; n1 last heard at 0 */
	vg_coord_membership(f.co, n23, 2, n23, 2, true, 9, 10000, 1010000);
	vg_coord_silenced(f.co, false);
	fx_report_ack(&f, "n2", 9, "vip=stopped", 0);
	fx_report_ack(&f, "n3", 9, "vip=stopped", 0);
	/* counted from the change: lease 500 + heartbeat 100 + skew 150, then the VIP's 50 */
	fx_run(&f, 10000 + 799);
	assert_null(strstr(f.rec.log, "start vip"));
	fx_run(&f, 10000 + 800);
	assert_non_null(strstr(f.rec.log, "start vip"));
	fx_free(&f);
}

/* requires: quorum: a lost node's VIP is recovered only once its lease has certainly run out
 * and its halt has certainly ended, counted from the last message delivered from it: lease
 * (500 ms, the token) + one heartbeat interval (100 ms) + the skew (quorum_loss_delay 100 ms
 * + hold 20 ms + 30 ms) + the VIP's stop bound (50 ms). The later of that and the moment
 * it left + the skew. */
static void test_quorum_resource_waits_for_the_lost_side(void **st)
{
	(void)st;
	struct {
		uint64_t heard, lost, at;
	} rows[] = {
	    {1900, 2000, 1900 + 500 + 100 + 150 + 50}, /* the lease counts */
	    {900, 2000, 2000 + 150 + 50},	       /* the loss (ring) counts */
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		fx f;
		fx_init(&f, NODES3 VIP, "n2");
		lose_n1_at(&f, "vip=running", rows[i].heard, rows[i].lost);
		fx_run(&f, rows[i].at - 1);
		assert_null(strstr(f.rec.log, "start vip"));
		assert_int_equal(f.rec.rearm_ms, 1);
		json_t *s = vg_coord_status(f.co, f.rs, rows[i].at - 11, 1000000);
		json_t *vip = json_array_get(json_object_get(s, "resources"), 0);
		assert_string_equal(json_string_value(json_object_get(vip, "waiting")),
				    "waiting until n1's lease has expired (in 11 ms)");
		json_t *n1 = json_array_get(json_object_get(s, "nodes"), 0);
		assert_string_equal(json_string_value(json_object_get(n1, "state")), "unclean");
		json_decref(s);
		fx_run(&f, rows[i].at);
		assert_non_null(strstr(f.rec.log, "start vip n2; "));
		fx_free(&f);
	}
}

/* Every message delivered from the node moves the count on; an older one does not. */
static void test_lease_counts_from_the_last_message(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n2");
	fx_members(&f, all3, 3, true, 5, 0);
	fx_report_ack(&f, "n1", 5, "vip=running", 0);
	vg_coord_heard(f.co, "n1", 1950);
	vg_coord_heard(f.co, "n1", 1900); /* delivered out of order in time: ignored */
	vg_coord_membership(f.co, all3 + 1, 2, all3 + 1, 2, true, 6, 2000, 1002000);
	fx_report_ack(&f, "n2", 6, "vip=stopped", 0);
	fx_report_ack(&f, "n3", 6, "vip=stopped", 0);
	fx_run(&f, 2749); /* 1950 + 500 + 100 + 150 + 50 */
	assert_null(strstr(f.rec.log, "start vip"));
	assert_int_equal(f.rec.rearm_ms, 1);
	fx_run(&f, 2750);
	assert_non_null(strstr(f.rec.log, "start vip n2; "));
	fx_free(&f);
}

/* Each resource waits for its own stop bound: a VIP is removed at once (50 ms), a `process`
 * gets halt_grace (250 ms) after SIGTERM, then its group is killed (+50 ms); the node counts as
 * self-stopped once the largest of what it may run has passed. */
static void test_each_resource_waits_for_its_own_stop_bound(void **st)
{
	(void)st;
	fx f;
	fx_init(&f,
		NODES3 "resources:\n"
		       "  - {name: vip, type: vip, params: {address: 10.9.0.100/24}}\n"
		       "  - {name: web, type: process, params: {command: /bin/true}}\n",
		"n2");
	lose_n1_at(&f, "vip=running,web=running", 900, 2000);
	fx_run(&f, 2000 + 150 + 50 - 1);
	assert_string_equal(f.rec.log, "");
	assert_int_equal(f.rec.rearm_ms, 1);
	fx_run(&f, 2000 + 150 + 50);
	assert_non_null(strstr(f.rec.log, "start vip"));
	assert_null(strstr(f.rec.log, "start web"));
	assert_int_equal(f.rec.rearm_ms, 250);
	json_t *s = vg_coord_status(f.co, f.rs, 2200, 1002200);
	json_t *n1 = json_array_get(json_object_get(s, "nodes"), 0);
	assert_false(json_is_true(json_object_get(n1, "self_stopped")));
	json_decref(s);
	fx_run(&f, 2000 + 150 + 300 - 1);
	assert_null(strstr(f.rec.log, "start web"));
	fx_run(&f, 2000 + 150 + 300);
	assert_non_null(strstr(f.rec.log, "start web"));
	fx_free(&f);
}

/* A `requires: quorum` resource whose stop nothing bounds (an OCF agent) waits for fencing,
 * unless a watchdog backs the bound: then the node stops feeding when it halts and is reset
 * a watchdog deadline later. */
static void test_unbounded_stop_needs_fencing_or_a_watchdog(void **st)
{
	(void)st;
	const char *res = "resources:\n"
			  "  - {name: db, type: 'ocf:heartbeat:Dummy', requires: quorum}\n";
	char yaml[2048];
	snprintf(yaml, sizeof yaml, "%s%s", NODES3, res);
	fx f;
	fx_init(&f, yaml, "n2");
	lose_n1_at(&f, "db=running", 900, 2000);
	fx_run(&f, 60000);
	assert_null(strstr(f.rec.log, "start db"));
	json_t *s = vg_coord_status(f.co, f.rs, 60000, 1060000);
	json_t *db = json_array_get(json_object_get(s, "resources"), 0);
	assert_non_null(
	    strstr(json_string_value(json_object_get(db, "waiting")), "confirm-down n1"));
	json_decref(s);
	fx_free(&f);
	snprintf(yaml, sizeof yaml,
		 "cluster: {name: t, watchdog: /dev/watchdog, watchdog_timeout: 5s}\n"
		 "nodes:\n"
		 "  - {name: n1, address: 10.9.0.1, role: server}\n"
		 "  - {name: n2, address: 10.9.0.2, role: server}\n"
		 "  - {name: n3, address: 10.9.0.3, role: server}\n%s",
		 res);
	fx_init(&f, yaml, "n2");
	f.wd_s = 5; /* n1 reported its watchdog armed at 5 s: only that counts */
	lose_n1_at(&f, "db=running", 900, 2000);
	/* halt by 2000 + 20 + 30; reset 5 s + one feed interval (1 s) later */
	fx_run(&f, 8049);
	assert_null(strstr(f.rec.log, "start db"));
	fx_run(&f, 8050);
	assert_non_null(strstr(f.rec.log, "start db n2; "));
	fx_free(&f);
}

/* The vigild of n1 dies (its Corosync stays), then its Corosync goes too: nobody stopped its
 * VIP. It is unclean: nothing of it counts as stopped until it is fenced or confirmed down,
 * and status says so. */
static void test_vigild_gone_then_corosync(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n2");
	lose_n1(&f, "vip", N1_VIGILD_DIES);
	vg_coord_membership(f.co, all3 + 1, 2, all3 + 1, 2, true, 7, 3000, 1003000);
	fx_report_ack(&f, "n2", 7, "vip=stopped", 0);
	fx_report_ack(&f, "n3", 7, "vip=stopped", 0);
	fx_run(&f, 600000);
	assert_null(strstr(f.rec.log, "start vip"));
	json_t *s = vg_coord_status(f.co, f.rs, 600000, 1600000);
	json_t *vip = json_array_get(json_object_get(s, "resources"), 0);
	assert_non_null(strstr(json_string_value(json_object_get(vip, "waiting")),
			       "n1 is unclean: its vigild was gone when it left: fence it or run "
			       "`vigil node confirm-down n1`"));
	json_t *n1 = json_array_get(json_object_get(s, "nodes"), 0);
	assert_string_equal(json_string_value(json_object_get(n1, "state")), "unclean");
	assert_non_null(strstr(json_string_value(json_object_get(n1, "reason")),
			       "its vigild was gone when it left"));
	json_decref(s);
	fx_apply(&f, "{\"kind\":\"fence_record\",\"node\":\"n1\",\"time_ms\":1600001,\"by\":"
		     "\"operator\",\"method\":\"confirm-down\"}");
	fx_run(&f, 600002);
	assert_non_null(strstr(f.rec.log, "start vip n2; "));
	fx_free(&f);
}

/* A node never seen since this server started (n1 is not with the quorate n2 and n3) has
 * been without quorum since they have it: its VIP counts as stopped a lease (+ margins and
 * the bound) after quorum. */
static void test_never_seen_node_counts_from_quorum(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n2");
	fx_members(&f, all3 + 1, 2, true, 5, 0);
	fx_report_ack(&f, "n2", 5, "vip=stopped", 0);
	fx_report_ack(&f, "n3", 5, "vip=stopped", 0);
	fx_run(&f, 799); /* 0 + 500 + 100 + 150 + 50 */
	assert_null(strstr(f.rec.log, "start vip"));
	fx_run(&f, 800);
	assert_non_null(strstr(f.rec.log, "start vip n2; "));
	fx_free(&f);
}

/* The skew added to every wait: the Corosync hold (20 ms when vigil wrote corosync.conf, read
 * from the running Corosync when known) + 30 ms, plus cluster.quorum_loss_delay. */
static void test_long_corosync_hold_lengthens_the_wait(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 VIP, "n2");
	assert_int_equal(vg_coord_quorum_loss_delay(f.co), 100 + 20 + VG_COORD_SKEW_MARGIN_MS);
	vg_coord_set_corosync_hold(f.co, 85);
	assert_int_equal(vg_coord_quorum_loss_delay(f.co), 100 + 85 + VG_COORD_SKEW_MARGIN_MS);
	assert_int_equal(vg_coord_lease_margin(f.co), 100 + 100 + 85 + VG_COORD_SKEW_MARGIN_MS);
	lose_n1_at(&f, "vip=running", 900, 2000);
	fx_run(&f, 2000 + 215 + 49);
	assert_null(strstr(f.rec.log, "start vip"));
	assert_int_equal(f.rec.rearm_ms, 1);
	fx_run(&f, 2000 + 215 + 50);
	assert_non_null(strstr(f.rec.log, "start vip n2; "));
	fx_free(&f);
}

/* no_quorum: freeze keeps the lost side's resources running: nothing counts as stopped. */
static void test_freeze_means_the_lost_side_keeps_them(void **st)
{
	(void)st;
	fx f;
	fx_init(&f,
		"cluster: {name: t, no_quorum: freeze}\n"
		"nodes:\n"
		"  - {name: n1, address: 10.9.0.1, role: server}\n"
		"  - {name: n2, address: 10.9.0.2, role: server}\n"
		"  - {name: n3, address: 10.9.0.3, role: server}\n" VIP,
		"n2");
	lose_n1(&f, "vip", N1_CRASHES);
	fx_run(&f, 60000);
	assert_null(strstr(f.rec.log, "start vip"));
	fx_free(&f);
}

/* requires: fencing: nothing until a fencing record applied after the loss; no device: the
 * reason says confirm-down. */
static void test_fencing_resource_waits_for_fence(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 DUMMY, "n2");
	/* an old record (applied before the loss) does not count */
	fx_apply(&f, "{\"kind\":\"fence_record\",\"node\":\"n1\",\"time_ms\":900000,\"by\":\"x\","
		     "\"method\":\"off\"}");
	lose_n1(&f, "db", N1_CRASHES);
	fx_run(&f, 5000);
	assert_null(strstr(f.rec.log, "start db"));
	json_t *s = vg_coord_status(f.co, f.rs, 5000, 1005000);
	json_t *db = json_array_get(json_object_get(s, "resources"), 0);
	assert_non_null(
	    strstr(json_string_value(json_object_get(db, "waiting")), "confirm-down n1"));
	json_decref(s);
	fx_apply(&f, "{\"kind\":\"fence_record\",\"node\":\"n1\",\"time_ms\":1005001,\"by\":"
		     "\"operator\",\"method\":\"confirm-down\"}");
	fx_run(&f, 5002);
	assert_non_null(strstr(f.rec.log, "start db n2; "));
	fx_free(&f);
}

/* A fence that succeeded is not run again while its record travels through Corosync; if the
 * record never comes, the node is fenced again after the retry interval. */
static void test_fenced_node_is_not_fenced_twice(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES2 DUMMY, "n1");
	split_two(&f, "n1", "db=running", "db=stopped", true);
	fx_run(&f, 1001);
	assert_non_null(strstr(f.rec.log, "fence n2; "));
	vg_coord_fence_done(f.co, "n2", true, NULL, 1050);
	fx_run(&f, 1051);
	assert_null(strstr(f.rec.log, "fence n2"));
	fx_run(&f, 3000);
	assert_null(strstr(f.rec.log, "fence n2"));
	fx_run(&f, 6051); /* no record arrived: fenced again */
	assert_non_null(strstr(f.rec.log, "fence n2; "));
	vg_coord_fence_done(f.co, "n2", true, NULL, 6100);
	fx_apply(&f,
		 "{\"kind\":\"fence_record\",\"node\":\"n2\",\"time_ms\":1006100,\"by\":\"pdu\","
		 "\"method\":\"off\"}");
	fx_run(&f, 20000);
	assert_null(strstr(f.rec.log, "fence n2"));
	fx_free(&f);
}

/* A qnetd arbiter with two servers: no two_node, so the side qnetd gave its vote fences at
 * once (no fence_delay: only one side is quorate), the side without quorum does nothing, and
 * even a `requires: quorum` VIP of the lost node waits for the fence: the cut-off side may
 * keep quorum until its qdevice hears from qnetd, which quorum_loss_delay does not bound. */
static void test_qnetd_lost_side_waits_for_fencing(void **st)
{
	(void)st;
	const char *yaml = "cluster: {name: t, fence_delay: 5s, qnetd: {host: 10.9.0.9}}\n"
			   "nodes:\n"
			   "  - {name: n1, address: 10.9.0.1, role: server}\n"
			   "  - {name: n2, address: 10.9.0.2, role: server}\n"
			   "fence_devices:\n"
			   "  - {name: pdu, agent: fence_dummy, targets: [n1, n2]}\n" VIP;
	for (int quorate = 0; quorate <= 1; quorate++) {
		fx f;
		fx_init(&f, yaml, "n2");
		split_two(&f, "n2", "vip=running", "vip=stopped", quorate);
		fx_run(&f, 1001);
		if (!quorate) {
			assert_string_equal(f.rec.log, "");
			fx_run(&f, 60000);
			assert_string_equal(f.rec.log, "");
			fx_free(&f);
			continue;
		}
		/* n1 ran more, yet n2 does not wait fence_delay: there is no race to break */
		assert_non_null(strstr(f.rec.log, "fence n1; "));
		assert_null(strstr(f.rec.log, "start vip"));
		fx_run(&f, 60000); /* long past quorum_loss_delay: still waiting for the fence */
		assert_null(strstr(f.rec.log, "start vip"));
		json_t *s = vg_coord_status(f.co, f.rs, 60000, 1060000);
		json_t *vip = json_array_get(json_object_get(s, "resources"), 0);
		assert_non_null(strstr(json_string_value(json_object_get(vip, "waiting")),
				       "waiting for fencing of n1"));
		json_decref(s);
		fx_apply(&f,
			 "{\"kind\":\"fence_record\",\"node\":\"n1\",\"time_ms\":1060001,\"by\":"
			 "\"n2\",\"method\":\"off\"}");
		fx_run(&f, 60002);
		assert_non_null(strstr(f.rec.log, "start vip n2; "));
		fx_free(&f);
	}
}

/* two_node: both halves keep quorum; the side that ran less waits fence_delay; a failed
 * fence is retried later and shown. */
static void test_two_node_fence_delay_and_retry(void **st)
{
	(void)st;
	struct {
		const char *local, *n1_states, *n2_states;
		bool waits;
	} rows[] = {
	    {"n2", "db=running", "db=stopped", true},  /* n1 ran more: n2 waits */
	    {"n1", "db=running", "db=stopped", false}, /* n1 fences at once */
	    {"n1", "db=stopped", "db=stopped", false}, /* tie: lower id goes first */
	    {"n2", "db=stopped", "db=stopped", true},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		fx f;
		fx_init(&f, NODES2 DUMMY, rows[i].local);
		split_two(&f, rows[i].local, rows[i].n1_states, rows[i].n2_states, true);
		const char *other = strcmp(rows[i].local, "n1") ? "n1" : "n2";
		fx_run(&f, 1001);
		char want[64];
		snprintf(want, sizeof want, "fence %s; ", other);
		assert_null(strstr(f.rec.log, "start")); /* nothing before the fence */
		if (rows[i].waits) {
			assert_null(strstr(f.rec.log, "fence"));
			assert_int_equal(f.rec.rearm_ms, 5000);
			fx_run(&f, 6001);
		}
		assert_non_null(strstr(f.rec.log, want));
		/* failure: retried after a while, reason shown */
		vg_coord_fence_done(f.co, other, false, "exit 1", 7000);
		fx_run(&f, 7001);
		assert_null(strstr(f.rec.log, "fence"));
		json_t *s = vg_coord_status(f.co, f.rs, 7001, 1007001);
		size_t k;
		json_t *n;
		bool seen = false;
		json_array_foreach(json_object_get(s, "nodes"), k, n)
		{
			const char *reason = json_string_value(json_object_get(n, "reason"));
			if (reason && strstr(reason, "fencing failed: exit 1"))
				seen = true;
		}
		assert_true(seen);
		json_decref(s);
		fx_run(&f, 12001);
		assert_non_null(strstr(f.rec.log, want));
		fx_free(&f);
	}
}

/* A node whose vigild left while its Corosync stayed in the ring keeps its quorum: nothing of
 * it counts as stopped, and it is fenced only after a grace (a restart of vigild). */
static void test_vigild_gone_corosync_up(void **st)
{
	(void)st;
	fx f;
	fx_init(&f,
		NODES3 "fence_devices:\n  - {name: pdu, agent: fence_dummy, targets: [n1]}\n" VIP,
		"n2");
	lose_n1(&f, "vip", N1_VIGILD_DIES);
	fx_run(&f, 5000);
	assert_string_equal(f.rec.log, ""); /* no start, no fence yet */
	assert_int_equal(f.rec.rearm_ms, 6000);
	json_t *s = vg_coord_status(f.co, f.rs, 5000, 1005000);
	json_t *n1 = json_array_get(json_object_get(s, "nodes"), 0);
	assert_non_null(strstr(json_string_value(json_object_get(n1, "reason")), "vigild"));
	json_decref(s);
	fx_run(&f, 11000);
	assert_string_equal(f.rec.log, "fence n1; ");
	fx_free(&f);
}

/* With a watchdog (reported armed), a lost node counts as off once its deadline has passed
 * (SBD). */
static void test_watchdog_deadline_counts_as_fenced(void **st)
{
	(void)st;
	fx f;
	fx_init(&f,
		"cluster: {name: t, watchdog: /dev/watchdog, watchdog_timeout: 5s}\n"
		"nodes:\n"
		"  - {name: n1, address: 10.9.0.1, role: server}\n"
		"  - {name: n2, address: 10.9.0.2, role: server}\n"
		"  - {name: n3, address: 10.9.0.3, role: server}\n" DUMMY,
		"n2");
	f.wd_s = 5;
	lose_n1(&f, "db", N1_CRASHES);
	/* deadline: 1000 (lost) + 50 (quorum_loss_delay) + 5000 + 1000 (feed interval) */
	fx_run(&f, 7049);
	assert_null(strstr(f.rec.log, "start db"));
	assert_int_equal(f.rec.rearm_ms, 1);
	json_t *s = vg_coord_status(f.co, f.rs, 7049, 1007049);
	json_t *n1 = json_array_get(json_object_get(s, "nodes"), 0);
	assert_non_null(strstr(json_string_value(json_object_get(n1, "reason")), "watchdog"));
	json_decref(s);
	fx_run(&f, 7050);
	assert_string_equal(f.rec.log, "start db n2; ");
	s = vg_coord_status(f.co, f.rs, 7050, 1007050);
	n1 = json_array_get(json_object_get(s, "nodes"), 0);
	assert_string_equal(json_string_value(json_object_get(n1, "state")), "fenced");
	json_decref(s);
	fx_free(&f);
}

/* A start in flight is not yet started: what is ordered after it waits. */
static void test_group_waits_for_a_start_in_flight(void **st)
{
	(void)st;
	fx f;
	fx_init(&f,
		NODES3 "resources:\n"
		       "  - {name: web, type: process, params: {command: /bin/true}}\n"
		       "  - {name: vip, type: vip, params: {address: 10.9.0.100/24}}\n"
		       "groups:\n  - {name: g, members: [web, vip]}\n"
		       "constraints:\n  - location: {resource: g, node: n1, score: 100}\n",
		"n1");
	fx_members(&f, all3, 3, true, 5, 0);
	fx_report_ack(&f, "n2", 5, "web=stopped,vip=stopped", 0);
	fx_report_ack(&f, "n3", 5, "web=stopped,vip=stopped", 0);
	fx_report_ack(&f, "n1", 5, "web=stopped,vip=stopped", 0);
	fx_run(&f, 1);
	assert_string_equal(f.rec.log, "start web n1; ");
	fx_report_ack(&f, "n1", 5, "web=starting,vip=stopped", f.rec.last_id);
	fx_run(&f, 2);
	assert_string_equal(f.rec.log, "");
	fx_report_ack(&f, "n1", 5, "web=running,vip=stopped", f.rec.last_id);
	fx_run(&f, 3);
	assert_string_equal(f.rec.log, "start vip n1; ");
	fx_free(&f);
}

/* A node that said goodbye is offline, not unclean: nothing waits for it. */
static void test_bye_is_clean(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 DUMMY, "n2");
	lose_n1(&f, "db", N1_SAYS_BYE);
	fx_run(&f, 1001);
	assert_string_equal(f.rec.log, "start db n2; ");
	fx_free(&f);
}

/* A node reports what it cannot run there (its agent is not installed there): the scheduler
 * places it elsewhere although it prefers that node, nothing is asked of that node for it,
 * and status shows the instance failed there with the node's reason; a node that runs an old
 * configuration says so in its reason. */
static void test_unrunnable_kept_off_and_shown(void **st)
{
	(void)st;
	fx f;
	fx_init(&f,
		NODES3 DUMMY "constraints:\n"
			     "  - location: {resource: db, node: n1, score: 100}\n",
		"n1");
	fx_members(&f, all3, 3, true, 5, 0);
	json_t *res = json_pack("{s:s}", "db", "stopped");
	json_t *why = json_pack("{s:s}", "db", "OCF agent ocf:heartbeat:Dummy is not installed");
	vg_node_report r = {.ring = 5, .probed = true, .resources = res, .unrunnable = why};
	vg_coord_report(f.co, "n1", &r);
	r.unrunnable = NULL;
	vg_coord_report(f.co, "n2", &r);
	r.stale_config = "committed configuration:3: parse error";
	vg_coord_report(f.co, "n3", &r);
	json_decref(res);
	json_decref(why);
	fx_run(&f, 1);
	assert_string_equal(f.rec.log, "start db n2; ");

	json_t *s = vg_coord_status(f.co, f.rs, 2, 1000002);
	json_t *inst = json_array_get(
	    json_object_get(json_array_get(json_object_get(s, "resources"), 0), "instances"), 0);
	assert_non_null(inst);
	assert_string_equal(json_string_value(json_object_get(inst, "node")), "n1");
	assert_string_equal(json_string_value(json_object_get(inst, "state")), "failed");
	assert_true(json_is_true(json_object_get(inst, "unrunnable")));
	assert_string_equal(json_string_value(json_object_get(inst, "reason")),
			    "OCF agent ocf:heartbeat:Dummy is not installed");
	json_t *n3 = json_array_get(json_object_get(s, "nodes"), 2);
	assert_string_equal(json_string_value(json_object_get(n3, "reason")),
			    "runs an old configuration: it cannot load the committed one "
			    "(committed configuration:3: parse error)");
	json_decref(s);

	/* it stays off n1, and n1 is never asked to stop it */
	res = json_pack("{s:s}", "db", "running");
	r = (vg_node_report){.ring = 5, .probed = true, .resources = res, .ack = f.rec.last_id};
	vg_coord_report(f.co, "n2", &r);
	json_decref(res);
	fx_run(&f, 3);
	assert_string_equal(f.rec.log, "");
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leader_is_lowest_quorate_member),
	    cmocka_unit_test(test_probe_first_then_one_request),
	    cmocka_unit_test(test_not_leader_or_not_synced_does_nothing),
	    cmocka_unit_test(test_quorum_resource_waits_for_the_lost_side),
	    cmocka_unit_test(test_fencing_resource_waits_for_fence),
	    cmocka_unit_test(test_two_node_fence_delay_and_retry),
	    cmocka_unit_test(test_qnetd_lost_side_waits_for_fencing),
	    cmocka_unit_test(test_fenced_node_is_not_fenced_twice),
	    cmocka_unit_test(test_bye_is_clean),
	    cmocka_unit_test(test_freeze_means_the_lost_side_keeps_them),
	    cmocka_unit_test(test_long_corosync_hold_lengthens_the_wait),
	    cmocka_unit_test(test_group_waits_for_a_start_in_flight),
	    cmocka_unit_test(test_vigild_gone_corosync_up),
	    cmocka_unit_test(test_watchdog_deadline_counts_as_fenced),
	    cmocka_unit_test(test_unrunnable_kept_off_and_shown),
	    cmocka_unit_test(test_lease_counts_from_the_last_message),
	    cmocka_unit_test(test_silenced_coordinator),
	    cmocka_unit_test(test_each_resource_waits_for_its_own_stop_bound),
	    cmocka_unit_test(test_unbounded_stop_needs_fencing_or_a_watchdog),
	    cmocka_unit_test(test_vigild_gone_then_corosync),
	    cmocka_unit_test(test_never_seen_node_counts_from_quorum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
