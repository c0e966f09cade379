/* test_fence.c - unit tests of fencing through the fence-agents stdin protocol (src/node/fence.c):
 * Debian's real fence_dummy (file mode for off/on/status, fail mode for a failing level),
 * levels and their topology semantics, a hanging agent killed with its process group at its
 * timeout, cancellation, and the exact stdin an agent receives (shell-script agents written
 * to a temporary directory). Configurations are real cluster.yaml files loaded with
 * vg_config_load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "config.h"
#include "fence.h"
#include "file.h"

#define FENCE_DUMMY "/usr/sbin/fence_dummy"

typedef struct {
	char dir[64];
	uv_loop_t loop;
} fixture;

typedef struct {
	int calls;
	vg_fence_result res;
} outcome;

/* ---- helpers -------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/vigil-fence-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	assert_int_equal(uv_loop_close(&f->loop), 0);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void path_in(const fixture *f, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", f->dir, name);
}

static void write_file(const fixture *f, const char *name, mode_t mode, const char *fmt, ...)
{
	char path[256];
	path_in(f, name, path, sizeof path);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* The whole text of a file in the fixture's directory; "" when absent. Caller frees. */
static char *read_file(const fixture *f, const char *name)
{
	char path[256];
	path_in(f, name, path, sizeof path);
	char *buf = vg_file_read(path, 1 << 20, NULL, NULL, 0);
	return buf ? buf : strdup("");
}

/* A cluster of n1, n2, n3 (servers) with the given `fence_devices:` items. */
static vg_config *load_cfg(const fixture *f, const char *devices)
{
	write_file(f, "cluster.yaml", 0644,
		   "cluster:\n  name: fence\n"
		   "nodes:\n"
		   "  - {name: n1, address: 10.0.0.1, role: server}\n"
		   "  - {name: n2, address: 10.0.0.2, role: server}\n"
		   "  - {name: n3, address: 10.0.0.3, role: server}\n"
		   "fence_devices:\n%s",
		   devices);
	char path[256];
	path_in(f, "cluster.yaml", path, sizeof path);
	vg_config_errors e;
	vg_config *c = vg_config_load(path, NULL, &e);
	for (size_t i = 0; i < e.count; i++) {
		char buf[1024];
		vg_config_error_format(&e.items[i], buf, sizeof buf);
		print_error("unexpected: %s\n", buf);
	}
	assert_int_equal(e.count, 0);
	assert_non_null(c);
	vg_config_errors_free(&e);
	return c;
}

static void on_done(void *arg, const vg_fence_result *res)
{
	outcome *o = arg;
	o->calls++;
	o->res = *res;
}

/* Runs one fencing operation to its end; the callback must come from the loop, once. The
 * configuration is freed before the loop runs: the operation must not need it any more. */
static outcome fence(fixture *f, vg_config *c, const char *target, const char *action)
{
	outcome o = {0};
	vg_fence_op *op = vg_fence_run(&f->loop, c, target, action, on_done, &o);
	assert_non_null(op);
	assert_int_equal(o.calls, 0);
	vg_config_free(c);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 1);
	return o;
}

static bool contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		print_error("'%s' does not contain '%s'\n", hay, needle);
		return false;
	}
	return true;
}

/* Alive and not a zombie. */
static bool pid_alive(long pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z';
}

/* Reads "PID\n" lines written by a script agent. */
static size_t read_pids(const fixture *f, const char *name, long *pids, size_t max)
{
	char *text = read_file(f, name);
	size_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(text, "\n", &save); tok && n < max;
	     tok = strtok_r(NULL, "\n", &save))
		pids[n++] = strtol(tok, NULL, 10);
	free(text);
	return n;
}

/* A script agent that records its pid and a background child's pid, then hangs. */
static void write_hanging_agent(const fixture *f)
{
	write_file(f, "hang", 0755,
		   "#!/bin/sh\n"
		   "echo $$ > %s/hang.pids\n"
		   "sleep 300 &\n"
		   "echo $! >> %s/hang.pids\n"
		   "echo hanging now >&2\n"
		   "sleep 300\n",
		   f->dir, f->dir);
}

/* ---- fence_dummy, the real agent ------------------------------------------ */

