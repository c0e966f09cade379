/* Unit tests: the replicated state on disk: the snapshot, the change log's records, replay,
 * a torn tail, and the store writing off the loop (store.c, replog.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "file.h"
#include "replog.h"
#include "repstate.h"
#include "store.h"

static const char *const sequence[] = {
    "{\"base_version\":0,\"kind\":\"config_commit\",\"yaml\":\"cluster:\\n  name: demo\\n\"}",
    "{\"kind\":\"node_admin\",\"node\":\"n2\",\"standby\":true}",
    "{\"kind\":\"node_admin\",\"maintenance\":true,\"node\":\"n1\"}",
    "{\"by\":\"ipmi\",\"kind\":\"fence_record\",\"method\":\"off\",\"node\":\"n3\",\"time_ms\":"
    "1000}",
    "{\"count\":2,\"kind\":\"failcount_set\",\"last_failure_ms\":1500,\"node\":\"n2\",\"resource\":"
    "\"web\"}",
    "{\"event_kind\":\"fence\",\"kind\":\"event\",\"text\":\"n3 fenced\",\"time_ms\":2000}",
};
#define N_SEQ (sizeof sequence / sizeof sequence[0])

static char *enc(const vg_repstate *s)
{
	size_t len;
	char *t = vg_repstate_encode(s, &len);
	assert_non_null(t);
	return t;
}

/* What the store has on disk in dir loads back as exactly s: same JSON, same history id. */
static void assert_loads_as(const char *dir, const vg_repstate *s)
{
	char err[512];
	vg_repstate *l;
	assert_int_equal(vg_store_load(dir, &l, NULL, NULL, err, sizeof err), 0);
	char *a = enc(s), *b = enc(l);
	assert_string_equal(a, b);
	assert_true(vg_hid_equal(&s->hist.id, &l->hist.id));
	free(a);
	free(b);
	vg_repstate_free(l);
}

/* Apply one change as cluster.c does: decode, apply, queue its record. */
static void apply_store(vg_repstate *s, vg_store *st, const char *json)
{
	char err[256];
	vg_repmsg *m = vg_repmsg_decode(json, strlen(json), err, sizeof err);
	if (!m)
		fail_msg("decode %s: %s", json, err);
	if (vg_repstate_apply(s, m, true, err, sizeof err) != 0)
		fail_msg("apply %s: %s", json, err);
	vg_repmsg_free(m);
	if (st)
		vg_store_append(st, s, json, strlen(json));
}

