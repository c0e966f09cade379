/* test_config.c - unit tests of the configuration loader (src/core/config.c, config_schema.c,
 * yamlpos.c): good files with their defaults, one bad file per error class with its exact
 * line and field, and the shared parsers. Runs from the repository root with
 * OCF_ROOT=/usr/lib/ocf (real agents: Dummy, anything, IPaddr2, Stateful).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "metadata.h"
#include "ocf.h"

#define DATA "tests/unit/data/config/"

/* Load FILE with the agents of $OCF_ROOT (their meta-data read at once, as the CLI does). */
static vg_config *load_real(const char *file, vg_config_errors *e)
{
	vg_md_cache *md = vg_md_cache_new_sync(NULL, 0);
	vg_agent_info ai = vg_md_cache_info(md);
	vg_config *c = vg_config_load(file, &ai, e);
	vg_md_cache_free(md);
	return c;
}

static vg_config *load_ok(const char *file)
{
	vg_config_errors e;
	vg_config *c = load_real(file, &e);
	for (size_t i = 0; i < e.count; i++) {
		char buf[1024];
		vg_config_error_format(&e.items[i], buf, sizeof(buf));
		print_error("unexpected: %s\n", buf);
	}
	assert_int_equal(e.count, 0);
	assert_non_null(c);
	vg_config_errors_free(&e);
	return c;
}

static const vg_constraint *cons(const vg_config *c, size_t i)
{
	assert_true(i < c->n_constraints);
	return &c->constraints[i];
}

/* ---- good files ----------------------------------------------------------- */

static void test_full_cluster_and_nodes(void **state)
{
	(void)state;
	vg_config *c = load_ok(DATA "good_full.yaml");
	assert_string_equal(c->name, "demo");
	assert_string_equal(c->key_file, "/etc/vigil/authkey");
	assert_int_equal(c->token_ms, 1000);
	assert_int_equal(c->no_quorum, VG_NO_QUORUM_FREEZE);
	assert_int_equal(c->stickiness, 50);
	assert_string_equal(c->http_address, "0.0.0.0:7481");
	assert_string_equal(c->source, DATA "good_full.yaml");
	assert_int_equal(c->n_nodes, 4);
	assert_int_equal(vg_config_node(c, "n2")->id, 2);
	assert_int_equal(vg_config_node(c, "c1")->id, 10);
	assert_int_equal(vg_config_node(c, "c1")->role, VG_ROLE_AGENT);
	assert_int_equal(vg_config_node(c, "n3")->line, 12);
	assert_null(vg_config_node(c, "n9"));

	assert_int_equal(c->n_fence_devices, 1);
	const vg_fence_device *f = &c->fence_devices[0];
	assert_string_equal(f->agent, "fence_apc");
	assert_int_equal(f->n_params, 5);
	assert_string_equal(f->params[3].key, "port");
	assert_string_equal(f->params[3].value, "23");
	assert_string_equal(f->params[4].value, "false");
	assert_int_equal(f->n_targets, 3);
	assert_string_equal(f->targets[2], "n3");
	assert_int_equal(f->level, 1);
	assert_int_equal(f->timeout_ms, 60000);
	vg_config_free(c);
}

static void test_full_resources(void **state)
{
	(void)state;
	vg_config *c = load_ok(DATA "good_full.yaml");
	assert_int_equal(c->n_resources, 7);
	const vg_resource *web = vg_config_resource(c, "web");
	assert_int_equal(web->line, 21);
	assert_int_equal(web->cls, VG_CLASS_OCF);
	assert_string_equal(web->provider, "heartbeat");
	assert_string_equal(web->agent, "anything");
	assert_string_equal(vg_resource_param(web, "cmdline_options"), "-m http.server 8080");
	assert_null(vg_resource_param(web, "nope"));
	assert_true(web->ops[VG_OP_MONITOR].configured);
	assert_int_equal(web->ops[VG_OP_MONITOR].interval_ms, 5000);
	assert_int_equal(web->ops[VG_OP_START].timeout_ms, 20000);
	assert_false(web->ops[VG_OP_STOP].configured);
	assert_int_equal(web->check.kind, VG_CHECK_HTTP);
	assert_int_equal(web->check.port, 8080);
	assert_string_equal(web->check.host, "127.0.0.1");
	assert_string_equal(web->check.path, "/index.html");
	assert_int_equal(web->check.expect, 200);
	assert_int_equal(web->requires, VG_REQUIRES_FENCING);

	const vg_resource *api = vg_config_resource(c, "api");
	assert_true(api->clone.enabled);
	assert_int_equal(api->clone.max, 3);
	assert_false(api->clone.promotable);
	assert_int_equal(api->requires, VG_REQUIRES_QUORUM);

	const vg_resource *db = vg_config_resource(c, "db");
	assert_true(db->clone.promotable);
	assert_int_equal(db->clone.promoted_max, 1);
	assert_true(db->has_stickiness);
	assert_int_equal(db->stickiness, 200);
	assert_int_equal(db->migration_threshold, 3);
	assert_int_equal(db->failure_timeout_ms, 600000);

	const vg_resource *ip2 = vg_config_resource(c, "ip2");
	assert_true(ip2->disabled);
	assert_int_equal(ip2->check.kind, VG_CHECK_TCP);
	assert_string_equal(ip2->check.host, "10.0.0.200");
	assert_null(ip2->check.path);
	assert_int_equal(vg_config_resource(c, "dummy")->ops[VG_OP_STOP].timeout_ms, 500);
	const vg_resource *vip6 = vg_config_resource(c, "vip6");
	assert_int_equal(vip6->on_fail, VG_ON_FAIL_BLOCK);
	assert_int_equal(vip6->requires, VG_REQUIRES_FENCING);
	assert_string_equal(vg_resource_param(vip6, "address"), "fd00::100/64");
	vg_config_free(c);
}

