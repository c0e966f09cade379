/* Unit tests: whole-cluster scenarios on the deterministic cluster fixture (cluster_fixture.h):
 * three servers with the real coordinator and replicated state, a modelled Corosync and local
 * side, virtual time. Each named scenario checks, at every step, that no must-run-once
 * resource is active on two live nodes and that no committed change is lost, and then that
 * recovery happened. A property test runs thousands of random schedules from fixed seeds,
 * drawing only faults today's coordinator and node side are expected to survive
 * (FX_F_SURVIVABLE: since issue 8's fixes also vigild and Corosync deaths, Corosync hangs,
 * slow stops and stale messages; not yet one-way cuts or clock steps). The scenarios today's code
 * fails are in test_safety_scenarios.c. */
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
	/* the cluster formed, committed its configuration and placed everything once */
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(fx_leader(f, i), 1);
		assert_true(fx_synced(f, i));
	}
	assert_int_equal(fx_active_count(f, "vip"), 1);
	assert_int_equal(fx_active_count(f, "app"), 1);
	assert_int_equal(fx_active_count(f, "db"), 1);
	assert_int_equal(fx_holder(f, "vip"), fx_holder(f, "app")); /* one group */
	return f;
}

static void assert_runs_once(fx *f, const char *res)
{
	if (fx_active_count(f, res) != 1) {
		fprintf(stderr, "%s", fx_trace(f));
		fail_msg("%s is active on %zu nodes, not 1", res, fx_active_count(f, res));
	}
}

static void test_boot_places_everything_once(void **st)
{
	fx *f = boot(st, NULL);
	STEP_OK(f, 10000);
	assert_runs_once(f, "vip");
}

/* The holder powers off: the others see it leave, count its requires: quorum resources as
 * stopped after quorum_loss_delay and start them; db (requires: fencing) waits, as no fence
 * device is configured, until the node is back. */
static void test_crash_of_the_holder(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	fx_note(f, "scenario: the holder n%d crashes", h);
	fx_crash(f, h);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
	assert_int_not_equal(fx_holder(f, "vip"), h);
}

/* The same with a fence device: the lost node is fenced, and db recovers too. */
static void test_crash_of_the_holder_fenced(void **st)
{
	fx_opts o = {.yaml = FX_YAML_FENCED};
	fx *f = boot(st, &o);
	int h = fx_holder(f, "db");
	fx_crash(f, h);
	STEP_OK(f, 10000);
	assert_runs_once(f, "db");
	assert_int_not_equal(fx_holder(f, "db"), h);
	assert_runs_once(f, "vip");
}

/* 1|2: the holder alone on one side stops everything (no quorum), the two others take over;
 * after the heal everything still runs once. */
static void test_partition_one_two(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	int side[] = {h};
	fx_partition(f, side, 1);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_int_not_equal(fx_holder(f, "vip"), h);
	assert_int_equal(fx_leader(f, h), 0); /* no quorum there */
	fx_heal(f);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
	for (int i = 1; i <= 3; i++)
		assert_true(fx_synced(f, i));
}

/* The two sides see the cut at different times, within quorum_loss_delay: still safe. */
static void test_partition_with_skew_inside_the_delay(void **st)
{
	fx_opts o = {.minority_lag_ms = 30};
	fx *f = boot(st, &o);
	int h = fx_holder(f, "vip");
	int side[] = {h};
	fx_partition(f, side, 1);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
}

/* The fixture itself: a minority that sees the cut later than quorum_loss_delay allows does
 * overlap, and the fixture says so with the trace (this is what invariant (a) is for). */
static void test_fixture_catches_skew_beyond_the_delay(void **st)
{
	fx_opts o = {.minority_lag_ms = 500, .quiet = true};
	fx *f = boot(st, &o);
	int h = fx_holder(f, "vip");
	int side[] = {h};
	fx_partition(f, side, 1);
	assert_int_equal(fx_advance(f, 5000), -1);
	assert_non_null(strstr(fx_violation(f), "(a) vip is active on two live nodes"));
	assert_non_null(strstr(fx_trace(f), "PARTITION"));
	assert_non_null(strstr(fx_trace(f), "VIOLATION"));
}

/* The coordinator (n1, lowest id) powers off: n2 becomes coordinator and recovers what n1 ran;
 * what ran elsewhere stays where it is. */
static void test_coordinator_crash(void **st)
{
	fx *f = boot(st, NULL);
	int vip_at = fx_holder(f, "vip");
	fx_crash(f, 1);
	STEP_OK(f, 5000);
	assert_int_equal(fx_leader(f, 2), 2);
	assert_int_equal(fx_leader(f, 3), 2);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
	if (vip_at != 1)
		assert_int_equal(fx_holder(f, "vip"), vip_at);
}

/* A crashed node boots again: it rejoins, catches up with the state committed while it was
 * away (the node_lost event), and nothing runs twice. */
