/* test_rclass.c - the resource-class interface (rclass.h) driven through a real loop.
 *
 * Every operation's callback must come exactly once, from the loop, never inside the call;
 * a class without promote/demote/notify answers UNIMPLEMENTED (3) without running anything;
 * an ocf agent is asked the action itself; a process's exit outside a stop is an event; a
 * halt's abandon and an instance's close leave no callback behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "instance.h"
#include "rclass.h"

typedef struct {
	uv_loop_t *loop; /* stopped by every callback: each wait ends with what it waits for */
	int calls;
	bool in_call; /* set around each vg_rinst_run: a callback then is a bug */
	bool called_inside;
	vg_rclass_result res;
	char out[512];
	int exits;
	char exit_what[256];
	int closed;
} waiter;

static void on_done(void *arg, const vg_rclass_result *res)
{
	waiter *w = arg;
	w->calls++;
	if (w->in_call)
		w->called_inside = true;
	w->res = *res;
	snprintf(w->out, sizeof w->out, "%s", res->output ? res->output : "(null)");
	w->res.output = w->out;
	uv_stop(w->loop);
}

static void on_exit_event(void *arg, const char *what)
{
	waiter *w = arg;
	w->exits++;
	snprintf(w->exit_what, sizeof w->exit_what, "%s", what);
	uv_stop(w->loop);
}

static void on_closed(void *arg)
{
	waiter *w = arg;
	w->closed++;
}

/* Run one operation to its end: the callback comes once, from the loop. */
static void run(uv_loop_t *loop, vg_rinst *i, vg_op_kind op, bool probe, waiter *w)
{
	w->calls = 0;
	w->called_inside = false;
	w->in_call = true;
	vg_rinst_run(i, op, probe, on_done, w);
	w->in_call = false;
	assert_int_equal(w->calls, 0);
	assert_true(vg_rinst_busy(i));
	while (w->calls == 0)
		uv_run(loop, UV_RUN_DEFAULT);
	uv_run(loop, UV_RUN_NOWAIT);
	assert_int_equal(w->calls, 1);
	assert_false(w->called_inside);
	assert_false(vg_rinst_busy(i));
	assert_int_equal(w->res.op, probe ? VG_OP_MONITOR : op);
	assert_int_equal(w->res.probe, probe);
}

static vg_rinst *inst_new(uv_loop_t *loop, const vg_resource *r, const char *dir, waiter *w)
{
	vg_rinst_opts o = {.loop = loop,
			   .cfg = r,
			   .node_name = "n1",
			   .data_dir = dir,
			   .on_exit = on_exit_event,
			   .arg = w};
	return vg_rinst_new(&o);
}

static void close_inst(uv_loop_t *loop, vg_rinst *i, waiter *w)
{
	w->closed = 0;
	vg_rinst_close(i, on_closed, w);
	assert_int_equal(w->closed, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(w->closed, 1);
}

/* ---- identity ---------------------------------------------------------------- */

static void test_names_and_keys(void **state)
{
	(void)state;
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_RUNNING), "running");
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_STOPPED), "stopped");
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_STARTING), "starting");
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_STOPPING), "stopping");
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_FAILED), "failed");
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_UNMANAGED), "unmanaged");
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_UNKNOWN), "unknown");
	assert_string_equal(vg_instance_state_name(VG_INSTANCE_STATE_COUNT), "?");
	assert_string_equal(vg_instance_role_name(VG_INSTANCE_ROLE_STOPPED), "stopped");
	assert_string_equal(vg_instance_role_name(VG_INSTANCE_ROLE_STARTED), "started");
	assert_string_equal(vg_instance_role_name(VG_INSTANCE_ROLE_UNPROMOTED), "unpromoted");
	assert_string_equal(vg_instance_role_name(VG_INSTANCE_ROLE_PROMOTED), "promoted");
	char a[] = "web", b[] = "web";
	assert_true(vg_instance_key_equal((vg_instance_key){a, 0}, (vg_instance_key){b, 0}));
	assert_false(vg_instance_key_equal((vg_instance_key){a, 0}, (vg_instance_key){b, 1}));
	assert_false(vg_instance_key_equal((vg_instance_key){a, 0}, (vg_instance_key){"db", 0}));
}

/* ---- process ------------------------------------------------------------------ */

/* A process resource "p" running /bin/sleep 30, its files in a fresh directory. r points
 * into o: o stays where it was initialised. */
typedef struct {
	char dir[40];
	vg_param param;
	vg_resource r;
} proc_res;

