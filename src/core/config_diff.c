/* config_diff.c - what changed between two configurations (see config_diff.h).
 *
 * Owns: turning each item of a vg_config into (field, value text) pairs and comparing two
 * configurations item by item: by name for nodes, fence devices, resources and groups, as
 * sets of their one-line text for constraints. Pure: no I/O, no global state.
 * Must not: validate (both inputs are loader-validated), or decide what a change causes.
 */
#include "config_diff.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small text helpers --------------------------------------------------- */

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

static char *dur_text(uint64_t ms)
{
	if (ms == 0)
		return xprintf("0");
	if (ms % 3600000 == 0)
		return xprintf("%lluh", (unsigned long long)(ms / 3600000));
	if (ms % 60000 == 0)
		return xprintf("%llum", (unsigned long long)(ms / 60000));
	if (ms % 1000 == 0)
		return xprintf("%llus", (unsigned long long)(ms / 1000));
	return xprintf("%llums", (unsigned long long)ms);
}

static char *score_text(int s)
{
	if (s >= VG_SCORE_INF)
		return xprintf("inf");
	if (s <= -VG_SCORE_INF)
		return xprintf("-inf");
	return xprintf("%d", s);
}

/* A value as shown: quoted when empty or when it holds blanks, "(none)" when absent. */
static char *val_text(const char *s)
{
	if (!s)
		return xprintf("(none)");
	if (!*s || strpbrk(s, " \t\n"))
		return xprintf("\"%s\"", s);
	return xprintf("%s", s);
}

static char *join(char *const *v, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 2;
	char *s = vg_malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, v[i]);
	}
	return s;
}

static const char *on_fail_name(vg_on_fail f)
{
	static const char *const n[] = {
	    [VG_ON_FAIL_RESTART] = "restart", [VG_ON_FAIL_STOP] = "stop",
	    [VG_ON_FAIL_BLOCK] = "block",     [VG_ON_FAIL_FENCE] = "fence",
	    [VG_ON_FAIL_STANDBY] = "standby",
	};
	return (unsigned)f < sizeof n / sizeof *n ? n[f] : "?";
}

static const char *rrole_name(vg_rrole r)
{
	static const char *const n[] = {
	    [VG_RROLE_ANY] = "",
	    [VG_RROLE_STARTED] = "started",
	    [VG_RROLE_PROMOTED] = "promoted",
	    [VG_RROLE_UNPROMOTED] = "unpromoted",
	};
	return (unsigned)r < sizeof n / sizeof *n ? n[r] : "?";
}

static const char *rule_op_name(vg_rule_op o)
{
	static const char *const n[] = {
	    [VG_RULE_OP_EQ] = "eq",	      [VG_RULE_OP_NE] = "ne",
	    [VG_RULE_OP_DEFINED] = "defined", [VG_RULE_OP_NOT_DEFINED] = "not_defined",
	    [VG_RULE_OP_GT] = "gt",	      [VG_RULE_OP_LT] = "lt",
	    [VG_RULE_OP_GTE] = "gte",	      [VG_RULE_OP_LTE] = "lte",
	};
	return (unsigned)o < sizeof n / sizeof *n ? n[o] : "?";
}

/* ---- property lists ------------------------------------------------------- */

typedef struct {
	char *key;
	char *val;
} prop;

typedef struct {
	prop *v;
	size_t n, cap;
	bool oom;
} plist;

/* Takes ownership of key and val (either may be NULL after a failed allocation). */
static void padd(plist *p, char *key, char *val)
{
	if (!key || !val || p->oom) {
		free(key);
		free(val);
		p->oom = true;
		return;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		prop *v = vg_realloc(p->v, cap * sizeof *v);
		if (!v) {
			free(key);
			free(val);
			p->oom = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (prop){key, val};
}

static void pfree(plist *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].val);
	}
	free(p->v);
	*p = (plist){0};
}

static int prop_cmp(const void *a, const void *b)
{
	return strcmp(((const prop *)a)->key, ((const prop *)b)->key);
}

static void psort(plist *p)
{
	if (p->n > 1)
		qsort(p->v, p->n, sizeof *p->v, prop_cmp);
}

static void add_params(plist *p, const vg_param *params, size_t n)
{
	for (size_t i = 0; i < n; i++)
		padd(p, xprintf("params.%s", params[i].key), val_text(params[i].value));
}

