/* Unit tests: OCF exit-code meaning, the action environment, meta-data parsing, and the
 * executor running real agents (Debian's ocf:heartbeat:Dummy) and a test agent that hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor.h"
#include "ocf.h"

/* ---- exit codes ------------------------------------------------------------ */

static void test_outcomes(void **state)
{
	(void)state;
	static const struct {
		vg_op_kind op;
		int rc;
		vg_outcome want;
	} cases[] = {
	    {VG_OP_START, 0, VG_OUTCOME_OK},
	    {VG_OP_START, 1, VG_OUTCOME_FAILED},
	    {VG_OP_START, 2, VG_OUTCOME_FATAL},
	    {VG_OP_START, 3, VG_OUTCOME_HARD},
	    {VG_OP_START, 4, VG_OUTCOME_HARD},
	    {VG_OP_START, 5, VG_OUTCOME_HARD},
	    {VG_OP_START, 6, VG_OUTCOME_FATAL},
	    {VG_OP_START, 7, VG_OUTCOME_FAILED},
	    {VG_OP_START, 42, VG_OUTCOME_FAILED},
	    {VG_OP_STOP, 0, VG_OUTCOME_OK},
	    {VG_OP_STOP, 7, VG_OUTCOME_OK}, /* already stopped */
	    {VG_OP_STOP, 1, VG_OUTCOME_FAILED},
	    {VG_OP_MONITOR, 0, VG_OUTCOME_OK},
	    {VG_OP_MONITOR, 7, VG_OUTCOME_NOT_RUNNING},
	    {VG_OP_MONITOR, 8, VG_OUTCOME_PROMOTED},
	    {VG_OP_MONITOR, 9, VG_OUTCOME_FAILED_PROMOTED},
	    {VG_OP_MONITOR, 190, VG_OUTCOME_OK},
	    {VG_OP_MONITOR, 191, VG_OUTCOME_PROMOTED},
	    {VG_OP_MONITOR, 1, VG_OUTCOME_FAILED},
	    {VG_OP_MONITOR, 5, VG_OUTCOME_HARD},
	    {VG_OP_MONITOR, 6, VG_OUTCOME_FATAL},
	    {VG_OP_PROMOTE, 8, VG_OUTCOME_FAILED},
	    {VG_OP_NOTIFY, 3, VG_OUTCOME_OK}, /* unimplemented notify is harmless */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		vg_outcome got = vg_ocf_outcome(cases[i].op, cases[i].rc);
		if (got != cases[i].want)
			fail_msg("%s rc %d: got %s, want %s", vg_op_name(cases[i].op), cases[i].rc,
				 vg_outcome_name(got), vg_outcome_name(cases[i].want));
	}
	assert_string_equal(vg_ocf_exit_name(7), "OCF_NOT_RUNNING");
	assert_string_equal(vg_ocf_exit_name(191), "OCF_DEGRADED_PROMOTED");
}

/* ---- environment ----------------------------------------------------------- */

