/* test_config_diff.c - unit tests of the configuration diff (src/core/config_diff.c): each kind
 * of change gives its exact line, order in the file is not a change, a NULL old config lists
 * everything as added, and vg_config_resource_changed tells a resource's definition from its
 * meta attributes. Configurations are YAML text loaded through vg_config_load_buffer (the
 * real loader, with OCF_ROOT=/usr/lib/ocf for ocf:heartbeat:Dummy).
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
#include "config_diff.h"

/* The base: three servers, a fence device, four resources, a group, three constraints. */
#define CLUSTER "cluster: {name: demo, token: 500ms}\n"
#define NODES                                                                                      \
	"nodes:\n"                                                                                 \
	"  - {name: n1, address: 10.0.0.1, role: server}\n"                                        \
	"  - {name: n2, address: 10.0.0.2, role: server}\n"                                        \
	"  - {name: n3, address: 10.0.0.3, role: server}\n"
#define FENCE                                                                                      \
	"fence_devices:\n"                                                                         \
	"  - {name: pdu, agent: fence_dummy, params: {type: success}, targets: [n1, n2, n3]}\n"
#define RES_WEB                                                                                    \
	"  - name: web\n"                                                                          \
	"    type: process\n"                                                                      \
	"    params: {command: \"/usr/bin/python3 -m http.server 8080\"}\n"
#define RES_VIP                                                                                    \
	"  - name: vip\n"                                                                          \
	"    type: vip\n"                                                                          \
	"    params: {address: 10.0.0.100/24, interface: eth0}\n"
#define RES_DUMMY                                                                                  \
	"  - name: dummy\n"                                                                        \
	"    type: ocf:heartbeat:Dummy\n"                                                          \
	"    ops: {monitor: {interval: 5s, timeout: 10s}}\n"
#define RES_API                                                                                    \
	"  - name: api\n"                                                                          \
	"    type: process\n"                                                                      \
	"    params: {command: /bin/sleep 1000}\n"                                                 \
	"    clone: {max: 2}\n"
#define GROUPS "groups:\n  - {name: front, members: [vip, web]}\n"
#define CONS                                                                                       \
	"constraints:\n"                                                                           \
	"  - order: {first: dummy, then: front}\n"                                                 \
	"  - location: {resource: dummy, node: n1, score: 100}\n"                                  \
	"  - colocate: {resource: api, with: dummy, score: -inf}\n"

#define BASE CLUSTER NODES FENCE "resources:\n" RES_WEB RES_VIP RES_DUMMY RES_API GROUPS CONS

