/* config.c - load cluster.yaml, validate it completely, and build the vg_config model.
 *
 * Owns: turning the libcyaml intermediate structs into vg_config with defaults filled in,
 * every semantic check (values, names, references, agents' required parameters), the
 * error list, and the small shared parsers of config.h. Must not: start anything, touch
 * the network, or keep state between calls; what it needs of agents it asks the caller's
 * vg_agent_info (it never looks for or runs an agent itself).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_schema.h"
#include "file.h"
#include "log.h"
#include "ocf.h"
#include "yamlpos.h"
#include "mem.h"

#define DEFAULT_OP_TIMEOUT_MS	     20000
#define DEFAULT_MONITOR_MS	     10000
#define DEFAULT_VIP_MONITOR_MS	     5000
#define DEFAULT_MIGRATION	     1000000
#define DEFAULT_TOKEN_MS	     500
#define DEFAULT_QUORUM_LOSS_DELAY_MS 0
#define DEFAULT_HALT_GRACE_MS	     250
#define DEFAULT_WATCHDOG_S	     10
#define DEFAULT_HTTP_ADDRESS	     "127.0.0.1:7480"
#define DEFAULT_FENCE_TIMEOUT_MS     60000
#define CONFIG_MAX_BYTES	     (16u << 20)
#define PATH_LEN		     512

/* ---- errors --------------------------------------------------------------- */

void vg_cfg_err(vg_cfg_sink *s, int line, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vg_config_errors *e = s->errs;
	vg_config_error *items = vg_realloc(e->items, (e->count + 1) * sizeof(*items));
	if (!items)
		return;
	e->items = items;
	items[e->count++] = (vg_config_error){
	    .file = vg_strdup(s->file),
	    .line = line,
	    .field = vg_strdup(field),
	    .message = vg_strdup(msg),
	};
}

void vg_config_errors_free(vg_config_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->count; i++) {
		free(e->items[i].file);
		free(e->items[i].field);
		free(e->items[i].message);
	}
	free(e->items);
	e->items = NULL;
	e->count = 0;
}

void vg_config_error_format(const vg_config_error *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%d: %s: %s", e->file ? e->file : "?", e->line,
		 e->field ? e->field : "", e->message ? e->message : "");
}

/* ---- shared parsers ------------------------------------------------------- */

int vg_parse_duration_ms(const char *s, uint64_t *out_ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > UINT64_MAX / units[i].ms)
			return -1;
		*out_ms = v * units[i].ms;
		return 0;
	}
	return -1;
}

int vg_parse_score(const char *s, int *out)
{
	if (!s)
		return -1;
	if (!strcmp(s, "inf") || !strcmp(s, "+inf")) {
		*out = VG_SCORE_INF;
		return 0;
	}
	if (!strcmp(s, "-inf")) {
		*out = -VG_SCORE_INF;
		return 0;
	}
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
	if (*d < '0' || *d > '9')
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || (errno && errno != ERANGE))
		return -1;
	if (v > VG_SCORE_INF)
		v = VG_SCORE_INF;
	if (v < -VG_SCORE_INF)
		v = -VG_SCORE_INF;
	*out = (int)v;
	return 0;
}

static const char *const op_names[VG_OP_COUNT] = {
    [VG_OP_START] = "start",	 [VG_OP_STOP] = "stop",	    [VG_OP_MONITOR] = "monitor",
    [VG_OP_PROMOTE] = "promote", [VG_OP_DEMOTE] = "demote", [VG_OP_NOTIFY] = "notify",
};

const char *vg_op_name(vg_op_kind k)
{
	return (unsigned)k < VG_OP_COUNT ? op_names[k] : "unknown";
}

int vg_op_from_name(const char *s, vg_op_kind *out)
{
	for (int k = 0; s && k < VG_OP_COUNT; k++) {
		if (!strcmp(s, op_names[k])) {
			*out = (vg_op_kind)k;
			return 0;
		}
	}
	return -1;
}

const char *vg_class_name(vg_rclass c)
{
	static const char *const names[] = {
	    [VG_CLASS_OCF] = "ocf", [VG_CLASS_LSB] = "lsb",	    [VG_CLASS_SYSTEMD] = "systemd",
	    [VG_CLASS_VIP] = "vip", [VG_CLASS_PROCESS] = "process",
	};
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}

int vg_score_add(int a, int b)
{
	if (a <= -VG_SCORE_INF || b <= -VG_SCORE_INF)
		return -VG_SCORE_INF;
	if (a >= VG_SCORE_INF || b >= VG_SCORE_INF)
		return VG_SCORE_INF;
	long long s = (long long)a + b;
	if (s >= VG_SCORE_INF)
		return VG_SCORE_INF;
	if (s <= -VG_SCORE_INF)
		return -VG_SCORE_INF;
	return (int)s;
}

/* ---- lookups -------------------------------------------------------------- */

const vg_resource *vg_config_resource(const vg_config *c, const char *name)
{
	if (c && c->resource_index.mask) {
		int i = vg_strmap_get(&c->resource_index, name);
		return i >= 0 ? &c->resources[i] : NULL;
	}
	for (size_t i = 0; c && name && i < c->n_resources; i++)
		if (!strcmp(c->resources[i].name, name))
			return &c->resources[i];
	return NULL;
}

const vg_node *vg_config_node(const vg_config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_nodes; i++)
		if (!strcmp(c->nodes[i].name, name))
			return &c->nodes[i];
	return NULL;
}

size_t vg_config_servers(const vg_config *c)
{
	size_t n = 0;
	for (size_t i = 0; c && i < c->n_nodes; i++)
		n += c->nodes[i].role == VG_ROLE_SERVER;
	return n;
}

bool vg_config_two_node(const vg_config *c)
{
	return vg_config_servers(c) == 2 && !c->qnetd.host;
}

const vg_group *vg_config_group_of(const vg_config *c, const char *resource)
{
	for (size_t g = 0; c && resource && g < c->n_groups; g++)
		for (size_t m = 0; m < c->groups[g].n_members; m++)
			if (!strcmp(c->groups[g].members[m], resource))
				return &c->groups[g];
	return NULL;
}

const char *vg_resource_param(const vg_resource *r, const char *key)
{
	for (size_t i = 0; r && key && i < r->n_params; i++)
		if (!strcmp(r->params[i].key, key))
			return r->params[i].value;
	return NULL;
}

/* ---- freeing -------------------------------------------------------------- */

static void params_free(vg_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].value);
	}
	free(p);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void resource_free(vg_resource *r)
{
	free(r->name);
	free(r->type);
	free(r->provider);
	free(r->agent);
	params_free(r->params, r->n_params);
	free(r->check.host);
	free(r->check.path);
	free(r->unrunnable);
}

static void constraint_free(vg_constraint *k)
{
	switch (k->kind) {
	case VG_CONS_LOCATION:
		free(k->u.location.resource);
		free(k->u.location.node);
		free(k->u.location.rule_attribute);
		free(k->u.location.rule_value);
		break;
	case VG_CONS_COLOCATE:
		free(k->u.colocate.resource);
		free(k->u.colocate.with);
		break;
	case VG_CONS_ORDER:
		free(k->u.order.first);
		free(k->u.order.then);
		break;
	}
}

