/* cluster_state.c - the observed cluster condition and its `vigil status --json` form.
 *
 * Owns: building, copying, freeing, parsing and emitting vg_cluster_state.
 * Must not: decide placement (scheduler.c) or read clocks/files (callers pass strings).
 */
#include "cluster_state.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const node_state_names[] = {"online", "offline", "unclean",
					       "fenced", "standby", "maintenance"};
static const char *const inst_state_names[] = {"unknown",    "stopped",	 "running",
					       "unpromoted", "promoted", "failed"};

const char *vg_node_state_name(vg_node_state st)
{
	return (unsigned)st < 6 ? node_state_names[st] : "unknown";
}

int vg_node_state_from_name(const char *s, vg_node_state *out)
{
	for (int i = 0; i < 6; i++) {
		if (strcmp(s, node_state_names[i]) == 0) {
			*out = (vg_node_state)i;
			return 0;
		}
	}
	return -1;
}

const char *vg_inst_state_name(vg_inst_state st)
{
	return (unsigned)st < 6 ? inst_state_names[st] : "unknown";
}

vg_cluster_state *vg_cluster_state_new(const vg_config *cfg)
{
	vg_cluster_state *s = vg_calloc(1, sizeof(*s));
	s->quorate = true;
	if (cfg) {
		s->name = vg_strdup(cfg->name);
		s->n_nodes = cfg->n_nodes;
		s->nodes = vg_realloc(NULL, sizeof(*s->nodes) * (cfg->n_nodes ? cfg->n_nodes : 1));
		for (size_t i = 0; i < cfg->n_nodes; i++) {
			vg_node_cond *n = &s->nodes[i];
			memset(n, 0, sizeof(*n));
			n->name = vg_strdup(cfg->nodes[i].name);
			n->state = VG_NODE_ONLINE;
			n->probed = true;
		}
	}
	return s;
}

vg_cluster_state *vg_cluster_state_dup(const vg_cluster_state *o)
{
	vg_cluster_state *s = vg_calloc(1, sizeof(*s));
	s->name = vg_strdup(o->name);
	s->leader = vg_strdup(o->leader);
	s->quorate = o->quorate;
	s->now_ms = o->now_ms;
	s->n_nodes = o->n_nodes;
	s->nodes = vg_realloc(NULL, sizeof(*s->nodes) * (o->n_nodes ? o->n_nodes : 1));
	for (size_t i = 0; i < o->n_nodes; i++) {
		const vg_node_cond *on = &o->nodes[i];
		vg_node_cond *n = &s->nodes[i];
		*n = *on;
		n->name = vg_strdup(on->name);
		n->attrs = vg_realloc(NULL, sizeof(*n->attrs) * (on->n_attrs ? on->n_attrs : 1));
		for (size_t a = 0; a < on->n_attrs; a++) {
			n->attrs[a].key = vg_strdup(on->attrs[a].key);
			n->attrs[a].value = vg_strdup(on->attrs[a].value);
		}
	}
	s->n_insts = o->n_insts;
	s->cap_insts = o->n_insts ? o->n_insts : 1;
	s->insts = vg_realloc(NULL, sizeof(*s->insts) * s->cap_insts);
	for (size_t i = 0; i < o->n_insts; i++) {
		s->insts[i] = o->insts[i];
		s->insts[i].resource = vg_strdup(o->insts[i].resource);
		s->insts[i].node = vg_strdup(o->insts[i].node);
	}
	return s;
}

void vg_cluster_state_free(vg_cluster_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_nodes; i++) {
		for (size_t a = 0; a < s->nodes[i].n_attrs; a++) {
			free(s->nodes[i].attrs[a].key);
			free(s->nodes[i].attrs[a].value);
		}
		free(s->nodes[i].attrs);
		free(s->nodes[i].name);
	}
	free(s->nodes);
	for (size_t i = 0; i < s->n_insts; i++) {
		free(s->insts[i].resource);
		free(s->insts[i].node);
	}
	free(s->insts);
	vg_strmap_free(&s->index);
	free(s->name);
	free(s->leader);
	free(s);
}

vg_node_cond *vg_cluster_state_node(vg_cluster_state *s, const char *node)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (strcmp(s->nodes[i].name, node) == 0)
			return &s->nodes[i];
	return NULL;
}

