/* Unit tests: when the coordinator counts a lost node as fenced or cleanly gone (issue 8,
 * items 3-5). Fencing records are ordered against losses by the replicated history, never by
 * clocks; the watchdog deadline counted is the one the node reported armed; a goodbye counts
 * only when it says everything is stopped. Each test fails with the rules these replaced
 * (wall-clock comparison, the configuration's watchdog, any goodbye). */
#include "coord_fixture.h"

#include "stop_bound.h"

#define NODES3                                                                                     \
	"cluster: {name: t}\n"                                                                     \
	"nodes:\n"                                                                                 \
	"  - {name: n1, address: 10.9.0.1, role: server}\n"                                        \
	"  - {name: n2, address: 10.9.0.2, role: server}\n"                                        \
	"  - {name: n3, address: 10.9.0.3, role: server}\n"

#define NODES3_WATCHDOG(timeout)                                                                   \
	"cluster: {name: t, watchdog: /dev/watchdog, watchdog_timeout: " timeout "}\n"             \
	"nodes:\n"                                                                                 \
	"  - {name: n1, address: 10.9.0.1, role: server}\n"                                        \
	"  - {name: n2, address: 10.9.0.2, role: server}\n"                                        \
	"  - {name: n3, address: 10.9.0.3, role: server}\n"

#define FENCE_ALL                                                                                  \
	"fence_devices:\n"                                                                         \
	"  - {name: pdu, agent: fence_dummy, targets: [n1, n2, n3]}\n"

/* an OCF agent: requires fencing (its stop is not bounded) */
#define DB                                                                                         \
	"resources:\n"                                                                             \
	"  - {name: db, type: 'ocf:heartbeat:Dummy'}\n"

static const uint32_t all3[] = {1, 2, 3};

/* fx_members, then every member reports in that ring: db running on db_on (NULL: nowhere),
 * stopped elsewhere, no watchdog. */
static void in_view(fx *f, const uint32_t *m, size_t n, bool quorate, uint64_t ring, uint64_t t,
		    const char *db_on)
{
	fx_members(f, m, n, quorate, ring, t);
	for (size_t i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%u", m[i]);
		bool on = db_on && !strcmp(name, db_on);
		fx_report(f, name, ring, on ? "db=running" : "db=stopped", 0, NULL);
	}
}

/* All three are members in ring 5 (n1 runs db), then n1 leaves at t=1000 (its Corosync too):
 * n2 and n3 report again in ring 6. watchdog_s: what n1 reported armed. */
static void lose_n1(fx *f, uint32_t watchdog_s)
{
	fx_members(f, all3, 3, true, 5, 0);
	fx_report(f, "n1", 5, "db=running", watchdog_s, NULL);
	fx_report(f, "n2", 5, "db=stopped", 0, NULL);
	fx_report(f, "n3", 5, "db=stopped", 0, NULL);
	fx_members(f, all3 + 1, 2, true, 6, 1000);
	fx_report(f, "n2", 6, "db=stopped", 0, NULL);
	fx_report(f, "n3", 6, "db=stopped", 0, NULL);
}

/* ---- item 3: fencing records are ordered, not compared by wall clock --------------------- */

/* A vigild starts with a state file holding an old record of n3 (written by an earlier vigild,
 * by a recorder whose clock was far ahead). n3 is not a member: it is unclean, not fenced, and
 * is fenced after the start-up grace; a record applied after the start counts, whatever the
 * clock of its recorder said. (Before: a node never seen had loss time 0, so any record
 * counted.) */