void vg_config_free(vg_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_nodes; i++) {
		free(c->nodes[i].name);
		free(c->nodes[i].address);
	}
	for (size_t i = 0; i < c->n_fence_devices; i++) {
		vg_fence_device *f = &c->fence_devices[i];
		free(f->name);
		free(f->agent);
		params_free(f->params, f->n_params);
		strv_free(f->targets, f->n_targets);
	}
	for (size_t i = 0; i < c->n_alerts; i++) {
		free(c->alerts[i].name);
		free(c->alerts[i].path);
		strv_free(c->alerts[i].recipients, c->alerts[i].n_recipients);
	}
	free(c->alerts);
	for (size_t i = 0; i < c->n_resources; i++)
		resource_free(&c->resources[i]);
	for (size_t i = 0; i < c->n_groups; i++) {
		free(c->groups[i].name);
		strv_free(c->groups[i].members, c->groups[i].n_members);
	}
	for (size_t i = 0; i < c->n_constraints; i++)
		constraint_free(&c->constraints[i]);
	vg_strmap_free(&c->resource_index);
	free(c->nodes);
	free(c->fence_devices);
	free(c->resources);
	free(c->groups);
	free(c->constraints);
	free(c->name);
	free(c->key_file);
	free(c->http_address);
	free(c->api.listen);
	free(c->api.token_file);
	free(c->api.tls_cert);
	free(c->api.tls_key);
	free(c->watchdog);
	free(c->qnetd.host);
	free(c->source);
	free(c);
}

/* ---- load context --------------------------------------------------------- */

/* A name in one namespace: resources and groups share one; nodes and fence devices
 * have their own. */
typedef struct {
	const char *name;
	const char *list; /* "resources", "groups", "nodes", "fence_devices" */
	size_t idx;
	int line;
} nref;

typedef struct {
	nref *v;
	size_t n;
} nindex;

typedef struct {
	vg_cfg_sink sink;
	const vg_ypos *y;
	const vg_agent_info *agents; /* or NULL */
	bool local; /* vg_config_load_local: an agent missing here marks, is no error */
	const vg_y_root *in;
	vg_config *c;
	nindex rg, nodes, fences;
	int *group_of; /* per resource: index of its group or -1 */
} ld;

static void lerr(ld *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lerr(ld *l, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vg_cfg_err(&l->sink, vg_ypos_line_near(l->y, path), path, "%s", msg);
}

/* "list[i].key" (or "list[i]" when key is NULL) into buf. */
static const char *fp(char *buf, const char *list, size_t i, const char *key)
{
	if (key)
		snprintf(buf, PATH_LEN, "%s[%zu].%s", list, i, key);
	else
		snprintf(buf, PATH_LEN, "%s[%zu]", list, i);
	return buf;
}

static uint64_t get_duration(ld *l, const char *path, const char *s, uint64_t def, bool positive)
{
	uint64_t v;
	if (!s)
		return def;
	if (vg_parse_duration_ms(s, &v) < 0) {
		lerr(l, path,
		     "invalid duration '%s' (expected a number and a unit: 500ms, 10s, 5m, 1h)", s);
		return def;
	}
	if (positive && v == 0)
		lerr(l, path, "must be greater than 0");
	return v;
}

static int get_score(ld *l, const char *path, const char *s, int def)
{
	int v;
	if (!s)
		return def;
	if (vg_parse_score(s, &v) < 0) {
		lerr(l, path, "invalid score '%s' (expected an integer, inf or -inf)", s);
		return def;
	}
	return v;
}

typedef struct {
	const char *name;
	int value;
} enum_def;

static int get_enum(ld *l, const char *path, const char *s, const enum_def *tab, int def)
{
	if (!s)
		return def;
	char list[256] = "";
	size_t off = 0;
	for (const enum_def *e = tab; e->name; e++) {
		if (!strcmp(e->name, s))
			return e->value;
		int r = snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "", e->name);
		off += (r > 0 && (size_t)r < sizeof(list) - off) ? (size_t)r : 0;
	}
	lerr(l, path, "invalid value '%s' (expected one of: %s)", s, list);
	return def;
}

static const enum_def no_quorum_names[] = {
    {"stop", VG_NO_QUORUM_STOP},
    {"freeze", VG_NO_QUORUM_FREEZE},
    {NULL, 0},
};
static const enum_def role_names[] = {
    {"server", VG_ROLE_SERVER},
    {"agent", VG_ROLE_AGENT},
    {NULL, 0},
};
static const enum_def requires_names[] = {
    {"quorum", VG_REQUIRES_QUORUM},
    {"fencing", VG_REQUIRES_FENCING},
    {NULL, 0},
};
static const enum_def on_fail_names[] = {
    {"restart", VG_ON_FAIL_RESTART}, {"stop", VG_ON_FAIL_STOP},	      {"block", VG_ON_FAIL_BLOCK},
    {"fence", VG_ON_FAIL_FENCE},     {"standby", VG_ON_FAIL_STANDBY}, {NULL, 0},
};
static const enum_def check_names[] = {
    {"tcp", VG_CHECK_TCP},
    {"http", VG_CHECK_HTTP},
    {NULL, 0},
};
static const enum_def rrole_names[] = {
    {"started", VG_RROLE_STARTED},
    {"promoted", VG_RROLE_PROMOTED},
    {"unpromoted", VG_RROLE_UNPROMOTED},
    {NULL, 0},
};
static const enum_def rule_op_names[] = {
    {"eq", VG_RULE_OP_EQ},
    {"ne", VG_RULE_OP_NE},
    {"defined", VG_RULE_OP_DEFINED},
    {"not_defined", VG_RULE_OP_NOT_DEFINED},
    {"gt", VG_RULE_OP_GT},
    {"lt", VG_RULE_OP_LT},
    {"gte", VG_RULE_OP_GTE},
    {"lte", VG_RULE_OP_LTE},
    {NULL, 0},
};
static const enum_def action_names[] = {
    {"start", VG_OP_START},
    {"stop", VG_OP_STOP},
    {"promote", VG_OP_PROMOTE},
    {"demote", VG_OP_DEMOTE},
    {NULL, 0},
};
static const enum_def order_kind_names[] = {
    {"mandatory", 0},
    {"optional", 1},
    {NULL, 0},
};

/* ---- params --------------------------------------------------------------- */

/* Returns false (error reported) when params is not a map of scalars. */
static bool get_params(ld *l, const char *list, size_t i, vg_param **params, size_t *n)
{
	char p[PATH_LEN], bad[1024];
	int bad_line = 0;
	if (vg_ypos_params(l->y, fp(p, list, i, "params"), params, n, bad, sizeof(bad),
			   &bad_line) == 0)
		return true;
	vg_cfg_err(&l->sink, bad_line, bad, "expected a mapping of names to scalar values");
	params_free(*params, *n);
	*params = NULL;
	*n = 0;
	return false;
}

/* Names appear in commands, environment variables and file names: keep them plain. */
static void check_name(ld *l, const char *list, size_t i, const char *name)
{
	char p[PATH_LEN];
	size_t n = name ? strlen(name) : 0;
	bool ok = n > 0 && n <= 64 &&
		  strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789_.-") == n &&
		  name[0] != '-' && name[0] != '.';
	if (!ok)
		lerr(l, fp(p, list, i, "name"),
		     "invalid name '%s' (use up to 64 letters, digits, '_', '.', '-'; not "
		     "starting with '-' or '.')",
		     name ? name : "");
}

/* ---- cluster and nodes ---------------------------------------------------- */

static bool valid_host_port(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1])
		return false;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	return !*end && port >= 1 && port <= 65535 && colon[1] >= '0' && colon[1] <= '9';
}