/* Index what was appended since the last lookup; the keys are the instances' own strings. */
static void index_insts(vg_cluster_state *s)
{
	if (s->n_indexed > s->n_insts) { /* shrunk by hand: start over */
		vg_strmap_free(&s->index);
		s->n_indexed = 0;
	}
	for (; s->n_indexed < s->n_insts; s->n_indexed++) {
		const vg_inst_cond *ic = &s->insts[s->n_indexed];
		if (vg_strmap_get2(&s->index, ic->resource, ic->node) < 0)
			vg_strmap_put2(&s->index, ic->resource, ic->node, (uint32_t)s->n_indexed);
	}
}

vg_inst_cond *vg_cluster_state_inst(vg_cluster_state *s, const char *resource, const char *node)
{
	index_insts(s);
	int64_t i = vg_strmap_get2(&s->index, resource, node);
	return i >= 0 ? &s->insts[i] : NULL;
}

vg_inst_cond *vg_cluster_state_inst_get(vg_cluster_state *s, const char *resource, const char *node)
{
	vg_inst_cond *ic = vg_cluster_state_inst(s, resource, node);
	return ic ? ic : vg_cluster_state_inst_add(s, resource, node);
}

vg_inst_cond *vg_cluster_state_inst_add(vg_cluster_state *s, const char *resource, const char *node)
{
	if (s->n_insts >= s->cap_insts) {
		s->cap_insts = s->n_insts < 8 ? 16 : s->n_insts * 2;
		s->insts = vg_realloc(s->insts, sizeof(*s->insts) * s->cap_insts);
	}
	vg_inst_cond *ic = &s->insts[s->n_insts++];
	memset(ic, 0, sizeof(*ic));
	ic->resource = vg_strdup(resource);
	ic->node = vg_strdup(node);
	ic->state = VG_INST_STOPPED;
	return ic;
}

void vg_node_cond_set_attr(vg_node_cond *n, const char *key, const char *value)
{
	for (size_t a = 0; a < n->n_attrs; a++) {
		if (strcmp(n->attrs[a].key, key) == 0) {
			free(n->attrs[a].value);
			n->attrs[a].value = vg_strdup(value);
			return;
		}
	}
	n->attrs = vg_realloc(n->attrs, sizeof(*n->attrs) * (n->n_attrs + 1));
	n->attrs[n->n_attrs].key = vg_strdup(key);
	n->attrs[n->n_attrs].value = vg_strdup(value);
	n->n_attrs++;
}

const char *vg_node_cond_attr(const vg_node_cond *n, const char *key)
{
	for (size_t a = 0; a < n->n_attrs; a++)
		if (strcmp(n->attrs[a].key, key) == 0)
			return n->attrs[a].value;
	return NULL;
}

/* ---- parse ---------------------------------------------------------------- */

static bool is_node_of(const vg_config *cfg, const char *name)
{
	if (!cfg)
		return true;
	for (size_t i = 0; i < cfg->n_nodes; i++)
		if (strcmp(cfg->nodes[i].name, name) == 0)
			return true;
	return false;
}

static int cmp_res_ptr(const void *a, const void *b)
{
	return strcmp((*(const vg_resource *const *)a)->name,
		      (*(const vg_resource *const *)b)->name);
}

/* config resources sorted by name, for lookups in O(log n) (NULL when cfg is NULL) */
static const vg_resource **res_index(const vg_config *cfg)
{
	if (!cfg)
		return NULL;
	const vg_resource **ix = vg_malloc(sizeof(*ix) * (cfg->n_resources + 1));
	for (size_t i = 0; i < cfg->n_resources; i++)
		ix[i] = &cfg->resources[i];
	qsort(ix, cfg->n_resources, sizeof(*ix), cmp_res_ptr);
	return ix;
}

static const vg_resource *res_find(const vg_config *cfg, const vg_resource **ix, const char *name)
{
	size_t lo = 0, hi = cfg->n_resources;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ix[mid]->name, name);
		if (!c)
			return ix[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int get_u64(json_t *v, uint64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	return -1;
}

#define PERR(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		goto fail;                                                                         \
	} while (0)

/* one instance of resource rname (res: its config, or NULL); records of this resource
 * entry start at index `first` */