static void test_full_groups_constraints(void **state)
{
	(void)state;
	vg_config *c = load_ok(DATA "good_full.yaml");
	assert_int_equal(c->n_groups, 1);
	assert_string_equal(vg_config_group_of(c, "web")->name, "frontend");
	assert_null(vg_config_group_of(c, "db"));
	assert_int_equal(c->n_constraints, 8);
	assert_int_equal(cons(c, 0)->kind, VG_CONS_COLOCATE);
	assert_int_equal(cons(c, 0)->u.colocate.score, VG_SCORE_INF);
	assert_int_equal(cons(c, 1)->u.colocate.with_role, VG_RROLE_PROMOTED);
	assert_int_equal(cons(c, 1)->u.colocate.role, VG_RROLE_ANY);
	assert_int_equal(cons(c, 2)->kind, VG_CONS_ORDER);
	assert_int_equal(cons(c, 2)->u.order.first_action, VG_OP_START);
	assert_false(cons(c, 2)->u.order.optional);
	assert_int_equal(cons(c, 3)->u.order.first_action, VG_OP_PROMOTE);
	assert_true(cons(c, 3)->u.order.optional);
	assert_string_equal(cons(c, 4)->u.location.node, "n1");
	assert_int_equal(cons(c, 4)->u.location.score, 100);
	assert_int_equal(cons(c, 5)->u.location.score, -VG_SCORE_INF);
	assert_int_equal(cons(c, 5)->line, 65);
	assert_null(cons(c, 6)->u.location.node);
	assert_string_equal(cons(c, 6)->u.location.rule_attribute, "rack");
	assert_int_equal(cons(c, 6)->u.location.rule_op, VG_RULE_OP_EQ);
	assert_string_equal(cons(c, 6)->u.location.rule_value, "a");
	assert_int_equal(cons(c, 6)->u.location.score, VG_SCORE_INF);
	assert_int_equal(cons(c, 7)->u.location.rule_op, VG_RULE_OP_DEFINED);
	assert_null(cons(c, 7)->u.location.rule_value);
	assert_int_equal(cons(c, 7)->u.location.role, VG_RROLE_STARTED);
	vg_config_free(c);
}

static void test_defaults(void **state)
{
	(void)state;
	vg_config *c = load_ok(DATA "good_defaults.yaml");
	assert_int_equal(c->token_ms, 500);
	assert_int_equal(c->no_quorum, VG_NO_QUORUM_STOP);
	assert_int_equal(c->stickiness, 0);
	assert_null(c->key_file);
	assert_string_equal(c->http_address, "127.0.0.1:7480");
	/* b has id 1, so a and c get the next free ids in file order */
	assert_int_equal(vg_config_node(c, "a")->id, 2);
	assert_int_equal(vg_config_node(c, "b")->id, 1);
	assert_int_equal(vg_config_node(c, "c")->id, 3);
	assert_int_equal(vg_config_node(c, "a")->role, VG_ROLE_SERVER);

	const vg_resource *d = vg_config_resource(c, "dummy");
	for (int k = 0; k < VG_OP_COUNT; k++) {
		assert_int_equal(d->ops[k].timeout_ms, 20000);
		assert_false(d->ops[k].configured);
		assert_int_equal(d->ops[k].interval_ms, k == VG_OP_MONITOR ? 10000 : 0);
	}
	assert_int_equal(d->migration_threshold, 1000000);
	assert_int_equal(d->failure_timeout_ms, 0);
	assert_int_equal(d->on_fail, VG_ON_FAIL_RESTART);
	assert_int_equal(d->requires, VG_REQUIRES_FENCING);
	assert_false(d->has_stickiness);
	assert_false(d->clone.enabled);
	assert_false(d->disabled);
	assert_int_equal(d->check.kind, VG_CHECK_NONE);

	const vg_resource *ip = vg_config_resource(c, "ip");
	assert_int_equal(ip->cls, VG_CLASS_VIP);
	assert_null(ip->agent);
	assert_int_equal(ip->ops[VG_OP_MONITOR].interval_ms, 5000);
	assert_int_equal(ip->requires, VG_REQUIRES_QUORUM);

	const vg_resource *p = vg_config_resource(c, "proc");
	assert_int_equal(p->ops[VG_OP_MONITOR].interval_ms, 10000);
	assert_int_equal(p->requires, VG_REQUIRES_QUORUM);
	assert_string_equal(p->check.host, "127.0.0.1");
	assert_string_equal(p->check.path, "/");
	assert_int_equal(p->check.expect, 200);

	const vg_resource *ps = vg_config_resource(c, "procs");
	assert_true(ps->clone.enabled);
	assert_int_equal(ps->clone.max, 3);
	assert_int_equal(ps->clone.max_per_node, 1);
	assert_int_equal(ps->requires, VG_REQUIRES_QUORUM);

	const vg_resource *db = vg_config_resource(c, "db");
	assert_int_equal(db->clone.promoted_max, 1);
	assert_int_equal(db->clone.max, 3);
	assert_int_equal(db->requires, VG_REQUIRES_FENCING);

	const vg_resource *svc = vg_config_resource(c, "svc");
	assert_int_equal(svc->cls, VG_CLASS_SYSTEMD);
	assert_string_equal(svc->agent, "chrony.service");
	assert_int_equal(svc->requires, VG_REQUIRES_FENCING);
	assert_int_equal(vg_config_resource(c, "init")->cls, VG_CLASS_LSB);

	assert_int_equal(cons(c, 0)->u.colocate.score, VG_SCORE_INF);
	assert_int_equal(cons(c, 1)->u.order.then_action, VG_OP_START);
	assert_false(cons(c, 1)->u.order.optional);
	vg_config_free(c);
}

