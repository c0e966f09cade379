/* test_corosync_match.c - unit tests of src/core/corosync_match.c: does a running Corosync's
 * nodelist (as corosync_membership.c reads it from cmap) match the configuration's servers? A table of
 * nodelists against one configuration (three servers and an agent), each with the exact message
 * expected; the message's bounds (small buffers, no buffer, "and N more"); and a round trip: the
 * nodelist `vigil corosync-conf` writes for a loaded cluster.yaml whose node ids are partly derived
 * matches that configuration, and stops matching when the file changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "corosync_conf.h"
#include "corosync_match.h"

/* ---- the configuration ----------------------------------------------------- */

/* demo: servers n1..n3 at 10.0.0.1..3 (ids 1..3), agent c1 at 10.0.0.50 (id 10). */
static vg_node cfg_nodes[] = {
    {.name = "n1", .address = "10.0.0.1", .role = VG_ROLE_SERVER, .id = 1},
    {.name = "n2", .address = "10.0.0.2", .role = VG_ROLE_SERVER, .id = 2},
    {.name = "n3", .address = "10.0.0.3", .role = VG_ROLE_SERVER, .id = 3},
    {.name = "c1", .address = "10.0.0.50", .role = VG_ROLE_AGENT, .id = 10},
};

static vg_config demo(void)
{
	vg_config c;
	memset(&c, 0, sizeof c);
	c.name = "demo";
	c.nodes = cfg_nodes;
	c.n_nodes = sizeof cfg_nodes / sizeof cfg_nodes[0];
	return c;
}

/* ---- the table --------------------------------------------------------------- */

#define CS(id, addr, name)                                                                         \
	{                                                                                          \
		id, addr, name                                                                     \
	}
#define N1 CS(1, "10.0.0.1", "n1")
#define N2 CS(2, "10.0.0.2", "n2")
#define N3 CS(3, "10.0.0.3", "n3")

typedef struct {
	const char *what;
	const char *cluster_name; /* NULL: none or unknown */
	vg_corosync_node nodes[8];
	size_t n;
	const char *want; /* NULL: matches */
} match_case;

static const match_case cases[] = {
    {"the same nodes", "demo", {N1, N2, N3}, 3, NULL},
    {"another order, other names, no cluster name",
     NULL,
     {CS(3, "10.0.0.3", "c"), CS(1, "10.0.0.1", ""), CS(2, "10.0.0.2", "b")},
     3,
     NULL},
    {"missing node", "demo", {N1, N2}, 2, "n3 (node id 3, 10.0.0.3) is not in Corosync's nodelist"},
    {"extra node",
     "demo",
     {N1, N2, N3, CS(4, "10.0.0.4", "")},
     4,
     "Corosync's nodelist has node id 4 (10.0.0.4) that the configuration does not have"},
    {"extra node with a name",
     "demo",
     {N1, N2, N3, CS(4, "10.0.0.4", "n4")},
     4,
     "Corosync's nodelist has node id 4 (n4, 10.0.0.4) that the configuration does not have"},
    {"wrong address",
     "demo",
     {N1, CS(2, "10.0.0.9", "n2"), N3},
     3,
     "n2 is node id 2 at 10.0.0.2 in the configuration but node id 2 is at 10.0.0.9 in "
     "Corosync"},
    {"no address",
     "demo",
     {N1, CS(2, "", "n2"), N3},
     3,
     "n2 is node id 2 at 10.0.0.2 in the configuration but node id 2 is at (no ring0_addr) in "
     "Corosync"},
    {"wrong id",
     "demo",
     {N1, CS(7, "10.0.0.2", "n2"), N3},
     3,
     "n2 is node id 2 at 10.0.0.2 in the configuration but 10.0.0.2 is node id 7 in Corosync"},
    {"two ids swapped",
     "demo",
     {CS(2, "10.0.0.1", "n1"), CS(1, "10.0.0.2", "n2"), N3},
     3,
     "n1 is node id 1 at 10.0.0.1 in the configuration but node id 1 is at 10.0.0.2 in "
     "Corosync; n2 is node id 2 at 10.0.0.2 in the configuration but node id 2 is at 10.0.0.1 "
     "in Corosync"},
    {"no nodeid",
     "demo",
     {N1, N2, N3, CS(0, "10.0.0.4", "")},
     4,
     "Corosync's nodelist has a node (10.0.0.4) without a nodeid"},
    {"an agent in Corosync",
     "demo",
     {N1, N2, N3, CS(10, "10.0.0.50", "c1")},
     4,
     "Corosync's nodelist has node id 10 (c1, 10.0.0.50), which is agent node c1 in the "
     "configuration (agents run no Corosync)"},
    {"wrong cluster name",
     "other",
     {N1, N2, N3},
     3,
     "Corosync's cluster_name is 'other' but the configuration's cluster.name is 'demo'"},
    {"empty nodelist",
     "demo",
     {{0}},
     0,
     "n1 (node id 1, 10.0.0.1) is not in Corosync's nodelist; n2 (node id 2, 10.0.0.2) is not "
     "in Corosync's nodelist; n3 (node id 3, 10.0.0.3) is not in Corosync's nodelist"},
    {"more differences than are named",
     "other",
     {CS(2, "10.0.0.9", ""), CS(5, "10.0.0.5", ""), CS(6, "10.0.0.6", "")},
     3,
     "Corosync's cluster_name is 'other' but the configuration's cluster.name is 'demo'; "
     "n1 (node id 1, 10.0.0.1) is not in Corosync's nodelist; n2 is node id 2 at 10.0.0.2 in "
     "the configuration but node id 2 is at 10.0.0.9 in Corosync; and 3 more differences"},
};

