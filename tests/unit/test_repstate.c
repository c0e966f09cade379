/* Unit tests: the replicated state machine, its messages and its history id (table-driven). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repstate.h"

/* Decode JSON text into a message (must be valid) and apply it. */
static int apply_json(vg_repstate *s, const char *json, bool quorate, char *err, size_t errlen)
{
	char derr[256];
	vg_repmsg *m = vg_repmsg_decode(json, strlen(json), derr, sizeof derr);
	if (!m)
		fail_msg("decode %s: %s", json, derr);
	int r = vg_repstate_apply(s, m, quorate, err, errlen);
	vg_repmsg_free(m);
	return r;
}

static char *enc(const vg_repstate *s)
{
	size_t len;
	char *t = vg_repstate_encode(s, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	return t;
}

static const char *const sequence[] = {
    "{\"kind\":\"config_commit\",\"yaml\":\"cluster:\\n  name: demo\\n\",\"base_version\":0}",
    "{\"kind\":\"node_admin\",\"node\":\"n2\",\"standby\":true}",
    "{\"kind\":\"node_admin\",\"node\":\"n1\",\"maintenance\":true}",
    "{\"kind\":\"fence_record\",\"node\":\"n3\",\"time_ms\":1000,\"by\":\"ipmi\",\"method\":"
    "\"off\"}",
    "{\"kind\":\"failcount_set\",\"resource\":\"web\",\"node\":\"n2\",\"count\":2,"
    "\"last_failure_ms\":1500}",
    "{\"kind\":\"failcount_set\",\"resource\":\"db\",\"node\":\"n1\",\"count\":1,"
    "\"last_failure_ms\":1600}",
    "{\"kind\":\"failcount_set\",\"resource\":\"web\",\"node\":\"n1\",\"count\":5,"
    "\"last_failure_ms\":1700}",
    "{\"kind\":\"event\",\"time_ms\":2000,\"event_kind\":\"fence\",\"text\":\"n3 fenced\"}",
    "{\"kind\":\"config_commit\",\"yaml\":\"cluster:\\n  name: demo2\\n\",\"base_version\":8}",
};
#define N_SEQ (sizeof sequence / sizeof sequence[0])

static void test_replicas_identical(void **state)
{
	(void)state;
	vg_repstate *a = vg_repstate_new(), *b = vg_repstate_new();
	char err[256];
	for (size_t i = 0; i < N_SEQ; i++) {
		assert_int_equal(apply_json(a, sequence[i], true, err, sizeof err), 0);
		/* replica b receives the same bytes after a re-encode (as over the wire) */
		vg_repmsg *m = vg_repmsg_decode(sequence[i], strlen(sequence[i]), err, sizeof err);
		assert_non_null(m);
		size_t len;
		char *wire = vg_repmsg_encode(m, &len);
		assert_non_null(wire);
		vg_repmsg_free(m);
		assert_int_equal(apply_json(b, wire, true, err, sizeof err), 0);
		free(wire);
	}
	char *ta = enc(a), *tb = enc(b);
	assert_string_equal(ta, tb);
	assert_int_equal(a->version, N_SEQ);
	assert_int_equal(a->epoch, 2);
	free(ta);
	free(tb);
	vg_repstate_free(a);
	vg_repstate_free(b);
}

static void test_every_kind(void **state)
{
	(void)state;
	vg_repstate *s = vg_repstate_new();
	char err[256];
	for (size_t i = 0; i < N_SEQ; i++)
		assert_int_equal(apply_json(s, sequence[i], true, err, sizeof err), 0);
	assert_string_equal(s->config_yaml, "cluster:\n  name: demo2\n");
	assert_int_equal(s->n_nodes, 2);
	assert_string_equal(s->nodes[0].node, "n1");
	assert_true(s->nodes[0].maintenance);
	assert_false(s->nodes[0].standby);
	assert_string_equal(s->nodes[1].node, "n2");
	assert_true(s->nodes[1].standby);
	assert_int_equal(s->n_fences, 1);
	assert_string_equal(s->fences[0].by, "ipmi");
	assert_int_equal(s->fences[0].time_ms, 1000);
	assert_int_equal(s->n_failcounts, 3);
	assert_string_equal(s->failcounts[0].resource, "db"); /* sorted (resource, node) */
	assert_string_equal(s->failcounts[1].node, "n1");
	assert_int_equal(s->failcounts[1].count, 5);
	assert_int_equal(s->n_events, 1);
	assert_string_equal(s->events[0].text, "n3 fenced");

	/* a later fence record replaces the node's record */
	assert_int_equal(apply_json(s,
				    "{\"kind\":\"fence_record\",\"node\":\"n3\",\"time_ms\":3000,"
				    "\"by\":\"admin\",\"method\":\"confirm-down\"}",
				    true, err, sizeof err),
			 0);
	assert_int_equal(s->n_fences, 1);
	assert_string_equal(s->fences[0].method, "confirm-down");
	/* clearing both flags removes the node entry */
	assert_int_equal(apply_json(s,
				    "{\"kind\":\"node_admin\",\"node\":\"n2\",\"standby\":false}",
				    true, err, sizeof err),
			 0);
	assert_int_equal(s->n_nodes, 1);
	/* failcount_clear of one node, then of every node */
	assert_int_equal(apply_json(s,
				    "{\"kind\":\"failcount_clear\",\"resource\":\"web\",\"node\":"
				    "\"n1\"}",
				    true, err, sizeof err),
			 0);
	assert_int_equal(s->n_failcounts, 2);
	assert_int_equal(apply_json(s, "{\"kind\":\"failcount_clear\",\"resource\":\"web\"}", true,
				    err, sizeof err),
			 0);
	assert_int_equal(s->n_failcounts, 1);
	assert_string_equal(s->failcounts[0].resource, "db");
	assert_int_equal(s->version, N_SEQ + 4);
	vg_repstate_free(s);
}

static void test_conflict(void **state)
{
	(void)state;
	vg_repstate *s = vg_repstate_new();
	char err[256];
	/* two servers both read version 0 and apply concurrently: the first in agreed order wins */
	assert_int_equal(
	    apply_json(s, "{\"kind\":\"config_commit\",\"yaml\":\"a: 1\",\"base_version\":0}", true,
		       err, sizeof err),
	    0);
	char *before = enc(s);
	err[0] = 0;
	assert_int_equal(
	    apply_json(s, "{\"kind\":\"config_commit\",\"yaml\":\"a: 2\",\"base_version\":0}", true,
		       err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "conflict"));
	char *after = enc(s);
	assert_string_equal(before, after);
	assert_string_equal(s->config_yaml, "a: 1");
	free(before);
	free(after);
	vg_repstate_free(s);
}

static void test_non_quorate(void **state)
{
	(void)state;
	vg_repstate *s = vg_repstate_new();
	char err[256];
	for (size_t i = 0; i < N_SEQ; i++) {
		err[0] = 0;
		assert_int_equal(apply_json(s, sequence[i], false, err, sizeof err), -1);
		assert_non_null(strstr(err, "quorum"));
	}
	assert_int_equal(s->version, 0);
	assert_null(s->config_yaml);
	assert_int_equal(s->n_events, 0);
	vg_repstate_free(s);
}

static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		const char *want; /* substring of the error */
	} cases[] = {
	    {"", "line"},
	    {"{\"kind\":\"event\"", "line"}, /* truncated */
	    {"[1,2]", "object"},
	    {"{}", "missing field \"kind\""},
	    {"{\"kind\":7}", "must be a string"},
	    {"{\"kind\":\"reboot_everything\"}", "unknown kind"},
	    {"{\"kind\":\"config_commit\",\"yaml\":\"a: 1\"}", "base_version"},
	    {"{\"kind\":\"config_commit\",\"yaml\":5,\"base_version\":0}", "must be a string"},
	    {"{\"kind\":\"config_commit\",\"yaml\":\"a\",\"base_version\":-1}", "integer"},
	    {"{\"kind\":\"config_commit\",\"yaml\":\"a\",\"base_version\":\"0\"}", "integer"},
	    {"{\"kind\":\"config_commit\",\"yaml\":\"a\",\"base_version\":0,\"x\":1}",
	     "unknown field \"x\""},
	    {"{\"kind\":\"config_commit\",\"yaml\":\"a\",\"base_version\":0,\"base_version\":1}",
	     "line"},
	    {"{\"kind\":\"node_admin\",\"node\":\"n1\"}", "standby"},
	    {"{\"kind\":\"node_admin\",\"node\":\"n1\",\"standby\":1}", "true or false"},
	    {"{\"kind\":\"node_admin\",\"node\":\"\",\"standby\":true}", "1..255"},
	    {"{\"kind\":\"node_admin\",\"node\":\"n\\u0000x\",\"standby\":true}", "line"},
	    {"{\"kind\":\"node_admin\",\"node\":\"n\\nx\",\"standby\":true}", "control"},
	    {"{\"kind\":\"fence_record\",\"node\":\"n1\",\"time_ms\":1,\"by\":\"d\"}", "method"},
	    {"{\"kind\":\"fence_record\",\"node\":\"n1\",\"time_ms\":1.5,\"by\":\"d\",\"method\":"
	     "\"off\"}",
	     "integer"},
	    {"{\"kind\":\"failcount_set\",\"resource\":\"r\",\"node\":\"n\",\"count\":4294967296,"
	     "\"last_failure_ms\":0}",
	     "count"},
	    {"{\"kind\":\"failcount_set\",\"resource\":\"r\",\"count\":1,\"last_failure_ms\":0}",
	     "node"},
	    {"{\"kind\":\"failcount_clear\",\"node\":\"n\"}", "resource"},
	    {"{\"kind\":\"event\",\"time_ms\":1,\"event_kind\":\"x\"}", "text"},
	    {"{\"kind\":\"event\",\"time_ms\":1,\"event_kind\":\"x\",\"text\":null}", "string"},
	    {"{\"kind\":\"state_sync\"}", "state"},
	    {"{\"kind\":\"state_sync\",\"state\":{\"format\":1}}", "epoch"},
	    {"{\"kind\":\"state_sync\",\"state\":{\"format\":2,\"epoch\":0,\"version\":0,"
	     "\"config\":null,\"nodes\":[],\"fencing\":[],\"failcounts\":[],\"events\":[]}}",
	     "format"},
	    {"{\"kind\":\"state_sync\",\"state\":{\"format\":1,\"epoch\":9,\"version\":9,"
	     "\"config\":null,\"nodes\":[{\"node\":\"b\",\"standby\":true,\"maintenance\":false},"
	     "{\"node\":\"a\",\"standby\":true,\"maintenance\":false}],\"fencing\":[],"
	     "\"failcounts\":[],\"events\":[]}}",
	     "unsorted"},
	};
	vg_repstate *s = vg_repstate_new();
	char err[256];
	for (size_t i = 0; i < N_SEQ; i++)
		assert_int_equal(apply_json(s, sequence[i], true, err, sizeof err), 0);
	char *before = enc(s);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = 0;
		vg_repmsg *m =
		    vg_repmsg_decode(cases[i].json, strlen(cases[i].json), err, sizeof err);
		if (m)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].want);
	}
	/* oversized input and an oversized field */
	size_t big = VG_REPMSG_MAX + 1;
	char *buf = malloc(big);
	assert_non_null(buf);
	memset(buf, ' ', big);
	assert_null(vg_repmsg_decode(buf, big, err, sizeof err));
	assert_non_null(strstr(err, "too large"));
	size_t tl = VG_REPSTATE_TEXT_MAX + 1;
	const char *pre = "{\"kind\":\"event\",\"time_ms\":1,\"event_kind\":\"x\",\"text\":\"";
	size_t pl = strlen(pre);
	memcpy(buf, pre, pl);
	memset(buf + pl, 'a', tl);
	memcpy(buf + pl + tl, "\"}", 2);
	assert_null(vg_repmsg_decode(buf, pl + tl + 2, err, sizeof err));
	assert_non_null(strstr(err, "1..4096"));
	free(buf);

	/* a message built in code without its fields is rejected by apply */
	vg_repmsg bad = {
	    .kind = VG_REPMSG_FENCE_RECORD, .node = "n1", .standby = -1, .maintenance = -1};
	assert_int_equal(vg_repstate_apply(s, &bad, true, err, sizeof err), -1);
	bad.kind = (vg_repmsg_kind)99;
	assert_int_equal(vg_repstate_apply(s, &bad, true, err, sizeof err), -1);

	char *after = enc(s);
	assert_string_equal(before, after);
	free(before);
	free(after);
	vg_repstate_free(s);
}

