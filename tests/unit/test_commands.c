/* Unit tests: the command table (commands.h) and the checks its dispatch makes for every
 * command, whichever way a request comes in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "commands.h"

typedef struct {
	int calls;
	const vg_cmd *cmd;
	char target[64]; /* empty: none */
} seen;

static void record(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
		   vg_control_reply *r)
{
	seen *s = ctx;
	(void)args;
	s->calls++;
	s->cmd = cmd;
	snprintf(s->target, sizeof s->target, "%s", target ? target : "");
	r->result = json_string("done");
}

static bool only_web_and_n1(void *ctx, vg_cmd_target kind, const char *name)
{
	(void)ctx;
	return kind == VG_TARGET_RESOURCE ? !strcmp(name, "web") : !strcmp(name, "n1");
}

static vg_cmd_handlers all_handlers(void)
{
	vg_cmd_handlers h = {.mode = "a test node", .exists = only_web_and_n1};
	for (int i = 0; i < VG_CMD_COUNT; i++)
		h.fn[i] = record;
	return h;
}

/* Dispatch a request given as JSON args; returns the reply (its result released). */
static vg_control_reply run(const vg_cmd_handlers *h, seen *s, bool starting, const char *cmd,
			    const char *args_json)
{
	json_t *args = json_loads(args_json, 0, NULL);
	assert_non_null(args);
	vg_control_reply r = {0};
	vg_cmd_dispatch(h, s, starting, cmd, args, &r);
	json_decref(r.result);
	r.result = NULL;
	json_decref(args);
	return r;
}

static void test_table_is_in_id_order_with_unique_names(void **state)
{
	(void)state;
	for (int i = 0; i < VG_CMD_COUNT; i++) {
		const vg_cmd *c = vg_cmd_get((vg_cmd_id)i);
		assert_non_null(c);
		assert_int_equal(c->id, i);
		assert_non_null(c->name);
		assert_non_null(c->what);
		assert_ptr_equal(vg_cmd_by_name(c->name), c);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(vg_cmd_get((vg_cmd_id)j)->name, c->name);
	}
	assert_null(vg_cmd_get(VG_CMD_COUNT));
	assert_null(vg_cmd_by_name("resource.frobnicate"));
	assert_null(vg_cmd_by_name(NULL));
}

static void test_what_writes(void **state)
{
	(void)state;
	/* the HTTP API will ask for the token on exactly these */
	assert_false(vg_cmd_get(VG_CMD_STATUS)->writes);
	assert_false(vg_cmd_get(VG_CMD_PING)->writes);
	assert_false(vg_cmd_get(VG_CMD_RESOURCE_SHOW)->writes);
	assert_false(vg_cmd_get(VG_CMD_EVENTS)->writes);
	assert_false(vg_cmd_get(VG_CMD_CONFIG_SHOW)->writes);
	assert_true(vg_cmd_get(VG_CMD_APPLY)->writes);
	assert_true(vg_cmd_get(VG_CMD_RESOURCE_RESTART)->writes);
	assert_true(vg_cmd_get(VG_CMD_RESOURCE_CLEANUP)->writes);
	assert_true(vg_cmd_get(VG_CMD_NODE_FENCE)->writes);
	assert_true(vg_cmd_get(VG_CMD_NODE_CONFIRM_DOWN)->writes);
	assert_true(vg_cmd_get(VG_CMD_NODE_STANDBY)->writes);
}

static void test_dispatch_calls_the_handler_with_its_target(void **state)
{
	(void)state;
	vg_cmd_handlers h = all_handlers();
	seen s = {0};
	vg_control_reply r = run(&h, &s, false, "resource.restart", "{\"name\": \"web\"}");
	assert_int_equal(r.code, 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.cmd->id, VG_CMD_RESOURCE_RESTART);
	assert_string_equal(s.target, "web");

	s = (seen){0};
	r = run(&h, &s, false, "node.fence", "{\"node\": \"n1\"}");
	assert_int_equal(r.code, 0);
	assert_int_equal(s.cmd->id, VG_CMD_NODE_FENCE);
	assert_string_equal(s.target, "n1");

	s = (seen){0};
	r = run(&h, &s, false, "status", "{}");
	assert_int_equal(r.code, 0);
	assert_int_equal(s.cmd->id, VG_CMD_STATUS);
	assert_string_equal(s.target, "");
}

static void test_unknown_command(void **state)
{
	(void)state;
	vg_cmd_handlers h = all_handlers();
	seen s = {0};
	vg_control_reply r = run(&h, &s, false, "resource.frobnicate", "{\"name\": \"web\"}");
	assert_int_equal(r.code, 2);
	/* the CLI recognises this prefix (an older vigild) */
	assert_string_equal(r.error, "unknown command 'resource.frobnicate'");
	assert_int_equal(s.calls, 0);
}

static void test_not_served_in_this_mode(void **state)
{
	(void)state;
	vg_cmd_handlers h = all_handlers();
	h.fn[VG_CMD_NODE_STANDBY] = NULL;
	seen s = {0};
	vg_control_reply r = run(&h, &s, false, "node.standby", "{\"node\": \"n1\"}");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.error, "'node.standby' is not available on a test node");
	assert_int_equal(s.calls, 0);
}

static void test_target_missing_wrong_type_or_unknown(void **state)
{
	(void)state;
	vg_cmd_handlers h = all_handlers();
	seen s = {0};
	vg_control_reply r = run(&h, &s, false, "resource.show", "{}");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.error, "resource.show needs a resource name (\"name\")");
	r = run(&h, &s, false, "resource.show", "{\"name\": 7}");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.error, "resource.show needs a resource name (\"name\")");
	r = run(&h, &s, false, "resource.show", "{\"name\": \"\"}");
	assert_int_equal(r.code, 2);
	r = run(&h, &s, false, "node.confirm-down", "{\"name\": \"n1\"}");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.error, "node.confirm-down needs a node name (\"node\")");
	r = run(&h, &s, false, "resource.cleanup", "{\"name\": \"db\"}");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.error, "no resource named 'db'");
	r = run(&h, &s, false, "node.standby", "{\"node\": \"n9\"}");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.error, "no node named 'n9'");
	assert_int_equal(s.calls, 0);
}

static void test_starting_answers_only_ping(void **state)
{
	(void)state;
	vg_cmd_handlers h = all_handlers();
	seen s = {0};
	vg_control_reply r = run(&h, &s, true, "status", "{}");
	assert_int_equal(r.code, 1);
	assert_string_equal(r.error,
			    "vigild is starting (reading its agents' meta-data); status refused");
	assert_int_equal(s.calls, 0);
	r = run(&h, &s, true, "ping", "{}");
	assert_int_equal(r.code, 0);
	assert_int_equal(s.calls, 1);
	for (int i = 0; i < VG_CMD_COUNT; i++)
		if (vg_cmd_get((vg_cmd_id)i)->while_starting)
			assert_int_equal(i, VG_CMD_PING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_is_in_id_order_with_unique_names),
	    cmocka_unit_test(test_what_writes),
	    cmocka_unit_test(test_dispatch_calls_the_handler_with_its_target),
	    cmocka_unit_test(test_unknown_command),
	    cmocka_unit_test(test_not_served_in_this_mode),
	    cmocka_unit_test(test_target_missing_wrong_type_or_unknown),
	    cmocka_unit_test(test_starting_answers_only_ping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
