/* config_schema.c - the libcyaml schema of cluster.yaml and a checker that walks the
 * parsed document against the same schema to report every structural error at once
 * (libcyaml stops at the first one).
 *
 * Owns: which keys exist, their YAML types, and which are required. Must not: interpret
 * values (durations, scores, enum names, references: that is config.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_schema.h"
#include "mem.h"

#define OPT		       CYAML_FLAG_OPTIONAL
#define PTR		       CYAML_FLAG_POINTER
#define ANY		       CYAML_UNLIMITED
#define NAME(key, st, m)       CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_DEFAULT, st, m, 1, ANY)
#define STR(key, flags, st, m) CYAML_FIELD_STRING_PTR(key, flags, st, m, 0, ANY)
#define SEQ(key, flags, st, m, n, entry, min)                                                      \
	CYAML_FIELD_SEQUENCE_COUNT(key, (flags) | PTR, st, m, n, entry, min, ANY)

/* ---- schema --------------------------------------------------------------- */

static const cyaml_schema_value_t name_entry = {
    CYAML_VALUE_STRING(PTR, char, 1, ANY),
};

static const cyaml_schema_field_t qnetd_fields[] = {
    NAME("host", vg_y_qnetd, host),
    CYAML_FIELD_INT("port", OPT, vg_y_qnetd, port),
    STR("algorithm", OPT, vg_y_qnetd, algorithm),
    STR("tls", OPT, vg_y_qnetd, tls),
    STR("tie_breaker", OPT, vg_y_qnetd, tie_breaker),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t cluster_fields[] = {
    NAME("name", vg_y_cluster, name),
    STR("key_file", OPT, vg_y_cluster, key_file),
    STR("token", OPT, vg_y_cluster, token),
    STR("no_quorum", OPT, vg_y_cluster, no_quorum),
    STR("stickiness", OPT, vg_y_cluster, stickiness),
    STR("http_address", OPT, vg_y_cluster, http_address),
    STR("fence_delay", OPT, vg_y_cluster, fence_delay),
    STR("quorum_loss_delay", OPT, vg_y_cluster, quorum_loss_delay),
    STR("lease", OPT, vg_y_cluster, lease),
    STR("halt_grace", OPT, vg_y_cluster, halt_grace),
    STR("watchdog", OPT, vg_y_cluster, watchdog),
    STR("watchdog_timeout", OPT, vg_y_cluster, watchdog_timeout),
    CYAML_FIELD_MAPPING_PTR("qnetd", OPT, vg_y_cluster, qnetd, qnetd_fields),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t node_fields[] = {
    NAME("name", vg_y_node, name),
    NAME("address", vg_y_node, address),
    STR("role", OPT, vg_y_node, role),
    CYAML_FIELD_UINT("id", OPT, vg_y_node, id),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t node_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, vg_y_node, node_fields),
};

static const cyaml_schema_field_t fence_fields[] = {
    NAME("name", vg_y_fence, name),
    NAME("agent", vg_y_fence, agent),
    CYAML_FIELD_IGNORE("params", OPT),
    SEQ("targets", CYAML_FLAG_DEFAULT, vg_y_fence, targets, n_targets, &name_entry, 1),
    CYAML_FIELD_INT("level", OPT, vg_y_fence, level),
    STR("timeout", OPT, vg_y_fence, timeout),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t fence_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, vg_y_fence, fence_fields),
};

static const cyaml_schema_field_t op_fields[] = {
    STR("interval", OPT, vg_y_op, interval),
    STR("timeout", OPT, vg_y_op, timeout),
    CYAML_FIELD_END,
};