static void test_rejoin(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	fx_crash(f, h);
	STEP_OK(f, 5000);
	uint64_t v = fx_version(f, h == 1 ? 2 : 1);
	assert_true(fx_version(f, h) < v); /* it missed the node_lost event */
	fx_boot(f, h);
	STEP_OK(f, 5000);
	for (int i = 1; i <= 3; i++) {
		assert_true(fx_synced(f, i));
		assert_int_equal(fx_leader(f, i), 1);
		assert_int_equal(fx_epoch(f, i), fx_epoch(f, 1));
		assert_int_equal(fx_version(f, i), fx_version(f, 1));
	}
	assert_true(fx_version(f, h) >= v);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
	assert_runs_once(f, "db"); /* db (requires: fencing) recovers once the node is back */
}

/* The vigild of a node that runs nothing dies (its Corosync stays): nothing moves, and it
 * comes back as a member. */
static void test_vigild_death_of_a_non_holder(void **st)
{
	fx *f = boot(st, NULL);
	int idle = 0;
	for (int i = 1; i <= 3 && !idle; i++)
		if (fx_holder(f, "vip") != i && fx_holder(f, "db") != i)
			idle = i;
	assert_int_not_equal(idle, 0);
	int vip_at = fx_holder(f, "vip"), db_at = fx_holder(f, "db");
	fx_kill_vigild(f, idle);
	STEP_OK(f, 15000);
	assert_int_equal(fx_holder(f, "vip"), vip_at);
	assert_int_equal(fx_holder(f, "db"), db_at);
	assert_runs_once(f, "vip");
	fx_start_vigild(f, idle);
	STEP_OK(f, 3000);
	assert_true(fx_synced(f, idle));
	assert_runs_once(f, "vip");
	assert_runs_once(f, "db");
}

/* A node that the cluster never saw since it started, with no fencing record, keeps the
 * requires: fencing primitive waiting: here the db holder is cut off and both other vigilds
 * restart (their new coordinators never saw it). Compare test_safety_scenarios.c's
 * old-fence-record scenario, which differs only by a week-old fencing record. */
static void test_never_seen_node_keeps_primitive_waiting(void **st)
{
	fx *f = boot(st, NULL);
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
	assert_int_equal(fx_holder(f, "db"), d); /* still stopping there, started nowhere */
	assert_runs_once(f, "vip");
}

/* A one-way cut (the holder's packets no longer reach the others, theirs still reach it)
 * breaks their common ring like a symmetric cut: the holder ends up alone without quorum
 * and stops, the two others take over; after the heal everything runs once. */
static void test_one_way_cut_of_the_holder(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	for (int i = 1; i <= 3; i++)
		if (i != h)
			fx_cut_oneway(f, h, i);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_int_not_equal(fx_holder(f, "vip"), h);
	assert_int_equal(fx_leader(f, h), 0);
	fx_heal(f);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
}

/* The majority sees the cut first (the minority later, within quorum_loss_delay): safe. */
static void test_partition_majority_sees_it_first(void **st)
{
	fx_opts o = {.minority_lag_ms = 40, .majority_lag_ms = 0};
	fx *f = boot(st, &o);
	int h = fx_holder(f, "vip");
	int side[] = {h};
	fx_partition(f, side, 1);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_int_not_equal(fx_holder(f, "vip"), h);
}

/* Corosync of a node that runs nothing dies under a running vigild: that vigild stops what it
 * runs (nothing) and the others go on; when Corosync is back it rejoins. */
static void test_corosync_death_of_a_non_holder(void **st)
{
	fx *f = boot(st, NULL);
	int idle = 0;
	for (int i = 1; i <= 3 && !idle; i++)
		if (fx_holder(f, "vip") != i && fx_holder(f, "db") != i)
			idle = i;
	int vip_at = fx_holder(f, "vip");
	fx_kill_corosync(f, idle);
	STEP_OK(f, 5000);
	assert_int_equal(fx_leader(f, idle), 0);
	assert_int_equal(fx_holder(f, "vip"), vip_at);
	fx_start_corosync(f, idle);
	STEP_OK(f, 5000);
	assert_true(fx_synced(f, idle));
	assert_int_equal(fx_leader(f, idle), 1);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "db");
}

/* Wall clocks that jump (an hour forward on one node, back on another) move nothing: the
 * coordinator's deadlines run on the monotonic clock. */
static void test_clock_steps_move_nothing(void **st)
{
	fx *f = boot(st, NULL);
	int vip_at = fx_holder(f, "vip"), db_at = fx_holder(f, "db");
	fx_clock_step(f, 1, 3600000);
	fx_clock_step(f, 2, -3600000);
	STEP_OK(f, 10000);
	assert_int_equal(fx_holder(f, "vip"), vip_at);
	assert_int_equal(fx_holder(f, "db"), db_at);
	int h = fx_holder(f, "vip");
	fx_crash(f, h);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
}

/* A clean stop of the holder (SIGTERM to its vigild, its service slow to stop): it reports
 * itself leaving, stops everything, says goodbye; the others start what it ran only once it
 * reported it stopped, and count it offline (not unclean): db, which needs fencing, recovers
 * without any. */