static void conv_cluster(ld *l)
{
	const vg_y_cluster *y = l->in->cluster;
	vg_config *c = l->c;
	c->name = vg_strdup(y->name);
	c->key_file = vg_strdup(y->key_file);
	uint64_t token = get_duration(l, "cluster.token", y->token, DEFAULT_TOKEN_MS, true);
	if (token > UINT32_MAX)
		lerr(l, "cluster.token", "too large");
	c->token_ms = token > UINT32_MAX ? DEFAULT_TOKEN_MS : (uint32_t)token;
	c->no_quorum =
	    get_enum(l, "cluster.no_quorum", y->no_quorum, no_quorum_names, VG_NO_QUORUM_STOP);
	c->stickiness = get_score(l, "cluster.stickiness", y->stickiness, 0);
	c->fence_delay_ms = get_duration(l, "cluster.fence_delay", y->fence_delay, 0, false);
	c->quorum_loss_delay_ms = get_duration(l, "cluster.quorum_loss_delay", y->quorum_loss_delay,
					       DEFAULT_QUORUM_LOSS_DELAY_MS, false);
	c->lease_ms = get_duration(l, "cluster.lease", y->lease, c->token_ms, true);
	if (c->lease_ms < c->token_ms)
		lerr(l, "cluster.lease",
		     "must be at least cluster.token (%llu ms): a shorter lease would halt a node "
		     "for a Corosync pause that does not even break the ring",
		     (unsigned long long)c->token_ms);
	c->halt_grace_ms =
	    get_duration(l, "cluster.halt_grace", y->halt_grace, DEFAULT_HALT_GRACE_MS, false);
	c->watchdog = vg_strdup(y->watchdog);
	if (c->watchdog && c->no_quorum == VG_NO_QUORUM_FREEZE)
		lerr(l, "cluster.watchdog",
		     "cannot be used with no_quorum: freeze (a node without quorum keeps its "
		     "resources, so the others could never count it as off)");
	if (c->watchdog && c->watchdog[0] != '/')
		lerr(l, "cluster.watchdog", "expected an absolute device path, got '%s'",
		     c->watchdog);
	uint64_t wt = get_duration(l, "cluster.watchdog_timeout", y->watchdog_timeout,
				   DEFAULT_WATCHDOG_S * 1000, true);
	if (wt % 1000 || wt > 3600 * 1000)
		lerr(l, "cluster.watchdog_timeout", "must be whole seconds, at most 1h");
	c->watchdog_timeout_s =
	    wt % 1000 || wt > 3600 * 1000 ? DEFAULT_WATCHDOG_S : (uint32_t)(wt / 1000);
	c->http_address = vg_strdup(y->http_address ? y->http_address : DEFAULT_HTTP_ADDRESS);
	if (!valid_host_port(c->http_address))
		lerr(l, "cluster.http_address", "expected HOST:PORT, got '%s'", c->http_address);
}

/* api: where the HTTP API listens, its token, its TLS pair. */
static void conv_api(ld *l)
{
	const vg_y_api *y = l->in->api;
	vg_config *c = l->c;
	c->api.listen = vg_strdup(y && y->listen ? y->listen : c->http_address);
	if (y && y->listen && !valid_host_port(y->listen))
		lerr(l, "api.listen", "expected HOST:PORT or [HOST]:PORT, got '%s'", y->listen);
	if (!y)
		return;
	const char *keys[] = {"api.token_file", "api.tls_cert", "api.tls_key"};
	char **out[] = {&c->api.token_file, &c->api.tls_cert, &c->api.tls_key};
	const char *in[] = {y->token_file, y->tls_cert, y->tls_key};
	for (size_t i = 0; i < 3; i++) {
		*out[i] = vg_strdup(in[i]);
		if (in[i] && in[i][0] != '/')
			lerr(l, keys[i], "expected an absolute path, got '%s'", in[i]);
	}
	if (!y->tls_cert != !y->tls_key)
		lerr(l, y->tls_cert ? "api.tls_key" : "api.tls_cert",
		     "api.tls_cert and api.tls_key go together (HTTPS needs both)");
}

static bool id_used(const vg_config *c, uint32_t id, size_t upto)
{
	for (size_t i = 0; i < upto; i++)
		if (c->nodes[i].id == id)
			return true;
	return false;
}

static void assign_node_ids(ld *l)
{
	vg_config *c = l->c;
	char p[PATH_LEN];
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (!c->nodes[i].id)
			continue;
		if (id_used(c, c->nodes[i].id, i))
			lerr(l, fp(p, "nodes", i, "id"), "duplicate node id %u", c->nodes[i].id);
	}
	uint32_t next = 1;
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (c->nodes[i].id)
			continue;
		while (id_used(c, next, c->n_nodes))
			next++;
		c->nodes[i].id = next++;
	}
}

static void conv_nodes(ld *l)
{
	vg_config *c = l->c;
	char p[PATH_LEN];
	c->nodes = vg_calloc(l->in->n_nodes, sizeof(*c->nodes));
	c->n_nodes = c->nodes ? l->in->n_nodes : 0;
	for (size_t i = 0; i < c->n_nodes; i++) {
		const vg_y_node *y = &l->in->nodes[i];
		vg_node *n = &c->nodes[i];
		n->name = vg_strdup(y->name);
		n->address = vg_strdup(y->address);
		check_name(l, "nodes", i, y->name);
		n->role =
		    get_enum(l, fp(p, "nodes", i, "role"), y->role, role_names, VG_ROLE_SERVER);
		n->line = vg_ypos_line(l->y, fp(p, "nodes", i, NULL));
		if (vg_ypos_has(l->y, fp(p, "nodes", i, "id")) && y->id == 0)
			lerr(l, p, "must be 1 or more");
		n->id = y->id;
	}
	assign_node_ids(l);
}

/* ---- the qnetd arbiter --------------------------------------------------- */

static const enum_def qnetd_algorithm_names[] = {
    {"ffsplit", VG_QNETD_FFSPLIT},
    {"lms", VG_QNETD_LMS},
    {NULL, 0},
};

static const enum_def qnetd_tls_names[] = {
    {"on", VG_QNETD_TLS_ON},
    {"off", VG_QNETD_TLS_OFF},
    {"required", VG_QNETD_TLS_REQUIRED},
    {NULL, 0},
};

static const char *enum_text(const enum_def *tab, int v)
{
	for (const enum_def *e = tab; e->name; e++)
		if (e->value == v)
			return e->name;
	return "unknown";
}

const char *vg_qnetd_algorithm_name(vg_qnetd_algorithm a)
{
	return enum_text(qnetd_algorithm_names, (int)a);
}

const char *vg_qnetd_tls_name(vg_qnetd_tls t)
{
	return enum_text(qnetd_tls_names, (int)t);
}

/* After the nodes: a tie_breaker may name a server. */
static void conv_qnetd(ld *l)
{
	const vg_y_qnetd *y = l->in->cluster->qnetd;
	vg_config *c = l->c;
	vg_qnetd *q = &c->qnetd;
	if (!y)
		return;
	q->host = vg_strdup(y->host);
	q->port = 5403;
	if (vg_ypos_has(l->y, "cluster.qnetd.port")) {
		if (y->port < 1 || y->port > 65535)
			lerr(l, "cluster.qnetd.port", "must be between 1 and 65535");
		else
			q->port = (uint16_t)y->port;
	}
	q->algorithm = get_enum(l, "cluster.qnetd.algorithm", y->algorithm, qnetd_algorithm_names,
				VG_QNETD_FFSPLIT);
	q->tls = get_enum(l, "cluster.qnetd.tls", y->tls, qnetd_tls_names, VG_QNETD_TLS_ON);
	const char *tb = y->tie_breaker;
	if (tb && !strcmp(tb, "highest")) {
		q->tie_breaker_highest = true;
	} else if (tb && strcmp(tb, "lowest")) {
		for (size_t i = 0; i < c->n_nodes; i++)
			if (c->nodes[i].name && !strcmp(c->nodes[i].name, tb) &&
			    c->nodes[i].role == VG_ROLE_SERVER)
				q->tie_breaker_id = c->nodes[i].id;
		if (!q->tie_breaker_id)
			lerr(l, "cluster.qnetd.tie_breaker",
			     "expected lowest, highest or the name of a server, got '%s'", tb);
	}
	size_t servers = vg_config_servers(c);
	if (servers < 2)
		lerr(l, "cluster.qnetd",
		     "an arbiter needs a cluster of two or more servers (this one has %zu)",
		     servers);
	if (c->watchdog)
		lerr(l, "cluster.qnetd",
		     "cannot be used with cluster.watchdog yet: with an arbiter a cut-off node "
		     "may keep quorum until its qdevice times out, so the watchdog deadline "
		     "would not bound when it stopped");
}

