/* metrics.c - the cluster in Prometheus' text format (metrics.h). */
#include "metrics.h"
#include "mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the text -------------------------------------------------------------- */

typedef struct {
	char *s;
	size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *t = vg_vasprintf(fmt, ap);
	va_end(ap);
	size_t n = strlen(t);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = vg_realloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, t, n + 1);
	b->len += n;
	free(t);
}

/* A label value as the format wants it: backslash, double quote and newline escaped. */
static void put_value(buf *b, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			put(b, "\\\\");
		else if (*v == '"')
			put(b, "\\\"");
		else if (*v == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *v);
	}
}

static void family(buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",...} value; labels as key, value pairs ending with a NULL key. */
static void sample(buf *b, const char *name, double value, ...)
{
	va_list ap;
	va_start(ap, value);
	put(b, "%s", name);
	const char *sep = "{";
	for (const char *k; (k = va_arg(ap, const char *));) {
		put(b, "%s%s=\"", sep, k);
		put_value(b, va_arg(ap, const char *));
		put(b, "\"");
		sep = ",";
	}
	va_end(ap);
	if (*sep == ',')
		put(b, "}");
	if (isinf(value))
		put(b, " %sInf\n", value > 0 ? "+" : "-");
	else
		put(b, " %.17g\n", value);
}

/* ---- what the status says ------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A node that is a member of the cluster now (online, also in standby or maintenance). */
static bool is_up(const json_t *node)
{
	const char *state = str(node, "state");
	return !strcmp(state, "online") || !strcmp(state, "standby") ||
	       !strcmp(state, "maintenance");
}

static const char *group_of(const vg_config *cfg, const char *resource)
{
	const vg_group *g = cfg ? vg_config_group_of(cfg, resource) : NULL;
	return g ? g->name : "";
}

static const char *rrole_name(vg_rrole r)
{
	switch (r) {
	case VG_RROLE_STARTED:
		return "started";
	case VG_RROLE_PROMOTED:
		return "promoted";
	case VG_RROLE_UNPROMOTED:
		return "unpromoted";
	default:
		return "";
	}
}

static void nodes(buf *b, const json_t *st)
{
	static const char *const statuses[] = {"online",  "standby",  "maintenance", "pending",
					       "unclean", "shutdown", "expected_up", "dc"};
	const char *leader = str(json_object_get(st, "cluster"), "leader");
	const json_t *ns = json_object_get(st, "nodes");
	family(b, "ha_cluster_pacemaker_nodes", "gauge",
	       "The nodes of the cluster: 1 for each status a node has, 0 for the others");
	size_t i;
	const json_t *n;
	json_array_foreach(ns, i, n)
	{
		const char *name = str(n, "name"), *state = str(n, "state");
		const char *type = strcmp(str(n, "role"), "agent") ? "member" : "remote";
		bool up = is_up(n);
		bool has[] = {up,    !strcmp(state, "standby"), !strcmp(state, "maintenance"),
			      false, !strcmp(state, "unclean"), false,
			      up,    !strcmp(name, leader)};
		for (size_t k = 0; k < sizeof statuses / sizeof *statuses; k++)
			sample(b, "ha_cluster_pacemaker_nodes", has[k], "node", name, "type", type,
			       "status", statuses[k], NULL);
	}
	family(b, "ha_cluster_pacemaker_nodes_total", "gauge", "The nodes configured");
	sample(b, "ha_cluster_pacemaker_nodes_total", (double)json_array_size(ns), NULL);
	family(b, "vigil_node_online", "gauge", "1 when the node is a member of the cluster");
	json_array_foreach(ns, i, n)
	{
		sample(b, "vigil_node_online", is_up(n), "node", str(n, "name"), NULL);
	}
}

static void resources(buf *b, const json_t *st, const vg_config *cfg)
{
	const json_t *rs = json_object_get(st, "resources");
	size_t i, k;
	const json_t *r, *in;
	family(b, "ha_cluster_pacemaker_resources", "gauge",
	       "The resource instances that run, failed or are left alone (unmanaged)");
	json_array_foreach(rs, i, r)
	{
		const char *name = str(r, "name");
		const vg_resource *res = cfg ? vg_config_resource(cfg, name) : NULL;
		json_array_foreach(json_object_get(r, "instances"), k, in)
		{
			const char *state = str(in, "state");
			const char *status = !strcmp(state, "running")	   ? "active"
					     : !strcmp(state, "failed")	   ? "failed"
					     : !strcmp(state, "unmanaged") ? "blocked"
									   : NULL;
			if (!status)
				continue;
			const char *role = !strcmp(state, "starting") || !strcmp(state, "stopping")
					       ? state
					       : str(in, "role");
			sample(b, "ha_cluster_pacemaker_resources", 1, "node", str(in, "node"),
			       "resource", name, "role", role, "managed",
			       strcmp(state, "unmanaged") ? "true" : "false", "status", status,
			       "agent", str(r, "type"), "group", group_of(cfg, name), "clone",
			       res && res->clone.enabled ? name : "", NULL);
		}
	}
	family(b, "ha_cluster_pacemaker_resources_total", "gauge", "The resources configured");
	sample(b, "ha_cluster_pacemaker_resources_total", (double)json_array_size(rs), NULL);
	family(b, "ha_cluster_pacemaker_fail_count", "gauge",
	       "Failures of a resource on a node (until cleanup or failure_timeout)");
	json_array_foreach(rs, i, r) json_array_foreach(json_object_get(r, "instances"), k, in)
	{
		json_int_t fc = json_integer_value(json_object_get(in, "failcount"));
		if (fc > 0)
			sample(b, "ha_cluster_pacemaker_fail_count", (double)fc, "node",
			       str(in, "node"), "resource", str(r, "name"), NULL);
	}
	family(b, "ha_cluster_pacemaker_migration_threshold", "gauge",
	       "Failures after which a resource leaves a node");
	json_array_foreach(rs, i, r) json_array_foreach(json_object_get(r, "instances"), k, in)
	{
		const vg_resource *res = cfg ? vg_config_resource(cfg, str(r, "name")) : NULL;
		if (res && json_integer_value(json_object_get(in, "failcount")) > 0)
			sample(b, "ha_cluster_pacemaker_migration_threshold",
			       (double)res->migration_threshold, "node", str(in, "node"),
			       "resource", res->name, NULL);
	}
	family(b, "vigil_resource_up", "gauge", "1 when the resource runs (somewhere)");
	json_array_foreach(rs, i, r)
	    sample(b, "vigil_resource_up", !strcmp(str(r, "state"), "running"), "resource",
		   str(r, "name"), NULL);
}

static void configuration(buf *b, const vg_config *cfg)
{
	family(b, "ha_cluster_pacemaker_location_constraints", "gauge",
	       "The score of each location constraint that names a node");
	for (size_t i = 0; cfg && i < cfg->n_constraints; i++) {
		const vg_constraint *c = &cfg->constraints[i];
		if (c->kind != VG_CONS_LOCATION || !c->u.location.node)
			continue;
		char id[48];
		snprintf(id, sizeof id, "constraints[%zu]", i);
		int score = c->u.location.score;
		sample(b, "ha_cluster_pacemaker_location_constraints",
		       score >= VG_SCORE_INF	? INFINITY
		       : score <= -VG_SCORE_INF ? -INFINITY
						: (double)score,
		       "constraint", id, "node", c->u.location.node, "resource",
		       c->u.location.resource, "role", rrole_name(c->u.location.role), NULL);
	}
	family(b, "ha_cluster_pacemaker_stonith_enabled", "gauge",
	       "1 when a lost node can be fenced (a fence device or a watchdog)");
	sample(b, "ha_cluster_pacemaker_stonith_enabled",
	       cfg && (cfg->n_fence_devices > 0 || cfg->watchdog), NULL);
	family(b, "ha_cluster_pacemaker_maintenance_mode_enabled", "gauge",
	       "Cluster-wide maintenance mode (vigil has maintenance per node only)");
	sample(b, "ha_cluster_pacemaker_maintenance_mode_enabled", 0, NULL);
}

static void quorum(buf *b, const json_t *st, const vg_config *cfg)
{
	const json_t *cl = json_object_get(st, "cluster");
	family(b, "ha_cluster_corosync_quorate", "gauge",
	       "1 when this node's partition is quorate");
	sample(b, "ha_cluster_corosync_quorate", json_is_true(json_object_get(cl, "quorate")),
	       NULL);
	size_t expected = cfg ? vg_config_servers(cfg) : 0, total = 0, i;
	const json_t *n;
	const char *self = str(cl, "node");
	json_array_foreach(json_object_get(st, "nodes"), i, n)
	{
		if (strcmp(str(n, "role"), "agent") && is_up(n))
			total++;
	}
	bool two = cfg && vg_config_two_node(cfg);
	size_t q = two ? 1 : expected / 2 + 1;
	family(b, "ha_cluster_corosync_quorum_votes", "gauge", "Votequorum's votes");
	const char *types[] = {"expected_votes", "highest_expected", "total_votes", "quorum"};
	size_t values[] = {expected, expected, total, q};
	for (size_t k = 0; k < 4; k++)
		sample(b, "ha_cluster_corosync_quorum_votes", (double)values[k], "type", types[k],
		       NULL);
	family(b, "ha_cluster_corosync_member_votes", "gauge",
	       "The votes of each member of this node's partition");
	json_array_foreach(json_object_get(st, "nodes"), i, n)
	{
		const char *name = str(n, "name");
		const vg_node *cn = cfg ? vg_config_node(cfg, name) : NULL;
		if (!cn || cn->role != VG_ROLE_SERVER || !is_up(n))
			continue;
		char id[24];
		snprintf(id, sizeof id, "%u", cn->id);
		sample(b, "ha_cluster_corosync_member_votes", 1, "node_id", id, "node", name,
		       "local", strcmp(name, self) ? "false" : "true", NULL);
	}
}

char *vg_metrics_text(const json_t *status, const vg_config *cfg)
{
	buf b = {0};
	put(&b, "%s", "");
	nodes(&b, status);
	resources(&b, status, cfg);
	configuration(&b, cfg);
	quorum(&b, status, cfg);
	return b.s;
}