static void drain(uv_loop_t *loop, vg_store *st)
{
	while (vg_store_pending(st) > 0)
		uv_run(loop, UV_RUN_ONCE);
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
	assert_int_equal(vg_store_load(dir, &s, NULL, NULL, err, sizeof err), 0);
	assert_non_null(s);
	assert_int_equal(s->version, 0);
	assert_int_equal(s->epoch, 0);
	assert_null(s->config_yaml);
	for (size_t i = 0; i < N_SEQ; i++)
		apply_store(s, NULL, sequence[i]);
	assert_int_equal(vg_store_write_snapshot(s, dir, err, sizeof err), 0);
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
	assert_int_equal(vg_store_load(dir, &l, NULL, NULL, err, sizeof err), 0);
	char *text2 = enc(l);
	assert_string_equal(text, text2);
	assert_int_equal(vg_store_write_snapshot(l, dir, err, sizeof err), 0);
	assert_int_equal(count_entries(dir), 1);
	free(text);
	free(text2);
	vg_repstate_free(s);
	vg_repstate_free(l);
	/* a directory that does not exist is reported */
	s = vg_repstate_new();
	assert_int_equal(vg_store_write_snapshot(s, "/nonexistent/vigil-dir", err, sizeof err), -1);
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
		assert_int_equal(vg_store_load(dir, &s, NULL, NULL, err, sizeof err), -1);
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

static off_t file_size(const char *dir, const char *name)
{
	char p[512];
	struct stat sb;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (stat(p, &sb) < 0)
		return -1;
	return sb.st_size;
}

static void append_bytes(const char *dir, const void *b, size_t len)
{
	char p[512];
	snprintf(p, sizeof p, "%s/changes.log", dir);
	int fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
}

static void test_record_codec(void **state)
{
	(void)state;
	vg_hid id;
	memset(id.b, 0xab, sizeof id.b);
	const char *p = sequence[1];
	size_t len = strlen(p), n = vg_replog_record_size(len);
	uint8_t *b = malloc(n);
	vg_replog_record_put(b, 42, &id, p, len);
	vg_replog_record r;
	assert_int_equal(vg_replog_record_get(b, n, &r), (long)n);
	assert_int_equal(r.version, 42);
	assert_true(vg_hid_equal(&r.id, &id));
	assert_int_equal(r.len, len);
	assert_memory_equal(r.payload, p, len);
	assert_int_equal(vg_replog_record_get(b, 0, &r), 0);
	/* torn anywhere: in the header, in the payload */
	for (size_t cut = 1; cut < n; cut += 7)
		assert_int_equal(vg_replog_record_get(b, cut, &r), -1);
	/* any flipped byte is caught */
	for (size_t i = 0; i < n; i++) {
		b[i] ^= 0x40;
		if (vg_replog_record_get(b, n, &r) != -1)
			fail_msg("flip of byte %zu accepted", i);
		b[i] ^= 0x40;
	}
	free(b);
}

/* The live state, written through the store with snapshots and log, loads back the same:
 * same JSON, same history id. */
static void test_snapshot_and_replay_equal_live(void **state)
{
	(void)state;
	char err[512];
	char *dir = make_dir();
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_repstate *s;
	vg_store *st = vg_store_open(&loop, dir, &s, err, sizeof err);
	assert_non_null(st);
	assert_int_equal(s->version, 0);
	for (size_t i = 0; i < N_SEQ; i++)
		apply_store(s, st, sequence[i]);
	drain(&loop, st);
	/* only the log so far */
	assert_int_equal(file_size(dir, "state.json"), -1);
	assert_true(file_size(dir, "changes.log") > 0);
	assert_loads_as(dir, s);
	/* enough changes to pass VG_STORE_LOG_MAX: a snapshot, then a log again */
	char text[3001];
	memset(text, 'x', 3000);
	text[3000] = 0;
	for (int i = 0; i < 500; i++) {
		char ev[3200];
		snprintf(ev, sizeof ev,
			 "{\"event_kind\":\"bulk\",\"kind\":\"event\",\"text\":\"%d %s\","
			 "\"time_ms\":%d}",
			 i, text, i);
		apply_store(s, st, ev);
		if (i % 50 == 0)
			drain(&loop, st);
	}
	drain(&loop, st);
	assert_true(file_size(dir, "state.json") > 0);
	assert_true(file_size(dir, "changes.log") < VG_STORE_LOG_MAX);
	assert_loads_as(dir, s);
	assert_int_equal(s->version, N_SEQ + 500);
	/* a whole state replaced (state_sync): a snapshot, the log emptied */
	vg_store_snapshot(st, s);
	drain(&loop, st);
	assert_int_equal(file_size(dir, "changes.log"), 0);
	/* closing writes what is queued */
	apply_store(s, st, sequence[1]);
	vg_store_close(st);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_loads_as(dir, s);
	vg_repstate_free(s);
	assert_int_equal(uv_loop_close(&loop), 0);
	remove_dir(dir);
}

/* A crash mid-append leaves a torn record: it is dropped on load (the rest is kept) and
 * opening the store cuts it off so new records follow the good ones. A record that does not
 * continue the snapshot (a gap, another history) ends the log the same way. */
static void test_torn_tail_dropped(void **state)
{
	(void)state;
	char err[512];
	char *dir = make_dir();
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_repstate *s;
	vg_store *st = vg_store_open(&loop, dir, &s, err, sizeof err);
	assert_non_null(st);
	for (size_t i = 0; i < N_SEQ; i++)
		apply_store(s, st, sequence[i]);
	vg_store_close(st);
	uv_run(&loop, UV_RUN_DEFAULT);
	off_t good = file_size(dir, "changes.log");
	/* half of the next record */
	char *st_text = enc(s);
	vg_repstate *next = vg_repstate_decode(st_text, strlen(st_text), err, sizeof err);
	free(st_text);
	const char *more = "{\"kind\":\"node_admin\",\"node\":\"n4\",\"standby\":true}";
	apply_store(next, NULL, more);
	size_t rl = vg_replog_record_size(strlen(more));
	uint8_t *rec = malloc(rl);
	vg_replog_record_put(rec, next->version, &next->hist.id, more, strlen(more));
	append_bytes(dir, rec, rl / 2);
	vg_repstate *l;
	size_t lg, ll;
	assert_int_equal(vg_store_load(dir, &l, &lg, &ll, err, sizeof err), 0);
	assert_int_equal(lg, (size_t)good);
	assert_int_equal(ll, (size_t)good + rl / 2);
	char *a = enc(s), *b = enc(l);
	assert_string_equal(a, b);
	free(b);
	vg_repstate_free(l);
	/* opening cuts it; the whole record appended after loads */
	st = vg_store_open(&loop, dir, &l, err, sizeof err);
	assert_non_null(st);
	assert_int_equal(file_size(dir, "changes.log"), good);
	vg_store_close(st);
	uv_run(&loop, UV_RUN_DEFAULT);
	vg_repstate_free(l);
	append_bytes(dir, rec, rl);
	assert_int_equal(vg_store_load(dir, &l, &lg, &ll, err, sizeof err), 0);
	assert_int_equal(lg, ll);
	assert_int_equal(l->version, N_SEQ + 1);
	assert_true(vg_hid_equal(&l->hist.id, &next->hist.id));
	vg_repstate_free(l);
	/* a record claiming a wrong id, and one leaving a gap, are not applied */
	vg_hid bad = next->hist.id;
	bad.b[0] ^= 1;
	const char *more2 = "{\"kind\":\"node_admin\",\"node\":\"n5\",\"standby\":true}";
	size_t rl2 = vg_replog_record_size(strlen(more2));
	uint8_t *rec2 = malloc(rl2);
	uint64_t versions[2] = {N_SEQ + 2, N_SEQ + 3};
	for (int k = 0; k < 2; k++) {
		vg_replog_record_put(rec2, versions[k], k == 0 ? &bad : &next->hist.id, more2,
				     strlen(more2));
		char lp[512];
		snprintf(lp, sizeof lp, "%s/changes.log", dir);
		assert_int_equal(truncate(lp, good + (off_t)rl), 0);
		append_bytes(dir, rec2, rl2);
		assert_int_equal(vg_store_load(dir, &l, &lg, &ll, err, sizeof err), 0);
		assert_int_equal(lg, (size_t)good + rl);
		assert_int_equal(l->version, N_SEQ + 1);
		vg_repstate_free(l);
	}
	free(rec);
	free(rec2);
	free(a);
	vg_repstate_free(next);
	vg_repstate_free(s);
	assert_int_equal(uv_loop_close(&loop), 0);
	remove_dir(dir);
}

/* The count of changes on disk: what cluster.c waits for before telling a client its
 * change succeeded. It grows only when a write has finished, and the callback says so. */
static void note_durable(void *arg, uint64_t durable)
{
	*(uint64_t *)arg = durable;
}

static void test_durable_count(void **state)
{
	(void)state;
	char err[512];
	char *dir = make_dir();
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_repstate *s;
	vg_store *st = vg_store_open(&loop, dir, &s, err, sizeof err);
	assert_non_null(st);
	uint64_t seen = 0;
	vg_store_on_durable(st, note_durable, &seen);
	assert_int_equal(vg_store_recorded(st), 0);
	assert_int_equal(vg_store_durable(st), 0);
	for (size_t i = 0; i < 3; i++)
		apply_store(s, st, sequence[i]);
	assert_int_equal(vg_store_recorded(st), 3);
	assert_true(vg_store_durable(st) < 3); /* written off the loop, not yet */
	drain(&loop, st);
	assert_int_equal(vg_store_durable(st), 3);
	assert_int_equal(seen, 3);
	vg_store_snapshot(st, s);
	assert_int_equal(vg_store_recorded(st), 4);
	drain(&loop, st);
	assert_int_equal(seen, 4);
	vg_store_close(st);
	uv_run(&loop, UV_RUN_DEFAULT);
	vg_repstate_free(s);
	assert_int_equal(uv_loop_close(&loop), 0);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_corrupt_file),
	    cmocka_unit_test(test_record_codec),
	    cmocka_unit_test(test_snapshot_and_replay_equal_live),
	    cmocka_unit_test(test_torn_tail_dropped),
	    cmocka_unit_test(test_durable_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