static int parse_instance(vg_cluster_state *s, const vg_config *cfg, const char *rname,
			  const vg_resource *res, size_t first, json_t *inst, size_t ri, size_t ii,
			  char *err, size_t errlen)
{
	json_t *jn = json_object_get(inst, "node");
	json_t *jst = json_object_get(inst, "state");
	json_t *jro = json_object_get(inst, "role");
	const char *node, *state, *role = "started";
	if (!json_is_object(inst))
		PERR("resources[%zu].instances[%zu]: not an object", ri, ii);
	if (!json_is_string(jn))
		PERR("resources[%zu].instances[%zu].node: missing or not a string", ri, ii);
	node = json_string_value(jn);
	if (!is_node_of(cfg, node))
		PERR("resources[%zu].instances[%zu].node: unknown node \"%s\"", ri, ii, node);
	if (!json_is_string(jst))
		PERR("resources[%zu].instances[%zu].state: missing or not a string", ri, ii);
	state = json_string_value(jst);
	if (jro && !json_is_null(jro)) {
		if (!json_is_string(jro))
			PERR("resources[%zu].instances[%zu].role: not a string", ri, ii);
		role = json_string_value(jro);
		if (strcmp(role, "started") && strcmp(role, "promoted") &&
		    strcmp(role, "unpromoted"))
			PERR("resources[%zu].instances[%zu].role: \"%s\" is not started, "
			     "promoted or unpromoted",
			     ri, ii, role);
	}
	vg_inst_state st;
	if (!strcmp(state, "running") || !strcmp(state, "starting") || !strcmp(state, "stopping") ||
	    !strcmp(state, "unmanaged")) {
		const vg_resource *r = res;
		if (!strcmp(role, "promoted"))
			st = VG_INST_PROMOTED;
		else if (!strcmp(role, "unpromoted") ||
			 (r && r->clone.enabled && r->clone.promotable))
			st = VG_INST_UNPROMOTED;
		else
			st = VG_INST_RUNNING;
	} else if (!strcmp(state, "stopped")) {
		st = VG_INST_STOPPED;
	} else if (!strcmp(state, "failed")) {
		/* failed because it cannot run there: not running there */
		st = json_is_true(json_object_get(inst, "unrunnable")) ? VG_INST_STOPPED
								       : VG_INST_FAILED;
	} else if (!strcmp(state, "unknown")) {
		st = VG_INST_UNKNOWN;
	} else {
		PERR("resources[%zu].instances[%zu].state: \"%s\" is not running, stopped, "
		     "starting, stopping, failed, unmanaged or unknown",
		     ri, ii, state);
	}
	vg_inst_cond *ic = NULL;
	for (size_t k = first; k < s->n_insts && !ic; k++)
		if (!strcmp(s->insts[k].node, node) && !strcmp(s->insts[k].resource, rname))
			ic = &s->insts[k];
	bool fresh = !ic;
	if (!ic)
		ic = vg_cluster_state_inst_add(s, rname, node);
	bool active = st >= VG_INST_RUNNING;
	if (fresh || (ic->state < VG_INST_RUNNING && active) || st == VG_INST_FAILED ||
	    (st == VG_INST_PROMOTED && ic->state != VG_INST_FAILED))
		ic->state = st;
	if (active)
		ic->count++;
	if (json_is_true(json_object_get(inst, "unrunnable")))
		ic->unrunnable = true;
	json_t *jfc = json_object_get(inst, "failcount");
	if (jfc) {
		uint64_t v;
		if (get_u64(jfc, &v) || v > UINT32_MAX)
			PERR("resources[%zu].instances[%zu].failcount: not a count", ri, ii);
		ic->failcount += (uint32_t)v;
	}
	json_t *jlf = json_object_get(inst, "last_failure");
	if (jlf && !json_is_null(jlf)) {
		uint64_t v;
		if (get_u64(jlf, &v))
			PERR("resources[%zu].instances[%zu].last_failure: not a time in ms", ri,
			     ii);
		if (v > ic->last_failure_ms)
			ic->last_failure_ms = v;
	}
	return 0;
fail:
	return -1;
}