static void test_old_record_of_a_node_never_seen_does_not_count(void **st)
{
	(void)st;
	fx f;
	char buf[512];
	fx_init(&f, NODES3 FENCE_ALL DB, "n1");
	vg_coord_set_synced(f.co, false); /* starting: not in step yet */
	fx_fence_record(&f, "n3", 9000000, "off");
	fx_event(&f);
	static const uint32_t n12[] = {1, 2};
	fx_members(&f, n12, 2, true, 5, 0);
	vg_coord_set_synced(f.co, true);
	fx_report(&f, "n1", 5, "db=stopped", 0, NULL);
	fx_report(&f, "n2", 5, "db=stopped", 0, NULL);
	fx_run(&f, 1);
	assert_null(strstr(f.rec.log, "start db"));
	assert_non_null(strstr(fx_node_state(&f, "n3", 1, buf, sizeof buf), "unclean"));
	assert_non_null(strstr(buf, "not seen since start-up"));
	fx_run(&f, 20001); /* the start-up grace is over: n3 is fenced, not trusted */
	assert_string_equal(f.rec.log, "fence n3; ");
	vg_coord_fence_done(f.co, "n3", true, NULL, 20100);
	fx_fence_record(&f, "n3", 0 /* the recorder's clock is far behind */, "off");
	fx_run(&f, 20101);
	assert_string_equal(f.rec.log, "start db n1; ");
	assert_string_equal(fx_node_state(&f, "n3", 20101, buf, sizeof buf), "fenced");
	fx_free(&f);
}

/* An operator's confirm-down after the start counts for a node never seen; the same record
 * kept from before the start does not. */
static void test_confirm_down_after_start_counts(void **st)
{
	(void)st;
	fx f;
	char buf[512];
	fx_init(&f, NODES3 DB, "n1");
	fx_fence_record(&f, "n3", 2000000, "confirm-down"); /* from the state file */
	static const uint32_t n12[] = {1, 2};
	in_view(&f, n12, 2, true, 5, 0, NULL);
	fx_run(&f, 1);
	assert_string_equal(f.rec.log, "");
	assert_non_null(strstr(fx_node_state(&f, "n3", 1, buf, sizeof buf), "confirm-down n3"));
	fx_fence_record(&f, "n3", 1, "confirm-down");
	fx_run(&f, 2);
	assert_string_equal(f.rec.log, "start db n1; ");
	fx_free(&f);
}

/* A record applied before the loss does not count however late its recorder's clock says it
 * was written; one applied after it counts however early. (Before: wall clocks compared.) */
static void test_records_ordered_by_replicated_version_not_wall_clock(void **st)
{
	(void)st;
	fx f;
	char buf[512];
	fx_init(&f, NODES3 DB, "n2");
	/* n1 was fenced long ago and came back; the recorder's clock was hours ahead */
	fx_fence_record(&f, "n1", 1000000 + 3600000, "off");
	lose_n1(&f, 0);
	fx_run(&f, 1001);
	assert_null(strstr(f.rec.log, "start db"));
	assert_non_null(strstr(fx_node_state(&f, "n1", 1001, buf, sizeof buf), "unclean"));
	fx_event(&f); /* the history moves on */
	fx_fence_record(&f, "n1", 5 /* a recorder whose clock is far behind */, "off");
	fx_run(&f, 1002);
	assert_string_equal(f.rec.log, "start db n2; ");
	fx_free(&f);
}

/* A loss seen while this server is behind is ordered at the version it catches up with: a
 * record in the history it receives (written before it was in step) does not count. */
static void test_loss_seen_while_behind_is_ordered_when_in_step(void **st)
{
	(void)st;
	fx f;
	char buf[512];
	fx_init(&f, NODES3 DB, "n2");
	in_view(&f, all3, 3, true, 5, 0, "n1");
	vg_coord_set_synced(f.co, false);
	fx_members(&f, all3 + 1, 2, true, 6, 1000);
	/* the state sync brings history this server missed, with a record of n1 in it */
	fx_fence_record(&f, "n1", 1000000 + 5000, "off");
	fx_event(&f);
	assert_non_null(strstr(fx_node_state(&f, "n1", 1000, buf, sizeof buf), "unclean"));
	vg_coord_set_synced(f.co, true);
	fx_report(&f, "n2", 6, "db=stopped", 0, NULL);
	fx_report(&f, "n3", 6, "db=stopped", 0, NULL);
	fx_run(&f, 1001);
	assert_null(strstr(f.rec.log, "start db"));
	assert_non_null(strstr(fx_node_state(&f, "n1", 1001, buf, sizeof buf), "unclean"));
	fx_fence_record(&f, "n1", 1000000 + 1001, "off");
	fx_run(&f, 1002);
	assert_string_equal(f.rec.log, "start db n2; ");
	fx_free(&f);
}

