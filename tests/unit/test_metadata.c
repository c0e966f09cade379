/* test_metadata.c - unit tests of the agents' meta-data (src/node/metadata.c): the CLI's
 * synchronous view on a real agent (Debian's IPaddr2), and the daemon's cache on a real loop
 * with test agents written into a temporary OCF_ROOT: callbacks never inside the call, agents
 * run in parallel, a second request served from the cache, a changed agent file run again, a
 * timeout, a cancelled request, and the config loader reading the cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "metadata.h"
#include "ocf.h"

/* ---- the CLI's view ---------------------------------------------------------- */

static void test_sync_real_agent(void **state)
{
	(void)state;
	vg_md_cache *c = vg_md_cache_new_sync("/usr/lib/ocf", 10000);
	vg_agent_info ai = vg_md_cache_info(c);
	const vg_ocf_metadata *md = NULL;
	char err[512] = "";
	assert_int_equal(ai.metadata(ai.arg, "heartbeat", "IPaddr2", &md, err, sizeof err),
			 VG_AGENT_OK);
	bool ip_required = false;
	for (size_t i = 0; i < md->n_params; i++)
		if (!strcmp(md->params[i].name, "ip"))
			ip_required = md->params[i].required;
	assert_true(ip_required);
	/* asked again: the same answer, not run again */
	assert_int_equal(ai.metadata(ai.arg, "heartbeat", "IPaddr2", &md, err, sizeof err),
			 VG_AGENT_OK);
	assert_int_equal(vg_md_cache_runs(c), 1);

	assert_int_equal(ai.metadata(ai.arg, "heartbeat", "NoSuchAgent", &md, err, sizeof err),
			 VG_AGENT_NOT_INSTALLED);
	assert_string_equal(err, "under /usr/lib/ocf");
	assert_int_equal(ai.metadata(ai.arg, "..", "x", &md, err, sizeof err),
			 VG_AGENT_NOT_INSTALLED);
	assert_int_equal(vg_md_cache_runs(c), 1);
	vg_md_cache_free(c);
}

/* ---- the daemon's cache -------------------------------------------------------- */

typedef struct {
	char root[64];
	char runs[128]; /* each run of a test agent appends a line here */
	uv_loop_t loop;
} fixture;