static vg_config *load(const char *yaml)
{
	vg_config_errors e;
	vg_config *c = vg_config_load_buffer("test.yaml", yaml, strlen(yaml), NULL, &e);
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

/* diff(a, b) must be exactly `want`. */
static void expect_diff(const char *a, const char *b, const char *want)
{
	vg_config *ca = a ? load(a) : NULL, *cb = load(b);
	char *d = vg_config_diff(ca, cb);
	assert_non_null(d);
	if (strcmp(d, want))
		print_error("got:\n%s\nwanted:\n%s\n", d, want);
	assert_string_equal(d, want);
	free(d);
	vg_config_free(ca);
	vg_config_free(cb);
}

static bool changed(const char *a, const char *b, const char *name)
{
	vg_config *ca = load(a), *cb = load(b);
	bool r = vg_config_resource_changed(ca, cb, name);
	vg_config_free(ca);
	vg_config_free(cb);
	return r;
}

/* ---- vg_config_diff --------------------------------------------------------------------- */

static void test_equal_is_empty(void **state)
{
	(void)state;
	expect_diff(BASE, BASE, "");
}

static void test_order_in_file_is_no_change(void **state)
{
	(void)state;
	const char *shuffled =
	    CLUSTER "nodes:\n"
		    "  - {name: n3, address: 10.0.0.3, role: server, id: 3}\n"
		    "  - {name: n1, address: 10.0.0.1}\n"
		    "  - {name: n2, address: 10.0.0.2, role: server, id: 2}\n" FENCE
		    "resources:\n" RES_API RES_DUMMY RES_VIP RES_WEB GROUPS "constraints:\n"
		    "  - colocate: {resource: api, with: dummy, score: -inf}\n"
		    "  - location: {resource: dummy, node: n1, score: 100}\n"
		    "  - order: {first: dummy, then: front, kind: mandatory}\n"
		    "  - order: {first: dummy, then: front}\n";
	expect_diff(BASE, shuffled, "");
}

static void test_cluster_options(void **state)
{
	(void)state;
	const char *b =
	    "cluster: {name: demo, token: 200ms, no_quorum: freeze, stickiness: inf,\n"
	    "          fence_delay: 5s, http_address: \"0.0.0.0:7480\", halt_grace: 1s,\n"
	    "          qnetd: {host: 10.0.0.9, tie_breaker: n2}}\n"
	    "api: {token_file: /etc/vigil/api-token}\n" NODES FENCE
	    "resources:\n" RES_WEB RES_VIP RES_DUMMY RES_API GROUPS CONS;
	expect_diff(BASE, b,
		    /* api.listen follows cluster.http_address when not given */
		    "~ api.listen: 127.0.0.1:7480 -> 0.0.0.0:7480\n"
		    "~ api.token_file: (none) -> /etc/vigil/api-token\n"
		    "~ cluster.fence_delay: 0 -> 5s\n"
		    "~ cluster.halt_grace: 250ms -> 1s\n"
		    "~ cluster.http_address: 127.0.0.1:7480 -> 0.0.0.0:7480\n"
		    "~ cluster.lease: 500ms -> 200ms\n" /* the lease follows the token */
		    "~ cluster.no_quorum: stop -> freeze\n"
		    "~ cluster.qnetd: (none) -> {host: 10.0.0.9, port: 5403, algorithm: ffsplit, "
		    "tls: on, tie_breaker: n2}\n"
		    "~ cluster.stickiness: 0 -> inf\n"
		    "~ cluster.token: 500ms -> 200ms\n");
}

static void test_nodes(void **state)
{
	(void)state;
	const char *b = CLUSTER "nodes:\n"
				"  - {name: n1, address: 10.0.0.1, role: server}\n"
				"  - {name: n2, address: 10.0.0.9, role: server}\n"
				"  - {name: n4, address: 10.0.0.4, role: server}\n"
				"fence_devices:\n"
				"  - {name: pdu, agent: fence_dummy, params: {type: success},"
				" targets: [n1, n2, n4]}\n"
				"resources:\n" RES_WEB RES_VIP RES_DUMMY RES_API GROUPS CONS;
	expect_diff(BASE, b,
		    "~ node n2: address: 10.0.0.2 -> 10.0.0.9\n"
		    "- node n3\n"
		    "+ node n4\n"
		    "~ fence_device pdu: targets: n1, n2, n3 -> n1, n2, n4\n");
}

static void test_fence_devices(void **state)
{
	(void)state;
	const char *b =
	    CLUSTER NODES "fence_devices:\n"
			  "  - {name: pdu, agent: fence_dummy, params: {type: fail, delay: 2},"
			  " targets: [n1, n2, n3], timeout: 30s}\n"
			  "  - {name: ipmi, agent: fence_ipmilan, targets: [n1], level: 2}\n"
			  "resources:\n" RES_WEB RES_VIP RES_DUMMY RES_API GROUPS CONS;
	expect_diff(BASE, b,
		    "+ fence_device ipmi (fence_ipmilan)\n"
		    "~ fence_device pdu: params.delay: (none) -> 2\n"
		    "~ fence_device pdu: params.type: success -> fail\n"
		    "~ fence_device pdu: timeout: 1m -> 30s\n");
}

static void test_resources_added_removed_params(void **state)
{
	(void)state;
	const char *b = CLUSTER NODES FENCE
	    "resources:\n" RES_WEB "  - name: vip\n"
	    "    type: vip\n"
	    "    params: {address: 10.0.0.101/24, interface: eth0}\n" RES_API "  - name: extra\n"
	    "    type: process\n"
	    "    params: {command: /bin/true}\n"
	    "groups:\n  - {name: front, members: [web, vip]}\n"
	    "constraints:\n"
	    "  - colocate: {resource: api, with: web, score: -inf}\n"
	    "  - order: {first: web, then: vip}\n";
	expect_diff(BASE, b,
		    "- resource dummy\n"
		    "+ resource extra (process)\n"
		    "~ resource vip: params.address: 10.0.0.100/24 -> 10.0.0.101/24\n"
		    "~ group front: members: vip, web -> web, vip\n"
		    "- constraint colocate api with dummy score -inf\n"
		    "+ constraint colocate api with web score -inf\n"
		    "- constraint location dummy on n1 score 100\n"
		    "- constraint order dummy -> front\n"
		    "+ constraint order web -> vip\n");
}

static void test_resource_meta_ops_check(void **state)
{
	(void)state;
	const char *b = CLUSTER NODES FENCE
	    "resources:\n"
	    "  - name: web\n"
	    "    type: process\n"
	    "    params: {command: \"/usr/bin/python3 -m http.server 8080\"}\n"
	    "    check: {type: tcp, port: 8080}\n"
	    "    stickiness: 100\n"
	    "    requires: fencing\n"
	    "    on_fail: block\n"
	    "    migration_threshold: 3\n"
	    "    failure_timeout: 10m\n"
	    "    disabled: true\n" RES_VIP "  - name: dummy\n"
	    "    type: ocf:heartbeat:Dummy\n"
	    "    ops: {monitor: {interval: 2s, timeout: 10s}, start: {timeout: 45s}}\n"
	    "  - name: api\n"
	    "    type: process\n"
	    "    params: {command: /bin/sleep 1000}\n"
	    "    clone: {max: 3, max_per_node: 2}\n" GROUPS CONS;
	expect_diff(BASE, b,
		    "~ resource api: clone: max 2, max_per_node 1 -> max 3, max_per_node 2\n"
		    "~ resource dummy: ops.monitor.interval: 5s -> 2s\n"
		    "~ resource dummy: ops.start.timeout: 20s -> 45s\n"
		    "~ resource web: check: none -> tcp 127.0.0.1:8080\n"
		    "~ resource web: disabled: false -> true\n"
		    "~ resource web: failure_timeout: 0 -> 10m\n"
		    "~ resource web: migration_threshold: 1000000 -> 3\n"
		    "~ resource web: on_fail: restart -> block\n"
		    "~ resource web: requires: quorum -> fencing\n"
		    "~ resource web: stickiness: (cluster) -> 100\n");
}

static void test_type_change_and_constraint_details(void **state)
{
	(void)state;
	const char *a = CLUSTER NODES
	    "resources:\n"
	    "  - {name: db, type: ocf:heartbeat:Dummy}\n"
	    "  - {name: api, type: process, params: {command: /bin/true}}\n"
	    "constraints:\n"
	    "  - location: {resource: db, rule: {attribute: rack, op: eq, value: a}, score: 10}\n";
	const char *b = CLUSTER NODES
	    "resources:\n"
	    "  - {name: db, type: process, params: {command: /bin/true}}\n"
	    "  - {name: api, type: process, params: {command: /bin/true}}\n"
	    "constraints:\n"
	    "  - location: {resource: db, rule: {attribute: ssd, op: defined}, score: inf}\n"
	    "  - order: {first: db, then: api, kind: optional}\n";
	expect_diff(a, b,
		    "~ resource db: params.command: (none) -> /bin/true\n"
		    "~ resource db: requires: fencing -> quorum\n"
		    "~ resource db: type: ocf:heartbeat:Dummy -> process\n"
		    "- constraint location db rule rack eq a score 10\n"
		    "+ constraint location db rule ssd defined score inf\n"
		    "+ constraint order db -> api (optional)\n");
}

static void test_old_null_is_all_added(void **state)
{
	(void)state;
	expect_diff(NULL, BASE,
		    "+ cluster demo\n"
		    "+ node n1\n"
		    "+ node n2\n"
		    "+ node n3\n"
		    "+ fence_device pdu (fence_dummy)\n"
		    "+ resource api (process)\n"
		    "+ resource dummy (ocf:heartbeat:Dummy)\n"
		    "+ resource vip (vip)\n"
		    "+ resource web (process)\n"
		    "+ group front (vip, web)\n"
		    "+ constraint colocate api with dummy score -inf\n"
		    "+ constraint location dummy on n1 score 100\n"
		    "+ constraint order dummy -> front\n");
}

static void test_everything_removed(void **state)
{
	(void)state;
	expect_diff(BASE, CLUSTER NODES,
		    "- fence_device pdu\n"
		    "- resource api\n"
		    "- resource dummy\n"
		    "- resource vip\n"
		    "- resource web\n"
		    "- group front\n"
		    "- constraint colocate api with dummy score -inf\n"
		    "- constraint location dummy on n1 score 100\n"
		    "- constraint order dummy -> front\n");
}

static void test_blank_values_are_quoted(void **state)
{
	(void)state;
	const char *b = CLUSTER NODES FENCE
	    "resources:\n"
	    "  - name: web\n"
	    "    type: process\n"
	    "    params: {command: \"/usr/bin/python3 -m http.server 8081\"}\n" RES_VIP RES_DUMMY
		RES_API GROUPS CONS;
	expect_diff(BASE, b,
		    "~ resource web: params.command: \"/usr/bin/python3 -m http.server 8080\" -> "
		    "\"/usr/bin/python3 -m http.server 8081\"\n");
}

static void test_constraint_text_roles_actions(void **state)
{
	(void)state;
	vg_constraint k = {.kind = VG_CONS_ORDER};
	k.u.order = (vg_order){.first = "db",
			       .then = "api",
			       .first_action = VG_OP_PROMOTE,
			       .then_action = VG_OP_START};
	char *t = vg_constraint_text(&k);
	assert_string_equal(t, "order db:promote -> api");
	free(t);
	k.kind = VG_CONS_COLOCATE;
	k.u.colocate = (vg_colocation){
	    .resource = "vip", .with = "db", .score = VG_SCORE_INF, .with_role = VG_RROLE_PROMOTED};
	t = vg_constraint_text(&k);
	assert_string_equal(t, "colocate vip with db:promoted score inf");
	free(t);
	k.kind = VG_CONS_LOCATION;
	k.u.location =
	    (vg_location){.resource = "web", .node = "n2", .score = -5, .role = VG_RROLE_STARTED};
	t = vg_constraint_text(&k);
	assert_string_equal(t, "location web:started on n2 score -5");
	free(t);
}

/* ---- vg_config_resource_changed ------------------------------------------------------------ */

static void test_resource_changed(void **state)
{
	(void)state;
	const char *b = CLUSTER NODES FENCE
	    "resources:\n"
	    "  - name: web\n"
	    "    type: process\n"
	    "    params: {command: \"/usr/bin/python3 -m http.server 8080\"}\n"
	    "    stickiness: 100\n"
	    "    disabled: true\n"
	    "  - name: vip\n"
	    "    type: vip\n"
	    "    params: {address: 10.0.0.101/24, interface: eth0}\n"
	    "  - name: dummy\n"
	    "    type: ocf:heartbeat:Dummy\n"
	    "    ops: {monitor: {interval: 5s, timeout: 11s}}\n"
	    "  - name: api\n"
	    "    type: process\n"
	    "    params: {command: /bin/sleep 1000}\n"
	    "    check: {type: tcp, port: 9000}\n"
	    "  - {name: new, type: process, params: {command: /bin/true}}\n" GROUPS CONS;
	assert_false(changed(BASE, b, "web"));	/* meta only */
	assert_true(changed(BASE, b, "vip"));	/* params */
	assert_true(changed(BASE, b, "dummy")); /* ops */
	assert_true(changed(BASE, b, "api"));	/* check (clone settings do not count) */
	assert_true(changed(BASE, b, "new"));	/* only in b */
	assert_true(changed(b, BASE, "new"));	/* only in a */
	assert_false(changed(BASE, b, "nosuch"));
	assert_false(changed(BASE, BASE, "vip"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_equal_is_empty),
	    cmocka_unit_test(test_order_in_file_is_no_change),
	    cmocka_unit_test(test_cluster_options),
	    cmocka_unit_test(test_nodes),
	    cmocka_unit_test(test_fence_devices),
	    cmocka_unit_test(test_resources_added_removed_params),
	    cmocka_unit_test(test_resource_meta_ops_check),
	    cmocka_unit_test(test_type_change_and_constraint_details),
	    cmocka_unit_test(test_old_null_is_all_added),
	    cmocka_unit_test(test_everything_removed),
	    cmocka_unit_test(test_blank_values_are_quoted),
	    cmocka_unit_test(test_constraint_text_roles_actions),
	    cmocka_unit_test(test_resource_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