static void test_event_log_bounded(void **state)
{
	(void)state;
	vg_repstate *s = vg_repstate_new();
	char err[256];
	for (unsigned i = 0; i < VG_REPSTATE_EVENTS_MAX + 5; i++) {
		vg_repmsg m = {
		    .kind = VG_REPMSG_EVENT, .time_ms = i, .standby = -1, .maintenance = -1};
		char text[32];
		snprintf(text, sizeof text, "e%u", i);
		m.event_kind = "test";
		m.text = text;
		assert_int_equal(vg_repstate_apply(s, &m, true, err, sizeof err), 0);
	}
	assert_int_equal(s->n_events, VG_REPSTATE_EVENTS_MAX);
	assert_string_equal(s->events[0].text, "e5");
	assert_int_equal(s->events[0].time_ms, 5);
	assert_string_equal(s->events[VG_REPSTATE_EVENTS_MAX - 1].text, "e1004");
	assert_int_equal(s->version, VG_REPSTATE_EVENTS_MAX + 5);
	/* the full log survives a state_sync round trip */
	vg_repmsg sync = {
	    .kind = VG_REPMSG_STATE_SYNC, .state = s, .standby = -1, .maintenance = -1};
	size_t len;
	char *wire = vg_repmsg_encode(&sync, &len);
	assert_non_null(wire);
	vg_repmsg *d = vg_repmsg_decode(wire, len, err, sizeof err);
	assert_non_null(d);
	vg_repstate *r = vg_repstate_new();
	assert_int_equal(vg_repstate_apply(r, d, false, err, sizeof err), 0);
	char *a = enc(s), *b = enc(r);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(wire);
	vg_repmsg_free(d);
	vg_repstate_free(r);
	vg_repstate_free(s);
}