/* An agent that records its run, sleeps, then prints meta-data requiring `param`. */
static void write_agent(fixture *f, const char *name, const char *sleep_s, const char *extra)
{
	char path[256];
	snprintf(path, sizeof path, "%s/resource.d/t/%s", f->root, name);
	FILE *o = fopen(path, "w");
	assert_non_null(o);
	fprintf(o,
		"#!/bin/sh\n"
		"[ \"$1\" = meta-data ] || exit 3\n"
		"echo \"start %s\" >> %s\n"
		"echo noise >&2\n"
		"sleep %s\n"
		"echo end >> %s\n"
		"cat <<'X'\n"
		"<?xml version=\"1.0\"?>\n"
		"<resource-agent name=\"%s\"><parameters>\n"
		"<parameter name=\"param\" required=\"1\"><content type=\"string\"/></parameter>\n"
		"</parameters><actions><action name=\"start\" timeout=\"9s\"/></actions>\n"
		"</resource-agent>\n"
		"X\n"
		"%s\n",
		name, f->runs, sleep_s, f->runs, name, extra);
	fclose(o);
	chmod(path, 0755);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->root, sizeof f->root, "/tmp/vigil-md-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	char dir[128];
	snprintf(dir, sizeof dir, "%s/resource.d", f->root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/resource.d/t", f->root);
	mkdir(dir, 0755);
	snprintf(f->runs, sizeof f->runs, "%s/runs", f->root);
	write_agent(f, "SlowA", "0.4", "");
	write_agent(f, "SlowB", "0.4", "");
	write_agent(f, "Hang", "30", "");
	write_agent(f, "Fast", "0", "");
	uv_loop_init(&f->loop);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The runs so far, as the first letters of their lines: "ssee" is two runs side by side. */
static const char *order(const fixture *f, char *buf, size_t len)
{
	char *t = vg_file_read(f->runs, 1 << 20, NULL, NULL, 0);
	size_t n = 0;
	for (char *p = t; p && *p && n + 1 < len; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		buf[n++] = *p;
	buf[n] = '\0';
	free(t);
	return buf;
}

static int lines(const fixture *f)
{
	char buf[64];
	int n = 0;
	for (const char *p = order(f, buf, sizeof buf); *p; p++)
		n += *p == 's';
	return n;
}

static const char yaml_fmt[] = "cluster: {name: x}\n"
			       "nodes: [{name: n1, address: 10.0.0.1}]\n"
			       "resources:\n"
			       "  - {name: a, type: 'ocf:t:%s', params: {param: '1'}}\n"
			       "  - {name: b, type: 'ocf:t:%s'}\n";

static char *yaml_of(const char *a, const char *b)
{
	char *s;
	assert_true(asprintf(&s, yaml_fmt, a, b) > 0);
	return s;
}

static void on_ready(void *arg)
{
	(*(int *)arg)++;
}

/* Run the loop until *done (bounded); the elapsed ms. */
static uint64_t run_until(fixture *f, const int *done)
{
	uint64_t t0 = uv_hrtime();
	while (!*done && uv_hrtime() - t0 < 10ull * 1000000000)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_true(*done);
	return (uv_hrtime() - t0) / 1000000;
}

static vg_agent_answer ask(vg_md_cache *c, const char *agent, char *err, size_t errlen)
{
	vg_agent_info ai = vg_md_cache_info(c);
	const vg_ocf_metadata *md = NULL;
	return ai.metadata(ai.arg, "t", agent, &md, err, errlen);
}

static void test_cache_parallel_then_cached(void **state)
{
	fixture *f = *state;
	vg_md_cache *c = vg_md_cache_new(&f->loop, f->root, 5000);
	char *y = yaml_of("SlowA", "SlowB");
	const char *texts[] = {y, y}; /* the same agents twice: each run once */
	int done = 0;
	vg_md_cache_prepare(c, texts, 2, on_ready, &done);
	assert_int_equal(done, 0); /* never inside the call */
	char err[512];
	assert_int_equal(ask(c, "SlowA", err, sizeof err), VG_AGENT_UNKNOWN);
	run_until(f, &done);
	assert_int_equal(done, 1);
	assert_int_equal(vg_md_cache_runs(c), 2);
	char buf[64];
	assert_string_equal(order(f, buf, sizeof buf), "ssee"); /* side by side */
	assert_int_equal(ask(c, "SlowA", err, sizeof err), VG_AGENT_OK);
	assert_int_equal(ask(c, "Nope", err, sizeof err), VG_AGENT_UNKNOWN);

	/* the loader reads the cache: b lacks the parameter SlowB's meta-data requires */
	vg_agent_info ai = vg_md_cache_info(c);
	vg_config_errors e;
	assert_null(vg_config_load_buffer("y.yaml", y, strlen(y), &ai, &e));
	assert_int_equal(e.count, 1);
	char line[512];
	vg_config_error_format(&e.items[0], line, sizeof line);
	assert_string_equal(line, "y.yaml:5: resources[1].params: missing required parameter "
				  "'param' (required by ocf:t:SlowB)");
	vg_config_errors_free(&e);

	/* again: from the cache, no run, the callback still from the loop */
	done = 0;
	vg_md_cache_prepare(c, texts, 1, on_ready, &done);
	assert_int_equal(done, 0);
	uint64_t ms = run_until(f, &done);
	assert_true(ms < 500);
	assert_int_equal(vg_md_cache_runs(c), 2);
	assert_int_equal(lines(f), 2);

	/* a changed agent file (its size) is run again; the other is not */
	write_agent(f, "SlowB", "0.1", "# changed");
	done = 0;
	vg_md_cache_prepare(c, texts, 1, on_ready, &done);
	run_until(f, &done);
	assert_int_equal(vg_md_cache_runs(c), 3);
	assert_int_equal(lines(f), 3);

	/* an agent removed is not installed (nothing run) */
	char path[256];
	snprintf(path, sizeof path, "%s/resource.d/t/SlowA", f->root);
	unlink(path);
	done = 0;
	vg_md_cache_prepare(c, texts, 1, on_ready, &done);
	run_until(f, &done);
	assert_int_equal(vg_md_cache_runs(c), 3);
	assert_int_equal(ask(c, "SlowA", err, sizeof err), VG_AGENT_NOT_INSTALLED);
	assert_non_null(strstr(err, f->root));
	free(y);
	vg_md_cache_free(c);
}

static void test_cache_timeout_and_cancel(void **state)
{
	fixture *f = *state;
	vg_md_cache *c = vg_md_cache_new(&f->loop, f->root, 1000);
	char *y = yaml_of("Hang", "Fast");
	const char *texts[] = {y};
	int done = 0;
	uv_update_time(&f->loop); /* the timeout runs on the loop's clock */
	uint64_t t0 = uv_now(&f->loop);
	vg_md_cache_prepare(c, texts, 1, on_ready, &done);
	run_until(f, &done);
	uv_update_time(&f->loop);
	assert_true(uv_now(&f->loop) - t0 >= 1000);
	char err[512];
	assert_int_equal(ask(c, "Hang", err, sizeof err), VG_AGENT_FAILED);
	assert_non_null(strstr(err, "timed out after 1000 ms"));
	/* a failure is not kept: the next request runs it again */
	int again = 0;
	vg_md_req *r = vg_md_cache_prepare(c, texts, 1, on_ready, &again);
	assert_int_equal(vg_md_cache_runs(c), 3);
	vg_md_req_cancel(r);
	/* freed with an agent still running: killed, no callback, the loop ends */
	vg_md_cache_prepare(c, texts, 1, on_ready, &again);
	vg_md_cache_free(c);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(again, 0);
	free(y);
}

/* ---- the one file reader (src/core/file.c), which the CLI and the tests above use ---- */

static void test_file_read(void **state)
{
	(void)state;
	char err[256], path[] = "/tmp/vigil-file-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char big[10000];
	memset(big, 'x', sizeof big);
	big[5] = '\0'; /* NULs are content */
	assert_int_equal(write(fd, big, sizeof big), (ssize_t)sizeof big);
	close(fd);
	size_t len = 0;
	char *t = vg_file_read(path, sizeof big, &len, err, sizeof err);
	assert_non_null(t);
	assert_int_equal(len, sizeof big);
	assert_memory_equal(t, big, sizeof big);
	assert_int_equal(t[len], '\0');
	free(t);
	assert_null(vg_file_read(path, sizeof big - 1, &len, err, sizeof err));
	assert_string_equal(err, "larger than 9999 bytes");
	unlink(path);
	assert_null(vg_file_read(path, 100, &len, err, sizeof err));
	assert_string_equal(err, "cannot open: No such file or directory");
	/* a /proc file (stat says size 0) is read to its end */
	t = vg_file_read("/proc/self/stat", 4096, &len, NULL, 0);
	assert_non_null(t);
	assert_true(len > 20 && strchr(t, ')'));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_read),
	    cmocka_unit_test(test_sync_real_agent),
	    cmocka_unit_test_setup_teardown(test_cache_parallel_then_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_timeout_and_cancel, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
