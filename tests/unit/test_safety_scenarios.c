/* Unit tests: the safety scenarios of issue 8 on the deterministic cluster fixture
 * (cluster_fixture.h). Each one is a fault that put a must-run-once resource on two live
 * nodes with the coordinator and node side as they were before issue 8's fixes (items 1, 2,
 * 3, 6 and 7); each asserts that it does not. What each one showed before the fixes is said
 * above it. The fixture models cluster.c and supervisor.c (its member and supervisor
 * sections: the lease and its halt, parallel bounded stops, the view rules of actions and
 * reports); the coordinator is the real one. VIGIL_FIXTURE_TRACE=1 prints every trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_cmocka.h"
#include "log.h"
#include "repstate.h"

/* The fixture of a test lives in its cmocka state, so that teardown frees it also when the
 * test fails. */
static fx *boot(void **st, const fx_opts *o)
{
	fx *f = fx_boot_in(st, o);
	assert_int_equal(fx_active_count(f, "vip"), 1);
	assert_int_equal(fx_active_count(f, "db"), 1);
	return f;
}

static void assert_runs_once(fx *f, const char *res)
{
	if (fx_active_count(f, res) != 1)
		fail_msg("%s is active on %zu nodes, not 1", res, fx_active_count(f, res));
}

/* Issue 8 table, row 1 (item 1): the holder is cut off while its service takes 2 s to exit
 * after SIGTERM. It stops in reverse order (app, then vip), one at a time, while the majority
 * counts both as stopped quorum_loss_delay (50 ms) after it saw the cut. Before the fix: "(a)
 * vip is active on two live nodes: nH (running) and nX (starting)" about 1.1 s after the cut,
 * for about 2 s. */