/* ---- fence devices -------------------------------------------------------- */

static void conv_fence(ld *l)
{
	vg_config *c = l->c;
	char p[PATH_LEN];
	c->fence_devices = vg_calloc(l->in->n_fence_devices + 1, sizeof(*c->fence_devices));
	c->n_fence_devices = c->fence_devices ? l->in->n_fence_devices : 0;
	for (size_t i = 0; i < c->n_fence_devices; i++) {
		const vg_y_fence *y = &l->in->fence_devices[i];
		vg_fence_device *f = &c->fence_devices[i];
		f->name = vg_strdup(y->name);
		f->agent = vg_strdup(y->agent);
		check_name(l, "fence_devices", i, y->name);
		get_params(l, "fence_devices", i, &f->params, &f->n_params);
		f->targets = vg_calloc(y->n_targets + 1, sizeof(char *));
		for (size_t t = 0; f->targets && t < y->n_targets; t++)
			f->targets[f->n_targets++] = vg_strdup(y->targets[t]);
		f->level = vg_ypos_has(l->y, fp(p, "fence_devices", i, "level")) ? y->level : 1;
		if (f->level < 1)
			lerr(l, p, "must be 1 or more");
		f->timeout_ms = get_duration(l, fp(p, "fence_devices", i, "timeout"), y->timeout,
					     DEFAULT_FENCE_TIMEOUT_MS, true);
		f->line = vg_ypos_line(l->y, fp(p, "fence_devices", i, NULL));
	}
}

/* ---- alerts ---------------------------------------------------------------- */

enum { DEFAULT_ALERT_TIMEOUT_MS = 30000 };

static void conv_alerts(ld *l)
{
	static const char *const kind_names[] = {"node", "fencing", "resource", "attribute"};
	vg_config *c = l->c;
	char p[PATH_LEN];
	c->alerts = vg_calloc(l->in->n_alerts + 1, sizeof(*c->alerts));
	c->n_alerts = l->in->n_alerts;
	for (size_t i = 0; i < c->n_alerts; i++) {
		const vg_y_alert *y = &l->in->alerts[i];
		vg_alert *a = &c->alerts[i];
		a->name = vg_strdup(y->name);
		a->path = vg_strdup(y->path);
		a->line = vg_ypos_line(l->y, fp(p, "alerts", i, NULL));
		check_name(l, "alerts", i, y->name);
		for (size_t j = 0; j < i; j++)
			if (y->name && c->alerts[j].name && !strcmp(y->name, c->alerts[j].name))
				lerr(l, fp(p, "alerts", i, "name"),
				     "duplicate alert name '%s' (also alerts[%zu])", y->name, j);
		if (y->path && y->path[0] != '/')
			lerr(l, fp(p, "alerts", i, "path"), "must be an absolute path, not '%s'",
			     y->path);
		a->timeout_ms = get_duration(l, fp(p, "alerts", i, "timeout"), y->timeout,
					     DEFAULT_ALERT_TIMEOUT_MS, true);
		a->recipients = vg_calloc(y->n_recipients + 1, sizeof(char *));
		for (size_t r = 0; r < y->n_recipients; r++)
			a->recipients[a->n_recipients++] = vg_strdup(y->recipients[r]);
		a->kinds = y->n_kinds ? 0 : VG_ALERT_ALL;
		for (size_t k = 0; k < y->n_kinds; k++) {
			unsigned bit = 0;
			for (size_t n = 0; n < 4; n++)
				if (!strcmp(y->kinds[k], kind_names[n]))
					bit = 1u << n;
			if (!bit) {
				char kp[PATH_LEN + 24];
				snprintf(kp, sizeof kp, "%s[%zu]", fp(p, "alerts", i, "kinds"), k);
				lerr(l, kp,
				     "unknown alert kind '%s' (node, fencing, resource, attribute)",
				     y->kinds[k]);
			}
			a->kinds |= bit;
		}
		a->enabled = vg_ypos_has(l->y, fp(p, "alerts", i, "enabled")) ? y->enabled : true;
	}
}

/* ---- resources: type, ops, check, clone ----------------------------------- */

static bool valid_component(const char *s, size_t len)
{
	return len > 0 && !memchr(s, '/', len) && !(len == 2 && !memcmp(s, "..", 2));
}

static int parse_type(vg_resource *r)
{
	const char *t = r->type;
	if (!strcmp(t, "vip") || !strcmp(t, "process")) {
		r->cls = t[0] == 'v' ? VG_CLASS_VIP : VG_CLASS_PROCESS;
		return 0;
	}
	const char *c1 = strchr(t, ':');
	if (!c1)
		return -1;
	const char *rest = c1 + 1;
	if (c1 - t == 3 && !memcmp(t, "ocf", 3)) {
		const char *c2 = strchr(rest, ':');
		if (!c2 || strchr(c2 + 1, ':') || !valid_component(rest, (size_t)(c2 - rest)) ||
		    !valid_component(c2 + 1, strlen(c2 + 1)))
			return -1;
		r->cls = VG_CLASS_OCF;
		r->provider = vg_strndup(rest, (size_t)(c2 - rest));
		r->agent = vg_strdup(c2 + 1);
		return 0;
	}
	if (strchr(rest, ':') || !valid_component(rest, strlen(rest)))
		return -1;
	if (c1 - t == 3 && !memcmp(t, "lsb", 3))
		r->cls = VG_CLASS_LSB;
	else if (c1 - t == 7 && !memcmp(t, "systemd", 7))
		r->cls = VG_CLASS_SYSTEMD;
	else
		return -1;
	r->agent = vg_strdup(rest);
	return 0;
}

static void conv_ops(ld *l, size_t i, const vg_y_resource *y, vg_resource *r)
{
	char p[PATH_LEN], key[64];
	for (int k = 0; k < VG_OP_COUNT; k++) {
		vg_op *op = &r->ops[k];
		const vg_y_op *yo = y->ops ? y->ops->op[k] : NULL;
		op->timeout_ms = DEFAULT_OP_TIMEOUT_MS;
		if (k == VG_OP_MONITOR)
			op->interval_ms =
			    r->cls == VG_CLASS_VIP ? DEFAULT_VIP_MONITOR_MS : DEFAULT_MONITOR_MS;
		if (!yo)
			continue;
		op->configured = true;
		snprintf(key, sizeof(key), "ops.%s.timeout", op_names[k]);
		op->timeout_ms = get_duration(l, fp(p, "resources", i, key), yo->timeout,
					      DEFAULT_OP_TIMEOUT_MS, true);
		snprintf(key, sizeof(key), "ops.%s.interval", op_names[k]);
		if (yo->interval && k != VG_OP_MONITOR)
			lerr(l, fp(p, "resources", i, key),
			     "only the monitor operation has an interval");
		else if (yo->interval)
			op->interval_ms = get_duration(l, fp(p, "resources", i, key), yo->interval,
						       op->interval_ms, false);
	}
}