static void test_table(void **state)
{
	(void)state;
	vg_config c = demo();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const match_case *t = &cases[i];
		char err[1024] = "junk";
		int rc = vg_corosync_match(&c, t->cluster_name, t->nodes, t->n, err, sizeof err);
		if (t->want && (rc != -1 || strcmp(err, t->want)))
			fail_msg("%s: got %d '%s'\n  want -1 '%s'", t->what, rc, err, t->want);
		if (!t->want && (rc != 0 || err[0]))
			fail_msg("%s: got %d '%s', want a match", t->what, rc, err);
	}
}

/* IP addresses compare by value; host names as text, ignoring case. */
static void test_addresses(void **state)
{
	(void)state;
	vg_node nodes[] = {
	    {.name = "a", .address = "fd00::1", .role = VG_ROLE_SERVER, .id = 1},
	    {.name = "b", .address = "Node-B.example", .role = VG_ROLE_SERVER, .id = 2},
	};
	vg_config c = demo();
	c.nodes = nodes;
	c.n_nodes = 2;
	vg_corosync_node same[] = {CS(1, "fd00:0:0::1", ""), CS(2, "node-b.EXAMPLE", "")};
	assert_int_equal(vg_corosync_match(&c, "demo", same, 2, NULL, 0), 0);
	vg_corosync_node other[] = {CS(1, "fd00::2", ""), CS(2, "node-c.example", "")};
	char err[512];
	assert_int_equal(vg_corosync_match(&c, "demo", other, 2, err, sizeof err), -1);
	assert_string_equal(err, "a is node id 1 at fd00::1 in the configuration but node id 1 is "
				 "at fd00::2 in Corosync; b is node id 2 at Node-B.example in the "
				 "configuration but node id 2 is at node-c.example in Corosync");
}

/* The message fits any buffer (truncated, terminated); none at all is fine. */
static void test_bounds(void **state)
{
	(void)state;
	vg_config c = demo();
	const match_case *t = &cases[sizeof cases / sizeof cases[0] - 1];
	char full[1024];
	assert_int_equal(vg_corosync_match(&c, t->cluster_name, t->nodes, t->n, full, sizeof full),
			 -1);
	for (size_t len = 1; len < 64; len++) {
		char err[64];
		memset(err, 'x', sizeof err);
		assert_int_equal(vg_corosync_match(&c, t->cluster_name, t->nodes, t->n, err, len),
				 -1);
		assert_int_equal(strlen(err), len - 1);
		assert_memory_equal(err, full, len - 1);
	}
	assert_int_equal(vg_corosync_match(&c, t->cluster_name, t->nodes, t->n, NULL, 0), -1);
	assert_int_equal(vg_corosync_match(&c, "demo", cases[0].nodes, 3, NULL, 0), 0);
	assert_int_equal(vg_corosync_match(NULL, "demo", cases[0].nodes, 3, NULL, 0), -1);
}