static void test_holder_cut_off_while_its_service_stops_slowly(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	fx_set_stop_ms(f, h, "app", 2000);
	int side[] = {h};
	fx_partition(f, side, 1);
	STEP_OK(f, 6000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
	assert_int_not_equal(fx_holder(f, "vip"), h);
}

/* Row 2 (items 1, 2): the holder's vigild is killed, then its Corosync. While only vigild is
 * gone the node is in the ring and nothing moves; once its Corosync goes too, the majority
 * takes it for a node that lost quorum and stopped, but nothing on it is left to stop
 * anything. Before the fix: "(a) vip is active on two live nodes: nH (running) and nX
 * (starting)", for good. */
static void test_holder_vigild_killed_then_its_corosync(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	fx_kill_vigild(f, h);
	STEP_OK(f, 1000);
	fx_kill_corosync(f, h);
	STEP_OK(f, 12000);
	assert_int_equal(fx_holder(f, "vip"), h); /* still there: nobody may start it */
	assert_runs_once(f, "vip");
}

/* Row 3 (item 2): the holder's Corosync hangs (SIGSTOP) for 6 s. Its vigild hears nothing,
 * keeps its quorate view and keeps running everything; the others re-form without it after
 * about 1.1 s and start the group 50 ms later. Before the fix: "(a) vip is active on two live
 * nodes: nH (running) and nX (starting)" from about 1.15 s until the hang ends and the rings
 * merge. */
static void test_holder_corosync_hangs_6s(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	fx_hang_corosync(f, h, 6000);
	STEP_OK(f, 12000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
}

/* Item 3: an old fencing record of a node this vigild never saw makes it count as fenced
 * (its lost_wall is 0, so any record is newer). Every node was fenced once a week ago; the
 * db holder is then cut off, its db taking 60 s to stop, and both other vigilds restart: their
 * coordinators never saw it, count it fenced at once, and start db. Before the fix: "(a) db
 * is active on two live nodes: nD (stopping) and nX (starting)". Without the old records the
 * same schedule keeps db waiting (test_cluster_fixture.c,
 * test_never_seen_node_keeps_primitive_waiting). */
static char *state_with_old_fence_records(void)
{
	vg_repstate *rs = vg_repstate_new();
	char err[256];
	const char *names[] = {"n1", "n2", "n3"};
	for (size_t i = 0; i < 3; i++) {
		vg_repmsg m = {.kind = VG_REPMSG_FENCE_RECORD,
			       .node = (char *)names[i],
			       .time_ms = 1750000000000ull - 7ull * 24 * 3600 * 1000,
			       .by = "pdu",
			       .method = "off"};
		assert_int_equal(vg_repstate_apply(rs, &m, true, err, sizeof err), 0);
	}
	size_t len;
	char *s = vg_repstate_encode(rs, &len);
	vg_repstate_free(rs);
	return s;
}

static void test_old_fence_record_counts_a_never_seen_node_fenced(void **st)
{
	char *state = state_with_old_fence_records();
	fx_opts o = {.initial_state = state};
	fx *f = fx_new(&o); /* the saved state is read at fx_new */
	free(state);
	assert_non_null(f);
	*st = f;
	STEP_OK(f, 3000);
	int d = fx_holder(f, "db");
	fx_set_stop_ms(f, d, "db", 60000);
	int side[] = {d};
	fx_partition(f, side, 1);
	STEP_OK(f, 3000);
	for (int i = 1; i <= 3; i++)
		if (i != d) {
			fx_kill_vigild(f, i);
			fx_start_vigild(f, i);
		}
	STEP_OK(f, 10000);
	assert_int_equal(fx_holder(f, "db"), d);
	assert_runs_once(f, "db");
}

/* Item 6: an action of an older ring delivered late (as a message queued while Corosync said
 * TRY_AGAIN and replayed) is acted on: the node starts what the coordinator of then asked it
 * to, though the resource has moved since. Before the fix: "(a) app is active on two live
 * nodes: nH (starting) and nX (running)". */
static void test_stale_action_of_an_older_ring(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	int side[] = {h};
	fx_partition(f, side, 1);
	STEP_OK(f, 3000);
	assert_int_not_equal(fx_holder(f, "vip"), h);
	fx_heal(f);
	STEP_OK(f, 3000);
	assert_int_equal(fx_replay_stale_action(f, h), 0);
	STEP_OK(f, 1000);
	assert_runs_once(f, "app");
	assert_runs_once(f, "vip");
}

/* Found by the fixture's random schedules (overlapping partitions): a coordinator coming back
 * from a minority acts on its stale view of a node that ran things in the other partition
 * meanwhile. n1 (the coordinator, lowest id) is cut off; n2 and n3 go on, the group on nH.
 * Then the cut moves: n1 and n3 meet again while nH is cut off, before n1 ever heard from nH in
 * a common ring. n1 counts nH as lost since the first cut (lost_at is when n1 saw it leave),
 * so its quorum_loss_delay passed long ago, and starts the group at once while nH, which only
 * now lost quorum, is still stopping it. Before the fix: "(a) vip is active on two live
 * nodes: nH (running) and nX (starting)" 2 ms after the new view. A lease counted "since the
 * last message delivered from it" (item 2) must use the last message any member of the new
 * view got from it, not only the coordinator's own. The fix (vg_coord_membership): a server
 * back in a quorate view counts every node not with it now nor in its last view as lost (and
 * last heard from) at this change, its last report forgotten (it may run anything); so the group
 * waits for the holder's halt (its loss + quorum_loss_delay, plus each resource's stop bound). */
static void test_coordinator_back_from_a_minority_uses_a_stale_view(void **st)
{
	/* the side that loses quorum sees the change 30 ms later (inside the delay), and the
	 * holder's app takes its whole halt_grace to go: a coordinator that waits for nothing
	 * is caught whatever the order of events within a millisecond */
	fx_opts o = {.minority_lag_ms = 30};
	fx *f = boot(st, &o);
	int h = fx_holder(f, "vip");
	assert_int_not_equal(h, 1); /* the schedule needs the group away from n1 */
	fx_set_stop_ms(f, h, "app", 2000);
	int only_n1[] = {1};
	fx_partition(f, only_n1, 1);
	STEP_OK(f, 3000);
	assert_int_equal(fx_holder(f, "vip"), h);
	fx_heal(f);
	int only_h[] = {h};
	fx_partition(f, only_h, 1);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
}

/* The same root, with five servers: while n1 is cut off, the group moves twice (its holder
 * crashes), so n1's last report of the new holder says it runs nothing. When the cut moves
 * and n1 is coordinator again, it starts the group at once, no delay at all, while the holder,
 * which only now lost quorum, still runs it. Before the fix: "(a) vip is active on two live
 * nodes: n1 (starting) and nH (running)". A coordinator must not plan on reports of a node
 * from before a view in which it could not hear from it (the same fix as above). */
static void test_coordinator_back_from_a_minority_uses_stale_reports(void **st)
{
	static const char yaml[] =
	    "cluster: {name: fx, quorum_loss_delay: 50ms}\n"
	    "nodes:\n"
	    "  - {name: n1, address: 10.9.0.1, role: server}\n"
	    "  - {name: n2, address: 10.9.0.2, role: server}\n"
	    "  - {name: n3, address: 10.9.0.3, role: server}\n"
	    "  - {name: n4, address: 10.9.0.4, role: server}\n"
	    "  - {name: n5, address: 10.9.0.5, role: server}\n"
	    "resources:\n"
	    "  - {name: vip, type: vip, params: {address: 10.9.0.100/24}}\n"
	    "  - {name: app, type: process, params: {command: /bin/sleep 9}}\n"
	    "groups:\n"
	    "  - {name: svc, members: [vip, app]}\n";
	fx_opts o = {.yaml = yaml, .minority_lag_ms = 30}; /* as above */
	fx *f = fx_new(&o);
	assert_non_null(f);
	*st = f;
	STEP_OK(f, 3000);
	int only_n1[] = {1};
	fx_partition(f, only_n1, 1);
	STEP_OK(f, 3000);
	int h = fx_holder(f, "vip");
	assert_int_not_equal(h, 1);
	fx_crash(f, h);
	STEP_OK(f, 3000);
	int h2 = fx_holder(f, "vip");
	assert_int_not_equal(h2, 1);
	assert_int_not_equal(h2, h);
	fx_set_stop_ms(f, h2, "app", 2000);
	fx_heal(f);
	int only_h2[] = {h2};
	fx_partition(f, only_h2, 1);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
}

/* Item 7: with two_node both halves of a split keep quorum and both commit (each records the
 * other's loss as an event); the winner fences the loser, and when it comes back the merge
 * keeps one history by (epoch, version), which are equal, and drops the other's committed
 * change without a word. Before the fix: "(b) a committed change is in no live node's state
 * any more (2 of 2 servers live): #N from n2, ... node_lost ...". */
static void test_two_node_split_loses_a_committed_change(void **st)
{
	static const char yaml[] = "cluster: {name: fx, fence_delay: 5s}\n"
				   "nodes:\n"
				   "  - {name: n1, address: 10.9.0.1, role: server}\n"
				   "  - {name: n2, address: 10.9.0.2, role: server}\n"
				   "fence_devices:\n"
				   "  - {name: pdu, agent: fence_dummy, targets: [n1, n2]}\n"
				   "resources:\n"
				   "  - {name: vip, type: vip, params: {address: 10.9.0.100/24}}\n";
	fx_opts o = {.yaml = yaml};
	fx *f = fx_new(&o);
	assert_non_null(f);
	*st = f;
	STEP_OK(f, 3000);
	int side[] = {1};
	fx_partition(f, side, 1);
	STEP_OK(f, 20000);
	fx_heal(f);
	fx_boot(f, 1);
	fx_boot(f, 2);
	STEP_OK(f, 20000);
	assert_runs_once(f, "vip");
}

/* VIGIL_FIXTURE_TRACE=1 prints each scenario's trace, to read why it passes. */
static int teardown(void **st)
{
	if (*st && getenv("VIGIL_FIXTURE_TRACE"))
		fprintf(stderr, "---- trace ----\n%s---- end ----\n", fx_trace(*st));
	fx_free(*st);
	*st = NULL;
	return 0;
}

int main(void)
{
	static vg_log_config quiet = {.level = VG_LOG_ERROR};
	vg_log_init(&quiet);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_holder_cut_off_while_its_service_stops_slowly, teardown),
	    cmocka_unit_test_teardown(test_holder_vigild_killed_then_its_corosync, teardown),
	    cmocka_unit_test_teardown(test_holder_corosync_hangs_6s, teardown),
	    cmocka_unit_test_teardown(test_old_fence_record_counts_a_never_seen_node_fenced,
				      teardown),
	    cmocka_unit_test_teardown(test_stale_action_of_an_older_ring, teardown),
	    cmocka_unit_test_teardown(test_coordinator_back_from_a_minority_uses_a_stale_view,
				      teardown),
	    cmocka_unit_test_teardown(test_coordinator_back_from_a_minority_uses_stale_reports,
				      teardown),
	    cmocka_unit_test_teardown(test_two_node_split_loses_a_committed_change, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