static void conv_check(ld *l, size_t i, const vg_y_check *y, vg_resource *r)
{
	char p[PATH_LEN];
	vg_check *ck = &r->check;
	if (!y)
		return;
	ck->kind =
	    get_enum(l, fp(p, "resources", i, "check.type"), y->type, check_names, VG_CHECK_TCP);
	ck->host = vg_strdup(y->host ? y->host : "127.0.0.1");
	if (y->port < 1 || y->port > 65535)
		lerr(l, fp(p, "resources", i, "check.port"), "must be between 1 and 65535");
	else
		ck->port = (uint16_t)y->port;
	bool has_expect = vg_ypos_has(l->y, fp(p, "resources", i, "check.expect"));
	if (ck->kind == VG_CHECK_TCP && (y->path || has_expect))
		lerr(l, fp(p, "resources", i, y->path ? "check.path" : "check.expect"),
		     "only http checks have a path and an expected status");
	if (r->ops[VG_OP_MONITOR].interval_ms == 0)
		lerr(l, fp(p, "resources", i, "ops.monitor.interval"),
		     "must be greater than 0 for a resource with a check");
	if (ck->kind != VG_CHECK_HTTP)
		return;
	ck->path = vg_strdup(y->path ? y->path : "/");
	ck->expect = has_expect ? y->expect : 200;
	if (ck->expect != 0 && (ck->expect < 100 || ck->expect > 599))
		lerr(l, fp(p, "resources", i, "check.expect"),
		     "must be an HTTP status (100-599) or 0 for any 2xx/3xx");
}

/* A clone count field: default when absent, else must be 1 or more. */
static uint32_t clone_count(ld *l, size_t i, const char *key, uint32_t v, uint32_t def)
{
	char p[PATH_LEN];
	if (!vg_ypos_has(l->y, fp(p, "resources", i, key)))
		return def;
	if (v < 1)
		lerr(l, p, "must be 1 or more");
	return v;
}

static void conv_clone(ld *l, size_t i, const vg_y_clone *y, vg_resource *r)
{
	char p[PATH_LEN];
	vg_clone *cl = &r->clone;
	if (!y)
		return;
	cl->enabled = true;
	uint32_t nodes = l->c->n_nodes ? (uint32_t)l->c->n_nodes : 1;
	cl->max = clone_count(l, i, "clone.max", y->max, nodes);
	cl->max_per_node = clone_count(l, i, "clone.max_per_node", y->max_per_node, 1);
	cl->promotable = y->promotable;
	cl->promoted_max = clone_count(l, i, "clone.promoted_max", y->promoted_max, 1);
	if (!cl->promotable && vg_ypos_has(l->y, fp(p, "resources", i, "clone.promoted_max")))
		lerr(l, p, "only promotable clones have promoted_max");
	else if (cl->promotable && cl->max > 0 && cl->promoted_max > cl->max)
		lerr(l, p, "cannot exceed clone.max (%u)", cl->max);
}

static vg_requires default_requires(const vg_resource *r)
{
	if (r->clone.enabled)
		return r->clone.promotable ? VG_REQUIRES_FENCING : VG_REQUIRES_QUORUM;
	if (r->cls == VG_CLASS_VIP || r->cls == VG_CLASS_PROCESS)
		return VG_REQUIRES_QUORUM;
	return VG_REQUIRES_FENCING;
}

static void conv_policy(ld *l, size_t i, const vg_y_resource *y, vg_resource *r)
{
	char p[PATH_LEN];
	r->requires = get_enum(l, fp(p, "resources", i, "requires"), y->requires, requires_names,
			       default_requires(r));
	r->has_stickiness = y->stickiness != NULL;
	r->stickiness = get_score(l, fp(p, "resources", i, "stickiness"), y->stickiness, 0);
	r->migration_threshold = DEFAULT_MIGRATION;
	if (vg_ypos_has(l->y, fp(p, "resources", i, "migration_threshold"))) {
		r->migration_threshold = y->migration_threshold;
		if (y->migration_threshold < 1)
			lerr(l, p, "must be 1 or more");
	}
	r->failure_timeout_ms =
	    get_duration(l, fp(p, "resources", i, "failure_timeout"), y->failure_timeout, 0, false);
	r->on_fail = get_enum(l, fp(p, "resources", i, "on_fail"), y->on_fail, on_fail_names,
			      VG_ON_FAIL_RESTART);
	r->disabled = y->disabled;
}

/* ---- resources: parameters ------------------------------------------------ */

typedef struct {
	vg_rclass cls;
	const char *name;
	bool required;
	bool (*valid)(const char *v);
	const char *expect; /* what a valid value looks like */
} native_param;

static bool valid_prefix_addr(const char *v)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(v, '/');
	if (!slash || (size_t)(slash - v) >= sizeof(addr) || !slash[1])
		return false;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	char *end;
	long prefix = strtol(slash + 1, &end, 10);
	unsigned char buf[16];
	if (*end || slash[1] < '0' || slash[1] > '9')
		return false;
	if (inet_pton(AF_INET, addr, buf) == 1)
		return prefix >= 0 && prefix <= 32;
	return inet_pton(AF_INET6, addr, buf) == 1 && prefix >= 0 && prefix <= 128;
}

static bool valid_ifname(const char *v)
{
	size_t n = strlen(v);
	return n > 0 && n < 16 && !strpbrk(v, "/: \t");
}

static bool valid_nonempty(const char *v)
{
	return *v != '\0';
}

static const native_param native_params[] = {
    {VG_CLASS_VIP, "address", true, valid_prefix_addr, "an IPv4 or IPv6 address with /prefix"},
    {VG_CLASS_VIP, "interface", false, valid_ifname, "a network interface name"},
    {VG_CLASS_PROCESS, "command", true, valid_nonempty, "a command line"},
};
#define N_NATIVE_PARAMS (sizeof(native_params) / sizeof(native_params[0]))

static const native_param *native_find(vg_rclass cls, const char *name)
{
	for (size_t k = 0; k < N_NATIVE_PARAMS; k++)
		if (native_params[k].cls == cls && !strcmp(native_params[k].name, name))
			return &native_params[k];
	return NULL;
}

static void check_native_params(ld *l, size_t i, const vg_resource *r)
{
	char p[PATH_LEN], key[256];
	for (size_t k = 0; k < r->n_params; k++) {
		const native_param *np = native_find(r->cls, r->params[k].key);
		snprintf(key, sizeof(key), "params.%s", r->params[k].key);
		if (!np)
			lerr(l, fp(p, "resources", i, key), "unknown parameter for %s resources",
			     vg_class_name(r->cls));
		else if (!np->valid(r->params[k].value))
			lerr(l, fp(p, "resources", i, key), "invalid value '%s' (expected %s)",
			     r->params[k].value, np->expect);
	}
	for (size_t k = 0; k < N_NATIVE_PARAMS; k++) {
		const native_param *np = &native_params[k];
		if (np->cls == r->cls && np->required && !vg_resource_param(r, np->name))
			lerr(l, fp(p, "resources", i, "params"), "missing required parameter '%s'",
			     np->name);
	}
}