static char *check_text(const vg_check *c)
{
	switch (c->kind) {
	case VG_CHECK_TCP:
		return xprintf("tcp %s:%u", c->host ? c->host : "127.0.0.1", c->port);
	case VG_CHECK_HTTP:
		return xprintf("http %s:%u%s expect %d", c->host ? c->host : "127.0.0.1", c->port,
			       c->path ? c->path : "/", c->expect);
	case VG_CHECK_NONE:
		break;
	}
	return xprintf("none");
}

static char *clone_text(const vg_clone *c)
{
	if (!c->enabled)
		return xprintf("no");
	if (!c->promotable)
		return xprintf("max %u, max_per_node %u", c->max, c->max_per_node);
	return xprintf("max %u, max_per_node %u, promotable, promoted_max %u", c->max,
		       c->max_per_node, c->promoted_max);
}

/* The resource's definition (what running it depends on); with meta, also how the cluster
 * treats it. Sorted by field name. */
static void resource_props(const vg_resource *r, bool meta, plist *p)
{
	padd(p, xprintf("type"), val_text(r->type));
	add_params(p, r->params, r->n_params);
	for (int k = 0; k < VG_OP_COUNT; k++) {
		const vg_op *op = &r->ops[k];
		padd(p, xprintf("ops.%s.timeout", vg_op_name((vg_op_kind)k)),
		     dur_text(op->timeout_ms));
		if (k == VG_OP_MONITOR || op->interval_ms)
			padd(p, xprintf("ops.%s.interval", vg_op_name((vg_op_kind)k)),
			     dur_text(op->interval_ms));
	}
	padd(p, xprintf("check"), check_text(&r->check));
	if (meta) {
		padd(p, xprintf("clone"), clone_text(&r->clone));
		padd(p, xprintf("requires"),
		     xprintf("%s", r->requires == VG_REQUIRES_FENCING ? "fencing" : "quorum"));
		padd(p, xprintf("stickiness"),
		     r->has_stickiness ? score_text(r->stickiness) : xprintf("(cluster)"));
		padd(p, xprintf("migration_threshold"), xprintf("%u", r->migration_threshold));
		padd(p, xprintf("failure_timeout"), dur_text(r->failure_timeout_ms));
		padd(p, xprintf("on_fail"), xprintf("%s", on_fail_name(r->on_fail)));
		padd(p, xprintf("disabled"), xprintf("%s", r->disabled ? "true" : "false"));
	}
	psort(p);
}

/* ---- output --------------------------------------------------------------- */

typedef struct {
	FILE *f;
	bool oom;
} out;

/* Compare two sorted lists; `what` names the item ("resource vip"), NULL for cluster
 * options whose keys are complete ("cluster.token"). */
static void pdiff(out *o, const char *what, const plist *a, const plist *b)
{
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i].key, b->v[j].key);
		const char *key = c <= 0 ? a->v[i].key : b->v[j].key;
		const char *from = c <= 0 ? a->v[i].val : "(none)";
		const char *to = c >= 0 ? b->v[j].val : "(none)";
		if (c != 0 || strcmp(from, to)) {
			if (what)
				fprintf(o->f, "~ %s: %s: %s -> %s\n", what, key, from, to);
			else
				fprintf(o->f, "~ %s: %s -> %s\n", key, from, to);
		}
		i += c <= 0;
		j += c >= 0;
	}
}

/* ---- cluster options ------------------------------------------------------ */