/* A change delivered after the sync point is held by a server that is behind and applied on
 * top of the state it receives: a fencing record among them was applied after the loss and
 * counts, as on every other server. */
static void test_record_held_for_after_the_sync_counts(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 DB, "n2");
	in_view(&f, all3, 3, true, 5, 0, "n1");
	vg_coord_set_synced(f.co, false);
	fx_members(&f, all3 + 1, 2, true, 6, 1000);
	fx_event(&f); /* the state received */
	vg_coord_set_synced(f.co, true);
	vg_coord_in_step(f.co, f.rs);
	fx_fence_record(&f, "n1", 1, "off"); /* held, applied on top */
	fx_report(&f, "n2", 6, "db=stopped", 0, NULL);
	fx_report(&f, "n3", 6, "db=stopped", 0, NULL);
	fx_run(&f, 1001);
	assert_string_equal(f.rec.log, "start db n2; ");
	fx_free(&f);
}

/* n1 (the coordinator) lost n3, which was fenced and recorded. n1 is then cut off; n3 comes
 * back to n2, runs, and is lost again, with no replicated change meanwhile. When n1 is back,
 * n2's report says it knew n3 a member up to the current version: the old record no longer
 * counts for n1 either. */
static void test_a_server_that_was_away_learns_the_later_loss(void **st)
{
	(void)st;
	fx f;
	char buf[512];
	fx_init(&f, NODES3 DB, "n1");
	in_view(&f, all3, 3, true, 5, 0, "n3");
	static const uint32_t n12[] = {1, 2};
	in_view(&f, n12, 2, true, 6, 1000, NULL);
	fx_run(&f, 1001);
	assert_null(strstr(f.rec.log, "start db"));
	fx_fence_record(&f, "n3", 1000000 + 1500, "off");
	fx_run(&f, 1501);
	assert_string_equal(f.rec.log, "start db n1; ");
	json_t *seen = vg_coord_seen(f.co, f.rs);
	assert_int_equal(json_integer_value(json_object_get(seen, "n3")), 0);
	json_decref(seen);
	/* cut off, halts db; meanwhile n3 is back with n2 and lost again */
	in_view(&f, n12, 1, false, 7, 2000, NULL);
	fx_members(&f, n12, 2, true, 9, 3000);
	fx_report(&f, "n1", 9, "db=stopped", 0, NULL);
	fx_report(&f, "n2", 9, "db=stopped", 0, "{\"n3\": 1}");
	fx_run(&f, 3001);
	assert_null(strstr(f.rec.log, "start db"));
	assert_non_null(strstr(fx_node_state(&f, "n3", 3001, buf, sizeof buf), "unclean"));
	seen = vg_coord_seen(f.co, f.rs); /* passed on in n1's own reports */
	assert_int_equal(json_integer_value(json_object_get(seen, "n3")), 1);
	json_decref(seen);
	fx_fence_record(&f, "n3", 1000000 + 3002, "off");
	fx_run(&f, 3002);
	assert_string_equal(f.rec.log, "start db n1; ");
	fx_free(&f);
}

/* The record's version is the change's own sequence number, is saved and sent with the state,
 * and a state file written before records were ordered loads with version 0 (counts for no
 * loss); a version beyond the state's is refused. */
