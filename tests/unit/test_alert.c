/* Unit tests: alerts (alert.h) on a real loop with real scripts: Pacemaker's variables for
 * each kind, one run per recipient, kinds and enabled respected, CRM_alert_* of the daemon's
 * own environment not passed on, the sequence number rising, a hanging script killed at its
 * timeout while the loop runs on, and free killing what still runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "clock.h"

static char dir[] = "/tmp/vigil-alert-XXXXXX";

/* A script that writes its CRM_alert_* and VIGIL_* variables to DIR/out.RECIPIENT. */
static char *script(const char *name, const char *body)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static char *read_out(const char *recipient)
{
	char path[512];
	snprintf(path, sizeof path, "%s/out.%s", dir, recipient);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void run_until_idle(uv_loop_t *loop, vg_alerts *a, uint64_t max_ms)
{
	uint64_t end = vg_clock_mono_ms() + max_ms;
	while (vg_alerts_running(a) > 0 && vg_clock_mono_ms() < end)
		uv_run(loop, UV_RUN_ONCE);
}

static vg_config *config_with(vg_alert *alerts, size_t n)
{
	vg_config *c = calloc(1, sizeof *c);
	c->name = (char *)"demo";
	c->alerts = alerts;
	c->n_alerts = n;
	return c;
}

static const char *dump = "env | grep -E '^(CRM_alert|VIGIL)_' | sort > \"$(dirname "
			  "\"$0\")/out.${CRM_alert_recipient:-none}\"";

static void test_resource_alert_variables_per_recipient(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	setenv("CRM_alert_stale", "from the daemon", 1);
	char *recips[] = {(char *)"r1", (char *)"r2"};
	vg_alert al = {.name = (char *)"dump",
		       .path = script("dump.sh", dump),
		       .timeout_ms = 5000,
		       .recipients = recips,
		       .n_recipients = 2,
		       .kinds = VG_ALERT_ALL,
		       .enabled = true};
	vg_config *cfg = config_with(&al, 1);
	vg_alerts *a = vg_alerts_new(&loop, "n1");
	vg_alert_event ev = {.kind = VG_ALERT_RESOURCE,
			     .node = "n1",
			     .nodeid = 1,
			     .rsc = "web",
			     .task = "monitor",
			     .rc = 7,
			     .interval_ms = 1000,
			     .desc = vg_alert_rc_desc(7),
			     .exec_time_ms = 12};
	assert_int_equal(vg_alerts_send(a, cfg, &ev), 2);
	assert_int_equal(vg_alerts_running(a), 2); /* started, not waited for */
	run_until_idle(&loop, a, 10000);
	assert_int_equal(vg_alerts_running(a), 0);
	for (int i = 0; i < 2; i++) {
		char *out = read_out(recips[i]);
		assert_non_null(out);
		const char *want[] = {"CRM_alert_kind=resource\n",    "CRM_alert_node=n1\n",
				      "CRM_alert_nodeid=1\n",	      "CRM_alert_rsc=web\n",
				      "CRM_alert_task=monitor\n",     "CRM_alert_rc=7\n",
				      "CRM_alert_interval=1000\n",    "CRM_alert_target_rc=0\n",
				      "CRM_alert_status=0\n",	      "CRM_alert_exec_time=12\n",
				      "CRM_alert_desc=not running\n", "CRM_alert_version=2.1\n",
				      "CRM_alert_node_sequence=1\n",  "VIGIL_alert_name=dump\n",
				      "VIGIL_alert_cluster=demo\n",   "CRM_alert_timestamp_epoch="};
		for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
			if (!strstr(out, want[k]))
				fail_msg("%s: no %s in:\n%s", recips[i], want[k], out);
		char rline[64];
		snprintf(rline, sizeof rline, "CRM_alert_recipient=%s\n", recips[i]);
		assert_non_null(strstr(out, rline));
		assert_null(strstr(out, "CRM_alert_stale"));
		assert_null(strstr(out, "CRM_alert_attribute_name"));
	}
	unsetenv("CRM_alert_stale");
	vg_alerts_free(a);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(cfg);
}

static void test_kinds_enabled_and_sequence(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	char *path = script("dump2.sh", dump);
	vg_alert al[] = {{.name = (char *)"nodes",
			  .path = path,
			  .timeout_ms = 5000,
			  .kinds = VG_ALERT_NODE | VG_ALERT_FENCING,
			  .enabled = true},
			 {.name = (char *)"off",
			  .path = path,
			  .timeout_ms = 5000,
			  .kinds = VG_ALERT_ALL,
			  .enabled = false}};
	vg_config *cfg = config_with(al, 2);
	vg_alerts *a = vg_alerts_new(&loop, "n1");
	vg_alert_event res = {.kind = VG_ALERT_RESOURCE, .node = "n1", .rsc = "x", .task = "start"};
	assert_int_equal(vg_alerts_send(a, cfg, &res), 0); /* not its kind; the other is off */
	vg_alert_event node = {.kind = VG_ALERT_NODE, .node = "n2", .nodeid = 2, .desc = "lost"};
	assert_int_equal(vg_alerts_send(a, cfg, &node), 1);
	run_until_idle(&loop, a, 10000);
	char *out = read_out("none");
	assert_non_null(out);
	assert_non_null(strstr(out, "CRM_alert_kind=node\n"));
	assert_non_null(strstr(out, "CRM_alert_desc=lost\n"));
	assert_non_null(strstr(out, "CRM_alert_node=n2\n"));
	assert_non_null(strstr(out, "CRM_alert_recipient=\n"));
	assert_null(strstr(out, "CRM_alert_rsc="));
	assert_null(strstr(out, "CRM_alert_task="));
	vg_alert_event fence = {.kind = VG_ALERT_FENCING,
				.node = "n2",
				.nodeid = 2,
				.desc = "Operation off of n2 by pdu for vigild@n1: OK",
				.task = "off"};
	assert_int_equal(vg_alerts_send(a, cfg, &fence), 1);
	run_until_idle(&loop, a, 10000);
	out = read_out("none");
	assert_non_null(strstr(out, "CRM_alert_kind=fencing\n"));
	assert_non_null(strstr(out, "CRM_alert_task=off\n"));
	assert_non_null(strstr(out, "CRM_alert_rc=0\n"));
	assert_non_null(strstr(out, "CRM_alert_node_sequence=2\n")); /* one per event sent */
	vg_alerts_free(a);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(cfg);
}

static void on_tick(uv_timer_t *t)
{
	(*(int *)t->data)++;
}

static void test_hanging_script_killed_at_its_timeout(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_alert al = {.name = (char *)"hang",
		       .path = script("hang.sh", "sleep 30"),
		       .timeout_ms = 300,
		       .kinds = VG_ALERT_ALL,
		       .enabled = true};
	vg_config *cfg = config_with(&al, 1);
	vg_alerts *a = vg_alerts_new(&loop, "n1");
	int ticks = 0;
	uv_timer_t tick;
	uv_timer_init(&loop, &tick);
	tick.data = &ticks;
	uv_timer_start(&tick, on_tick, 10, 10); /* the loop keeps serving meanwhile */
	vg_alert_event ev = {.kind = VG_ALERT_NODE, .node = "n2", .desc = "lost"};
	uint64_t t0 = vg_clock_mono_ms();
	assert_int_equal(vg_alerts_send(a, cfg, &ev), 1);
	run_until_idle(&loop, a, 20000);
	uint64_t took = vg_clock_mono_ms() - t0;
	assert_int_equal(vg_alerts_running(a), 0);
	assert_true(took >= 250 && took < 10000);
	assert_true(ticks >= 5);
	/* freed while one runs: it is killed, nothing is left */
	assert_int_equal(vg_alerts_send(a, cfg, &ev), 1);
	vg_alerts_free(a);
	uv_close((uv_handle_t *)&tick, NULL);
	t0 = vg_clock_mono_ms();
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(vg_clock_mono_ms() - t0 < 5000);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(cfg);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resource_alert_variables_per_recipient),
	    cmocka_unit_test(test_kinds_enabled_and_sequence),
	    cmocka_unit_test(test_hanging_script_killed_at_its_timeout),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