static void test_dummy_on_off_status(void **state)
{
	fixture *f = *state;
	char devs[512];
	snprintf(devs, sizeof devs,
		 "  - name: d1\n"
		 "    agent: fence_dummy\n"
		 "    params: {type: file, status_file: %s/power}\n"
		 "    targets: [n2]\n",
		 f->dir);

	/* no status file: fence_dummy says off (status exits 2, which is not success) */
	outcome o = fence(f, load_cfg(f, devs), "n2", "status");
	assert_false(o.res.ok);
	assert_true(contains(o.res.detail, "exit 2"));
	assert_true(contains(o.res.detail, "Status: OFF"));

	o = fence(f, load_cfg(f, devs), "n2", "on");
	assert_true(o.res.ok);
	assert_int_equal(o.res.level, 1);
	assert_string_equal(o.res.device, "d1");
	assert_true(contains(o.res.detail, "fence_dummy on n2: ok"));
	char *power = read_file(f, "power");
	assert_string_equal(power, "on");
	free(power);

	o = fence(f, load_cfg(f, devs), "n2", "status");
	assert_true(o.res.ok);

	o = fence(f, load_cfg(f, devs), "n2", "off");
	assert_true(o.res.ok);
	assert_true(contains(o.res.detail, "fence_dummy off n2: ok"));
	power = read_file(f, "power");
	assert_string_equal(power, "off");
	free(power);

	o = fence(f, load_cfg(f, devs), "n2", "status");
	assert_false(o.res.ok);
	assert_true(contains(o.res.detail, "exit 2"));

	o = fence(f, load_cfg(f, devs), "n2", "reboot");
	assert_true(o.res.ok);
	power = read_file(f, "power");
	assert_string_equal(power, "on");
	free(power);

	o = fence(f, load_cfg(f, devs), "n2", "monitor");
	assert_true(o.res.ok);
}

/* Level 1 is fence_dummy in its failing mode (it never sees the power go off); level 2, listed
 * first in the file, is fence_dummy in file mode and must be the one that succeeds. */
static void test_level2_after_level1_fails(void **state)
{
	fixture *f = *state;
	char devs[1024];
	snprintf(devs, sizeof devs,
		 "  - name: backup\n"
		 "    agent: fence_dummy\n"
		 "    params: {type: file, status_file: %s/power}\n"
		 "    targets: [n1, n2]\n"
		 "    level: 2\n"
		 "  - name: broken\n"
		 "    agent: /usr/sbin/fence_dummy\n"
		 "    params: {type: fail, power_timeout: 1}\n"
		 "    targets: [n2]\n"
		 "    level: 1\n",
		 f->dir);
	write_file(f, "power", 0644, "on");
	outcome o = fence(f, load_cfg(f, devs), "n2", "off");
	assert_true(o.res.ok);
	assert_int_equal(o.res.level, 2);
	assert_string_equal(o.res.device, "backup");
	char *power = read_file(f, "power");
	assert_string_equal(power, "off");
	free(power);
}

static void test_all_levels_fail(void **state)
{
	fixture *f = *state;
	write_file(f, "refuse", 0755,
		   "#!/bin/sh\ncat >/dev/null\necho 'pdu says no' >&2\nexit 1\n");
	char devs[1024];
	snprintf(devs, sizeof devs,
		 "  - name: broken\n"
		 "    agent: fence_dummy\n"
		 "    params: {type: fail, power_timeout: 1}\n"
		 "    targets: [n2]\n"
		 "  - name: refuser\n"
		 "    agent: %s/refuse\n"
		 "    targets: [n2]\n"
		 "    level: 2\n",
		 f->dir);
	outcome o = fence(f, load_cfg(f, devs), "n2", "off");
	assert_false(o.res.ok);
	assert_int_equal(o.res.level, 2);
	assert_string_equal(o.res.device, "refuser");
	assert_true(contains(o.res.detail, "all 2 fence levels failed"));
	assert_true(contains(o.res.detail, "device refuser"));
	assert_true(contains(o.res.detail, "exit 1"));
	assert_true(contains(o.res.detail, "pdu says no"));

	/* one level, fence_dummy failing: its own message is in the detail */
	snprintf(devs, sizeof devs,
		 "  - name: broken\n"
		 "    agent: fence_dummy\n"
		 "    params: {type: fail, power_timeout: 1}\n"
		 "    targets: [n2]\n");
	o = fence(f, load_cfg(f, devs), "n2", "off");
	assert_false(o.res.ok);
	assert_int_equal(o.res.level, 1);
	assert_string_equal(o.res.device, "broken");
	assert_true(contains(o.res.detail, "device broken"));
	assert_true(contains(o.res.detail, "exit 1"));
	assert_true(contains(o.res.detail, "Timed out waiting to power OFF"));
}

/* A level succeeds only when every device of it that targets the node succeeds; devices run
 * one after the other in file order. */