vg_cluster_state *vg_cluster_state_parse(const vg_config *cfg, const char *json, size_t len,
					 uint64_t now_ms, char *err, size_t errlen)
{
	json_error_t jerr;
	vg_cluster_state *s = NULL;
	const vg_resource **rix = NULL;
	json_t *root = json_loadb(json, len, 0, &jerr);
	if (!root) {
		snprintf(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	s = vg_calloc(1, sizeof(*s));
	s->quorate = true;
	s->now_ms = now_ms;
	rix = res_index(cfg);
	if (!json_is_object(root))
		PERR("(top level): not an object");
	json_t *jc = json_object_get(root, "cluster");
	if (jc) {
		if (!json_is_object(jc))
			PERR("cluster: not an object");
		json_t *v = json_object_get(jc, "name");
		if (json_is_string(v))
			s->name = vg_strdup(json_string_value(v));
		v = json_object_get(jc, "leader");
		if (json_is_string(v))
			s->leader = vg_strdup(json_string_value(v));
		v = json_object_get(jc, "quorate");
		if (v) {
			if (!json_is_boolean(v))
				PERR("cluster.quorate: not a boolean");
			s->quorate = json_is_true(v);
		}
		v = json_object_get(jc, "now");
		if (v && get_u64(v, &s->now_ms))
			PERR("cluster.now: not a time in ms");
	}
	/* nodes: config nodes first (offline unless listed), then listed ones */
	if (cfg) {
		s->n_nodes = cfg->n_nodes;
		s->nodes = vg_realloc(NULL, sizeof(*s->nodes) * (cfg->n_nodes ? cfg->n_nodes : 1));
		for (size_t i = 0; i < cfg->n_nodes; i++) {
			memset(&s->nodes[i], 0, sizeof(s->nodes[i]));
			s->nodes[i].name = vg_strdup(cfg->nodes[i].name);
			s->nodes[i].state = VG_NODE_OFFLINE;
			s->nodes[i].probed = true;
		}
	}
	json_t *jnodes = json_object_get(root, "nodes");
	if (jnodes && !json_is_array(jnodes))
		PERR("nodes: not an array");
	size_t i;
	json_t *jn;
	json_array_foreach(jnodes, i, jn)
	{
		if (!json_is_object(jn))
			PERR("nodes[%zu]: not an object", i);
		json_t *v = json_object_get(jn, "name");
		if (!json_is_string(v))
			PERR("nodes[%zu].name: missing or not a string", i);
		const char *name = json_string_value(v);
		if (!is_node_of(cfg, name))
			PERR("nodes[%zu].name: \"%s\" is not a node of the configuration", i, name);
		vg_node_cond *nc = vg_cluster_state_node(s, name);
		if (!nc) {
			s->nodes = vg_realloc(s->nodes, sizeof(*s->nodes) * (s->n_nodes + 1));
			nc = &s->nodes[s->n_nodes++];
			memset(nc, 0, sizeof(*nc));
			nc->name = vg_strdup(name);
			nc->probed = true;
		}
		v = json_object_get(jn, "state");
		if (!json_is_string(v))
			PERR("nodes[%zu].state: missing or not a string", i);
		if (vg_node_state_from_name(json_string_value(v), &nc->state))
			PERR("nodes[%zu].state: \"%s\" is not online, offline, unclean, fenced, "
			     "standby or maintenance",
			     i, json_string_value(v));
		v = json_object_get(jn, "probed");
		if (v) {
			if (!json_is_boolean(v))
				PERR("nodes[%zu].probed: not a boolean", i);
			nc->probed = json_is_true(v);
		}
		v = json_object_get(jn, "fence_pending");
		if (v) {
			if (!json_is_boolean(v))
				PERR("nodes[%zu].fence_pending: not a boolean", i);
			nc->fence_pending = json_is_true(v);
		}
		v = json_object_get(jn, "self_stopped");
		if (v) {
			if (!json_is_boolean(v))
				PERR("nodes[%zu].self_stopped: not a boolean", i);
			nc->self_stopped = json_is_true(v);
		}
		v = json_object_get(jn, "attributes");
		if (v && !json_is_null(v)) {
			if (!json_is_object(v))
				PERR("nodes[%zu].attributes: not an object", i);
			const char *k;
			json_t *av;
			json_object_foreach(v, k, av)
			{
				char buf[64];
				if (json_is_string(av))
					vg_node_cond_set_attr(nc, k, json_string_value(av));
				else if (json_is_integer(av)) {
					snprintf(buf, sizeof(buf), "%lld",
						 (long long)json_integer_value(av));
					vg_node_cond_set_attr(nc, k, buf);
				} else
					PERR("nodes[%zu].attributes.%s: not a string or integer", i,
					     k);
			}
		}
	}
	json_t *jres = json_object_get(root, "resources");
	if (jres && !json_is_array(jres))
		PERR("resources: not an array");
	json_t *jr;
	json_array_foreach(jres, i, jr)
	{
		if (!json_is_object(jr))
			PERR("resources[%zu]: not an object", i);
		json_t *v = json_object_get(jr, "name");
		if (!json_is_string(v))
			PERR("resources[%zu].name: missing or not a string", i);
		const char *rname = json_string_value(v);
		const vg_resource *res = cfg ? res_find(cfg, rix, rname) : NULL;
		if (cfg && !res)
			PERR("resources[%zu].name: \"%s\" is not a resource of the configuration",
			     i, rname);
		json_t *jinst = json_object_get(jr, "instances");
		if (jinst && !json_is_array(jinst))
			PERR("resources[%zu].instances: not an array", i);
		size_t before = s->n_insts, j;
		bool any_fc = false;
		json_t *ji;
		json_array_foreach(jinst, j, ji)
		{
			if (parse_instance(s, cfg, rname, res, before, ji, i, j, err, errlen))
				goto fail;
			if (json_object_get(ji, "failcount"))
				any_fc = true;
		}
		/* a resource-level failcount without per-instance ones: charge it to the
		 * failed instances (status reports one number per resource) */
		v = json_object_get(jr, "failcount");
		if (v && !json_is_null(v)) {
			uint64_t fc;
			if (get_u64(v, &fc) || fc > UINT32_MAX)
				PERR("resources[%zu].failcount: not a count", i);
			if (!any_fc && fc > 0)
				for (size_t k = before; k < s->n_insts; k++)
					if (s->insts[k].state == VG_INST_FAILED) {
						s->insts[k].failcount = (uint32_t)fc;
						s->insts[k].last_failure_ms = s->now_ms;
					}
		}
	}
	for (size_t k = 0; k < s->n_insts; k++)
		if (s->insts[k].failcount && !s->insts[k].last_failure_ms)
			s->insts[k].last_failure_ms = s->now_ms;
	json_decref(root);
	free(rix);
	return s;
fail:
	json_decref(root);
	free(rix);
	vg_cluster_state_free(s);
	return NULL;
}

/* ---- emit ----------------------------------------------------------------- */

static const char *role_of_state(vg_inst_state st)
{
	switch (st) {
	case VG_INST_PROMOTED:
		return "promoted";
	case VG_INST_UNPROMOTED:
		return "unpromoted";
	default:
		return "started";
	}
}

typedef struct {
	const char *resource;
	size_t k;
} inst_ref;

static int cmp_inst_ref(const void *a, const void *b)
{
	const inst_ref *x = a, *y = b;
	int c = strcmp(x->resource, y->resource);
	if (c)
		return c;
	return x->k < y->k ? -1 : (x->k > y->k);
}

json_t *vg_cluster_state_to_jansson(const vg_config *cfg, const vg_cluster_state *s)
{
	json_t *root = json_object();
	json_t *jc = json_object();
	json_object_set_new(jc, "name",
			    s->name ? json_string(s->name)
				    : (cfg && cfg->name ? json_string(cfg->name) : json_null()));
	json_object_set_new(jc, "leader", s->leader ? json_string(s->leader) : json_null());
	json_object_set_new(jc, "quorate", json_boolean(s->quorate));
	json_object_set_new(root, "cluster", jc);

	json_t *jnodes = json_array();
	for (size_t i = 0; i < s->n_nodes; i++) {
		const vg_node_cond *n = &s->nodes[i];
		json_t *jn = json_object();
		const char *role = "server";
		if (cfg)
			for (size_t k = 0; k < cfg->n_nodes; k++)
				if (!strcmp(cfg->nodes[k].name, n->name) &&
				    cfg->nodes[k].role == VG_ROLE_AGENT)
					role = "agent";
		json_object_set_new(jn, "name", json_string(n->name));
		json_object_set_new(jn, "role", json_string(role));
		json_object_set_new(jn, "state", json_string(vg_node_state_name(n->state)));
		if (n->n_attrs) {
			json_t *ja = json_object();
			for (size_t a = 0; a < n->n_attrs; a++)
				json_object_set_new(ja, n->attrs[a].key,
						    json_string(n->attrs[a].value));
			json_object_set_new(jn, "attributes", ja);
		}
		json_array_append_new(jnodes, jn);
	}
	json_object_set_new(root, "nodes", jnodes);

	json_t *jres = json_array();
	size_t nres = cfg ? cfg->n_resources : 0;
	/* records grouped by resource name (stable), so this is O(n log n) */
	inst_ref *ix = vg_malloc(sizeof(*ix) * (s->n_insts + 1));
	for (size_t k = 0; k < s->n_insts; k++)
		ix[k] = (inst_ref){s->insts[k].resource, k};
	qsort(ix, s->n_insts, sizeof(*ix), cmp_inst_ref);
	for (size_t r = 0; r < nres; r++) {
		const vg_resource *res = &cfg->resources[r];
		json_t *jr = json_object();
		json_t *ji = json_array();
		uint64_t fc = 0;
		bool any_run = false, any_fail = false, any_unmanaged = false, gave_up = false;
		size_t lo = 0, hi = s->n_insts;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(ix[mid].resource, res->name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t x = lo; x < s->n_insts && !strcmp(ix[x].resource, res->name); x++) {
			const vg_inst_cond *ic = &s->insts[ix[x].k];
			fc += vg_inst_cond_failcount(res, ic, s->now_ms);
			bool unmanaged = false;
			for (size_t n = 0; n < s->n_nodes; n++)
				if (!strcmp(s->nodes[n].name, ic->node) &&
				    s->nodes[n].state == VG_NODE_MAINTENANCE)
					unmanaged = true;
			if (ic->state < VG_INST_RUNNING && !ic->failcount && !ic->unrunnable)
				continue;
			const char *st = ic->unrunnable && ic->state < VG_INST_RUNNING ? "failed"
					 : ic->state == VG_INST_FAILED		       ? "failed"
					 : ic->state < VG_INST_RUNNING		       ? "stopped"
					 : unmanaged				       ? "unmanaged"
										       : "running";
			if (ic->state == VG_INST_FAILED)
				any_fail = true;
			else if (ic->state < VG_INST_RUNNING &&
				 vg_inst_cond_failcount(res, ic, s->now_ms) >=
				     res->migration_threshold)
				gave_up = true; /* stopped there for its failures */
			else if (ic->state >= VG_INST_RUNNING) {
				any_run = true;
				any_unmanaged |= unmanaged;
			}
			uint32_t cnt = ic->count ? ic->count : 1;
			for (uint32_t c = 0; c < cnt; c++) {
				json_t *jx = json_object();
				json_object_set_new(jx, "node", json_string(ic->node));
				json_object_set_new(
				    jx, "role",
				    json_string(c == 0 ? role_of_state(ic->state)
						       : (ic->state == VG_INST_PROMOTED
							      ? "unpromoted"
							      : role_of_state(ic->state))));
				json_object_set_new(jx, "state", json_string(st));
				if (ic->unrunnable && c == 0)
					json_object_set_new(jx, "unrunnable", json_true());
				if (ic->failcount && c == 0) {
					json_object_set_new(jx, "failcount",
							    json_integer(ic->failcount));
					json_object_set_new(
					    jx, "last_failure",
					    json_integer((json_int_t)ic->last_failure_ms));
				}
				json_array_append_new(ji, jx);
			}
		}
		json_object_set_new(jr, "name", json_string(res->name));
		json_object_set_new(jr, "type", json_string(res->type ? res->type : ""));
		json_object_set_new(jr, "state",
				    json_string(any_fail	? "failed"
						: any_unmanaged ? "unmanaged"
						: any_run	? "running"
						: gave_up
						    ? "failed" /* README: given up, shown failed */
						    : "stopped"));
		json_object_set_new(jr, "failcount", json_integer((json_int_t)fc));
		json_object_set_new(jr, "instances", ji);
		json_object_set_new(jr, "last_error", json_null());
		json_array_append_new(jres, jr);
	}
	free(ix);
	json_object_set_new(root, "resources", jres);
	return root;
}

uint32_t vg_inst_cond_failcount(const vg_resource *r, const vg_inst_cond *ic, uint64_t now_ms)
{
	uint64_t ft = r ? r->failure_timeout_ms : 0;
	return ft && now_ms >= ic->last_failure_ms + ft ? 0 : ic->failcount;
}

char *vg_cluster_state_to_json(const vg_config *cfg, const vg_cluster_state *s)
{
	json_t *root = vg_cluster_state_to_jansson(cfg, s);
	char *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return out;
}