#define OPF(key, kind) CYAML_FIELD_MAPPING_PTR(key, OPT, vg_y_ops, op[kind], op_fields)
static const cyaml_schema_field_t ops_fields[] = {
    OPF("start", VG_OP_START),
    OPF("stop", VG_OP_STOP),
    OPF("monitor", VG_OP_MONITOR),
    OPF("promote", VG_OP_PROMOTE),
    OPF("demote", VG_OP_DEMOTE),
    OPF("notify", VG_OP_NOTIFY),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t check_fields[] = {
    NAME("type", vg_y_check, type),
    STR("host", OPT, vg_y_check, host),
    CYAML_FIELD_INT("port", CYAML_FLAG_DEFAULT, vg_y_check, port),
    STR("path", OPT, vg_y_check, path),
    CYAML_FIELD_INT("expect", OPT, vg_y_check, expect),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t clone_fields[] = {
    CYAML_FIELD_UINT("max", OPT, vg_y_clone, max),
    CYAML_FIELD_UINT("max_per_node", OPT, vg_y_clone, max_per_node),
    CYAML_FIELD_BOOL("promotable", OPT, vg_y_clone, promotable),
    CYAML_FIELD_UINT("promoted_max", OPT, vg_y_clone, promoted_max),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t resource_fields[] = {
    NAME("name", vg_y_resource, name),
    NAME("type", vg_y_resource, type),
    CYAML_FIELD_IGNORE("params", OPT),
    CYAML_FIELD_MAPPING_PTR("ops", OPT, vg_y_resource, ops, ops_fields),
    CYAML_FIELD_MAPPING_PTR("check", OPT, vg_y_resource, check, check_fields),
    CYAML_FIELD_MAPPING_PTR("clone", OPT, vg_y_resource, clone, clone_fields),
    STR("requires", OPT, vg_y_resource, requires),
    STR("stickiness", OPT, vg_y_resource, stickiness),
    CYAML_FIELD_UINT("migration_threshold", OPT, vg_y_resource, migration_threshold),
    STR("failure_timeout", OPT, vg_y_resource, failure_timeout),
    STR("on_fail", OPT, vg_y_resource, on_fail),
    CYAML_FIELD_BOOL("disabled", OPT, vg_y_resource, disabled),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t resource_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, vg_y_resource, resource_fields),
};

static const cyaml_schema_field_t group_fields[] = {
    NAME("name", vg_y_group, name),
    SEQ("members", CYAML_FLAG_DEFAULT, vg_y_group, members, n_members, &name_entry, 1),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t group_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, vg_y_group, group_fields),
};

static const cyaml_schema_field_t rule_fields[] = {
    NAME("attribute", vg_y_rule, attribute),
    STR("op", OPT, vg_y_rule, op),
    STR("value", OPT, vg_y_rule, value),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t location_fields[] = {
    NAME("resource", vg_y_location, resource),
    STR("node", OPT, vg_y_location, node),
    CYAML_FIELD_MAPPING_PTR("rule", OPT, vg_y_location, rule, rule_fields),
    STR("score", CYAML_FLAG_DEFAULT, vg_y_location, score),
    STR("role", OPT, vg_y_location, role),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t colocate_fields[] = {
    NAME("resource", vg_y_colocate, resource),	     NAME("with", vg_y_colocate, with),
    STR("score", OPT, vg_y_colocate, score),	     STR("role", OPT, vg_y_colocate, role),
    STR("with_role", OPT, vg_y_colocate, with_role), CYAML_FIELD_END,
};

static const cyaml_schema_field_t order_fields[] = {
    NAME("first", vg_y_order, first),
    NAME("then", vg_y_order, then),
    STR("first_action", OPT, vg_y_order, first_action),
    STR("then_action", OPT, vg_y_order, then_action),
    STR("kind", OPT, vg_y_order, kind),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t constraint_fields[] = {
    CYAML_FIELD_MAPPING_PTR("location", OPT, vg_y_constraint, location, location_fields),
    CYAML_FIELD_MAPPING_PTR("colocate", OPT, vg_y_constraint, colocate, colocate_fields),
    CYAML_FIELD_MAPPING_PTR("order", OPT, vg_y_constraint, order, order_fields),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t constraint_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, vg_y_constraint, constraint_fields),
};

static const cyaml_schema_field_t alert_fields[] = {
    NAME("name", vg_y_alert, name),
    NAME("path", vg_y_alert, path),
    STR("timeout", OPT, vg_y_alert, timeout),
    SEQ("recipients", OPT, vg_y_alert, recipients, n_recipients, &name_entry, 0),
    SEQ("kinds", OPT, vg_y_alert, kinds, n_kinds, &name_entry, 0),
    CYAML_FIELD_BOOL("enabled", OPT, vg_y_alert, enabled),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t alert_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, vg_y_alert, alert_fields),
};

static const cyaml_schema_field_t api_fields[] = {
    STR("listen", OPT, vg_y_api, listen),
    STR("token_file", OPT, vg_y_api, token_file),
    STR("tls_cert", OPT, vg_y_api, tls_cert),
    STR("tls_key", OPT, vg_y_api, tls_key),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t root_fields[] = {
    CYAML_FIELD_MAPPING_PTR("cluster", CYAML_FLAG_DEFAULT, vg_y_root, cluster, cluster_fields),
    CYAML_FIELD_MAPPING_PTR("api", OPT, vg_y_root, api, api_fields),
    SEQ("nodes", CYAML_FLAG_DEFAULT, vg_y_root, nodes, n_nodes, &node_entry, 1),
    SEQ("fence_devices", OPT, vg_y_root, fence_devices, n_fence_devices, &fence_entry, 0),
    SEQ("resources", OPT, vg_y_root, resources, n_resources, &resource_entry, 0),
    SEQ("groups", OPT, vg_y_root, groups, n_groups, &group_entry, 0),
    SEQ("constraints", OPT, vg_y_root, constraints, n_constraints, &constraint_entry, 0),
    SEQ("alerts", OPT, vg_y_root, alerts, n_alerts, &alert_entry, 0),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t root_schema = {
    CYAML_VALUE_MAPPING(PTR, vg_y_root, root_fields),
};

const cyaml_schema_value_t *vg_config_schema(void)
{
	return &root_schema;
}

/* ---- checker -------------------------------------------------------------- */

typedef struct {
	const vg_ypos *y;
	vg_cfg_sink *s;
	size_t nerr;
	char path[1024];
} schk;

static void check_value(schk *c, const cyaml_schema_value_t *v, yaml_node_t *n, int line);

static void bad(schk *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad(schk *c, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vg_cfg_err(c->s, line, c->path[0] ? c->path : "(document)", "%s", msg);
	c->nerr++;
}

/* Append a component to the current path; returns the length to restore. */
static size_t push(schk *c, const char *key, long index)
{
	size_t old = strlen(c->path);
	size_t room = sizeof(c->path) - old;
	int r = key ? snprintf(c->path + old, room, "%s%s", old ? "." : "", key)
		    : snprintf(c->path + old, room, "[%ld]", index);
	if (r < 0 || (size_t)r >= room)
		c->path[sizeof(c->path) - 1] = '\0';
	return old;
}

static const char *type_word(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static const cyaml_schema_field_t *field_find(const cyaml_schema_field_t *f, const char *key)
{
	for (; f->key; f++)
		if (!strcmp(f->key, key))
			return f;
	return NULL;
}

static void unknown_key(schk *c, const cyaml_schema_field_t *fields, int line)
{
	char keys[400] = "";
	size_t off = 0;
	for (const cyaml_schema_field_t *f = fields; f->key && off < sizeof(keys); f++) {
		int r = snprintf(keys + off, sizeof(keys) - off, "%s%s", off ? ", " : "", f->key);
		off += r > 0 ? (size_t)r : 0;
	}
	bad(c, line, "unknown key (expected one of: %s)", keys);
}

static bool key_seen_before(yaml_document_t *d, yaml_node_pair_t *start, yaml_node_pair_t *p,
			    const char *key)
{
	for (yaml_node_pair_t *q = start; q < p; q++) {
		const char *k = vg_ypos_scalar(yaml_document_get_node(d, q->key));
		if (k && !strcmp(k, key))
			return true;
	}
	return false;
}

static void check_pair(schk *c, const cyaml_schema_field_t *fields, yaml_node_t *m,
		       yaml_node_pair_t *p)
{
	yaml_document_t *d = vg_ypos_doc(c->y);
	yaml_node_t *k = yaml_document_get_node(d, p->key);
	const char *key = vg_ypos_scalar(k);
	int kline = vg_ypos_node_line(k);
	if (!key) {
		bad(c, kline, "mapping keys must be scalars");
		return;
	}
	size_t old = push(c, key, 0);
	const cyaml_schema_field_t *f = field_find(fields, key);
	if (key_seen_before(d, m->data.mapping.pairs.start, p, key))
		bad(c, kline, "duplicate key");
	else if (!f)
		unknown_key(c, fields, kline);
	else
		check_value(c, &f->value, yaml_document_get_node(d, p->value), kline);
	c->path[old] = '\0';
}

static bool mapping_has(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const char *k = vg_ypos_scalar(yaml_document_get_node(d, p->key));
		if (k && !strcmp(k, key))
			return true;
	}
	return false;
}

static void check_mapping(schk *c, const cyaml_schema_value_t *v, yaml_node_t *n, int line)
{
	if (n->type != YAML_MAPPING_NODE) {
		bad(c, line, "expected a mapping, got %s", type_word(n));
		return;
	}
	const cyaml_schema_field_t *fields = v->mapping.fields;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
		check_pair(c, fields, n, p);
	for (const cyaml_schema_field_t *f = fields; f->key; f++) {
		if ((f->value.flags & CYAML_FLAG_OPTIONAL) ||
		    mapping_has(vg_ypos_doc(c->y), n, f->key))
			continue;
		size_t old = push(c, f->key, 0);
		bad(c, line, "missing required field");
		c->path[old] = '\0';
	}
}

static void check_sequence(schk *c, const cyaml_schema_value_t *v, yaml_node_t *n, int line)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		bad(c, line, "expected a list, got %s", type_word(n));
		return;
	}
	yaml_document_t *d = vg_ypos_doc(c->y);
	long count = n->data.sequence.items.top - n->data.sequence.items.start;
	if (count < (long)v->sequence.min)
		bad(c, line, "needs at least %u entr%s", v->sequence.min,
		    v->sequence.min == 1 ? "y" : "ies");
	long i = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = yaml_document_get_node(d, *it);
		size_t old = push(c, NULL, i);
		check_value(c, v->sequence.entry, e, vg_ypos_node_line(e));
		c->path[old] = '\0';
	}
}

static bool parse_int(const char *s, bool is_unsigned, uint32_t size)
{
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
	/* decimal only: libcyaml would read "010" as octal and "1_000" as 1 */
	if (*d < '0' || *d > '9' || (d[0] == '0' && d[1]) || (is_unsigned && *s == '-'))
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	if (size >= 8)
		return true;
	if (is_unsigned)
		return v >= 0 && v <= (long long)UINT32_MAX;
	return v >= INT32_MIN && v <= INT32_MAX;
}

static bool parse_bool(const char *s)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on", "off"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

static void check_scalar(schk *c, const cyaml_schema_value_t *v, yaml_node_t *n, int line)
{
	const char *s = vg_ypos_scalar(n);
	if (!s) {
		bad(c, line, "expected a scalar, got %s", type_word(n));
		return;
	}
	switch (v->type) {
	case CYAML_STRING:
		if (strlen(s) < v->string.min)
			bad(c, line, "must not be empty");
		break;
	case CYAML_INT:
	case CYAML_UINT:
		if (!parse_int(s, v->type == CYAML_UINT, v->data_size))
			bad(c, line, "expected %s integer, got '%s'",
			    v->type == CYAML_UINT ? "a non-negative" : "an", s);
		break;
	case CYAML_BOOL:
		if (!parse_bool(s))
			bad(c, line, "expected a boolean (true or false), got '%s'", s);
		break;
	default:
		break;
	}
}

static void check_value(schk *c, const cyaml_schema_value_t *v, yaml_node_t *n, int line)
{
	switch (v->type) {
	case CYAML_IGNORE:
		return;
	case CYAML_MAPPING:
		check_mapping(c, v, n, line);
		return;
	case CYAML_SEQUENCE:
		check_sequence(c, v, n, line);
		return;
	default:
		check_scalar(c, v, n, line);
		return;
	}
}

size_t vg_schema_check(const vg_ypos *y, vg_cfg_sink *s)
{
	schk *c = vg_calloc(1, sizeof(*c));
	if (!c) {
		vg_cfg_err(s, 0, "(document)", "out of memory");
		return 1;
	}
	c->y = y;
	c->s = s;
	yaml_node_t *root = vg_ypos_root(y);
	check_value(c, &root_schema, root, vg_ypos_node_line(root));
	size_t n = c->nerr;
	free(c);
	return n;
}
