/* Unit tests: /metrics (metrics.h) from a status object and its configuration: the exporter's
 * names and labels, the node and instance states mapped onto its values, label escaping, and
 * a text in which every line is a comment or one sample. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <regex.h>

#include "metrics.h"

static const char *const YAML =
    "cluster: {name: t}\n"
    "nodes:\n"
    "  - {name: n1, address: 10.9.0.1, role: server}\n"
    "  - {name: n2, address: 10.9.0.2, role: server}\n"
    "  - {name: n3, address: 10.9.0.3, role: server}\n"
    "fence_devices:\n"
    "  - {name: pdu, agent: fence_dummy, targets: [n1, n2, n3]}\n"
    "resources:\n"
    "  - {name: web, type: process, params: {command: /bin/true}, migration_threshold: 3}\n"
    "  - {name: vip, type: vip, params: {address: 10.9.0.100/24}}\n"
    "  - {name: \"db\", type: process, params: {command: /bin/true}}\n"
    "groups:\n"
    "  - {name: front, members: [web, vip]}\n"
    "constraints:\n"
    "  - location: {resource: db, node: n3, score: inf}\n"
    "  - location: {resource: web, node: n1, score: 50}\n";

static const char *const STATUS =
    "{\"cluster\": {\"name\": \"t\", \"leader\": \"n2\", \"quorate\": true, \"node\": \"n1\"},"
    " \"nodes\": [{\"name\": \"n1\", \"role\": \"server\", \"state\": \"online\"},"
    "            {\"name\": \"n2\", \"role\": \"server\", \"state\": \"standby\"},"
    "            {\"name\": \"n3\", \"role\": \"server\", \"state\": \"unclean\"}],"
    " \"resources\": ["
    "  {\"name\": \"web\", \"type\": \"process\", \"state\": \"running\", \"failcount\": 2,"
    "   \"instances\": [{\"node\": \"n1\", \"role\": \"started\", \"state\": \"running\","
    "                    \"failcount\": 2}]},"
    "  {\"name\": \"vip\", \"type\": \"vip\", \"state\": \"failed\", \"failcount\": 1,"
    "   \"instances\": [{\"node\": \"n1\", \"role\": \"started\", \"state\": \"failed\","
    "                    \"failcount\": 1}]},"
    "  {\"name\": \"db\", \"type\": \"pro\\\"cess\\n\", \"state\": \"stopped\", \"failcount\": 0,"
    "   \"instances\": []}]}";

static char *render(void)
{
	vg_config_errors e;
	vg_config *c = vg_config_load_buffer("m.yaml", YAML, strlen(YAML), NULL, &e);
	assert_non_null(c);
	vg_config_errors_free(&e);
	json_t *st = json_loads(STATUS, 0, NULL);
	assert_non_null(st);
	char *text = vg_metrics_text(st, c);
	json_decref(st);
	vg_config_free(c);
	assert_non_null(text);
	return text;
}

static void has(const char *text, const char *line)
{
	char want[1024];
	snprintf(want, sizeof want, "\n%s\n", line);
	if (!strstr(text, want))
		print_error("missing line: %s\nin:\n%s\n", line, text);
	assert_non_null(strstr(text, want));
}

static void test_exporter_series(void **state)
{
	(void)state;
	char *t = render();
	/* nodes: online, standby (also online), unclean; the coordinator is the dc */
	has(t, "ha_cluster_pacemaker_nodes{node=\"n1\",type=\"member\",status=\"online\"} 1");
	has(t, "ha_cluster_pacemaker_nodes{node=\"n1\",type=\"member\",status=\"dc\"} 0");
	has(t, "ha_cluster_pacemaker_nodes{node=\"n2\",type=\"member\",status=\"standby\"} 1");
	has(t, "ha_cluster_pacemaker_nodes{node=\"n2\",type=\"member\",status=\"online\"} 1");
	has(t, "ha_cluster_pacemaker_nodes{node=\"n2\",type=\"member\",status=\"dc\"} 1");
	has(t, "ha_cluster_pacemaker_nodes{node=\"n3\",type=\"member\",status=\"unclean\"} 1");
	has(t, "ha_cluster_pacemaker_nodes{node=\"n3\",type=\"member\",status=\"online\"} 0");
	has(t, "ha_cluster_pacemaker_nodes_total 3");
	/* instances: running is active, failed is failed; group and agent from the config */
	has(t,
	    "ha_cluster_pacemaker_resources{node=\"n1\",resource=\"web\",role=\"started\","
	    "managed=\"true\",status=\"active\",agent=\"process\",group=\"front\",clone=\"\"} 1");
	has(t, "ha_cluster_pacemaker_resources{node=\"n1\",resource=\"vip\",role=\"started\","
	       "managed=\"true\",status=\"failed\",agent=\"vip\",group=\"front\",clone=\"\"} 1");
	assert_null(strstr(t, "resource=\"db\",role=\"started\""));
	has(t, "ha_cluster_pacemaker_resources_total 3");
	has(t, "ha_cluster_pacemaker_fail_count{node=\"n1\",resource=\"web\"} 2");
	has(t, "ha_cluster_pacemaker_migration_threshold{node=\"n1\",resource=\"web\"} 3");
	has(t, "ha_cluster_pacemaker_location_constraints{constraint=\"constraints[0]\","
	       "node=\"n3\",resource=\"db\",role=\"\"} +Inf");
	has(t, "ha_cluster_pacemaker_location_constraints{constraint=\"constraints[1]\","
	       "node=\"n1\",resource=\"web\",role=\"\"} 50");
	has(t, "ha_cluster_pacemaker_stonith_enabled 1");
	has(t, "ha_cluster_corosync_quorate 1");
	has(t, "ha_cluster_corosync_quorum_votes{type=\"expected_votes\"} 3");
	has(t, "ha_cluster_corosync_quorum_votes{type=\"total_votes\"} 2");
	has(t, "ha_cluster_corosync_quorum_votes{type=\"quorum\"} 2");
	has(t, "ha_cluster_corosync_member_votes{node_id=\"1\",node=\"n1\",local=\"true\"} 1");
	has(t, "ha_cluster_corosync_member_votes{node_id=\"2\",node=\"n2\",local=\"false\"} 1");
	assert_null(strstr(t, "node=\"n3\",local"));
	/* vigil's own */
	has(t, "vigil_resource_up{resource=\"web\"} 1");
	has(t, "vigil_resource_up{resource=\"vip\"} 0");
	has(t, "vigil_node_online{node=\"n3\"} 0");
	free(t);
}