static void test_example_file(void **state)
{
	(void)state;
	vg_config *c = load_ok("examples/cluster.yaml");
	assert_int_equal(c->n_nodes, 1);
	assert_string_equal(vg_resource_param(vg_config_resource(c, "vip"), "address"),
			    "10.200.0.100/24");
	assert_int_equal(vg_config_resource(c, "web")->check.port, 8080);
	assert_int_equal(vg_config_resource(c, "worker")->cls, VG_CLASS_PROCESS);
	vg_config_free(c);
}

/* ---- bad files: one error each, exact line and field ---------------------- */

typedef struct {
	int line;
	const char *field;
	const char *msg; /* substring of the message */
} want_err;

static void expect_errors(const char *file, const want_err *want, size_t n)
{
	vg_config_errors e;
	vg_config *c = load_real(file, &e);
	assert_null(c);
	for (size_t i = 0; i < e.count; i++) {
		char buf[1024];
		vg_config_error_format(&e.items[i], buf, sizeof(buf));
		print_message("  %s\n", buf);
	}
	assert_int_equal(e.count, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(e.items[i].file, file);
		assert_int_equal(e.items[i].line, want[i].line);
		assert_string_equal(e.items[i].field, want[i].field);
		if (!strstr(e.items[i].message, want[i].msg))
			fail_msg("%s: message '%s' lacks '%s'", file, e.items[i].message,
				 want[i].msg);
	}
	vg_config_errors_free(&e);
}

static const struct {
	const char *file;
	want_err err;
} bad_files[] = {
    {"bad_syntax.yaml", {10, "(document)", "YAML syntax error"}},
    {"bad_empty.yaml", {0, "(document)", "empty"}},
    {"bad_alias.yaml", {13, "(document)", "aliases are not supported"}},
    {"bad_unknown_key.yaml", {9, "resources[0].parms", "unknown key"}},
    {"bad_wrong_type.yaml", {9, "resources[0].migration_threshold", "integer"}},
    {"bad_missing_field.yaml", {7, "resources[0].type", "missing required field"}},
    {"bad_duplicate_name.yaml",
     {10, "groups[0].name", "duplicate name 'd' (first used at line 7)"}},
    {"bad_duration.yaml", {10, "resources[0].ops.monitor.timeout", "invalid duration '20'"}},
    {"bad_score.yaml", {10, "constraints[0].location.score", "invalid score 'infinite'"}},
    {"bad_enum.yaml", {9, "resources[0].on_fail", "invalid value 'explode'"}},
    {"bad_unknown_ref.yaml", {10, "constraints[0].order.then", "unknown resource or group"}},
    {"bad_unknown_node.yaml", {10, "constraints[0].location.node", "unknown node 'n9'"}},
    {"bad_fence_target.yaml", {9, "fence_devices[0].targets[1]", "unknown node 'n3'"}},
    {"bad_ocf_required.yaml", {9, "resources[0].params", "missing required parameter 'ip'"}},
    {"bad_agent_missing.yaml", {8, "resources[0].type", "is not installed"}},
    {"bad_type_class.yaml", {8, "resources[0].type", "unknown resource type 'docker:nginx'"}},
    {"bad_vip_no_address.yaml", {9, "resources[0].params", "missing required parameter 'address'"}},
    {"bad_vip_address.yaml", {9, "resources[0].params.address", "invalid value '10.0.0.300/24'"}},
    {"bad_native_param.yaml", {11, "resources[0].params.user", "unknown parameter"}},
    {"bad_two_groups.yaml", {11, "groups[1].members[0]", "already a member of group 'g1'"}},
    {"bad_clone_in_group.yaml", {13, "groups[0].members[1]", "a clone cannot be a group member"}},
    {"bad_check_port.yaml", {10, "resources[0].check.port", "between 1 and 65535"}},
    {"bad_check_interval.yaml", {12, "resources[0].ops.monitor.interval", "greater than 0"}},
    {"bad_migration.yaml", {9, "resources[0].migration_threshold", "1 or more"}},
    {"bad_name.yaml", {7, "resources[0].name", "invalid name 'my web'"}},
    {"bad_two_docs.yaml", {10, "(document)", "only one YAML document"}},
    {"bad_params_type.yaml", {10, "resources[0].params.command", "mapping of names to scalar"}},
    {"bad_alerts.yaml", {7, "alerts[0].path", "must be an absolute path"}},
};