static void cluster_props(const vg_config *c, plist *p)
{
	padd(p, xprintf("cluster.name"), val_text(c->name));
	padd(p, xprintf("cluster.key_file"), val_text(c->key_file));
	padd(p, xprintf("cluster.token"), dur_text(c->token_ms));
	padd(p, xprintf("cluster.no_quorum"),
	     xprintf("%s", c->no_quorum == VG_NO_QUORUM_FREEZE ? "freeze" : "stop"));
	padd(p, xprintf("cluster.stickiness"), score_text(c->stickiness));
	padd(p, xprintf("cluster.http_address"), val_text(c->http_address));
	padd(p, xprintf("api.listen"), val_text(c->api.listen));
	padd(p, xprintf("api.token_file"), val_text(c->api.token_file));
	padd(p, xprintf("api.tls_cert"), val_text(c->api.tls_cert));
	padd(p, xprintf("api.tls_key"), val_text(c->api.tls_key));
	padd(p, xprintf("cluster.fence_delay"), dur_text(c->fence_delay_ms));
	padd(p, xprintf("cluster.quorum_loss_delay"), dur_text(c->quorum_loss_delay_ms));
	padd(p, xprintf("cluster.lease"), dur_text(c->lease_ms));
	padd(p, xprintf("cluster.halt_grace"), dur_text(c->halt_grace_ms));
	padd(p, xprintf("cluster.watchdog"), val_text(c->watchdog));
	padd(p, xprintf("cluster.watchdog_timeout"),
	     dur_text((uint64_t)c->watchdog_timeout_s * 1000));
	const vg_qnetd *q = &c->qnetd;
	if (q->host) {
		const char *tb = q->tie_breaker_highest ? "highest" : "lowest";
		for (size_t i = 0; q->tie_breaker_id && i < c->n_nodes; i++)
			if (c->nodes[i].id == q->tie_breaker_id)
				tb = c->nodes[i].name;
		padd(p, xprintf("cluster.qnetd"),
		     xprintf("{host: %s, port: %u, algorithm: %s, tls: %s, tie_breaker: %s}",
			     q->host, q->port, vg_qnetd_algorithm_name(q->algorithm),
			     vg_qnetd_tls_name(q->tls), tb));
	} else {
		padd(p, xprintf("cluster.qnetd"), val_text(NULL));
	}
	psort(p);
}

/* ---- named items ---------------------------------------------------------- */

typedef struct {
	const char *kind; /* "node", "resource", ... */
	size_t (*count)(const vg_config *c);
	const char *(*name)(const vg_config *c, size_t i);
	void (*props)(const vg_config *c, size_t i, plist *p);
	char *(*summary)(const vg_config *c, size_t i); /* shown after "+ kind name" */
} kind_ops;

static size_t node_count(const vg_config *c)
{
	return c->n_nodes;
}
static const char *node_name(const vg_config *c, size_t i)
{
	return c->nodes[i].name;
}
static void node_props(const vg_config *c, size_t i, plist *p)
{
	const vg_node *n = &c->nodes[i];
	padd(p, xprintf("address"), val_text(n->address));
	padd(p, xprintf("id"), xprintf("%u", n->id));
	padd(p, xprintf("role"), xprintf("%s", n->role == VG_ROLE_AGENT ? "agent" : "server"));
	psort(p);
}

static size_t fence_count(const vg_config *c)
{
	return c->n_fence_devices;
}
static const char *fence_name(const vg_config *c, size_t i)
{
	return c->fence_devices[i].name;
}
static void fence_props(const vg_config *c, size_t i, plist *p)
{
	const vg_fence_device *f = &c->fence_devices[i];
	padd(p, xprintf("agent"), val_text(f->agent));
	add_params(p, f->params, f->n_params);
	padd(p, xprintf("targets"), join(f->targets, f->n_targets));
	padd(p, xprintf("level"), xprintf("%d", f->level));
	padd(p, xprintf("timeout"), dur_text(f->timeout_ms));
	psort(p);
}
static char *fence_summary(const vg_config *c, size_t i)
{
	return xprintf(" (%s)", c->fence_devices[i].agent);
}

static size_t alert_count(const vg_config *c)
{
	return c->n_alerts;
}
static const char *alert_name(const vg_config *c, size_t i)
{
	return c->alerts[i].name;
}
static void alert_props(const vg_config *c, size_t i, plist *p)
{
	static const char *const kn[] = {"node", "fencing", "resource", "attribute"};
	const vg_alert *a = &c->alerts[i];
	const char *ks[4];
	size_t nk = 0;
	for (size_t k = 0; k < 4; k++)
		if (a->kinds & (1u << k))
			ks[nk++] = kn[k];
	padd(p, xprintf("path"), val_text(a->path));
	padd(p, xprintf("timeout"), dur_text(a->timeout_ms));
	padd(p, xprintf("recipients"), join(a->recipients, a->n_recipients));
	padd(p, xprintf("kinds"), join((char *const *)ks, nk));
	padd(p, xprintf("enabled"), xprintf("%s", a->enabled ? "true" : "false"));
	psort(p);
}