/* Every line is a HELP or TYPE comment or `name{labels} value`, and each family's TYPE comes
 * once, before its samples. */
static void test_every_line_is_well_formed(void **state)
{
	(void)state;
	char *t = render();
	regex_t sample, comment;
	assert_int_equal(
	    regcomp(&sample,
		    "^[a-z_]+(\\{([a-z_]+=\"([^\"\\\\]|\\\\.)*\",)*[a-z_]+=\"([^\"\\\\]|"
		    "\\\\.)*\"\\})? (-?[0-9.e+]+|[+-]Inf)$",
		    REG_EXTENDED | REG_NOSUB),
	    0);
	assert_int_equal(regcomp(&comment, "^# (HELP|TYPE) [a-z_]+ .+$", REG_EXTENDED | REG_NOSUB),
			 0);
	size_t lines = 0;
	for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), lines++) {
		bool ok = regexec(line[0] == '#' ? &comment : &sample, line, 0, NULL, 0) == 0;
		if (!ok)
			print_error("bad line: %s\n", line);
		assert_true(ok);
	}
	assert_true(lines > 40);
	regfree(&sample);
	regfree(&comment);
	free(t);
}

/* A label value with a quote, a backslash or a newline is escaped. */
static void test_label_values_are_escaped(void **state)
{
	(void)state;
	json_t *st = json_loads("{\"cluster\": {\"leader\": null, \"quorate\": false},"
				" \"nodes\": [], \"resources\": [{\"name\": \"a\\\"b\\\\c\\nd\", "
				"\"state\": \"running\","
				" \"instances\": []}]}",
				0, NULL);
	assert_non_null(st);
	char *t = vg_metrics_text(st, NULL);
	has(t, "vigil_resource_up{resource=\"a\\\"b\\\\c\\nd\"} 1");
	has(t, "ha_cluster_corosync_quorate 0");
	json_decref(st);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exporter_series),
	    cmocka_unit_test(test_every_line_is_well_formed),
	    cmocka_unit_test(test_label_values_are_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