static void test_bad_files(void **state)
{
	(void)state;
	char path[256];
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		snprintf(path, sizeof(path), DATA "%s", bad_files[i].file);
		print_message("%s\n", path);
		expect_errors(path, &bad_files[i].err, 1);
	}
}

static void test_all_semantic_errors_collected(void **state)
{
	(void)state;
	static const want_err want[] = {
	    {3, "cluster.token", "invalid duration 'fast'"},
	    {6, "nodes[1].name", "duplicate name 'n1'"},
	    {11, "resources[0].stickiness", "invalid score 'lots'"},
	    {13, "resources[1].type", "unknown resource type 'lsb:'"},
	    {17, "resources[2].ops.start.interval", "only the monitor operation"},
	    {19, "groups[0].members[1]", "unknown resource 'nosuch'"},
	    {21, "constraints[0].colocate.with_role", "not a promotable clone"},
	    {22, "constraints[1]", "exactly one of location, colocate or order"},
	};
	expect_errors(DATA "bad_many.yaml", want, sizeof(want) / sizeof(want[0]));
}

static void test_all_schema_errors_collected(void **state)
{
	(void)state;
	static const want_err want[] = {
	    {3, "cluster.colour", "unknown key"},
	    {5, "nodes[0].weight", "unknown key"},
	    {7, "resources[0].type", "missing required field"},
	    {9, "resources[0].clone.max", "expected a non-negative integer, got '-1'"},
	    {9, "resources[0].clone.promotable", "expected a boolean"},
	    {11, "resources[1].ops.restart", "unknown key"},
	    {13, "resources[1].name", "duplicate key"},
	};
	expect_errors(DATA "bad_many_schema.yaml", want, sizeof(want) / sizeof(want[0]));
}

static void test_missing_file_and_format(void **state)
{
	(void)state;
	vg_config_errors e;
	assert_null(vg_config_load(DATA "no_such_file.yaml", NULL, &e));
	assert_int_equal(e.count, 1);
	assert_int_equal(e.items[0].line, 0);
	assert_non_null(strstr(e.items[0].message, "No such file"));
	vg_config_errors_free(&e);

	static const char yaml[] = "cluster: {name: x}\nnodes: []\n";
	assert_null(vg_config_load_buffer("mem.yaml", yaml, sizeof(yaml) - 1, NULL, &e));
	assert_int_equal(e.count, 1);
	char buf[256];
	vg_config_error_format(&e.items[0], buf, sizeof(buf));
	assert_string_equal(buf, "mem.yaml:2: nodes: needs at least 1 entry");
	vg_config_errors_free(&e);
	vg_config_errors_free(&e); /* idempotent */
}

static void test_buffer_ok(void **state)
{
	(void)state;
	static const char yaml[] = "cluster: {name: x}\n"
				   "nodes: [{name: n1, address: 127.0.0.1}]\n"
				   "resources:\n"
				   "  - {name: p, type: process, params: {command: 'sleep 9'}}\n";
	vg_config_errors e;
	vg_config *c = vg_config_load_buffer("mem.yaml", yaml, sizeof(yaml) - 1, NULL, &e);
	assert_non_null(c);
	assert_int_equal(e.count, 0);
	assert_string_equal(vg_resource_param(&c->resources[0], "command"), "sleep 9");
	assert_int_equal(c->resources[0].line, 4);
	vg_config_free(c);
	vg_config_free(NULL);
}

/* ---- agents: what the loader asks its vg_agent_info -------------------------- */

/* A provider that knows three agents by name, and counts what it is asked. */
typedef struct {
	vg_ocf_metadata md; /* test:needs: requires "path" */
	int asked;
	char last[128];
} fake_agents;

static vg_agent_answer fake_metadata(void *arg, const char *provider, const char *agent,
				     const vg_ocf_metadata **md, char *err, size_t errlen)
{
	fake_agents *f = arg;
	f->asked++;
	snprintf(f->last, sizeof(f->last), "%s:%s", provider, agent);
	if (!strcmp(agent, "needs")) {
		*md = &f->md;
		return VG_AGENT_OK;
	}
	if (!strcmp(agent, "broken")) {
		snprintf(err, errlen, "meta-data timed out after 5000 ms");
		return VG_AGENT_FAILED;
	}
	if (!strcmp(agent, "later"))
		return VG_AGENT_UNKNOWN;
	snprintf(err, errlen, "on this node (fake)");
	return VG_AGENT_NOT_INSTALLED;
}

static const char agents_yaml[] = "cluster: {name: x}\n"
				  "nodes: [{name: n1, address: 10.0.0.1}]\n"
				  "resources:\n"
				  "  - name: a\n"
				  "    type: ocf:test:%s\n"
				  "    params: {%s}\n";

static vg_config *fake_load(fake_agents *f, const char *agent, const char *params,
			    vg_config_errors *e)
{
	char yaml[512];
	snprintf(yaml, sizeof(yaml), agents_yaml, agent, params);
	vg_agent_info ai = {fake_metadata, f};
	return vg_config_load_buffer("a.yaml", yaml, strlen(yaml), &ai, e);
}