static size_t res_count(const vg_config *c)
{
	return c->n_resources;
}
static const char *res_name(const vg_config *c, size_t i)
{
	return c->resources[i].name;
}
static void res_props(const vg_config *c, size_t i, plist *p)
{
	resource_props(&c->resources[i], true, p);
}
static char *res_summary(const vg_config *c, size_t i)
{
	return xprintf(" (%s)", c->resources[i].type);
}

static size_t group_count(const vg_config *c)
{
	return c->n_groups;
}
static const char *group_name(const vg_config *c, size_t i)
{
	return c->groups[i].name;
}
static void group_props(const vg_config *c, size_t i, plist *p)
{
	padd(p, xprintf("members"), join(c->groups[i].members, c->groups[i].n_members));
}
static char *group_summary(const vg_config *c, size_t i)
{
	char *m = join(c->groups[i].members, c->groups[i].n_members);
	char *s = m ? xprintf(" (%s)", m) : NULL;
	free(m);
	return s;
}

static const kind_ops kinds[] = {
    {"node", node_count, node_name, node_props, NULL},
    {"fence_device", fence_count, fence_name, fence_props, fence_summary},
    {"resource", res_count, res_name, res_props, res_summary},
    {"group", group_count, group_name, group_props, group_summary},
    {"alert", alert_count, alert_name, alert_props, NULL},
};

typedef struct {
	const char *name;
	size_t idx;
} named;

static int named_cmp(const void *a, const void *b)
{
	return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* The items of one kind sorted by name; *n set; NULL with *n 0 when there are none. */
static named *sorted_names(const kind_ops *k, const vg_config *c, size_t *n, bool *oom)
{
	*n = c ? k->count(c) : 0;
	if (*n == 0)
		return NULL;
	named *v = vg_malloc(*n * sizeof *v);
	if (!v) {
		*oom = true;
		*n = 0;
		return NULL;
	}
	for (size_t i = 0; i < *n; i++)
		v[i] = (named){k->name(c, i), i};
	qsort(v, *n, sizeof *v, named_cmp);
	return v;
}

static void diff_both(out *o, const kind_ops *k, const vg_config *a, size_t ia, const vg_config *b,
		      size_t ib)
{
	plist pa = {0}, pb = {0};
	k->props(a, ia, &pa);
	k->props(b, ib, &pb);
	char *what = xprintf("%s %s", k->kind, k->name(b, ib));
	if (pa.oom || pb.oom || !what)
		o->oom = true;
	else
		pdiff(o, what, &pa, &pb);
	free(what);
	pfree(&pa);
	pfree(&pb);
}

static void diff_kind(out *o, const kind_ops *k, const vg_config *a, const vg_config *b)
{
	size_t na, nb;
	named *va = sorted_names(k, a, &na, &o->oom);
	named *vb = sorted_names(k, b, &nb, &o->oom);
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(va[i].name, vb[j].name);
		if (c < 0) {
			fprintf(o->f, "- %s %s\n", k->kind, va[i].name);
		} else if (c > 0) {
			char *s = k->summary ? k->summary(b, vb[j].idx) : NULL;
			if (k->summary && !s)
				o->oom = true;
			fprintf(o->f, "+ %s %s%s\n", k->kind, vb[j].name, s ? s : "");
			free(s);
		} else {
			diff_both(o, k, a, va[i].idx, b, vb[j].idx);
		}
		i += c <= 0;
		j += c >= 0;
	}
	free(va);
	free(vb);
}

/* ---- constraints ---------------------------------------------------------- */

/* "name" or "name:role" */
static char *with_role(const char *name, vg_rrole r)
{
	return r == VG_RROLE_ANY ? xprintf("%s", name) : xprintf("%s:%s", name, rrole_name(r));
}