static void test_record_version_in_the_state_file(void **st)
{
	(void)st;
	fx f;
	char err[256];
	fx_init(&f, NODES3 DB, "n1");
	fx_event(&f);
	fx_fence_record(&f, "n3", 77, "off");
	assert_int_equal(f.rs->n_fences, 1);
	assert_int_equal(f.rs->fences[0].version, 2);
	assert_int_equal(f.rs->version, 2);
	size_t len;
	char *text = vg_repstate_encode(f.rs, &len);
	assert_non_null(strstr(text, "\"version\":2"));
	vg_repstate *back = vg_repstate_decode(text, len, err, sizeof err);
	assert_non_null(back);
	assert_int_equal(back->fences[0].version, 2);
	vg_repstate_free(back);
	free(text);
	static const char old[] =
	    "{\"format\":1,\"epoch\":1,\"version\":9,\"config\":null,\"nodes\":[],"
	    "\"fencing\":[{\"node\":\"n3\",\"time_ms\":5,\"by\":\"pdu\",\"method\":\"off\"}],"
	    "\"failcounts\":[],\"events\":[]}";
	back = vg_repstate_decode(old, strlen(old), err, sizeof err);
	assert_non_null(back);
	assert_int_equal(back->fences[0].version, 0);
	vg_repstate_free(back);
	static const char *const bad[] = {
	    "{\"format\":1,\"epoch\":1,\"version\":9,\"config\":null,\"nodes\":[],"
	    "\"fencing\":[{\"node\":\"n3\",\"time_ms\":5,\"by\":\"pdu\",\"method\":\"off\","
	    "\"version\":10}],\"failcounts\":[],\"events\":[]}",
	    "{\"format\":1,\"epoch\":1,\"version\":9,\"config\":null,\"nodes\":[],"
	    "\"fencing\":[{\"node\":\"n3\",\"time_ms\":5,\"by\":\"pdu\",\"method\":\"off\","
	    "\"version\":\"3\"}],\"failcounts\":[],\"events\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		back = vg_repstate_decode(bad[i], strlen(bad[i]), err, sizeof err);
		assert_null(back);
		assert_non_null(strstr(err, "version"));
	}
	fx_free(&f);
}

/* ---- item 5: the watchdog deadline is the one the node armed ------------------------------- */

/* The configuration asks for 10 s; n1's device took 5 s and n1 reported that: its deadline
 * is counted from 5 s. */
static void test_watchdog_deadline_is_the_one_reported_armed(void **st)
{
	(void)st;
	fx f;
	char buf[512];
	fx_init(&f, NODES3_WATCHDOG("10s") DB, "n2");
	lose_n1(&f, 5);
	uint64_t at = 1000 + vg_coord_quorum_loss_delay(f.co) + vg_watchdog_deadline_ms(5);
	fx_run(&f, at - 1);
	assert_null(strstr(f.rec.log, "start db"));
	assert_int_equal(f.rec.rearm_ms, 1);
	assert_non_null(strstr(fx_node_state(&f, "n1", at - 1, buf, sizeof buf),
			       "watchdog (/dev/watchdog0, 5 s)"));
	fx_run(&f, at);
	assert_string_equal(f.rec.log, "start db n2; ");
	assert_string_equal(fx_node_state(&f, "n1", at, buf, sizeof buf), "fenced");
	/* status shows what each node armed */
	json_t *s = vg_coord_status(f.co, f.rs, at, 1000000 + at);
	json_t *n1 = json_array_get(json_object_get(s, "nodes"), 0);
	json_t *n2 = json_array_get(json_object_get(s, "nodes"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(n1, "watchdog"), "device")),
	    "/dev/watchdog0");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(n1, "watchdog"), "timeout_s")), 5);
	assert_true(json_is_null(json_object_get(n2, "watchdog")));
	json_decref(s);
	fx_free(&f);
}

/* A watchdog in the configuration that n1 did not report armed gives no deadline. */
static void test_no_watchdog_reported_armed_no_deadline(void **st)
{
	(void)st;
	fx f;
	char buf[512];
	fx_init(&f, NODES3_WATCHDOG("5s") DB, "n2");
	lose_n1(&f, 0);
	fx_run(&f, 600000);
	assert_null(strstr(f.rec.log, "start db"));
	assert_non_null(
	    strstr(fx_node_state(&f, "n1", 600000, buf, sizeof buf), "confirm-down n1"));
	fx_free(&f);
}

/* `vigil apply` removes the watchdog from the configuration after n1 armed one: n1's armed
 * deadline still counts (and the other way round, adding one gives none to n1). */