static void expect_one(vg_config *c, vg_config_errors *e, const char *want)
{
	assert_null(c);
	assert_int_equal(e->count, 1);
	char buf[1024];
	vg_config_error_format(&e->items[0], buf, sizeof(buf));
	assert_string_equal(buf, want);
	vg_config_errors_free(e);
}

/* cluster.lease: at least the token; 0 is not a duration it takes */
static void test_lease_at_least_token(void **state)
{
	(void)state;
	static const char *const base = "cluster: {name: t, token: 500ms%s}\n"
					"nodes:\n"
					"  - {name: n1, address: 10.9.0.1, role: server}\n";
	char yaml[256];
	vg_config_errors e;
	snprintf(yaml, sizeof yaml, base, ", lease: 200ms");
	vg_config *c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
	expect_one(c, &e,
		   "a.yaml:1: cluster.lease: must be at least cluster.token (500 ms): a shorter "
		   "lease would halt a node for a Corosync pause that does not even break the "
		   "ring");
	snprintf(yaml, sizeof yaml, base, ", lease: 2s");
	c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
	assert_non_null(c);
	assert_int_equal(c->lease_ms, 2000);
	vg_config_free(c);
	vg_config_errors_free(&e);
	snprintf(yaml, sizeof yaml, base, "");
	c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
	assert_non_null(c);
	assert_int_equal(c->lease_ms, 500); /* the token */
	vg_config_free(c);
	vg_config_errors_free(&e);
}