static void check_ocf(ld *l, size_t i, vg_resource *r)
{
	char p[PATH_LEN], err[512] = "";
	const vg_ocf_metadata *md = NULL;
	vg_agent_answer a = VG_AGENT_UNKNOWN;
	if (l->agents)
		a = l->agents->metadata(l->agents->arg, r->provider, r->agent, &md, err,
					sizeof(err));
	if (l->local && (a == VG_AGENT_NOT_INSTALLED || a == VG_AGENT_FAILED)) {
		char why[700];
		if (a == VG_AGENT_NOT_INSTALLED)
			snprintf(why, sizeof(why), "OCF agent %s is not installed%s%s", r->type,
				 *err ? " " : "", err);
		else
			snprintf(why, sizeof(why), "cannot read the meta-data of %s: %s", r->type,
				 err);
		r->unrunnable = vg_strdup(why);
		return;
	}
	if (a == VG_AGENT_NOT_INSTALLED) {
		lerr(l, fp(p, "resources", i, "type"), "OCF agent %s is not installed%s%s", r->type,
		     *err ? " " : "", err);
		return;
	}
	if (a == VG_AGENT_FAILED) {
		lerr(l, fp(p, "resources", i, "type"), "cannot read the meta-data of %s: %s",
		     r->type, err);
		return;
	}
	if (a != VG_AGENT_OK || !md)
		return;
	for (size_t k = 0; k < md->n_params; k++) {
		const vg_ocf_param *mp = &md->params[k];
		if (mp->required && !vg_resource_param(r, mp->name))
			lerr(l, fp(p, "resources", i, "params"),
			     "missing required parameter '%s' (required by %s)", mp->name, r->type);
	}
}

static void conv_resource(ld *l, size_t i)
{
	const vg_y_resource *y = &l->in->resources[i];
	vg_resource *r = &l->c->resources[i];
	char p[PATH_LEN];
	r->name = vg_strdup(y->name);
	r->type = vg_strdup(y->type);
	check_name(l, "resources", i, y->name);
	r->line = vg_ypos_line(l->y, fp(p, "resources", i, NULL));
	bool params_ok = get_params(l, "resources", i, &r->params, &r->n_params);
	bool type_ok = parse_type(r) == 0;
	if (!type_ok)
		lerr(l, fp(p, "resources", i, "type"),
		     "unknown resource type '%s' (expected ocf:PROVIDER:AGENT, lsb:NAME, "
		     "systemd:UNIT, vip or process)",
		     y->type);
	conv_ops(l, i, y, r);
	conv_clone(l, i, y->clone, r);
	conv_check(l, i, y->check, r);
	conv_policy(l, i, y, r);
	if (!type_ok || !params_ok)
		return;
	if (r->cls == VG_CLASS_VIP || r->cls == VG_CLASS_PROCESS)
		check_native_params(l, i, r);
	else if (r->cls == VG_CLASS_OCF)
		check_ocf(l, i, r);
}

static void conv_resources(ld *l)
{
	vg_config *c = l->c;
	c->resources = vg_calloc(l->in->n_resources + 1, sizeof(*c->resources));
	c->n_resources = c->resources ? l->in->n_resources : 0;
	for (size_t i = 0; i < c->n_resources; i++)
		conv_resource(l, i);
}

/* ---- names and references ------------------------------------------------- */

static int nref_cmp(const void *a, const void *b)
{
	const nref *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r ? r : (x->line > y->line) - (x->line < y->line);
}

static void nindex_add(ld *l, nindex *ix, const char *list, size_t idx, const char *name)
{
	char p[PATH_LEN];
	if (!name)
		return;
	ix->v[ix->n++] = (nref){.name = name,
				.list = list,
				.idx = idx,
				.line = vg_ypos_line(l->y, fp(p, list, idx, "name"))};
}

/* Sort the index and report every repeated name at its later occurrence. */
static void nindex_finish(ld *l, nindex *ix)
{
	char p[PATH_LEN];
	qsort(ix->v, ix->n, sizeof(*ix->v), nref_cmp);
	for (size_t k = 1; k < ix->n; k++) {
		if (strcmp(ix->v[k].name, ix->v[k - 1].name))
			continue;
		size_t first = k - 1;
		while (first > 0 && !strcmp(ix->v[first - 1].name, ix->v[k].name))
			first--;
		lerr(l, fp(p, ix->v[k].list, ix->v[k].idx, "name"),
		     "duplicate name '%s' (first used at line %d)", ix->v[k].name,
		     ix->v[first].line);
	}
}