/* ---- round trip through `vigil corosync-conf` -------------------------------- */

static vg_config *load(const char *yaml)
{
	vg_config_errors e;
	vg_config *c = vg_config_load_buffer("m.yaml", yaml, strlen(yaml), NULL, &e);
	if (!c) {
		char msg[256] = "";
		if (e.count)
			vg_config_error_format(&e.items[0], msg, sizeof msg);
		vg_config_errors_free(&e);
		fail_msg("cluster.yaml refused: %s", msg);
	}
	vg_config_errors_free(&e);
	return c;
}

/* The nodelist of a corosync.conf text (nodelist { node { ring0_addr, name, nodeid } }). */
static size_t parse_nodelist(const char *text, vg_corosync_node *out, size_t max,
			     char *cluster_name, size_t cnlen)
{
	size_t n = 0;
	const char *p = text;
	cluster_name[0] = '\0';
	while ((p = strchr(p, '\n'))) {
		p++;
		while (*p == '\t')
			p++;
		const char *eol = strchrnul(p, '\n');
		int len = (int)(eol - p);
		char v[VG_COROSYNC_STR_MAX];
		if (!strncmp(p, "node {", 6) && n < max)
			memset(&out[n++], 0, sizeof *out);
		else if (!strncmp(p, "cluster_name: ", 14))
			snprintf(cluster_name, cnlen, "%.*s", len - 14, p + 14);
		else if (n && !strncmp(p, "ring0_addr: ", 12))
			snprintf(out[n - 1].addr, sizeof out->addr, "%.*s", len - 12, p + 12);
		else if (n && !strncmp(p, "name: ", 6))
			snprintf(out[n - 1].name, sizeof out->name, "%.*s", len - 6, p + 6);
		else if (n && !strncmp(p, "nodeid: ", 8)) {
			snprintf(v, sizeof v, "%.*s", len - 8, p + 8);
			out[n - 1].nodeid = (uint32_t)strtoul(v, NULL, 10);
		}
	}
	return n;
}

static const char yaml_a[] = "cluster: {name: lab}\n"
			     "nodes:\n"
			     "  - {name: n1, address: 10.0.0.1}\n"
			     "  - {name: n2, address: 10.0.0.2, id: 5}\n"
			     "  - {name: c1, address: 10.0.0.50, role: agent}\n"
			     "  - {name: n3, address: 10.0.0.3}\n";

static void test_round_trip(void **state)
{
	(void)state;
	vg_config *c = load(yaml_a);
	char *text = NULL;
	char err[512] = "";
	assert_int_equal(vg_corosync_conf(c, "n1", &text, err, sizeof err), 0);
	vg_corosync_node nodes[8];
	char cn[64];
	size_t n = parse_nodelist(text, nodes, 8, cn, sizeof cn);
	free(text);
	assert_int_equal(n, 3);
	assert_string_equal(cn, "lab");
	/* n1 1, n2 5 as given, c1 2 (an agent: not in Corosync), n3 3 */
	assert_int_equal(nodes[2].nodeid, 3);
	assert_int_equal(vg_corosync_match(c, cn, nodes, n, err, sizeof err), 0);
	vg_config_free(c);

	/* the same Corosync against the file without the agent and with a fourth server: the
	 * derived ids move (n3 2, n4 3), which is refused */
	static const char yaml_b[] = "cluster: {name: lab}\n"
				     "nodes:\n"
				     "  - {name: n1, address: 10.0.0.1}\n"
				     "  - {name: n2, address: 10.0.0.2, id: 5}\n"
				     "  - {name: n3, address: 10.0.0.3}\n"
				     "  - {name: n4, address: 10.0.0.4}\n";
	c = load(yaml_b);
	assert_int_equal(vg_corosync_match(c, cn, nodes, n, err, sizeof err), -1);
	assert_string_equal(err, "n3 is node id 2 at 10.0.0.3 in the configuration but 10.0.0.3 "
				 "is node id 3 in Corosync; n4 is node id 3 at 10.0.0.4 in the "
				 "configuration but node id 3 is at 10.0.0.3 in Corosync");
	vg_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