/* api: the HTTP API's address (following cluster.http_address), token file and TLS pair */
static void test_api(void **state)
{
	(void)state;
	static const char *const base = "cluster: {name: t, http_address: \"10.9.0.1:7481\"}\n"
					"%s"
					"nodes:\n"
					"  - {name: n1, address: 10.9.0.1, role: server}\n";
	char yaml[512];
	vg_config_errors e;
	snprintf(yaml, sizeof yaml, base, "");
	vg_config *c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
	assert_non_null(c);
	assert_string_equal(c->api.listen, "10.9.0.1:7481");
	assert_null(c->api.token_file);
	assert_null(c->api.tls_cert);
	vg_config_free(c);
	vg_config_errors_free(&e);
	snprintf(yaml, sizeof yaml, base,
		 "api: {listen: \"[::1]:8443\", token_file: /etc/vigil/api-token,\n"
		 "      tls_cert: /etc/vigil/api.crt, tls_key: /etc/vigil/api.key}\n");
	c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
	assert_non_null(c);
	assert_string_equal(c->api.listen, "[::1]:8443");
	assert_string_equal(c->api.token_file, "/etc/vigil/api-token");
	assert_string_equal(c->api.tls_key, "/etc/vigil/api.key");
	vg_config_free(c);
	vg_config_errors_free(&e);
	const struct {
		const char *api, *want;
	} bad[] = {
	    {"api: {listen: nowhere}\n",
	     "a.yaml:2: api.listen: expected HOST:PORT or [HOST]:PORT, got 'nowhere'"},
	    {"api: {token_file: api-token}\n",
	     "a.yaml:2: api.token_file: expected an absolute path, got 'api-token'"},
	    {"api: {tls_cert: /etc/vigil/api.crt}\n",
	     "a.yaml:2: api.tls_key: api.tls_cert and api.tls_key go together (HTTPS needs both)"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(yaml, sizeof yaml, base, bad[i].api);
		c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
		expect_one(c, &e, bad[i].want);
	}
}

static void test_alerts(void **state)
{
	(void)state;
	static const char *const base = "cluster: {name: t}\n"
					"nodes:\n"
					"  - {name: n1, address: 10.9.0.1, role: server}\n"
					"alerts:\n%s";
	char yaml[1024];
	vg_config_errors e;
	snprintf(yaml, sizeof yaml, base,
		 "  - {name: file, path: /usr/share/pacemaker/alerts/alert_file.sh.sample,\n"
		 "     recipients: [/var/log/a.log, /var/log/b.log], kinds: [node, fencing]}\n"
		 "  - {name: off, path: /bin/true, timeout: 2s, enabled: false}\n");
	vg_config *c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
	if (!c)
		fail_msg("%s", e.count ? e.items[0].message : "?");
	assert_int_equal(c->n_alerts, 2);
	assert_string_equal(c->alerts[0].name, "file");
	assert_int_equal(c->alerts[0].n_recipients, 2);
	assert_string_equal(c->alerts[0].recipients[1], "/var/log/b.log");
	assert_int_equal(c->alerts[0].kinds, VG_ALERT_NODE | VG_ALERT_FENCING);
	assert_int_equal(c->alerts[0].timeout_ms, 30000);
	assert_true(c->alerts[0].enabled);
	assert_int_equal(c->alerts[1].kinds, VG_ALERT_ALL);
	assert_int_equal(c->alerts[1].timeout_ms, 2000);
	assert_false(c->alerts[1].enabled);
	vg_config_free(c);
	vg_config_errors_free(&e);
	const struct {
		const char *alerts, *want;
	} bad[] = {
	    {"  - {name: a, path: alert.sh}\n",
	     "a.yaml:5: alerts[0].path: must be an absolute path, not 'alert.sh'"},
	    {"  - {name: a, path: /bin/true, kinds: [node, disk]}\n",
	     "a.yaml:5: alerts[0].kinds[1]: unknown alert kind 'disk' (node, fencing, resource, "
	     "attribute)"},
	    {"  - {name: a, path: /bin/true}\n  - {name: a, path: /bin/false}\n",
	     "a.yaml:6: alerts[1].name: duplicate alert name 'a' (also alerts[0])"},
	    {"  - {name: a, path: /bin/true, timeout: soon}\n", "alerts[0].timeout"},
	    {"  - {name: a}\n", "path"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(yaml, sizeof yaml, base, bad[i].alerts);
		c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
		assert_null(c);
		assert_int_equal(e.count, 1);
		char buf[1024];
		vg_config_error_format(&e.items[0], buf, sizeof buf);
		if (!strstr(buf, bad[i].want))
			fail_msg("got '%s', want '%s'", buf, bad[i].want);
		vg_config_errors_free(&e);
	}
}

static void test_agents_from_provider(void **state)
{
	(void)state;
	vg_ocf_param p = {.name = (char *)"path", .required = true};
	fake_agents f = {.md = {.params = &p, .n_params = 1}};
	vg_config_errors e;

	/* not installed, as the provider says: FILE:LINE: FIELD: error, the provider's words */
	vg_config *c = fake_load(&f, "gone", "x: '1'", &e);
	assert_int_equal(f.asked, 1);
	assert_string_equal(f.last, "test:gone");
	expect_one(c, &e,
		   "a.yaml:5: resources[0].type: OCF agent ocf:test:gone is not "
		   "installed on this node (fake)");

	c = fake_load(&f, "broken", "x: '1'", &e);
	expect_one(c, &e,
		   "a.yaml:5: resources[0].type: cannot read the meta-data of "
		   "ocf:test:broken: meta-data timed out after 5000 ms");

	/* its meta-data is the provider's: a required parameter it names is required */
	c = fake_load(&f, "needs", "x: '1'", &e);
	expect_one(c, &e,
		   "a.yaml:6: resources[0].params: missing required parameter 'path' "
		   "(required by ocf:test:needs)");
	c = fake_load(&f, "needs", "path: /tmp", &e);
	assert_non_null(c);
	assert_int_equal(e.count, 0);
	vg_config_free(c);

	/* unknown (not fetched): the checks that need it are skipped; so without a provider */
	c = fake_load(&f, "later", "x: '1'", &e);
	assert_non_null(c);
	vg_config_free(c);
	int before = f.asked;
	char yaml[512];
	snprintf(yaml, sizeof(yaml), agents_yaml, "gone", "x: '1'");
	c = vg_config_load_buffer("a.yaml", yaml, strlen(yaml), NULL, &e);
	assert_non_null(c);
	assert_int_equal(f.asked, before);
	vg_config_free(c);
}

/* A committed configuration loaded on one node (vg_config_load_local): an agent missing here
 * or unreadable here marks its resource unrunnable, with the provider's words, instead of
 * failing the load; the other resources are as vg_config_load_buffer makes them; an error
 * that does not depend on the node still fails it. */
static void test_agents_local(void **state)
{
	(void)state;
	vg_ocf_param p = {.name = (char *)"path", .required = true};
	fake_agents f = {.md = {.params = &p, .n_params = 1}};
	vg_agent_info ai = {fake_metadata, &f};
	static const char yaml[] = "cluster: {name: x}\n"
				   "nodes: [{name: n1, address: 10.0.0.1}]\n"
				   "resources:\n"
				   "  - {name: a, type: 'ocf:test:gone'}\n"
				   "  - {name: b, type: 'ocf:test:broken'}\n"
				   "  - {name: c, type: 'ocf:test:needs', params: {path: /x}}\n"
				   "  - {name: d, type: process, params: {command: 'sleep 9'}}\n";
	vg_config_errors e;
	/* the full check refuses it, as `vigil apply` on this node would */
	vg_config *c = vg_config_load_buffer("a.yaml", yaml, sizeof(yaml) - 1, &ai, &e);
	assert_null(c);
	assert_int_equal(e.count, 2);
	vg_config_errors_free(&e);

	c = vg_config_load_local("a.yaml", yaml, sizeof(yaml) - 1, &ai, &e);
	assert_non_null(c);
	assert_int_equal(e.count, 0);
	assert_int_equal(c->n_resources, 4);
	assert_string_equal(c->resources[0].unrunnable,
			    "OCF agent ocf:test:gone is not installed on this node (fake)");
	assert_string_equal(c->resources[1].unrunnable,
			    "cannot read the meta-data of ocf:test:broken: meta-data timed out "
			    "after 5000 ms");
	assert_null(c->resources[2].unrunnable);
	assert_null(c->resources[3].unrunnable);
	assert_ptr_equal(vg_config_resource(c, "a"), &c->resources[0]);
	vg_config_free(c);

	/* the same text with a fault of its own (an installed agent's required parameter
	 * missing, a bad duration): still an error */
	static const char bad[] = "cluster: {name: x}\n"
				  "nodes: [{name: n1, address: 10.0.0.1}]\n"
				  "resources:\n"
				  "  - {name: a, type: 'ocf:test:gone'}\n"
				  "  - {name: c, type: 'ocf:test:needs'}\n";
	c = vg_config_load_local("a.yaml", bad, sizeof(bad) - 1, &ai, &e);
	expect_one(c, &e,
		   "a.yaml:5: resources[1].params: missing required parameter 'path' "
		   "(required by ocf:test:needs)");
	c = vg_config_load_local("a.yaml", "cluster: [", 10, &ai, &e);
	assert_null(c);
	assert_true(e.count > 0);
	vg_config_errors_free(&e);
}

static void list_one(void *arg, const char *provider, const char *agent)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s:%s ", provider, agent);
}

/* The agents a text uses, each once, in file order, also when the text has other errors
 * (here a duplicate name). */
static void test_config_agents(void **state)
{
	(void)state;
	static const char yaml[] = "cluster: {name: x}\n"
				   "nodes: [{name: n1, address: 10.0.0.1}]\n"
				   "resources:\n"
				   "  - {name: a, type: 'ocf:p:one'}\n"
				   "  - {name: b, type: vip, params: {address: 10.0.0.9/24}}\n"
				   "  - {name: c, type: 'ocf:q:two'}\n"
				   "  - {name: a, type: 'ocf:p:one'}\n";
	char out[256] = "";
	vg_config_agents(yaml, sizeof(yaml) - 1, list_one, out);
	assert_string_equal(out, "p:one q:two ");
}

/* cluster.qnetd: defaults, every field, and each mistake named with its line. */
static vg_config *qnetd_load(const char *qnetd, const char *extra, vg_config_errors *e)
{
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
		 "cluster:\n"
		 "  name: x\n"
		 "%s"
		 "  qnetd: %s\n"
		 "nodes:\n"
		 "  - {name: n1, address: 10.0.0.1}\n"
		 "  - {name: n2, address: 10.0.0.2, id: 7}\n",
		 extra, qnetd);
	return vg_config_load_buffer("q.yaml", yaml, strlen(yaml), NULL, e);
}