static void proc_res_init(proc_res *o)
{
	snprintf(o->dir, sizeof o->dir, "/tmp/vigil-test-rclass-XXXXXX");
	assert_non_null(mkdtemp(o->dir));
	o->param = (vg_param){(char *)"command", (char *)"/bin/sleep 30"};
	o->r = (vg_resource){.name = (char *)"p",
			     .type = (char *)"process",
			     .cls = VG_CLASS_PROCESS,
			     .params = &o->param,
			     .n_params = 1};
}

/* Remove what the process class left in o's directory, and the directory. */
static void proc_res_clean(proc_res *o)
{
	const char *files[] = {"p.log", "p.pid"};
	for (size_t k = 0; k < 2; k++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s", o->dir, files[k]);
		unlink(path);
	}
	assert_int_equal(rmdir(o->dir), 0);
}

static void test_process(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	proc_res o;
	proc_res_init(&o);
	const char *dir = o.dir;
	vg_resource r = o.r;
	r.ops[VG_OP_STOP].timeout_ms = 5000;
	waiter w = {.loop = &loop};
	vg_rinst *i = inst_new(&loop, &r, dir, &w);
	assert_string_equal(vg_rinst_class(i), "process");
	assert_string_equal(i->key.resource, "p");
	assert_int_equal(i->key.instance, 0);

	run(&loop, i, VG_OP_MONITOR, true, &w); /* nothing recorded: not running */
	assert_int_equal(w.res.outcome, VG_OUTCOME_NOT_RUNNING);
	assert_int_equal(w.res.exit_code, VG_OCF_NOT_RUNNING);

	run(&loop, i, VG_OP_START, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	int pid = vg_rinst_pid(i);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), 0);
	run(&loop, i, VG_OP_MONITOR, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);

	/* promote, demote, notify: unsupported, nothing run, the process untouched */
	vg_op_kind none[] = {VG_OP_PROMOTE, VG_OP_DEMOTE, VG_OP_NOTIFY};
	for (size_t k = 0; k < 3; k++) {
		run(&loop, i, none[k], false, &w);
		assert_int_equal(w.res.exit_code, VG_OCF_ERR_UNIMPLEMENTED);
		assert_int_equal(w.res.outcome, vg_ocf_outcome(none[k], VG_OCF_ERR_UNIMPLEMENTED));
		assert_non_null(strstr(w.out, "not supported by class process"));
	}
	assert_int_equal(vg_rinst_pid(i), pid);

	run(&loop, i, VG_OP_STOP, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	assert_int_equal(vg_rinst_pid(i), 0);
	assert_int_equal(w.exits, 0); /* a stop is not an exit */
	run(&loop, i, VG_OP_MONITOR, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_NOT_RUNNING);

	/* an exit outside of a stop is an event, once */
	run(&loop, i, VG_OP_START, false, &w);
	pid = vg_rinst_pid(i);
	assert_true(pid > 0);
	kill(pid, SIGKILL);
	while (w.exits == 0)
		uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(w.exits, 1);
	assert_non_null(strstr(w.exit_what, "signal 9"));
	assert_int_equal(vg_rinst_pid(i), 0);

	/* a halted stop kills the group after the grace: sh ignoring SIGTERM */
	o.param.value = (char *)"/bin/sh -c 'trap \"\" TERM; while :; do sleep 0.05; done'";
	run(&loop, i, VG_OP_START, false, &w);
	assert_true(vg_rinst_pid(i) > 0);
	usleep(300 * 1000); /* its trap is set */
	uv_update_time(&loop);
	vg_rinst_halt(i, true, 200);
	uint64_t t0 = uv_hrtime();
	run(&loop, i, VG_OP_STOP, false, &w);
	uint64_t ms = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	assert_true(ms >= 150 && ms < 3000);
	vg_rinst_halt(i, false, 200);

	close_inst(&loop, i, &w);
	assert_int_equal(w.exits, 1);
	proc_res_clean(&o);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* A start waiting for readiness is abandoned at once (a halt): no callback comes; closing an
 * instance whose process still runs leaves it running and calls nothing but the close. */
static void test_process_abandon_and_close(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	proc_res o;
	proc_res_init(&o);
	const char *dir = o.dir;
	vg_resource r = o.r;
	r.check.kind = VG_CHECK_TCP; /* nothing listens there: never ready */
	r.check.port = 1;
	r.ops[VG_OP_START].timeout_ms = 10000;
	waiter w = {.loop = &loop};
	vg_rinst *i = inst_new(&loop, &r, dir, &w);
	w.in_call = true;
	vg_rinst_run(i, VG_OP_START, false, on_done, &w);
	w.in_call = false;
	for (int k = 0; k < 5; k++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(w.calls, 0);
	int pid = vg_rinst_pid(i);
	assert_true(pid > 0);
	assert_true(vg_rinst_abandon(i));
	assert_false(vg_rinst_busy(i));
	close_inst(&loop, i, &w);
	assert_int_equal(w.calls, 0);
	assert_int_equal(w.exits, 0);
	assert_int_equal(kill(pid, 0), 0); /* left running */
	kill(-pid, SIGKILL);
	proc_res_clean(&o);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- ocf ---------------------------------------------------------------------- */

/* An ocf:PROVIDER:AGENT resource NAME whose `state` parameter is a fresh path (no file yet).
 * r points into o: o stays where it was initialised. */
typedef struct {
	char statefile[64];
	char type[96];
	vg_param param;
	vg_resource r;
} ocf_res;

static void ocf_res_init(ocf_res *o, const char *name, const char *provider, const char *agent)
{
	snprintf(o->statefile, sizeof o->statefile, "/tmp/vigil-test-rclass-%s-XXXXXX", agent);
	int fd = mkstemp(o->statefile);
	assert_true(fd >= 0);
	close(fd);
	unlink(o->statefile);
	snprintf(o->type, sizeof o->type, "ocf:%s:%s", provider, agent);
	o->param = (vg_param){(char *)"state", o->statefile};
	o->r = (vg_resource){.name = (char *)name,
			     .type = o->type,
			     .cls = VG_CLASS_OCF,
			     .provider = (char *)provider,
			     .agent = (char *)agent,
			     .params = &o->param,
			     .n_params = 1};
}

static void test_ocf_dummy(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	ocf_res o;
	ocf_res_init(&o, "d", "heartbeat", "Dummy");
	const char *statefile = o.statefile;
	vg_resource r = o.r;
	waiter w = {.loop = &loop};
	vg_rinst *i = inst_new(&loop, &r, "/tmp", &w);
	assert_string_equal(vg_rinst_class(i), "ocf");
	run(&loop, i, VG_OP_MONITOR, true, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_NOT_RUNNING);
	run(&loop, i, VG_OP_START, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	assert_int_equal(access(statefile, F_OK), 0);
	run(&loop, i, VG_OP_MONITOR, false, &w);
	assert_int_equal(w.res.exit_code, 0);
	/* the agent itself is asked: Dummy has no promote and answers UNIMPLEMENTED */
	run(&loop, i, VG_OP_PROMOTE, false, &w);
	assert_int_equal(w.res.exit_code, VG_OCF_ERR_UNIMPLEMENTED);
	assert_int_equal(w.res.outcome, VG_OUTCOME_HARD);
	assert_null(strstr(w.out, "not supported by class")); /* the agent's answer */
	run(&loop, i, VG_OP_STOP, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	assert_int_equal(access(statefile, F_OK), -1);
	close_inst(&loop, i, &w);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* A promotable agent's promote and demote are its own actions. */
static void test_ocf_stateful_promote(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	ocf_res o;
	ocf_res_init(&o, "s", "pacemaker", "Stateful");
	const char *statefile = o.statefile;
	vg_resource r = o.r;
	r.clone.enabled = true;
	r.clone.promotable = true;
	r.clone.max = 1;
	r.clone.max_per_node = 1;
	r.clone.promoted_max = 1;
	waiter w = {.loop = &loop};
	vg_rinst *i = inst_new(&loop, &r, "/tmp", &w);
	run(&loop, i, VG_OP_START, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	run(&loop, i, VG_OP_PROMOTE, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	run(&loop, i, VG_OP_MONITOR, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_PROMOTED);
	run(&loop, i, VG_OP_DEMOTE, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	run(&loop, i, VG_OP_MONITOR, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	run(&loop, i, VG_OP_STOP, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	close_inst(&loop, i, &w);
	unlink(statefile);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* An agent's operation abandoned by a halt is killed, and its callback still comes, once. */
static void test_ocf_abandon(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_param params[] = {{(char *)"startdelay", (char *)"20"}};
	vg_resource r = {.name = (char *)"slow",
			 .type = (char *)"ocf:heartbeat:Delay",
			 .cls = VG_CLASS_OCF,
			 .provider = (char *)"heartbeat",
			 .agent = (char *)"Delay",
			 .params = params,
			 .n_params = 1};
	r.ops[VG_OP_START].timeout_ms = 30000;
	waiter w = {.loop = &loop};
	vg_rinst *i = inst_new(&loop, &r, "/tmp", &w);
	w.in_call = true;
	vg_rinst_run(i, VG_OP_START, false, on_done, &w);
	w.in_call = false;
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_false(vg_rinst_abandon(i)); /* its child must still be reaped */
	uint64_t t0 = uv_hrtime();
	while (w.calls == 0)
		uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(w.calls, 1);
	assert_true((uv_hrtime() - t0) / 1000000 < 5000);
	assert_int_not_equal(w.res.outcome, VG_OUTCOME_OK);
	close_inst(&loop, i, &w);
	assert_int_equal(w.calls, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* lsb and systemd have no promote/demote/notify: answered without running anything (no
 * script exists for this one: running it would say "not installed"). */
static void test_lsb_unsupported(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_resource r = {.name = (char *)"l",
			 .type = (char *)"lsb:vigil-no-such-script",
			 .cls = VG_CLASS_LSB,
			 .agent = (char *)"vigil-no-such-script"};
	waiter w = {.loop = &loop};
	vg_rinst *i = inst_new(&loop, &r, "/tmp", &w);
	run(&loop, i, VG_OP_NOTIFY, false, &w);
	assert_int_equal(w.res.exit_code, VG_OCF_ERR_UNIMPLEMENTED);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK); /* a missing notify is harmless */
	run(&loop, i, VG_OP_DEMOTE, false, &w);
	assert_int_equal(w.res.exit_code, VG_OCF_ERR_UNIMPLEMENTED);
	assert_non_null(strstr(w.out, "not supported by class lsb"));
	run(&loop, i, VG_OP_START, false, &w); /* this one is run: the script is missing */
	assert_int_equal(w.res.exit_code, VG_OCF_ERR_INSTALLED);
	close_inst(&loop, i, &w);
	r.cls = VG_CLASS_SYSTEMD;
	i = inst_new(&loop, &r, "/tmp", &w);
	assert_string_equal(vg_rinst_class(i), "systemd");
	run(&loop, i, VG_OP_PROMOTE, false, &w);
	assert_int_equal(w.res.exit_code, VG_OCF_ERR_UNIMPLEMENTED);
	assert_int_equal(w.res.outcome, VG_OUTCOME_HARD);
	close_inst(&loop, i, &w);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- vip ------------------------------------------------------------------------ */

/* Without touching the network: an address on no interface is not running, its stop (absent)
 * succeeds, and it has no promote; the answers come from the loop. */
static void test_vip_without_network(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_param params[] = {{(char *)"address", (char *)"198.51.100.77/32"}};
	vg_resource r = {.name = (char *)"v",
			 .type = (char *)"vip",
			 .cls = VG_CLASS_VIP,
			 .params = params,
			 .n_params = 1};
	waiter w = {.loop = &loop};
	vg_rinst *i = inst_new(&loop, &r, "/tmp", &w);
	assert_true(vg_rinst_stops_at_once(i));
	assert_int_equal(vg_rinst_pid(i), 0);
	run(&loop, i, VG_OP_MONITOR, true, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_NOT_RUNNING);
	assert_non_null(strstr(w.out, "is not on any interface"));
	run(&loop, i, VG_OP_STOP, false, &w);
	assert_int_equal(w.res.outcome, VG_OUTCOME_OK);
	run(&loop, i, VG_OP_PROMOTE, false, &w);
	assert_int_equal(w.res.exit_code, VG_OCF_ERR_UNIMPLEMENTED);
	assert_non_null(strstr(w.out, "not supported by class vip"));
	/* an answer abandoned before the loop delivers it never comes */
	w.calls = 0;
	vg_rinst_run(i, VG_OP_MONITOR, false, on_done, &w);
	assert_true(vg_rinst_abandon(i));
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(w.calls, 0);
	/* nor one left when the instance is closed */
	vg_rinst_run(i, VG_OP_MONITOR, false, on_done, &w);
	close_inst(&loop, i, &w);
	assert_int_equal(w.calls, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_and_keys),
	    cmocka_unit_test(test_process),
	    cmocka_unit_test(test_process_abandon_and_close),
	    cmocka_unit_test(test_ocf_dummy),
	    cmocka_unit_test(test_ocf_stateful_promote),
	    cmocka_unit_test(test_ocf_abandon),
	    cmocka_unit_test(test_lsb_unsupported),
	    cmocka_unit_test(test_vip_without_network),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
