/* fuzz_config.c - libFuzzer harness for the configuration loader, vg_config_load_buffer
 * (src/config.h): cluster.yaml as an operator writes it, and the committed configuration a
 * server takes from a config_commit message.
 *
 * Each input is one file's bytes. The harness answers "not installed" for every OCF agent
 * (a vg_agent_info of its own), so an ocf: resource is reported as not installed and no agent
 * is ever run for its meta-data (the loader then takes microseconds, not a fork per agent).
 * Invariants: a rejected file has at least one error, each with a file, a field and a message;
 * an accepted one has none, loads again to a configuration with no difference from itself
 * (vg_config_diff), finds each of its nodes, resources and groups by name, matches a Corosync
 * nodelist made of its own servers (vg_corosync_match), and gives every server a corosync.conf
 * or a reason.
 * Must not: keep state between inputs, run agents or touch files.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_diff.h"
#include "corosync_conf.h"
#include "corosync_match.h"
#include "fuzz.h"
#include "log.h"

/* Every OCF agent is "not installed" (no agent is run for its meta-data while fuzzing). */
static vg_agent_answer no_agent(void *arg, const char *provider, const char *agent,
				const struct vg_ocf_metadata **md, char *err, size_t errlen)
{
	(void)arg;
	*md = NULL;
	snprintf(err, errlen, "OCF agent ocf:%s:%s is not installed (fuzzing)", provider, agent);
	return VG_AGENT_NOT_INSTALLED;
}
static const vg_agent_info no_agents = {no_agent, NULL};
#define NO_AGENTS (&no_agents)

static vg_log_config quiet = {.level = VG_LOG_ERROR};

static void check_rejected(const vg_config_errors *errs)
{
	char line[1024];
	FUZZ_CHECK(errs->count > 0);
	for (size_t i = 0; i < errs->count; i++) {
		const vg_config_error *e = &errs->items[i];
		FUZZ_CHECK(e->file && e->field && e->message && e->line >= 0);
		vg_config_error_format(e, line, sizeof line);
		FUZZ_CHECK(line[0] != '\0');
	}
}

/* A Corosync nodelist with c's servers, as `vigil corosync-conf` writes it, matches c. */
static void check_self_match(const vg_config *c)
{
	vg_corosync_node *nodes = calloc(c->n_nodes + 1, sizeof *nodes);
	FUZZ_CHECK(nodes);
	size_t n = 0;
	for (size_t i = 0; i < c->n_nodes; i++) {
		const vg_node *s = &c->nodes[i];
		if (s->role != VG_ROLE_SERVER)
			continue;
		const char *addr = s->address ? s->address : "";
		if (strlen(addr) >= VG_COROSYNC_STR_MAX || strlen(s->name) >= VG_COROSYNC_STR_MAX)
			goto out; /* longer than cmap's strings: not comparable */
		nodes[n].nodeid = s->id;
		strcpy(nodes[n].addr, addr);
		strcpy(nodes[n].name, s->name);
		n++;
	}
	char err[1024];
	int rc = vg_corosync_match(c, c->name, nodes, n, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "self-match: %s\n", err);
	FUZZ_CHECK(rc == 0);
out:
	free(nodes);
}

static void check_accepted(const vg_config *c, const uint8_t *data, size_t size)
{
	vg_config_errors errs;
	vg_config *again =
	    vg_config_load_buffer("fuzz.yaml", (const char *)data, size, NO_AGENTS, &errs);
	FUZZ_CHECK(again && errs.count == 0);
	char *d = vg_config_diff(c, again);
	FUZZ_CHECK(d && d[0] == '\0');
	free(d);
	d = vg_config_diff(NULL, c);
	FUZZ_CHECK(d);
	free(d);
	vg_config_free(again);

	for (size_t i = 0; i < c->n_nodes; i++)
		FUZZ_CHECK(vg_config_node(c, c->nodes[i].name) == &c->nodes[i]);
	for (size_t i = 0; i < c->n_resources; i++) {
		const vg_resource *r = &c->resources[i];
		FUZZ_CHECK(vg_config_resource(c, r->name) == r);
		FUZZ_CHECK(!vg_config_resource_changed(c, c, r->name));
	}
	for (size_t i = 0; i < c->n_groups; i++)
		for (size_t k = 0; k < c->groups[i].n_members; k++)
			FUZZ_CHECK(vg_config_group_of(c, c->groups[i].members[k]) == &c->groups[i]);
	for (size_t i = 0; i < c->n_constraints; i++) {
		char *t = vg_constraint_text(&c->constraints[i]);
		FUZZ_CHECK(t && t[0]);
		free(t);
	}

	check_self_match(c);
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (c->nodes[i].role != VG_ROLE_SERVER)
			continue;
		char *conf = NULL, err[512] = "";
		int rc = vg_corosync_conf(c, c->nodes[i].name, &conf, err, sizeof err);
		FUZZ_CHECK(rc == 0 ? conf != NULL : err[0] != '\0');
		free(conf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_log_init(&quiet);
	vg_config_errors errs;
	vg_config *c =
	    vg_config_load_buffer("fuzz.yaml", (const char *)data, size, NO_AGENTS, &errs);
	if (!c) {
		check_rejected(&errs);
	} else {
		FUZZ_CHECK(errs.count == 0);
		check_accepted(c, data, size);
	}
	vg_config_free(c);
	vg_config_errors_free(&errs);
	return 0;
}
