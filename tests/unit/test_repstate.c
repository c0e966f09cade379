/* Unit tests: the replicated state machine, its messages and its persistence (table-driven). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
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

static void test_pick_source(void **state)
{
	(void)state;
	static const struct {
		vg_repstate_summary m[4];
		size_t n;
		size_t want;
	} cases[] = {
	    {{{0}}, 0, 0},
	    {{{5, 0, 0}}, 1, 0},
	    {{{1, 1, 5}, {2, 1, 9}, {3, 1, 7}}, 3, 1},		  /* highest version */
	    {{{1, 1, 50}, {2, 2, 3}, {3, 1, 60}}, 3, 1},	  /* epoch first */
	    {{{3, 2, 9}, {1, 2, 9}, {2, 2, 9}}, 3, 1},		  /* tie: lowest nodeid */
	    {{{4, 0, 0}, {2, 0, 0}, {9, 0, 0}, {7, 0, 0}}, 4, 1}, /* all empty */
	    {{{2, 3, 1}, {1, 2, 99}, {3, 3, 1}, {4, 3, 0}}, 4, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (vg_repstate_pick_source(cases[i].m, cases[i].n) != cases[i].want)
			fail_msg("case %zu: got %zu want %zu", i,
				 vg_repstate_pick_source(cases[i].m, cases[i].n), cases[i].want);
}

static char *make_dir(void)
{
	char *d = strdup("/tmp/vigil-repstate-XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_dir(char *d)
{
	DIR *dh = opendir(d);
	assert_non_null(dh);
	struct dirent *e;
	char p[512];
	while ((e = readdir(dh))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", d, e->d_name);
		unlink(p);
	}
	closedir(dh);
	rmdir(d);
	free(d);
}

static size_t count_entries(const char *d)
{
	DIR *dh = opendir(d);
	assert_non_null(dh);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dh)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dh);
	return n;
}

static char *read_file(const char *path, size_t *len)
{
	char *b = vg_file_read(path, 1 << 20, len, NULL, 0);
	assert_non_null(b);
	return b;
}

static void test_save_load(void **state)
{
	(void)state;
	char err[512], path[512];
	char *dir = make_dir();
	vg_repstate *s = NULL;
	/* missing file: empty state */
	assert_int_equal(vg_repstate_load(dir, &s, err, sizeof err), 0);
	assert_non_null(s);
	assert_int_equal(s->version, 0);
	assert_int_equal(s->epoch, 0);
	assert_null(s->config_yaml);
	for (size_t i = 0; i < N_SEQ; i++)
		assert_int_equal(apply_json(s, sequence[i], true, err, sizeof err), 0);
	assert_int_equal(vg_repstate_save(s, dir, err, sizeof err), 0);
	/* atomic: only state.json remains, no temp file */
	assert_int_equal(count_entries(dir), 1);
	snprintf(path, sizeof path, "%s/state.json.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	/* the file is the state_sync JSON */
	snprintf(path, sizeof path, "%s/state.json", dir);
	size_t flen;
	char *file = read_file(path, &flen);
	char *text = enc(s);
	assert_int_equal(flen, strlen(text) + 1);
	assert_memory_equal(file, text, strlen(text));
	free(file);
	/* round trip; saving again over it works */
	vg_repstate *l = NULL;
	assert_int_equal(vg_repstate_load(dir, &l, err, sizeof err), 0);
	char *text2 = enc(l);
	assert_string_equal(text, text2);
	assert_int_equal(vg_repstate_save(l, dir, err, sizeof err), 0);
	assert_int_equal(count_entries(dir), 1);
	free(text);
	free(text2);
	vg_repstate_free(s);
	vg_repstate_free(l);
	/* a directory that does not exist is reported */
	s = vg_repstate_new();
	assert_int_equal(vg_repstate_save(s, "/nonexistent/vigil-dir", err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/vigil-dir"));
	vg_repstate_free(s);
	remove_dir(dir);
}

static void test_corrupt_file(void **state)
{
	(void)state;
	static const char *const bodies[] = {
	    "{\"format\":1,\"epoch\":1,\"vers", /* truncated */
	    "",					/* empty */
	    "{\"format\":1,\"epoch\":1,\"version\":2,\"config\":null,\"nodes\":[],"
	    "\"fencing\":[],\"failcounts\":[]}", /* field missing */
	    "garbage\n",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		char *dir = make_dir();
		char path[512], err[512];
		snprintf(path, sizeof path, "%s/state.json", dir);
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fputs(bodies[i], f);
		fclose(f);
		vg_repstate *s = (vg_repstate *)1;
		err[0] = 0;
		assert_int_equal(vg_repstate_load(dir, &s, err, sizeof err), -1);
		assert_null(s);
		if (!strstr(err, path))
			fail_msg("case %zu: error \"%s\" does not name %s", i, err, path);
		size_t len;
		char *left = read_file(path, &len);
		assert_int_equal(len, strlen(bodies[i]));
		assert_memory_equal(left, bodies[i], len);
		free(left);
		remove_dir(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replicas_identical), cmocka_unit_test(test_every_kind),
	    cmocka_unit_test(test_conflict),	       cmocka_unit_test(test_non_quorate),
	    cmocka_unit_test(test_malformed),	       cmocka_unit_test(test_event_log_bounded),
	    cmocka_unit_test(test_state_sync),	       cmocka_unit_test(test_pick_source),
	    cmocka_unit_test(test_save_load),	       cmocka_unit_test(test_corrupt_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