static const char *env_get(char **env, const char *key)
{
	size_t n = strlen(key);
	for (char **p = env; *p; p++)
		if (!strncmp(*p, key, n) && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

static void test_env(void **state)
{
	(void)state;
	vg_param params[] = {{(char *)"ip", (char *)"10.0.0.5"},
			     {(char *)"cidr_netmask", (char *)"24"}};
	vg_resource r = {.name = (char *)"vip1",
			 .type = (char *)"ocf:heartbeat:IPaddr2",
			 .cls = VG_CLASS_OCF,
			 .provider = (char *)"heartbeat",
			 .agent = (char *)"IPaddr2",
			 .params = params,
			 .n_params = 2,
			 .clone = {.enabled = true,
				   .max = 3,
				   .max_per_node = 1,
				   .promotable = true,
				   .promoted_max = 1}};
	char **env = vg_ocf_env("/opt/ocf", &r, VG_OP_MONITOR, 20000, 10000, "n2");
	static const struct {
		const char *key, *want;
	} want[] = {
	    {"OCF_ROOT", "/opt/ocf"},
	    {"OCF_RA_VERSION_MAJOR", "1"},
	    {"OCF_RA_VERSION_MINOR", "1"},
	    {"OCF_RESOURCE_INSTANCE", "vip1"},
	    {"OCF_RESOURCE_TYPE", "IPaddr2"},
	    {"OCF_RESOURCE_PROVIDER", "heartbeat"},
	    {"OCF_RESKEY_ip", "10.0.0.5"},
	    {"OCF_RESKEY_cidr_netmask", "24"},
	    {"OCF_RESKEY_CRM_meta_timeout", "20000"},
	    {"OCF_RESKEY_CRM_meta_interval", "10000"},
	    {"OCF_RESKEY_CRM_meta_name", "monitor"},
	    {"OCF_RESKEY_CRM_meta_on_node", "n2"},
	    {"OCF_RESKEY_CRM_meta_clone_max", "3"},
	    {"OCF_RESKEY_CRM_meta_clone_node_max", "1"},
	    {"OCF_RESKEY_CRM_meta_promoted_max", "1"},
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		const char *v = env_get(env, want[i].key);
		if (!v || strcmp(v, want[i].want))
			fail_msg("%s: got %s, want %s", want[i].key, v ? v : "(unset)",
				 want[i].want);
	}
	assert_non_null(env_get(env, "PATH"));
	vg_env_free(env);
}

/* ---- meta-data --------------------------------------------------------------- */

static void test_metadata_parse(void **state)
{
	(void)state;
	static const char xml[] =
	    "<?xml version=\"1.0\"?><resource-agent name=\"t\" version=\"1.2\">"
	    "<shortdesc lang=\"en\">Test</shortdesc><parameters>"
	    "<parameter name=\"ip\" required=\"1\" unique=\"1\"><shortdesc>IP</shortdesc>"
	    "<content type=\"string\"/></parameter>"
	    "<parameter name=\"n\"><content type=\"integer\" default=\"5\"/></parameter>"
	    "</parameters><actions><action name=\"start\" timeout=\"20s\"/>"
	    "<action name=\"monitor\" timeout=\"30\" interval=\"10s\"/></actions>"
	    "</resource-agent>";
	vg_ocf_metadata md;
	char err[256];
	assert_int_equal(vg_ocf_metadata_parse(xml, sizeof xml - 1, &md, err, sizeof err), 0);
	assert_string_equal(md.name, "t");
	assert_string_equal(md.version, "1.2");
	assert_int_equal(md.n_params, 2);
	assert_true(md.params[0].required);
	assert_true(md.params[0].unique);
	assert_string_equal(md.params[0].shortdesc, "IP");
	assert_false(md.params[1].required);
	assert_string_equal(md.params[1].def, "5");
	assert_int_equal(md.n_actions, 2);
	assert_int_equal(md.actions[0].timeout_ms, 20000);
	assert_int_equal(md.actions[1].timeout_ms, 30000);
	assert_int_equal(md.actions[1].interval_ms, 10000);
	vg_ocf_metadata_free(&md);

	assert_int_equal(vg_ocf_metadata_parse("<resource-agent", 15, &md, err, sizeof err), -1);
	assert_non_null(strstr(err, "well-formed"));
	assert_int_equal(vg_ocf_metadata_parse("<x/>", 4, &md, err, sizeof err), -1);
}

static void test_list(void **state)
{
	(void)state;
	char **list = NULL;
	int n = vg_ocf_list(NULL, &list);
	assert_true(n > 10);
	bool dummy = false, pcmk = false;
	for (int i = 0; i < n; i++) {
		dummy = dummy || !strcmp(list[i], "ocf:heartbeat:Dummy");
		pcmk = pcmk || !strcmp(list[i], "ocf:pacemaker:Stateful");
		if (i > 0)
			assert_true(strcmp(list[i - 1], list[i]) < 0);
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	assert_true(dummy);
	assert_true(pcmk);
}

/* ---- the executor, on a real loop ------------------------------------------- */

typedef struct {
	bool done;
	vg_op_result res;
} waiter;

static void on_done(void *arg, const vg_op_result *res)
{
	waiter *w = arg;
	w->done = true;
	w->res = *res;
}

static void run(uv_loop_t *loop, const char *root, vg_resource *r, vg_op_kind op, bool probe,
		uint64_t timeout_ms, waiter *w)
{
	memset(w, 0, sizeof *w);
	assert_non_null(vg_exec_run(loop, root, "n1", r, op, probe, timeout_ms, on_done, w));
	assert_false(w->done); /* never from inside the call */
	uv_run(loop, UV_RUN_DEFAULT);
	assert_true(w->done);
}

static void test_exec_dummy(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	char statefile[] = "/tmp/vigil-test-dummy-XXXXXX";
	int fd = mkstemp(statefile);
	assert_true(fd >= 0);
	close(fd);
	unlink(statefile);
	vg_param params[] = {{(char *)"state", statefile}};
	vg_resource r = {.name = (char *)"d",
			 .type = (char *)"ocf:heartbeat:Dummy",
			 .cls = VG_CLASS_OCF,
			 .provider = (char *)"heartbeat",
			 .agent = (char *)"Dummy",
			 .params = params,
			 .n_params = 1};
	r.ops[VG_OP_MONITOR].interval_ms = 10000;
	waiter w;
	run(&loop, NULL, &r, VG_OP_MONITOR, true, 20000, &w);
	assert_int_equal(w.res.exit_code, VG_OCF_NOT_RUNNING);
	assert_int_equal(w.res.outcome, VG_OUTCOME_NOT_RUNNING);
	assert_true(w.res.probe);
	run(&loop, NULL, &r, VG_OP_START, false, 20000, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	assert_int_equal(access(statefile, F_OK), 0);
	run(&loop, NULL, &r, VG_OP_MONITOR, false, 20000, &w);
	assert_int_equal(w.res.exit_code, 0);
	run(&loop, NULL, &r, VG_OP_STOP, false, 20000, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	assert_int_not_equal(access(statefile, F_OK), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* A private OCF_ROOT with one agent whose actions are shell snippets. */
static void make_agent(char *root, size_t len, const char *body)
{
	snprintf(root, len, "/tmp/vigil-test-ocf-XXXXXX");
	assert_non_null(mkdtemp(root));
	char path[512];
	snprintf(path, sizeof path, "%s/resource.d", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/resource.d/t", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/resource.d/t/agent", root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

static void remove_agent(const char *root)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void test_exec_timeout_kills_group(void **state)
{
	(void)state;
	char root[256], pidfile[300];
	/* The agent forks a helper that would outlive it, then hangs. */
	make_agent(root, sizeof root,
		   "sleep 300 & echo $! > \"$OCF_ROOT/helper.pid\"; echo hanging >&2; sleep 300");
	snprintf(pidfile, sizeof pidfile, "%s/helper.pid", root);
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_resource r = {.name = (char *)"h",
			 .type = (char *)"ocf:t:agent",
			 .cls = VG_CLASS_OCF,
			 .provider = (char *)"t",
			 .agent = (char *)"agent"};
	waiter w;
	/* on the loop's own clock, the one its timers keep (uv_hrtime can show 299 ms: libuv
	 * counts a timer from the loop time cached at the start of the iteration) */
	uv_update_time(&loop);
	uint64_t t0 = uv_now(&loop);
	run(&loop, root, &r, VG_OP_START, false, 300, &w);
	uint64_t ms = uv_now(&loop) - t0;
	assert_true(w.res.timed_out);
	assert_int_equal(w.res.outcome, VG_OUTCOME_TIMEOUT);
	assert_true(ms >= 300 && ms < 10000);
	assert_non_null(strstr(w.res.output, "hanging"));
	FILE *f = fopen(pidfile, "r");
	assert_non_null(f);
	int pid = 0;
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	/* The helper was in the agent's process group: it must be gone (or a zombie). */
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		char p[64], st = 0;
		snprintf(p, sizeof p, "/proc/%d/stat", pid);
		FILE *s = fopen(p, "r");
		if (!s) {
			gone = true;
			break;
		}
		if (fscanf(s, "%*d %*s %c", &st) == 1 && st == 'Z')
			gone = true;
		fclose(s);
		if (!gone)
			usleep(10000);
	}
	assert_true(gone);
	assert_int_equal(uv_loop_close(&loop), 0);
	remove_agent(root);
}

static void test_exec_exit_codes_and_output(void **state)
{
	(void)state;
	char root[256];
	make_agent(root, sizeof root,
		   "case $1 in start) echo \"starting $OCF_RESKEY_x\"; exit 6;; "
		   "monitor) exit 8;; stop) exit 0;; esac; exit 3");
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_param params[] = {{(char *)"x", (char *)"val"}};
	vg_resource r = {.name = (char *)"e",
			 .type = (char *)"ocf:t:agent",
			 .cls = VG_CLASS_OCF,
			 .provider = (char *)"t",
			 .agent = (char *)"agent",
			 .params = params,
			 .n_params = 1};
	waiter w;
	run(&loop, root, &r, VG_OP_START, false, 5000, &w);
	assert_int_equal(w.res.exit_code, 6);
	assert_int_equal(w.res.outcome, VG_OUTCOME_FATAL);
	assert_string_equal(w.res.output, "starting val");
	run(&loop, root, &r, VG_OP_MONITOR, false, 5000, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_PROMOTED);
	run(&loop, root, &r, VG_OP_PROMOTE, false, 5000, &w);
	assert_int_equal(w.res.exit_code, 3);
	assert_int_equal(w.res.outcome, VG_OUTCOME_HARD);
	/* An agent that is not installed is reported through the callback, not the call. */
	vg_resource missing = r;
	missing.agent = (char *)"nope";
	run(&loop, root, &missing, VG_OP_START, false, 5000, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_HARD);
	assert_non_null(strstr(w.res.output, "not installed"));
	assert_int_equal(uv_loop_close(&loop), 0);
	remove_agent(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outcomes),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_metadata_parse),
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_exec_dummy),
	    cmocka_unit_test(test_exec_timeout_kills_group),
	    cmocka_unit_test(test_exec_exit_codes_and_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