char *vg_constraint_text(const vg_constraint *k)
{
	char *a = NULL, *b = NULL, *sc = NULL, *s = NULL;
	switch (k->kind) {
	case VG_CONS_LOCATION: {
		const vg_location *l = &k->u.location;
		a = with_role(l->resource, l->role);
		sc = score_text(l->score);
		if (!a || !sc)
			break;
		if (l->node)
			s = xprintf("location %s on %s score %s", a, l->node, sc);
		else if (l->rule_value)
			s = xprintf("location %s rule %s %s %s score %s", a, l->rule_attribute,
				    rule_op_name(l->rule_op), l->rule_value, sc);
		else
			s = xprintf("location %s rule %s %s score %s", a, l->rule_attribute,
				    rule_op_name(l->rule_op), sc);
		break;
	}
	case VG_CONS_COLOCATE: {
		const vg_colocation *c = &k->u.colocate;
		a = with_role(c->resource, c->role);
		b = with_role(c->with, c->with_role);
		sc = score_text(c->score);
		if (a && b && sc)
			s = xprintf("colocate %s with %s score %s", a, b, sc);
		break;
	}
	case VG_CONS_ORDER: {
		const vg_order *r = &k->u.order;
		a = r->first_action == VG_OP_START
			? xprintf("%s", r->first)
			: xprintf("%s:%s", r->first, vg_op_name(r->first_action));
		b = r->then_action == VG_OP_START
			? xprintf("%s", r->then)
			: xprintf("%s:%s", r->then, vg_op_name(r->then_action));
		if (a && b)
			s = xprintf("order %s -> %s%s", a, b, r->optional ? " (optional)" : "");
		break;
	}
	}
	free(a);
	free(b);
	free(sc);
	return s;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted texts of c's constraints without duplicates: constraints compare as a set. */
static char **constraint_texts(const vg_config *c, size_t *n, bool *oom)
{
	size_t total = c ? c->n_constraints : 0;
	*n = 0;
	if (total == 0)
		return NULL;
	char **v = vg_calloc(total, sizeof *v);
	if (!v) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < total; i++) {
		char *t = vg_constraint_text(&c->constraints[i]);
		if (!t)
			*oom = true;
		else
			v[(*n)++] = t;
	}
	if (*n > 1)
		qsort(v, *n, sizeof *v, str_cmp);
	size_t u = 0;
	for (size_t i = 0; i < *n; i++) {
		if (u && !strcmp(v[u - 1], v[i]))
			free(v[i]);
		else
			v[u++] = v[i];
	}
	*n = u;
	return v;
}

static void diff_constraints(out *o, const vg_config *a, const vg_config *b)
{
	size_t na, nb;
	char **va = constraint_texts(a, &na, &o->oom);
	char **vb = constraint_texts(b, &nb, &o->oom);
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(va[i], vb[j]);
		if (c)
			fprintf(o->f, "%c constraint %s\n", c < 0 ? '-' : '+',
				c < 0 ? va[i] : vb[j]);
		i += c <= 0;
		j += c >= 0;
	}
	for (size_t k = 0; k < na; k++)
		free(va[k]);
	for (size_t k = 0; k < nb; k++)
		free(vb[k]);
	free(va);
	free(vb);
}

/* ---- public --------------------------------------------------------------- */

char *vg_config_diff(const vg_config *old, const vg_config *new_cfg)
{
	char *buf = NULL;
	size_t len = 0;
	out o = {.f = open_memstream(&buf, &len)};
	if (!o.f)
		return NULL;
	if (!old) {
		fprintf(o.f, "+ cluster %s\n", new_cfg->name);
	} else {
		plist pa = {0}, pb = {0};
		cluster_props(old, &pa);
		cluster_props(new_cfg, &pb);
		if (pa.oom || pb.oom)
			o.oom = true;
		else
			pdiff(&o, NULL, &pa, &pb);
		pfree(&pa);
		pfree(&pb);
	}
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
		diff_kind(&o, &kinds[k], old, new_cfg);
	diff_constraints(&o, old, new_cfg);
	if (fclose(o.f) != 0 || o.oom || !buf) {
		free(buf);
		return NULL;
	}
	return buf;
}

bool vg_config_resource_changed(const vg_config *a, const vg_config *b, const char *name)
{
	const vg_resource *ra = vg_config_resource(a, name);
	const vg_resource *rb = vg_config_resource(b, name);
	if (!ra || !rb)
		return !ra != !rb;
	plist pa = {0}, pb = {0};
	resource_props(ra, false, &pa);
	resource_props(rb, false, &pb);
	bool changed = pa.oom || pb.oom || pa.n != pb.n;
	for (size_t i = 0; !changed && i < pa.n; i++)
		changed = strcmp(pa.v[i].key, pb.v[i].key) || strcmp(pa.v[i].val, pb.v[i].val);
	pfree(&pa);
	pfree(&pb);
	return changed;
}