static void test_qnetd(void **state)
{
	(void)state;
	vg_config_errors e;
	vg_config *c = qnetd_load("{host: 10.0.0.9}", "", &e);
	assert_non_null(c);
	assert_string_equal(c->qnetd.host, "10.0.0.9");
	assert_int_equal(c->qnetd.port, 5403);
	assert_int_equal(c->qnetd.algorithm, VG_QNETD_FFSPLIT);
	assert_int_equal(c->qnetd.tls, VG_QNETD_TLS_ON);
	assert_int_equal(c->qnetd.tie_breaker_id, 0);
	assert_false(c->qnetd.tie_breaker_highest);
	vg_config_free(c);

	c = qnetd_load("{host: q.example, port: 6000, algorithm: lms, tls: off, tie_breaker: n2}",
		       "", &e);
	assert_non_null(c);
	assert_int_equal(c->qnetd.port, 6000);
	assert_int_equal(c->qnetd.algorithm, VG_QNETD_LMS);
	assert_int_equal(c->qnetd.tls, VG_QNETD_TLS_OFF);
	assert_int_equal(c->qnetd.tie_breaker_id, 7);
	assert_string_equal(vg_qnetd_algorithm_name(c->qnetd.algorithm), "lms");
	assert_string_equal(vg_qnetd_tls_name(VG_QNETD_TLS_REQUIRED), "required");
	vg_config_free(c);

	c = qnetd_load("{host: q, tie_breaker: highest}", "", &e);
	assert_non_null(c);
	assert_true(c->qnetd.tie_breaker_highest);
	vg_config_free(c);

	static const char none[] =
	    "cluster: {name: x}\n"
	    "nodes: [{name: n1, address: 10.0.0.1}, {name: n2, address: 10.0.0.2}]\n";
	c = vg_config_load_buffer("none.yaml", none, sizeof(none) - 1, NULL, &e);
	assert_non_null(c);
	assert_null(c->qnetd.host); /* absent: no arbiter */
	vg_config_free(c);

	static const struct {
		const char *qnetd, *extra;
		int line;
		const char *field, *msg;
	} bad[] = {
	    {"{port: 5403}", "", 3, "cluster.qnetd.host", "missing required field"},
	    {"{host: q, port: 70000}", "", 3, "cluster.qnetd.port", "between 1 and 65535"},
	    {"{host: q, algorithm: coin}", "", 3, "cluster.qnetd.algorithm",
	     "invalid value 'coin' (expected one of: ffsplit, lms)"},
	    {"{host: q, tls: maybe}", "", 3, "cluster.qnetd.tls", "invalid value 'maybe'"},
	    {"{host: q, tie_breaker: n9}", "", 3, "cluster.qnetd.tie_breaker",
	     "expected lowest, highest or the name of a server, got 'n9'"},
	    {"{host: q, votes: 2}", "", 3, "cluster.qnetd.votes", "unknown key"},
	    {"{host: q}", "  watchdog: /dev/watchdog\n", 4, "cluster.qnetd",
	     "cannot be used with cluster.watchdog"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("qnetd: %s\n", bad[i].qnetd);
		c = qnetd_load(bad[i].qnetd, bad[i].extra, &e);
		assert_null(c);
		assert_int_equal(e.count, 1);
		assert_int_equal(e.items[0].line, bad[i].line);
		assert_string_equal(e.items[0].field, bad[i].field);
		if (!strstr(e.items[0].message, bad[i].msg))
			fail_msg("message '%s' lacks '%s'", e.items[0].message, bad[i].msg);
		vg_config_errors_free(&e);
	}

	static const char one[] = "cluster: {name: x, qnetd: {host: q}}\n"
				  "nodes: [{name: n1, address: 10.0.0.1}]\n";
	c = vg_config_load_buffer("one.yaml", one, sizeof(one) - 1, NULL, &e);
	assert_null(c);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.items[0].field, "cluster.qnetd");
	assert_non_null(strstr(e.items[0].message, "two or more servers (this one has 1)"));
	vg_config_errors_free(&e);
}