static void test_level_needs_every_device(void **state)
{
	fixture *f = *state;
	write_file(f, "rec", 0755, "#!/bin/sh\ncat >/dev/null\necho \"$0\" >> %s/order\n", f->dir);
	write_file(f, "rec2", 0755, "#!/bin/sh\ncat >/dev/null\necho \"$0\" >> %s/order\n", f->dir);
	write_file(f, "nope", 0755, "#!/bin/sh\ncat >/dev/null\necho \"$0\" >> %s/order\nexit 3\n",
		   f->dir);
	char devs[1024];
	snprintf(devs, sizeof devs,
		 "  - {name: a, agent: %s/rec, targets: [n2], level: 1}\n"
		 "  - {name: other, agent: %s/nope, targets: [n3], level: 1}\n"
		 "  - {name: b, agent: %s/rec2, targets: [n2], level: 1}\n"
		 "  - {name: c, agent: %s/nope, targets: [n2], level: 3}\n",
		 f->dir, f->dir, f->dir, f->dir);
	outcome o = fence(f, load_cfg(f, devs), "n2", "off");
	assert_true(o.res.ok);
	assert_int_equal(o.res.level, 1);
	assert_string_equal(o.res.device, "b");
	char *order = read_file(f, "order");
	char want[512];
	snprintf(want, sizeof want, "%s/rec\n%s/rec2\n", f->dir, f->dir);
	assert_string_equal(order, want);
	free(order);
	char path[256];
	path_in(f, "order", path, sizeof path);
	unlink(path);

	/* first device of level 1 fails: the second is not run, level 2 is */
	snprintf(devs, sizeof devs,
		 "  - {name: a, agent: %s/nope, targets: [n2], level: 1}\n"
		 "  - {name: b, agent: %s/rec2, targets: [n2], level: 1}\n"
		 "  - {name: c, agent: %s/rec2, targets: [n2], level: 2}\n",
		 f->dir, f->dir, f->dir);
	o = fence(f, load_cfg(f, devs), "n2", "off");
	assert_true(o.res.ok);
	assert_int_equal(o.res.level, 2);
	assert_string_equal(o.res.device, "c");
	order = read_file(f, "order");
	snprintf(want, sizeof want, "%s/nope\n%s/rec2\n", f->dir, f->dir);
	assert_string_equal(order, want);
	free(order);
}

/* ---- timeouts and cancellation -------------------------------------------- */

static void test_hanging_agent_killed_at_timeout(void **state)
{
	fixture *f = *state;
	write_hanging_agent(f);
	char devs[512];
	snprintf(devs, sizeof devs,
		 "  - {name: stuck, agent: %s/hang, targets: [n2], timeout: 300ms}\n", f->dir);
	uint64_t t0 = uv_hrtime();
	outcome o = fence(f, load_cfg(f, devs), "n2", "off");
	uint64_t ms = (uv_hrtime() - t0) / 1000000;
	assert_false(o.res.ok);
	assert_string_equal(o.res.device, "stuck");
	assert_true(contains(o.res.detail, "timed out after 300 ms"));
	assert_true(contains(o.res.detail, "hanging now"));
	assert_true(ms >= 290);
	assert_true(ms < 5000);
	long pids[2];
	assert_int_equal(read_pids(f, "hang.pids", pids, 2), 2);
	/* the agent is reaped by the loop; its orphaned child must be dead too (the group) */
	for (int i = 0; i < 200 && (pid_alive(pids[0]) || pid_alive(pids[1])); i++)
		usleep(10000);
	assert_false(pid_alive(pids[0]));
	assert_false(pid_alive(pids[1]));
}

static void on_cancel_timer(uv_timer_t *t)
{
	vg_fence_cancel(t->data);
	uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel_kills_agent_without_callback(void **state)
{
	fixture *f = *state;
	write_hanging_agent(f);
	char devs[512];
	snprintf(devs, sizeof devs,
		 "  - {name: stuck, agent: %s/hang, targets: [n2], timeout: 60s}\n", f->dir);
	vg_config *c = load_cfg(f, devs);
	outcome o = {0};
	vg_fence_op *op = vg_fence_run(&f->loop, c, "n2", "off", on_done, &o);
	assert_non_null(op);
	vg_config_free(c);
	/* cancel once the agent has written its pids */
	uv_timer_t t;
	uv_timer_init(&f->loop, &t);
	t.data = op;
	long pids[2];
	for (int i = 0; i < 1000 && read_pids(f, "hang.pids", pids, 2) < 2; i++) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(5000);
	}
	assert_int_equal(read_pids(f, "hang.pids", pids, 2), 2);
	uint64_t t0 = uv_hrtime();
	uv_timer_start(&t, on_cancel_timer, 0, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true((uv_hrtime() - t0) / 1000000 < 5000);
	assert_int_equal(o.calls, 0);
	for (int i = 0; i < 200 && (pid_alive(pids[0]) || pid_alive(pids[1])); i++)
		usleep(10000);
	assert_false(pid_alive(pids[0]));
	assert_false(pid_alive(pids[1]));
}

static void test_cancel_before_start(void **state)
{
	fixture *f = *state;
	write_file(f, "touch", 0755, "#!/bin/sh\n: > %s/ran\n", f->dir);
	char devs[512];
	snprintf(devs, sizeof devs, "  - {name: d, agent: %s/touch, targets: [n2]}\n", f->dir);
	vg_config *c = load_cfg(f, devs);
	outcome o = {0};
	vg_fence_op *op = vg_fence_run(&f->loop, c, "n2", "off", on_done, &o);
	vg_config_free(c);
	vg_fence_cancel(op);
	vg_fence_cancel(op); /* twice is harmless */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 0);
	char p[256];
	path_in(f, "ran", p, sizeof p);
	assert_int_not_equal(access(p, F_OK), 0);
}

