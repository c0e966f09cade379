/* test_simulate.c - `vigil simulate` end to end: a YAML config, a saved state, events.
 *
 * Owns: checking the command's outputs (text and --json), the replay to a fixed point and
 * its exit codes for bad input. Must not: need a daemon; files live in a temp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metadata.h"
#include "simulate.h"

static const char yaml[] =
    "cluster:\n"
    "  name: demo\n"
    "nodes:\n"
    "  - {name: n1, address: 10.0.0.1, role: server}\n"
    "  - {name: n2, address: 10.0.0.2, role: server}\n"
    "  - {name: n3, address: 10.0.0.3, role: server}\n"
    "resources:\n"
    "  - name: web\n"
    "    type: ocf:heartbeat:Dummy\n"
    "  - name: vip\n"
    "    type: vip\n"
    "    params: {address: 10.0.0.100/24, interface: eth0}\n"
    "  - name: db\n"
    "    type: ocf:pacemaker:Stateful\n"
    "    clone: {max: 3, promotable: true, promoted_max: 1}\n"
    "    stickiness: 200\n"
    "groups:\n"
    "  - {name: frontend, members: [web, vip]}\n"
    "constraints:\n"
    "  - colocate: {resource: frontend, with: db, with_role: promoted, score: inf}\n"
    "  - location: {resource: web, node: n1, score: 100}\n";

typedef struct {
	char dir[64];
	char cfg[128];
	char state[128];
} files;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **st)
{
	files *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-sim-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->cfg, sizeof(f->cfg), "%s/cluster.yaml", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state.json", f->dir);
	write_file(f->cfg, yaml);
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	files *f = *st;
	unlink(f->cfg);
	unlink(f->state);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* run simulate with the given args; out/err are returned malloc'd */
static int run(char **out, char **err, int argc, char **argv)
{
	size_t lo, le;
	FILE *o = open_memstream(out, &lo), *e = open_memstream(err, &le);
	vg_md_cache *md = vg_md_cache_new_sync(NULL, 0); /* as the CLI gives it */
	vg_agent_info ai = vg_md_cache_info(md);
	int rc = vg_simulate_main(argc, argv, &ai, o, e);
	vg_md_cache_free(md);
	fclose(o);
	fclose(e);
	return rc;
}

static json_t *run_json(files *f, int extra_argc, char **extra)
{
	char *argv[16] = {"simulate", "--config", f->cfg, "--json"};
	int argc = 4;
	for (int i = 0; i < extra_argc; i++)
		argv[argc++] = extra[i];
	char *out, *err;
	assert_int_equal(run(&out, &err, argc, argv), 0);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	assert_non_null(j);
	free(out);
	free(err);
	return j;
}

static const char *inst_nodes(json_t *placement, const char *res, char *buf, size_t len)
{
	size_t i, k, o = 0;
	json_t *r, *x;
	buf[0] = 0;
	json_array_foreach(json_object_get(placement, "resources"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "name")), res))
			continue;
		json_array_foreach(json_object_get(r, "instances"), k, x)
		{
			if (strcmp(json_string_value(json_object_get(x, "state")), "running"))
				continue;
			o += (size_t)snprintf(
			    buf + o, len - o, "%s%s%s", o ? "," : "",
			    json_string_value(json_object_get(x, "node")),
			    strcmp(json_string_value(json_object_get(x, "role")), "promoted")
				? ""
				: "*");
		}
	}
	return buf;
}

static void test_cold_start_json(void **st)
{
	files *f = *st;
	json_t *j = run_json(f, 0, NULL);
	json_t *acts = json_object_get(j, "actions");
	assert_int_equal(json_array_size(acts), 6);
	json_t *a0 = json_array_get(acts, 0);
	assert_string_equal(json_string_value(json_object_get(a0, "action")), "start");
	assert_string_equal(json_string_value(json_object_get(a0, "resource")), "db");
	assert_string_equal(json_string_value(json_object_get(a0, "role")), "unpromoted");
	assert_non_null(json_string_value(json_object_get(a0, "reason")));
	json_t *pl = json_object_get(j, "placement");
	char buf[256];
	assert_string_equal(inst_nodes(pl, "web", buf, sizeof(buf)), "n1");
	assert_string_equal(inst_nodes(pl, "vip", buf, sizeof(buf)), "n1");
	assert_string_equal(inst_nodes(pl, "db", buf, sizeof(buf)), "n1*,n2,n3");
	assert_true(json_is_true(json_object_get(json_object_get(pl, "cluster"), "quorate")));

	/* replaying the saved placement: nothing to do; then lose n1 */
	char *s = json_dumps(pl, 0);
	write_file(f->state, s);
	free(s);
	json_decref(j);
	char *args[] = {"--state", f->state};
	j = run_json(f, 2, args);
	assert_int_equal(json_array_size(json_object_get(j, "actions")), 0);
	json_decref(j);
	char *down[] = {"--state", f->state, "--node-down", "n1"};
	j = run_json(f, 4, down);
	acts = json_object_get(j, "actions");
	a0 = json_array_get(acts, 0);
	assert_string_equal(json_string_value(json_object_get(a0, "action")), "fence");
	assert_string_equal(json_string_value(json_object_get(a0, "node")), "n1");
	assert_true(json_is_null(json_object_get(a0, "resource")));
	pl = json_object_get(j, "placement");
	assert_string_equal(inst_nodes(pl, "web", buf, sizeof(buf)), "n2");
	assert_string_equal(inst_nodes(pl, "db", buf, sizeof(buf)), "n2*,n3");
	json_decref(j);
}

static void test_text_output(void **st)
{
	files *f = *st;
	char *argv[] = {"simulate", "--config", f->cfg, "--fail", "web@n1"};
	char *out, *err;
	assert_int_equal(run(&out, &err, 5, argv), 0);
	assert_non_null(strstr(out, "Step 1:"));
	assert_non_null(strstr(out, "Placement:"));
	assert_non_null(strstr(out, "web"));
	free(out);
	free(err);
}

static void test_bad_input(void **st)
{
	files *f = *st;
	static const struct {
		const char *a1, *a2, *want;
	} cases[] = {
	    {"--node-down", "n9", "no node \"n9\""},
	    {"--fail", "web", "RESOURCE@NODE"},
	    {"--fail", "nope@n1", "no resource \"nope\""},
	    {"--state", "/nonexistent/state.json", "/nonexistent/state.json"},
	    {"--bogus", "x", "unknown argument"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"simulate", "--config", f->cfg, (char *)cases[i].a1,
				(char *)cases[i].a2};
		char *out, *err;
		assert_int_equal(run(&out, &err, 5, argv), 2);
		if (!strstr(err, cases[i].want))
			print_error("case %zu: stderr was: %s\n", i, err);
		assert_non_null(strstr(err, cases[i].want));
		free(out);
		free(err);
	}
	/* a state that does not parse names the JSON path */
	write_file(f->state, "{\"nodes\": [{\"name\": \"n1\", \"state\": \"asleep\"}]}");
	char *argv[] = {"simulate", "--config", f->cfg, "--state", f->state};
	char *out, *err;
	assert_int_equal(run(&out, &err, 5, argv), 2);
	assert_non_null(strstr(err, "nodes[0].state"));
	free(out);
	free(err);
	/* no --config */
	char *argv2[] = {"simulate", "--json"};
	assert_int_equal(run(&out, &err, 2, argv2), 2);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cold_start_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