static const nref *nindex_find(const nindex *ix, const char *name)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(ix->v[mid].name, name);
		if (!r)
			return &ix->v[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The entry of name in list ("resources", ...), even when the name is also used elsewhere. */
static const nref *nindex_find_in(const nindex *ix, const char *name, const char *list)
{
	const nref *r = ix->v && name ? nindex_find(ix, name) : NULL;
	if (!r)
		return NULL;
	while (r > ix->v && !strcmp(r[-1].name, name))
		r--;
	for (; r < ix->v + ix->n && !strcmp(r->name, name); r++)
		if (!strcmp(r->list, list))
			return r;
	return NULL;
}

static void build_indexes(ld *l)
{
	const vg_config *c = l->c;
	l->rg.v = vg_calloc(c->n_resources + c->n_groups + 1, sizeof(nref));
	l->nodes.v = vg_calloc(c->n_nodes + 1, sizeof(nref));
	l->fences.v = vg_calloc(c->n_fence_devices + 1, sizeof(nref));
	if (!l->rg.v || !l->nodes.v || !l->fences.v)
		return;
	for (size_t i = 0; i < c->n_resources; i++)
		nindex_add(l, &l->rg, "resources", i, c->resources[i].name);
	for (size_t i = 0; i < c->n_groups; i++)
		nindex_add(l, &l->rg, "groups", i, c->groups[i].name);
	for (size_t i = 0; i < c->n_nodes; i++)
		nindex_add(l, &l->nodes, "nodes", i, c->nodes[i].name);
	for (size_t i = 0; i < c->n_fence_devices; i++)
		nindex_add(l, &l->fences, "fence_devices", i, c->fence_devices[i].name);
	nindex_finish(l, &l->rg);
	nindex_finish(l, &l->nodes);
	nindex_finish(l, &l->fences);
}

static const vg_resource *find_resource(ld *l, const char *name)
{
	const nref *r = nindex_find_in(&l->rg, name, "resources");
	return r ? &l->c->resources[r->idx] : NULL;
}

/* A reference to a resource or group. */
static bool ref_rg(ld *l, const char *path, const char *name)
{
	if (name && l->rg.v && nindex_find(&l->rg, name))
		return true;
	lerr(l, path, "unknown resource or group '%s'", name ? name : "");
	return false;
}

static void ref_node(ld *l, const char *path, const char *name)
{
	if (name && l->nodes.v && !nindex_find(&l->nodes, name))
		lerr(l, path, "unknown node '%s'", name);
}

static void check_fence_targets(ld *l)
{
	char p[PATH_LEN], key[64];
	for (size_t i = 0; i < l->c->n_fence_devices; i++) {
		const vg_fence_device *f = &l->c->fence_devices[i];
		for (size_t t = 0; t < f->n_targets; t++) {
			snprintf(key, sizeof(key), "targets[%zu]", t);
			ref_node(l, fp(p, "fence_devices", i, key), f->targets[t]);
		}
	}
}

/* ---- groups --------------------------------------------------------------- */

static void check_member(ld *l, size_t g, size_t m, const char *name)
{
	char p[PATH_LEN], key[64];
	snprintf(key, sizeof(key), "members[%zu]", m);
	fp(p, "groups", g, key);
	const nref *ref = nindex_find_in(&l->rg, name, "resources");
	if (!ref) {
		lerr(l, p,
		     nindex_find_in(&l->rg, name, "groups")
			 ? "'%s' is a group; groups cannot contain groups"
			 : "unknown resource '%s'",
		     name);
		return;
	}
	const vg_resource *r = &l->c->resources[ref->idx];
	if (r->clone.enabled)
		lerr(l, p, "'%s' is a clone; a clone cannot be a group member", name);
	int *owner = &l->group_of[ref->idx];
	if (*owner >= 0)
		lerr(l, p, "resource '%s' is already a member of group '%s'", name,
		     l->c->groups[*owner].name);
	else
		*owner = (int)g;
}

static void conv_groups(ld *l)
{
	vg_config *c = l->c;
	char p[PATH_LEN];
	c->groups = vg_calloc(l->in->n_groups + 1, sizeof(*c->groups));
	c->n_groups = c->groups ? l->in->n_groups : 0;
	for (size_t g = 0; g < c->n_groups; g++) {
		const vg_y_group *y = &l->in->groups[g];
		vg_group *grp = &c->groups[g];
		grp->name = vg_strdup(y->name);
		check_name(l, "groups", g, y->name);
		grp->line = vg_ypos_line(l->y, fp(p, "groups", g, NULL));
		grp->members = vg_calloc(y->n_members + 1, sizeof(char *));
		for (size_t m = 0; grp->members && m < y->n_members; m++)
			grp->members[grp->n_members++] = vg_strdup(y->members[m]);
	}
}

static void check_groups(ld *l)
{
	l->group_of = vg_calloc(l->c->n_resources + 1, sizeof(int));
	if (!l->group_of || !l->rg.v)
		return;
	for (size_t i = 0; i < l->c->n_resources; i++)
		l->group_of[i] = -1;
	for (size_t g = 0; g < l->c->n_groups; g++)
		for (size_t m = 0; m < l->c->groups[g].n_members; m++)
			check_member(l, g, m, l->c->groups[g].members[m]);
}

/* ---- constraints ---------------------------------------------------------- */

/* A role other than started needs a promotable clone. */
static void check_role(ld *l, const char *path, const char *name, vg_rrole role)
{
	if (role != VG_RROLE_PROMOTED && role != VG_RROLE_UNPROMOTED)
		return;
	const vg_resource *r = find_resource(l, name);
	if (r && !r->clone.promotable)
		lerr(l, path, "'%s' is not a promotable clone, it has no %s role", name,
		     role == VG_RROLE_PROMOTED ? "promoted" : "unpromoted");
}

static vg_rrole get_rrole(ld *l, size_t i, const char *key, const char *s, const char *target)
{
	char p[PATH_LEN];
	vg_rrole role = get_enum(l, fp(p, "constraints", i, key), s, rrole_names, VG_RROLE_ANY);
	check_role(l, p, target, role);
	return role;
}

static void conv_location(ld *l, size_t i, const vg_y_location *y, vg_location *o)
{
	char p[PATH_LEN];
	o->resource = vg_strdup(y->resource);
	o->node = vg_strdup(y->node);
	ref_rg(l, fp(p, "constraints", i, "location.resource"), y->resource);
	ref_node(l, fp(p, "constraints", i, "location.node"), y->node);
	o->score = get_score(l, fp(p, "constraints", i, "location.score"), y->score, 0);
	o->role = get_rrole(l, i, "location.role", y->role, y->resource);
	if (!y->node == !y->rule)
		lerr(l, fp(p, "constraints", i, "location"), "needs exactly one of node or rule");
	if (!y->rule)
		return;
	o->rule_attribute = vg_strdup(y->rule->attribute);
	o->rule_value = vg_strdup(y->rule->value);
	o->rule_op = get_enum(l, fp(p, "constraints", i, "location.rule.op"), y->rule->op,
			      rule_op_names, VG_RULE_OP_EQ);
	bool unary = o->rule_op == VG_RULE_OP_DEFINED || o->rule_op == VG_RULE_OP_NOT_DEFINED;
	if (unary != !y->rule->value)
		lerr(l, fp(p, "constraints", i, "location.rule"),
		     unary ? "operator %s takes no value" : "operator %s needs a value",
		     y->rule->op ? y->rule->op : "eq");
}

static void conv_colocate(ld *l, size_t i, const vg_y_colocate *y, vg_colocation *o)
{
	char p[PATH_LEN];
	o->resource = vg_strdup(y->resource);
	o->with = vg_strdup(y->with);
	ref_rg(l, fp(p, "constraints", i, "colocate.resource"), y->resource);
	ref_rg(l, fp(p, "constraints", i, "colocate.with"), y->with);
	if (!strcmp(y->resource, y->with))
		lerr(l, fp(p, "constraints", i, "colocate.with"),
		     "a resource cannot be colocated "
		     "with itself");
	o->score = get_score(l, fp(p, "constraints", i, "colocate.score"), y->score, VG_SCORE_INF);
	o->role = get_rrole(l, i, "colocate.role", y->role, y->resource);
	o->with_role = get_rrole(l, i, "colocate.with_role", y->with_role, y->with);
}

static vg_op_kind get_action(ld *l, size_t i, const char *key, const char *s, const char *target)
{
	char p[PATH_LEN];
	vg_op_kind k = get_enum(l, fp(p, "constraints", i, key), s, action_names, VG_OP_START);
	const vg_resource *r = find_resource(l, target);
	if ((k == VG_OP_PROMOTE || k == VG_OP_DEMOTE) && r && !r->clone.promotable)
		lerr(l, p, "'%s' is not a promotable clone, it cannot %s", target, s);
	return k;
}

static void conv_order(ld *l, size_t i, const vg_y_order *y, vg_order *o)
{
	char p[PATH_LEN];
	o->first = vg_strdup(y->first);
	o->then = vg_strdup(y->then);
	ref_rg(l, fp(p, "constraints", i, "order.first"), y->first);
	ref_rg(l, fp(p, "constraints", i, "order.then"), y->then);
	if (!strcmp(y->first, y->then))
		lerr(l, fp(p, "constraints", i, "order.then"),
		     "a resource cannot be ordered "
		     "after itself");
	o->first_action = get_action(l, i, "order.first_action", y->first_action, y->first);
	o->then_action = get_action(l, i, "order.then_action", y->then_action, y->then);
	o->optional =
	    get_enum(l, fp(p, "constraints", i, "order.kind"), y->kind, order_kind_names, 0) == 1;
}

static void conv_constraint(ld *l, size_t i)
{
	const vg_y_constraint *y = &l->in->constraints[i];
	vg_constraint *k = &l->c->constraints[i];
	char p[PATH_LEN];
	k->line = vg_ypos_line(l->y, fp(p, "constraints", i, NULL));
	int kinds = !!y->location + !!y->colocate + !!y->order;
	if (kinds != 1) {
		lerr(l, p, "needs exactly one of location, colocate or order");
		k->kind = VG_CONS_ORDER; /* all fields NULL: safe to free */
		return;
	}
	if (y->location) {
		k->kind = VG_CONS_LOCATION;
		conv_location(l, i, y->location, &k->u.location);
	} else if (y->colocate) {
		k->kind = VG_CONS_COLOCATE;
		conv_colocate(l, i, y->colocate, &k->u.colocate);
	} else {
		k->kind = VG_CONS_ORDER;
		conv_order(l, i, y->order, &k->u.order);
	}
}

static void conv_constraints(ld *l)
{
	vg_config *c = l->c;
	c->constraints = vg_calloc(l->in->n_constraints + 1, sizeof(*c->constraints));
	c->n_constraints = c->constraints ? l->in->n_constraints : 0;
	for (size_t i = 0; i < c->n_constraints; i++)
		conv_constraint(l, i);
}

/* ---- loading -------------------------------------------------------------- */

static void warn_fencing(const vg_config *c)
{
	if (c->n_fence_devices || vg_config_servers(c) <= 1)
		return; /* one server: no other node recovers its resources */
	for (size_t i = 0; i < c->n_resources; i++) {
		if (c->resources[i].requires == VG_REQUIRES_FENCING) {
			vg_warn(
			    "%s: resource '%s' (and maybe others) requires fencing but no fence "
			    "device is configured: recovery of it will wait for "
			    "`vigil node confirm-down`",
			    c->source, c->resources[i].name);
			return;
		}
	}
}

static vg_config *convert(ld *l)
{
	l->c = vg_calloc(1, sizeof(*l->c));
	if (!l->c)
		return NULL;
	l->c->source = vg_strdup(l->sink.file);
	conv_cluster(l);
	conv_api(l);
	conv_nodes(l);
	conv_qnetd(l);
	conv_fence(l);
	conv_alerts(l);
	conv_resources(l);
	conv_groups(l);
	build_indexes(l);
	check_fence_targets(l);
	check_groups(l);
	conv_constraints(l);
	return l->c;
}

static void ld_free(ld *l)
{
	free(l->rg.v);
	free(l->nodes.v);
	free(l->fences.v);
	free(l->group_of);
}

/* libcyaml's log messages, kept to report a failure the schema checker missed. */
typedef struct {
	char msg[512];
	int line;
} cy_log;

static void cy_log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	cy_log *lg = ctx;
	char buf[512];
	if (level < CYAML_LOG_ERROR)
		return;
	vsnprintf(buf, sizeof(buf), fmt, args);
	buf[strcspn(buf, "\n")] = '\0';
	const char *line = strstr(buf, "(line: ");
	if (line && !lg->line)
		lg->line = atoi(line + 7);
	else if (!line && !lg->msg[0] && !strstr(buf, "Backtrace"))
		snprintf(lg->msg, sizeof(lg->msg), "%s", strncmp(buf, "Load: ", 6) ? buf : buf + 6);
}