static void test_state_sync(void **state)
{
	(void)state;
	char err[256];
	vg_repstate *hi = vg_repstate_new(), *lo = vg_repstate_new();
	for (size_t i = 0; i < N_SEQ; i++)
		assert_int_equal(apply_json(hi, sequence[i], true, err, sizeof err), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(apply_json(lo, sequence[i], true, err, sizeof err), 0);
	/* the older state is refused by the newer replica */
	vg_repmsg m = {.kind = VG_REPMSG_STATE_SYNC, .state = lo, .standby = -1, .maintenance = -1};
	char *before = enc(hi);
	assert_int_equal(vg_repstate_apply(hi, &m, true, err, sizeof err), -1);
	assert_non_null(strstr(err, "older"));
	char *after = enc(hi);
	assert_string_equal(before, after);
	/* the newer state replaces the older one, even without quorum */
	m.state = hi;
	assert_int_equal(vg_repstate_apply(lo, &m, false, err, sizeof err), 0);
	char *caught = enc(lo);
	assert_string_equal(caught, before);
	free(before);
	free(after);
	free(caught);
	vg_repstate_free(hi);
	vg_repstate_free(lo);
}

#define SUM(n, e, v)                                                                               \
	{                                                                                          \
		.nodeid = (n), .epoch = (e), .version = (v)                                        \
	}

static void test_pick_source(void **state)
{
	(void)state;
	static const struct {
		vg_repstate_summary m[4];
		size_t n;
		size_t want;
	} cases[] = {
	    {{SUM(0, 0, 0)}, 0, 0},
	    {{SUM(5, 0, 0)}, 1, 0},
	    {{SUM(1, 1, 5), SUM(2, 1, 9), SUM(3, 1, 7)}, 3, 1},	  /* highest version */
	    {{SUM(1, 1, 50), SUM(2, 2, 3), SUM(3, 1, 60)}, 3, 1}, /* epoch first */
	    {{SUM(3, 2, 9), SUM(1, 2, 9), SUM(2, 2, 9)}, 3, 1},	  /* tie: lowest nodeid */
	    {{SUM(4, 0, 0), SUM(2, 0, 0), SUM(9, 0, 0), SUM(7, 0, 0)}, 4, 1}, /* all empty */
	    {{SUM(2, 3, 1), SUM(1, 2, 99), SUM(3, 3, 1), SUM(4, 3, 0)}, 4, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (vg_repstate_pick_source(cases[i].m, cases[i].n) != cases[i].want)
			fail_msg("case %zu: got %zu want %zu", i,
				 vg_repstate_pick_source(cases[i].m, cases[i].n), cases[i].want);
}

/* ---- history identity ----------------------------------------------------------- */

static vg_repstate *copy_state(const vg_repstate *s)
{
	char *t = enc(s);
	char err[256];
	vg_repstate *c = vg_repstate_decode(t, strlen(t), err, sizeof err);
	if (!c)
		fail_msg("decode: %s", err);
	free(t);
	return c;
}

/* Two halves of a two_node split both commit one change: equal (epoch, version), different
 * contents. Every member, whatever order the summaries came in, picks the same history,
 * and finds the other diverged after the common version, naming what it loses. */
static void test_history_diverged_equal_counts(void **state)
{
	(void)state;
	char err[256];
	vg_repstate *base = vg_repstate_new();
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(apply_json(base, sequence[i], true, err, sizeof err), 0);
	vg_repstate *a = copy_state(base), *b = copy_state(base);
	assert_true(vg_hid_equal(&a->hist.id, &b->hist.id));
	assert_int_equal(apply_json(a, "{\"kind\":\"node_admin\",\"node\":\"n3\",\"standby\":true}",
				    true, err, sizeof err),
			 0);
	assert_int_equal(apply_json(b,
				    "{\"kind\":\"event\",\"time_ms\":5,\"event_kind\":\"x\","
				    "\"text\":\"t\"}",
				    true, err, sizeof err),
			 0);
	assert_int_equal(a->epoch, b->epoch);
	assert_int_equal(a->version, b->version);
	assert_false(vg_hid_equal(&a->hist.id, &b->hist.id));

	/* node 2 (a) was in the larger partition (2 members), node 1 (b) alone */
	vg_repstate_summary sa = vg_repstate_summarize(a, 2, 2),
			    sb = vg_repstate_summarize(b, 1, 1);
	vg_repstate_summary orders[2][2] = {{sa, sb}, {sb, sa}};
	for (size_t o = 0; o < 2; o++) {
		size_t src = vg_repstate_pick_source(orders[o], 2);
		assert_int_equal(orders[o][src].nodeid, 2);
		uint64_t fork;
		bool known;
		const vg_repstate_summary *other = &orders[o][1 - src];
		assert_int_equal(vg_history_relation(&orders[o][src], other, &fork, &known),
				 VG_HIST_DIVERGED);
		assert_true(known);
		assert_int_equal(fork, 3);
		assert_int_equal(
		    vg_history_relation(&orders[o][src], &orders[o][src], &fork, &known),
		    VG_HIST_SAME);
	}
	char text[VG_REPSTATE_TEXT_MAX];
	uint64_t fork;
	bool known;
	vg_history_relation(&sa, &sb, &fork, &known);
	vg_history_lost_text(&sa, "n2", &sb, "n1", fork, known, text, sizeof text);
	if (!strstr(text, "after version 3") || !strstr(text, "version 4 event") ||
	    !strstr(text, "n1's history") || strstr(text, "node_admin"))
		fail_msg("lost text: %s", text);
	/* a total order: three members, two of one history with other previous views; every
	 * order of the summaries picks the same member */
	{
		vg_repstate_summary x1 = sa, y2 = sb, x3 = sa;
		x1.nodeid = 1;
		x1.prev_members = 1;
		y2.nodeid = 2;
		y2.prev_members = 2;
		x3.nodeid = 3;
		x3.prev_members = 3;
		const vg_repstate_summary *p[3] = {&x1, &y2, &x3};
		static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					       {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
		for (size_t k = 0; k < 6; k++) {
			vg_repstate_summary arr[3] = {*p[perm[k][0]], *p[perm[k][1]],
						      *p[perm[k][2]]};
			assert_int_equal(arr[vg_repstate_pick_source(arr, 3)].nodeid, 3);
		}
	}
	/* equal previous views: the lowest node id, on every member */
	sa.prev_members = sb.prev_members = 1;
	vg_repstate_summary o1[2] = {sa, sb}, o2[2] = {sb, sa};
	assert_int_equal(o1[vg_repstate_pick_source(o1, 2)].nodeid, 1);
	assert_int_equal(o2[vg_repstate_pick_source(o2, 2)].nodeid, 1);

	/* the state_sync of the picked history replaces the diverged one (equal counts) */
	vg_repmsg m = {.kind = VG_REPMSG_STATE_SYNC, .state = a, .standby = -1, .maintenance = -1};
	assert_int_equal(vg_repstate_apply(b, &m, true, err, sizeof err), 0);
	assert_true(vg_hid_equal(&a->hist.id, &b->hist.id));
	sb = vg_repstate_summarize(b, 1, 1);
	sa = vg_repstate_summarize(a, 2, 2);
	assert_int_equal(vg_history_relation(&sa, &sb, &fork, &known), VG_HIST_SAME);

	/* diverged with different counts too: b goes on with 2 more of its own */
	vg_repstate *c = copy_state(base);
	for (size_t i = 3; i < 6; i++)
		assert_int_equal(apply_json(c, sequence[i], true, err, sizeof err), 0);
	vg_repstate_summary sc = vg_repstate_summarize(c, 3, 1);
	vg_repstate_summary all[2] = {sa, sc};
	size_t src = vg_repstate_pick_source(all, 2);
	assert_int_equal(all[src].nodeid, 3); /* the higher version */
	assert_int_equal(vg_history_relation(&sc, &sa, &fork, &known), VG_HIST_DIVERGED);
	assert_int_equal(fork, 3);
	vg_repstate_free(a);
	vg_repstate_free(b);
	vg_repstate_free(c);
	vg_repstate_free(base);
}

/* A member that missed changes of the same history is behind, not diverged, and the
 * state_sync brings it to the same id; one further behind than the ring is unverified. */
static void test_history_behind_catches_up(void **state)
{
	(void)state;
	char err[256];
	vg_repstate *hi = vg_repstate_new(), *lo = vg_repstate_new();
	for (size_t i = 0; i < N_SEQ; i++)
		assert_int_equal(apply_json(hi, sequence[i], true, err, sizeof err), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(apply_json(lo, sequence[i], true, err, sizeof err), 0);
	vg_repstate_summary sh = vg_repstate_summarize(hi, 2, 2),
			    sl = vg_repstate_summarize(lo, 1, 1);
	vg_repstate_summary all[2] = {sl, sh};
	assert_int_equal(all[vg_repstate_pick_source(all, 2)].nodeid, 2);
	uint64_t fork;
	bool known;
	assert_int_equal(vg_history_relation(&sh, &sl, &fork, &known), VG_HIST_BEHIND);
	vg_repmsg m = {.kind = VG_REPMSG_STATE_SYNC, .state = hi, .standby = -1, .maintenance = -1};
	assert_int_equal(vg_repstate_apply(lo, &m, true, err, sizeof err), 0);
	assert_true(vg_hid_equal(&lo->hist.id, &hi->hist.id));
	/* the empty state is behind every history */
	vg_repstate *empty = vg_repstate_new();
	vg_repstate_summary se = vg_repstate_summarize(empty, 3, 0);
	assert_int_equal(vg_history_relation(&sh, &se, &fork, &known), VG_HIST_BEHIND);
	/* more changes than the ring keeps: the member 4 versions in is no longer checkable */
	vg_repstate *far = copy_state(hi);
	for (int i = 0; i < VG_HIST_RING + 5; i++) {
		char ev[160];
		snprintf(ev, sizeof ev,
			 "{\"kind\":\"event\",\"time_ms\":%d,\"event_kind\":\"x\",\"text\":\"e\"}",
			 i);
		assert_int_equal(apply_json(far, ev, true, err, sizeof err), 0);
	}
	assert_int_equal(far->hist.n, VG_HIST_RING);
	vg_repstate *four = vg_repstate_new();
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(apply_json(four, sequence[i], true, err, sizeof err), 0);
	vg_repstate_summary sf = vg_repstate_summarize(far, 1, 2),
			    s4 = vg_repstate_summarize(four, 2, 1);
	assert_int_equal(vg_history_relation(&sf, &s4, &fork, &known), VG_HIST_UNVERIFIED);
	assert_int_equal(vg_history_relation(&sf, &sh, &fork, &known), VG_HIST_UNVERIFIED);
	vg_repstate_free(four);
	vg_repstate_free(far);
	vg_repstate_free(empty);
	vg_repstate_free(hi);
	vg_repstate_free(lo);
}

/* The chain: deterministic over the canonical encoding, unchanged by a rejected change,
 * carried in the state's JSON; a state file without it loads with the zero id. */
static void test_history_chain_and_file(void **state)
{
	(void)state;
	char err[256];
	vg_repstate *s = vg_repstate_new();
	assert_true(vg_hid_is_zero(&s->hist.id));
	assert_int_equal(apply_json(s, sequence[0], true, err, sizeof err), 0);
	/* id 1 = H(zero || canonical encoding of the message) */
	vg_repmsg *m = vg_repmsg_decode(sequence[0], strlen(sequence[0]), err, sizeof err);
	size_t len;
	char *wire = vg_repmsg_encode(m, &len);
	vg_hid zero = {{0}}, want;
	vg_hid_next(&want, &zero, wire, len);
	assert_true(vg_hid_equal(&want, &s->hist.id));
	assert_int_equal(s->hist.n, 1);
	assert_int_equal(s->hist.ring[0].version, 1);
	assert_string_equal(s->hist.ring[0].kind, "config_commit");
	free(wire);
	vg_repmsg_free(m);
	/* rejected: not quorate, or a conflicting commit; the id stays */
	vg_hid before = s->hist.id;
	assert_int_equal(apply_json(s, sequence[1], false, err, sizeof err), -1);
	assert_int_equal(apply_json(s, sequence[8], true, err, sizeof err), -1);
	assert_true(vg_hid_equal(&before, &s->hist.id));
	assert_int_equal(s->hist.n, 1);
	/* round trip through the state's JSON */
	vg_repstate *c = copy_state(s);
	assert_true(vg_hid_equal(&c->hist.id, &s->hist.id));
	assert_int_equal(c->hist.n, 1);
	char *t = enc(s);
	assert_non_null(strstr(t, "\"history\":\""));
	vg_repstate_free(c);
	/* strict: a bad id, or a ring that does not end at the state's own point */
	static const char *const bad[] = {"\"history\":\"00\"", "\"history\":\"zz\"",
					  "\"recent\":[[1,\"00\",\"x\"]]"};
	for (size_t i = 0; i < 3; i++) {
		char doc[4096];
		snprintf(doc, sizeof doc,
			 "{\"format\":1,\"epoch\":0,\"version\":1,\"config\":null,\"nodes\":[],"
			 "\"fencing\":[],\"failcounts\":[],\"events\":[],%s}",
			 bad[i]);
		assert_null(vg_repstate_decode(doc, strlen(doc), err, sizeof err));
	}
	char doc[4096];
	snprintf(doc, sizeof doc,
		 "{\"format\":1,\"epoch\":0,\"version\":2,\"config\":null,\"nodes\":[],"
		 "\"fencing\":[],\"failcounts\":[],\"events\":[],\"history\":\"%064d\","
		 "\"recent\":[[1,\"%064d\",\"event\"]]}",
		 1, 1);
	assert_null(vg_repstate_decode(doc, strlen(doc), err, sizeof err));
	/* a file from before history ids: the zero id, an empty ring */
	const char *legacy = "{\"format\":1,\"epoch\":2,\"version\":7,\"config\":null,"
			     "\"nodes\":[],\"fencing\":[],\"failcounts\":[],\"events\":[]}";
	vg_repstate *l = vg_repstate_decode(legacy, strlen(legacy), err, sizeof err);
	assert_non_null(l);
	assert_true(vg_hid_is_zero(&l->hist.id));
	assert_int_equal(l->hist.n, 0);
	/* legacy members behind a legacy source are behind by counts, as before */
	vg_repstate_summary sl = vg_repstate_summarize(l, 1, 1);
	vg_repstate_summary se = {.nodeid = 2, .epoch = 2, .version = 3};
	uint64_t fork;
	bool known;
	assert_int_equal(vg_history_relation(&sl, &se, &fork, &known), VG_HIST_BEHIND);
	/* applying on top of a legacy state starts the chain from the zero id */
	assert_int_equal(apply_json(l, sequence[1], true, err, sizeof err), 0);
	assert_false(vg_hid_is_zero(&l->hist.id));
	vg_repstate_free(l);
	free(t);
	vg_repstate_free(s);
}

/* Property: random members, each on the main history (a prefix of it) or on a branch off
 * it; whatever order the summaries come in the same member is picked, and every member is
 * judged SAME, BEHIND or DIVERGED exactly as its construction says. */
typedef struct {
	int p, b, l; /* main[:p] then branch b's first l changes (b == 0: none) */
} lineage;

static bool is_prefix(const lineage *a, const lineage *b)
{
	if (a->l == 0)
		return a->p <= b->p;
	return a->b == b->b && a->p == b->p && a->l <= b->l;
}

static vg_repstate *build(const lineage *x)
{
	char err[256], ev[200];
	vg_repstate *s = vg_repstate_new();
	for (int i = 0; i < x->p; i++) {
		snprintf(
		    ev, sizeof ev,
		    "{\"kind\":\"event\",\"time_ms\":%d,\"event_kind\":\"main\",\"text\":\"m\"}",
		    i);
		assert_int_equal(apply_json(s, ev, true, err, sizeof err), 0);
	}
	for (int i = 0; i < x->l; i++) {
		snprintf(ev, sizeof ev,
			 "{\"kind\":\"event\",\"time_ms\":%d,\"event_kind\":\"branch\","
			 "\"text\":\"b%d\"}",
			 i, x->b);
		assert_int_equal(apply_json(s, ev, true, err, sizeof err), 0);
	}
	return s;
}

static void test_history_merge_property(void **state)
{
	(void)state;
	srand(7);
	for (int round = 0; round < 300; round++) {
		enum { N = 4 };
		lineage ln[N];
		vg_repstate *st[N];
		vg_repstate_summary sum[N];
		for (int i = 0; i < N; i++) {
			ln[i].p = rand() % 8;
			ln[i].b = rand() % 3;
			ln[i].l = ln[i].b ? 1 + rand() % 4 : 0;
			st[i] = build(&ln[i]);
			sum[i] = vg_repstate_summarize(st[i], (uint32_t)(i + 1), 1 + rand() % 3);
		}
		size_t src = vg_repstate_pick_source(sum, N);
		/* the same member whatever the order (a few rotations and a reversal) */
		for (int k = 1; k < N; k++) {
			vg_repstate_summary rot[N];
			for (int i = 0; i < N; i++)
				rot[i] = sum[(i + k) % N];
			assert_int_equal(rot[vg_repstate_pick_source(rot, N)].nodeid,
					 sum[src].nodeid);
		}
		vg_repstate_summary rev[N];
		for (int i = 0; i < N; i++)
			rev[i] = sum[N - 1 - i];
		assert_int_equal(rev[vg_repstate_pick_source(rev, N)].nodeid, sum[src].nodeid);
		for (int i = 0; i < N; i++) {
			/* nobody has a higher version than the source */
			assert_true(sum[i].version <= sum[src].version);
			uint64_t fork;
			bool known;
			vg_hist_rel rel = vg_history_relation(&sum[src], &sum[i], &fork, &known);
			vg_hist_rel want;
			if (is_prefix(&ln[i], &ln[src]) && is_prefix(&ln[src], &ln[i]))
				want = VG_HIST_SAME;
			else if (is_prefix(&ln[i], &ln[src]))
				want = VG_HIST_BEHIND; /* the empty state too */
			else
				want = VG_HIST_DIVERGED;
			if (rel != want)
				fail_msg(
				    "round %d: member %d (%d,%d,%d) vs source (%d,%d,%d): got %d "
				    "want %d",
				    round, i, ln[i].p, ln[i].b, ln[i].l, ln[src].p, ln[src].b,
				    ln[src].l, rel, want);
			if (want == VG_HIST_DIVERGED && known) {
				/* the fork is the shared main prefix (or the whole shared branch)
				 */
				int shared = ln[i].p < ln[src].p ? ln[i].p : ln[src].p;
				if (ln[i].b == ln[src].b && ln[i].p == ln[src].p)
					shared += ln[i].l < ln[src].l ? ln[i].l : ln[src].l;
				assert_int_equal(fork, (uint64_t)shared);
			}
		}
		for (int i = 0; i < N; i++)
			vg_repstate_free(st[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replicas_identical),
	    cmocka_unit_test(test_every_kind),
	    cmocka_unit_test(test_conflict),
	    cmocka_unit_test(test_non_quorate),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_event_log_bounded),
	    cmocka_unit_test(test_state_sync),
	    cmocka_unit_test(test_pick_source),
	    cmocka_unit_test(test_history_diverged_equal_counts),
	    cmocka_unit_test(test_history_behind_catches_up),
	    cmocka_unit_test(test_history_chain_and_file),
	    cmocka_unit_test(test_history_merge_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