static void test_clean_shutdown_of_the_holder(void **st)
{
	fx *f = boot(st, NULL);
	int h = fx_holder(f, "vip");
	int d = fx_holder(f, "db");
	fx_set_stop_ms(f, h, "app", 2000);
	fx_shutdown_vigild(f, h);
	STEP_OK(f, 5000);
	assert_runs_once(f, "vip");
	assert_runs_once(f, "app");
	assert_int_not_equal(fx_holder(f, "vip"), h);
	fx_shutdown_vigild(f, d);
	STEP_OK(f, 5000);
	assert_runs_once(f, "db");
	assert_int_not_equal(fx_holder(f, "db"), d);
}

/* ---- the property test ---------------------------------------------------------------------- */

enum { SEEDS = 2000 };

static int teardown(void **st)
{
	fx_free(*st);
	*st = NULL;
	return 0;
}

static void run_random(const char *yaml, unsigned faults, unsigned n_faults, uint64_t first_seed,
		       unsigned seeds)
{
	vg_config *cfg = fx_config_load(yaml);
	assert_non_null(cfg);
	for (uint64_t seed = first_seed; seed < first_seed + seeds; seed++) {
		fx_random_opts o = {.seed = seed,
				    .yaml = yaml,
				    .cfg = cfg,
				    .faults = faults,
				    .n_faults = n_faults,
				    .settle_ms = 20000,
				    .check_recovery = true};
		fx *f = NULL;
		if (fx_random_run(&o, &f) != 0) {
			if (f)
				fprintf(stderr, "%s", fx_trace(f));
			char msg[1200];
			snprintf(msg, sizeof msg, "seed %llu (faults 0x%x): %s",
				 (unsigned long long)seed, faults,
				 f && fx_violation(f) ? fx_violation(f) : "fixture error");
			fx_free(f);
			vg_config_free(cfg);
			fail_msg("%s", msg);
		}
	}
	vg_config_free(cfg);
}

static void test_random_survivable_schedules(void **st)
{
	(void)st;
	/* VIGIL_FIXTURE_SEEDS: fewer (e.g. under valgrind) or more (a long hunt) schedules */
	const char *env = getenv("VIGIL_FIXTURE_SEEDS");
	unsigned seeds = env && atoi(env) > 0 ? (unsigned)atoi(env) : SEEDS;
	run_random(NULL, FX_F_SURVIVABLE, 3, 1, seeds);
}

/* The same with a fence device: lost nodes are fenced (powered off), db recovers too. */
static void test_random_survivable_schedules_fenced(void **st)
{
	(void)st;
	const char *env = getenv("VIGIL_FIXTURE_SEEDS");
	unsigned seeds = env && atoi(env) > 0 ? (unsigned)atoi(env) : SEEDS / 2;
	run_random(FX_YAML_FENCED, FX_F_SURVIVABLE, 3, 100001, seeds);
}

/* A seed is a run: the same seed gives the same trace, event for event; another seed
 * gives another schedule. */
static char *random_trace(uint64_t seed)
{
	fx_random_opts o = {.seed = seed, .faults = FX_F_SURVIVABLE, .n_faults = 4, .keep = true};
	fx *f = NULL;
	assert_int_equal(fx_random_run(&o, &f), 0);
	assert_non_null(f);
	char *t = strdup(fx_trace(f));
	fx_free(f);
	return t;
}

static void test_random_runs_are_deterministic(void **st)
{
	(void)st;
	char *a = random_trace(77), *b = random_trace(77), *c = random_trace(78);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_non_null(strstr(a, "ring 2 forms")); /* faults happened */
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	static vg_log_config quiet = {.level = VG_LOG_ERROR};
	vg_log_init(&quiet);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_boot_places_everything_once, teardown),
	    cmocka_unit_test_teardown(test_crash_of_the_holder, teardown),
	    cmocka_unit_test_teardown(test_crash_of_the_holder_fenced, teardown),
	    cmocka_unit_test_teardown(test_partition_one_two, teardown),
	    cmocka_unit_test_teardown(test_partition_with_skew_inside_the_delay, teardown),
	    cmocka_unit_test_teardown(test_fixture_catches_skew_beyond_the_delay, teardown),
	    cmocka_unit_test_teardown(test_coordinator_crash, teardown),
	    cmocka_unit_test_teardown(test_rejoin, teardown),
	    cmocka_unit_test_teardown(test_vigild_death_of_a_non_holder, teardown),
	    cmocka_unit_test_teardown(test_never_seen_node_keeps_primitive_waiting, teardown),
	    cmocka_unit_test_teardown(test_one_way_cut_of_the_holder, teardown),
	    cmocka_unit_test_teardown(test_partition_majority_sees_it_first, teardown),
	    cmocka_unit_test_teardown(test_corosync_death_of_a_non_holder, teardown),
	    cmocka_unit_test_teardown(test_clock_steps_move_nothing, teardown),
	    cmocka_unit_test_teardown(test_clean_shutdown_of_the_holder, teardown),
	    cmocka_unit_test_teardown(test_random_survivable_schedules, teardown),
	    cmocka_unit_test_teardown(test_random_survivable_schedules_fenced, teardown),
	    cmocka_unit_test_teardown(test_random_runs_are_deterministic, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