static vg_y_root *cy_load(vg_cfg_sink *s, const char *yaml, size_t len, const cyaml_config_t *cfg,
			  cy_log *lg)
{
	vg_y_root *root = NULL;
	cyaml_err_t e = cyaml_load_data((const uint8_t *)yaml, len, cfg, vg_config_schema(),
					(cyaml_data_t **)&root, NULL);
	if (e == CYAML_OK)
		return root;
	vg_cfg_err(s, lg->line, "(document)", "%s", lg->msg[0] ? lg->msg : cyaml_strerror(e));
	return NULL;
}

/* Parse and check the structure; NULL (errors added) when it is not loadable. */
static vg_ypos *parse_checked(vg_cfg_sink *s, const char *yaml, size_t len)
{
	char err[256];
	int line;
	vg_ypos *y = vg_ypos_parse(yaml, len, &line, err, sizeof(err));
	if (!y) {
		vg_cfg_err(s, line, "(document)", "%s", err);
		return NULL;
	}
	if (!vg_ypos_root(y)) {
		vg_cfg_err(s, 0, "(document)", "the file is empty");
	} else if (vg_schema_check(y, s) == 0) {
		return y;
	}
	vg_ypos_free(y);
	return NULL;
}

/* Stable sort by line, so that errors read top to bottom (file-level errors first). */
static void sort_errors(vg_config_errors *e)
{
	for (size_t i = 1; i < e->count; i++) {
		vg_config_error x = e->items[i];
		size_t j = i;
		for (; j > 0 && e->items[j - 1].line > x.line; j--)
			e->items[j] = e->items[j - 1];
		e->items[j] = x;
	}
}

static vg_config *load(const char *name, const char *yaml, size_t len, const vg_agent_info *agents,
		       vg_config_errors *errs, bool quiet, bool local)
{
	*errs = (vg_config_errors){0};
	ld l = {.sink = {.file = name, .errs = errs}, .agents = agents, .local = local};
	l.y = parse_checked(&l.sink, yaml, len);
	if (!l.y) {
		sort_errors(errs);
		return NULL;
	}
	cy_log lg = {0};
	cyaml_config_t cfg = {.log_fn = cy_log_fn,
			      .log_ctx = &lg,
			      .mem_fn = cyaml_mem,
			      .log_level = CYAML_LOG_ERROR,
			      .flags = CYAML_CFG_NO_ALIAS};
	vg_y_root *root = cy_load(&l.sink, yaml, len, &cfg, &lg);
	vg_config *c = NULL;
	if (root) {
		l.in = root;
		c = convert(&l);
		cyaml_free(&cfg, vg_config_schema(), root, 0);
	}
	ld_free(&l);
	vg_ypos_free((vg_ypos *)l.y);
	if (c && errs->count == 0) {
		if (!quiet)
			warn_fencing(c);
		vg_strmap_init(&c->resource_index, c->n_resources);
		for (size_t i = 0; i < c->n_resources; i++)
			vg_strmap_put(&c->resource_index, c->resources[i].name, (uint32_t)i);
		return c;
	}
	if (!c && errs->count == 0)
		vg_cfg_err(&l.sink, 0, "(document)", "out of memory");
	sort_errors(errs);
	vg_config_free(c);
	return NULL;
}

vg_config *vg_config_load_buffer(const char *name, const char *yaml, size_t len,
				 const vg_agent_info *agents, vg_config_errors *errs)
{
	return load(name, yaml, len, agents, errs, !agents, false);
}

vg_config *vg_config_load_local(const char *name, const char *yaml, size_t len,
				const vg_agent_info *agents, vg_config_errors *errs)
{
	return load(name, yaml, len, agents, errs, !agents, true);
}

typedef struct {
	void (*fn)(void *arg, const char *provider, const char *agent);
	void *arg;
	char **seen; /* "provider\nagent" */
	size_t n_seen;
} agent_list;

static vg_agent_answer list_agent(void *arg, const char *provider, const char *agent,
				  const vg_ocf_metadata **md, char *err, size_t errlen)
{
	(void)md;
	(void)err;
	(void)errlen;
	agent_list *a = arg;
	char *key;
	if (asprintf(&key, "%s\n%s", provider, agent) < 0)
		abort();
	for (size_t i = 0; i < a->n_seen; i++) {
		if (!strcmp(a->seen[i], key)) {
			free(key);
			return VG_AGENT_UNKNOWN;
		}
	}
	a->seen = vg_realloc(a->seen, (a->n_seen + 1) * sizeof(*a->seen));
	a->seen[a->n_seen++] = key;
	a->fn(a->arg, provider, agent);
	return VG_AGENT_UNKNOWN;
}

void vg_config_agents(const char *yaml, size_t len,
		      void (*fn)(void *arg, const char *provider, const char *agent), void *arg)
{
	agent_list a = {.fn = fn, .arg = arg};
	vg_agent_info info = {list_agent, &a};
	vg_config_errors errs;
	vg_config_free(load("(agents)", yaml, len, &info, &errs, true, false));
	vg_config_errors_free(&errs);
	for (size_t i = 0; i < a.n_seen; i++)
		free(a.seen[i]);
	free(a.seen);
}

vg_config *vg_config_load(const char *file, const vg_agent_info *agents, vg_config_errors *errs)
{
	char err[256];
	size_t len = 0;
	*errs = (vg_config_errors){0};
	char *buf = vg_file_read(file, CONFIG_MAX_BYTES, &len, err, sizeof(err));
	if (!buf) {
		vg_cfg_sink s = {.file = file, .errs = errs};
		vg_cfg_err(&s, 0, "(file)", "%s", err);
		return NULL;
	}
	vg_config *c = vg_config_load_buffer(file, buf, len, agents, errs);
	free(buf);
	return c;
}