/* ---- parsers -------------------------------------------------------------- */

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		uint64_t ms;
	} t[] = {
	    {"500ms", 0, 500},
	    {"10s", 0, 10000},
	    {"5m", 0, 300000},
	    {"1h", 0, 3600000},
	    {"0s", 0, 0},
	    {"0ms", 0, 0},
	    {"20", -1, 0},
	    {"", -1, 0},
	    {"s", -1, 0},
	    {"-1s", -1, 0},
	    {"1.5s", -1, 0},
	    {"10 s", -1, 0},
	    {" 10s", -1, 0},
	    {"10S", -1, 0},
	    {"1d", -1, 0},
	    {"10sec", -1, 0},
	    {"99999999999999999999s", -1, 0},
	    {"18446744073709551615h", -1, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t ms = 12345;
		print_message("duration '%s'\n", t[i].s);
		assert_int_equal(vg_parse_duration_ms(t[i].s, &ms), t[i].rc);
		if (t[i].rc == 0)
			assert_int_equal(ms, t[i].ms);
	}
	uint64_t ms;
	assert_int_equal(vg_parse_duration_ms(NULL, &ms), -1);
}

static void test_scores(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		int v;
	} t[] = {
	    {"100", 0, 100},
	    {"-100", 0, -100},
	    {"+7", 0, 7},
	    {"0", 0, 0},
	    {"inf", 0, VG_SCORE_INF},
	    {"+inf", 0, VG_SCORE_INF},
	    {"-inf", 0, -VG_SCORE_INF},
	    {"5000000", 0, VG_SCORE_INF},
	    {"-5000000", 0, -VG_SCORE_INF},
	    {"99999999999999999999", 0, VG_SCORE_INF},
	    {"infinite", -1, 0},
	    {"INF", -1, 0},
	    {"", -1, 0},
	    {"-", -1, 0},
	    {"1e3", -1, 0},
	    {"12abc", -1, 0},
	    {" 1", -1, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int v = 12345;
		print_message("score '%s'\n", t[i].s);
		assert_int_equal(vg_parse_score(t[i].s, &v), t[i].rc);
		if (t[i].rc == 0)
			assert_int_equal(v, t[i].v);
	}
}

static void test_score_add(void **state)
{
	(void)state;
	static const int t[][3] = {
	    {1, 2, 3},
	    {VG_SCORE_INF, 5, VG_SCORE_INF},
	    {-VG_SCORE_INF, 5, -VG_SCORE_INF},
	    {VG_SCORE_INF, -VG_SCORE_INF, -VG_SCORE_INF},
	    {600000, 600000, VG_SCORE_INF},
	    {-600000, -600000, -VG_SCORE_INF},
	    {VG_SCORE_INF - 1, -1, VG_SCORE_INF - 2},
	    {100, -300, -200},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(vg_score_add(t[i][0], t[i][1]), t[i][2]);
}

static void test_names(void **state)
{
	(void)state;
	for (int k = 0; k < VG_OP_COUNT; k++) {
		vg_op_kind back;
		assert_int_equal(vg_op_from_name(vg_op_name((vg_op_kind)k), &back), 0);
		assert_int_equal(back, k);
	}
	vg_op_kind k;
	assert_int_equal(vg_op_from_name("reload", &k), -1);
	assert_int_equal(vg_op_from_name(NULL, &k), -1);
	assert_string_equal(vg_op_name(VG_OP_MONITOR), "monitor");
	assert_string_equal(vg_class_name(VG_CLASS_OCF), "ocf");
	assert_string_equal(vg_class_name(VG_CLASS_SYSTEMD), "systemd");
	assert_string_equal(vg_class_name(VG_CLASS_PROCESS), "process");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_cluster_and_nodes),
	    cmocka_unit_test(test_full_resources),
	    cmocka_unit_test(test_full_groups_constraints),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_example_file),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_all_semantic_errors_collected),
	    cmocka_unit_test(test_all_schema_errors_collected),
	    cmocka_unit_test(test_missing_file_and_format),
	    cmocka_unit_test(test_buffer_ok),
	    cmocka_unit_test(test_lease_at_least_token),
	    cmocka_unit_test(test_api),
	    cmocka_unit_test(test_alerts),
	    cmocka_unit_test(test_agents_from_provider),
	    cmocka_unit_test(test_config_agents),
	    cmocka_unit_test(test_agents_local),
	    cmocka_unit_test(test_qnetd),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_scores),
	    cmocka_unit_test(test_score_add),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