static void test_configuration_change_does_not_change_the_armed_deadline(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3_WATCHDOG("5s") DB, "n2");
	lose_n1(&f, 5);
	vg_config *plain = fx_load(NODES3 DB);
	vg_coord_set_config(f.co, plain);
	uint64_t at = 1000 + vg_coord_quorum_loss_delay(f.co) + vg_watchdog_deadline_ms(5);
	fx_run(&f, at);
	assert_string_equal(f.rec.log, "start db n2; ");
	fx_free(&f);
	vg_config_free(plain);

	fx_init(&f, NODES3 DB, "n2");
	lose_n1(&f, 0);
	vg_config *wd = fx_load(NODES3_WATCHDOG("5s") DB);
	vg_coord_set_config(f.co, wd);
	fx_run(&f, 600000);
	assert_null(strstr(f.rec.log, "start db"));
	fx_free(&f);
	vg_config_free(wd);
}

/* ---- item 4: a clean shutdown is clean only when everything is stopped --------------------- */

/* A goodbye reporting anything not stopped (or nothing at all: an older vigild) is refused,
 * and n1 is unclean once gone; one with everything stopped is clean. */
static void test_goodbye_counts_only_with_everything_stopped(void **st)
{
	(void)st;
	static const struct {
		const char *bye; /* NULL: no report in it */
		bool clean;
	} rows[] = {
	    {"db=stopped", true},	    {"db=failed", false},   {"db=unmanaged", false},
	    {"db=running", false},	    {"db=stopping", false}, {"db=unknown", false},
	    {"db=stopped,x=failed", false}, {NULL, false},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		fx f;
		char buf[512];
		fx_init(&f, NODES3 DB, "n2");
		in_view(&f, all3, 3, true, 5, 0, "n1");
		json_t *res = rows[i].bye ? fx_states(rows[i].bye) : NULL;
		assert_int_equal(vg_coord_bye(f.co, "n1", res), rows[i].clean);
		json_decref(res);
		in_view(&f, all3 + 1, 2, true, 6, 1000, NULL);
		fx_run(&f, 1001);
		const char *state = fx_node_state(&f, "n1", 1001, buf, sizeof buf);
		if (rows[i].clean) {
			assert_string_equal(f.rec.log, "start db n2; ");
			assert_string_equal(state, "offline");
		} else {
			if (strstr(f.rec.log, "start db"))
				fail_msg("row %zu: db started after goodbye %s", i,
					 rows[i].bye ? rows[i].bye : "(none)");
			assert_non_null(strstr(state, "unclean"));
		}
		fx_free(&f);
	}
}

/* ---- item 10: a stop that cannot succeed is not asked for again ---------------------------- */

/* n1 gave up stopping db (three failed stops: blocked, reported "unmanaged"). The coordinator
 * must not send it the stop again (the spin of issue 8: a stop, a report, the same stop), and
 * db starts nowhere else while it may still run on n1. */
static void test_blocked_stop_is_not_asked_again(void **st)
{
	(void)st;
	fx f;
	fx_init(&f, NODES3 FENCE_ALL DB, "n1");
	fx_members(&f, all3, 3, true, 5, 0);
	fx_report(&f, "n1", 5, "db=unmanaged", 0, NULL);
	fx_report(&f, "n2", 5, "db=stopped", 0, NULL);
	fx_report(&f, "n3", 5, "db=stopped", 0, NULL);
	for (uint64_t t = 10; t < 100; t += 10) {
		fx_run(&f, t);
		assert_null(strstr(f.rec.log, "stop db n1"));
		assert_null(strstr(f.rec.log, "start db"));
	}
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_old_record_of_a_node_never_seen_does_not_count),
	    cmocka_unit_test(test_confirm_down_after_start_counts),
	    cmocka_unit_test(test_records_ordered_by_replicated_version_not_wall_clock),
	    cmocka_unit_test(test_loss_seen_while_behind_is_ordered_when_in_step),
	    cmocka_unit_test(test_record_held_for_after_the_sync_counts),
	    cmocka_unit_test(test_a_server_that_was_away_learns_the_later_loss),
	    cmocka_unit_test(test_record_version_in_the_state_file),
	    cmocka_unit_test(test_watchdog_deadline_is_the_one_reported_armed),
	    cmocka_unit_test(test_no_watchdog_reported_armed_no_deadline),
	    cmocka_unit_test(test_configuration_change_does_not_change_the_armed_deadline),
	    cmocka_unit_test(test_goodbye_counts_only_with_everything_stopped),
	    cmocka_unit_test(test_blocked_stop_is_not_asked_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