/* ---- what the agent receives ---------------------------------------------- */

static void test_params_arrive_on_stdin(void **state)
{
	fixture *f = *state;
	write_file(f, "record", 0755,
		   "#!/bin/sh\ncat > %s/stdin.txt\necho \"$#\" > %s/argc\npwd > %s/cwd\n", f->dir,
		   f->dir, f->dir);
	char devs[1024];
	snprintf(devs, sizeof devs,
		 "  - name: pdu\n"
		 "    agent: %s/record\n"
		 "    params: {ip: 10.0.9.9, username: admin, password: \"s3cret with space\", "
		 "action: on}\n"
		 "    targets: [n1, n2]\n",
		 f->dir);
	outcome o = fence(f, load_cfg(f, devs), "n2", "reboot");
	assert_true(o.res.ok);
	char *in = read_file(f, "stdin.txt");
	assert_string_equal(in, "ip=10.0.9.9\nusername=admin\npassword=s3cret with space\n"
				"action=reboot\nplug=n2\n");
	free(in);
	char *argc = read_file(f, "argc");
	assert_string_equal(argc, "0\n");
	free(argc);
	char *cwd = read_file(f, "cwd");
	assert_string_equal(cwd, "/\n");
	free(cwd);

	/* a device that names its own port gets no plug line */
	snprintf(
	    devs, sizeof devs,
	    "  - {name: pdu, agent: %s/record, params: {ip: pdu1, port: \"7\"}, targets: [n2]}\n",
	    f->dir);
	o = fence(f, load_cfg(f, devs), "n2", "off");
	assert_true(o.res.ok);
	in = read_file(f, "stdin.txt");
	assert_string_equal(in, "ip=pdu1\nport=7\naction=off\n");
	free(in);
}

/* ---- nothing to run ------------------------------------------------------- */

static void test_no_device_for_target(void **state)
{
	fixture *f = *state;
	const char *devs = "  - {name: d1, agent: fence_dummy, targets: [n1, n2]}\n";
	vg_config *c = load_cfg(f, devs);
	assert_true(vg_fence_configured(c, "n1"));
	assert_true(vg_fence_configured(c, "n2"));
	assert_false(vg_fence_configured(c, "n3"));
	assert_false(vg_fence_configured(c, "nx"));
	outcome o = fence(f, c, "n3", "off");
	assert_false(o.res.ok);
	assert_int_equal(o.res.level, 0);
	assert_string_equal(o.res.device, "");
	assert_true(contains(o.res.detail, "no fence device for n3"));
}

static void test_missing_agent_and_bad_action(void **state)
{
	fixture *f = *state;
	const char *devs = "  - {name: ghost, agent: fence_vigil_no_such_agent, targets: [n2]}\n"
			   "  - {name: d2, agent: fence_dummy, targets: [n2], level: 2,"
			   " params: {status_file: /nonexistent/dir/x}}\n";
	outcome o = fence(f, load_cfg(f, devs), "n2", "monitor");
	assert_true(o.res.ok); /* level 1 cannot run, level 2 can */
	assert_int_equal(o.res.level, 2);

	const char *one = "  - {name: ghost, agent: fence_vigil_no_such_agent, targets: [n2]}\n";
	o = fence(f, load_cfg(f, one), "n2", "off");
	assert_false(o.res.ok);
	assert_string_equal(o.res.device, "ghost");
	assert_true(contains(o.res.detail, "not found"));

	o = fence(f, load_cfg(f, devs), "n2", "explode");
	assert_false(o.res.ok);
	assert_true(contains(o.res.detail, "unknown fence action"));
}

int main(void)
{
	if (access(FENCE_DUMMY, X_OK) != 0) {
		fprintf(stderr, "%s is not installed (Debian package fence-agents)\n", FENCE_DUMMY);
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dummy_on_off_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level2_after_level1_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_levels_fail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level_needs_every_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hanging_agent_killed_at_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_kills_agent_without_callback, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_before_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_params_arrive_on_stdin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_device_for_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_agent_and_bad_action, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
