/* repstate.c - the replicated cluster state machine, its messages and its persistence.
 *
 * Owns: applying agreed-order messages to the state (and chaining its history id), the
 * canonical JSON of the state and of messages (strictly validated), choosing the state-sync
 * source. The files are store.c's.
 * Must not: touch files, sockets or clocks (time is always an argument), parse the YAML it carries
 * (the sender validates it with vg_config_load_buffer), or change anything on a rejected message.
 */
#include "repstate.h"
#include "errbuf.h"
#include "json_strict.h"
#include "mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_FORMAT 1
#define JSON_MAX_INT ((long long)VG_JS_INT_MAX) /* stay exact in every JSON reader */

/* ---- state memory ---------------------------------------------------------- */

vg_repstate *vg_repstate_new(void)
{
	return vg_calloc(1, sizeof(vg_repstate));
}

static void state_clear(vg_repstate *s)
{
	free(s->config_yaml);
	for (size_t i = 0; i < s->n_nodes; i++)
		free(s->nodes[i].node);
	free(s->nodes);
	for (size_t i = 0; i < s->n_fences; i++) {
		free(s->fences[i].node);
		free(s->fences[i].by);
		free(s->fences[i].method);
	}
	free(s->fences);
	for (size_t i = 0; i < s->n_failcounts; i++) {
		free(s->failcounts[i].resource);
		free(s->failcounts[i].node);
	}
	free(s->failcounts);
	for (size_t i = 0; i < s->n_events; i++) {
		free(s->events[i].kind);
		free(s->events[i].text);
	}
	free(s->events);
	memset(s, 0, sizeof(*s));
}

void vg_repstate_free(vg_repstate *s)
{
	if (!s)
		return;
	state_clear(s);
	free(s);
}

/* The key of a sorted table: node name, and for failcounts the resource first. */
typedef struct {
	const char *resource; /* NULL for tables keyed by node alone */
	const char *node;
} table_key;

typedef int (*key_cmp)(const void *elem, const table_key *k);

static int node_admin_cmp(const void *e, const table_key *k)
{
	return strcmp(((const vg_rs_node_admin *)e)->node, k->node);
}

static int fence_cmp(const void *e, const table_key *k)
{
	return strcmp(((const vg_rs_fence *)e)->node, k->node);
}

static int failcount_cmp(const void *e, const table_key *k)
{
	const vg_rs_failcount *f = e;
	int c = strcmp(f->resource, k->resource);
	return c ? c : strcmp(f->node, k->node);
}

/* Position of key in a sorted table (where it is, or where it would go); *found says
 * whether it is there. One binary search for every table of the state. */
static size_t table_find(const void *base, size_t n, size_t elsize, key_cmp cmp, const table_key *k,
			 bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp((const char *)base + mid * elsize, k);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static size_t find_node(const vg_rs_node_admin *t, size_t n, const char *node, bool *found)
{
	table_key k = {.node = node};
	return table_find(t, n, sizeof *t, node_admin_cmp, &k, found);
}

static size_t find_fence(const vg_rs_fence *t, size_t n, const char *node, bool *found)
{
	table_key k = {.node = node};
	return table_find(t, n, sizeof *t, fence_cmp, &k, found);
}

static size_t find_failcount(const vg_rs_failcount *t, size_t n, const char *resource,
			     const char *node, bool *found)
{
	table_key k = {.resource = resource, .node = node};
	return table_find(t, n, sizeof *t, failcount_cmp, &k, found);
}

/* Grow an array by one slot at pos (elements after it move up). 0 or -1 on OOM. */
static int insert_slot(void **arr, size_t *n, size_t elsize, size_t pos)
{
	char *p = vg_realloc(*arr, (*n + 1) * elsize);
	if (!p)
		return -1;
	memmove(p + (pos + 1) * elsize, p + pos * elsize, (*n - pos) * elsize);
	memset(p + pos * elsize, 0, elsize);
	*arr = p;
	(*n)++;
	return 0;
}

static void remove_slot(void *arr, size_t *n, size_t elsize, size_t pos)
{
	char *p = arr;
	memmove(p + pos * elsize, p + (pos + 1) * elsize, (*n - pos - 1) * elsize);
	(*n)--;
}

/* ---- validation helpers ------------------------------------------------------ */

/* ---- state <-> JSON ------------------------------------------------------------ */

static json_t *state_to_json(const vg_repstate *s)
{
	json_t *nodes = json_array(), *fences = json_array(), *fcs = json_array(),
	       *evs = json_array();
	json_t *o = json_object();
	if (!nodes || !fences || !fcs || !evs || !o)
		goto oom;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (json_array_append_new(nodes,
					  json_pack("{s:s, s:b, s:b}", "node", s->nodes[i].node,
						    "standby", s->nodes[i].standby, "maintenance",
						    s->nodes[i].maintenance)) < 0)
			goto oom;
	for (size_t i = 0; i < s->n_fences; i++)
		if (json_array_append_new(
			fences, json_pack("{s:s, s:I, s:s, s:s, s:I}", "node", s->fences[i].node,
					  "time_ms", (json_int_t)s->fences[i].time_ms, "by",
					  s->fences[i].by, "method", s->fences[i].method, "version",
					  (json_int_t)s->fences[i].version)) < 0)
			goto oom;
	for (size_t i = 0; i < s->n_failcounts; i++)
		if (json_array_append_new(
			fcs,
			json_pack("{s:s, s:s, s:I, s:I}", "resource", s->failcounts[i].resource,
				  "node", s->failcounts[i].node, "count",
				  (json_int_t)s->failcounts[i].count, "last_failure_ms",
				  (json_int_t)s->failcounts[i].last_failure_ms)) < 0)
			goto oom;
	for (size_t i = 0; i < s->n_events; i++)
		if (json_array_append_new(evs, json_pack("{s:I, s:s, s:s}", "time_ms",
							 (json_int_t)s->events[i].time_ms, "kind",
							 s->events[i].kind, "text",
							 s->events[i].text)) < 0)
			goto oom;
	char hex[VG_HID_HEX];
	vg_hid_hex(&s->hist.id, hex);
	json_t *recent = vg_history_ring_json(s->hist.ring, s->hist.n);
	if (!recent || json_object_set_new(o, "recent", recent) < 0 ||
	    json_object_set_new(o, "history", json_string(hex)) < 0)
		goto oom;
	if (json_object_set_new(o, "format", json_integer(STATE_FORMAT)) < 0 ||
	    json_object_set_new(o, "epoch", json_integer((json_int_t)s->epoch)) < 0 ||
	    json_object_set_new(o, "version", json_integer((json_int_t)s->version)) < 0 ||
	    json_object_set_new(o, "config",
				s->config_yaml ? json_string(s->config_yaml) : json_null()) < 0)
		goto oom;
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "fencing", fences);
	json_object_set_new(o, "failcounts", fcs);
	json_object_set_new(o, "events", evs);
	return o;
oom:
	json_decref(nodes);
	json_decref(fences);
	json_decref(fcs);
	json_decref(evs);
	json_decref(o);
	return NULL;
}

static char *dump(json_t *j, size_t *len)
{
	if (!j)
		return NULL;
	char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (t && len)
		*len = strlen(t);
	return t;
}

char *vg_repstate_encode(const vg_repstate *s, size_t *len)
{
	return dump(state_to_json(s), len);
}

static json_t *get_array(const json_t *o, const char *key, const char *what, char *err,
			 size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_array(v)) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be an array", what, key);
		return NULL;
	}
	return v;
}

static vg_repstate *state_from_json(const json_t *o, char *err, size_t errlen)
{
	static const char *const top[] = {"format",  "epoch",	"version",    "config",
					  "nodes",   "fencing", "failcounts", "events",
					  "history", "recent",	NULL};
	static const char *const nkeys[] = {"node", "standby", "maintenance", NULL};
	/* "version" came later: a file without it is read with version 0 (see vg_rs_fence) */
	static const char *const fkeys[] = {"node", "time_ms", "by", "method", "version", NULL};
	static const char *const ckeys[] = {"resource", "node", "count", "last_failure_ms", NULL};
	static const char *const ekeys[] = {"time_ms", "kind", "text", NULL};
	char what[64];
	uint64_t fmt;
	const char *a, *b, *c;
	json_t *arr, *v;
	size_t i;

	if (!json_is_object(o)) {
		vg_seterr(err, errlen, "state: must be an object");
		return NULL;
	}
	if (!vg_js_keys_allowed(o, top, "state", err, errlen))
		return NULL;
	if (vg_js_u64(o, "format", JSON_MAX_INT, &fmt, "state", err, errlen) < 0)
		return NULL;
	if (fmt != STATE_FORMAT) {
		vg_seterr(err, errlen, "state: unsupported format %llu", (unsigned long long)fmt);
		return NULL;
	}
	vg_repstate *s = vg_repstate_new();
	if (!s) {
		vg_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (vg_js_u64(o, "epoch", JSON_MAX_INT, &s->epoch, "state", err, errlen) < 0 ||
	    vg_js_u64(o, "version", JSON_MAX_INT, &s->version, "state", err, errlen) < 0)
		goto fail;
	v = json_object_get(o, "config");
	if (!v) {
		vg_seterr(err, errlen, "state: missing field \"config\"");
		goto fail;
	}
	if (!json_is_null(v)) {
		if (vg_js_str(o, "config", true, VG_REPSTATE_YAML_MAX, true, &a, "state", err,
			      errlen) < 0)
			goto fail;
		if (!(s->config_yaml = vg_strdup(a)))
			goto oom;
	}

	/* the history id and its ring; a state saved before they existed has neither and
	 * starts from the zero id ("unknown", history.h) */
	v = json_object_get(o, "history");
	if (v && vg_hid_parse(json_string_value(v), &s->hist.id) < 0) {
		vg_seterr(err, errlen, "state: field \"history\" must be 64 hex digits");
		goto fail;
	}
	v = json_object_get(o, "recent");
	if (v) {
		char why[160];
		int n = vg_history_ring_parse(v, s->hist.ring, why, sizeof why);
		if (n < 0) {
			vg_seterr(err, errlen, "state: %s", why);
			goto fail;
		}
		s->hist.n = (size_t)n;
		const vg_hist_entry *last = n ? &s->hist.ring[n - 1] : NULL;
		if (last &&
		    (last->version != s->version || !vg_hid_equal(&last->id, &s->hist.id))) {
			vg_seterr(err, errlen,
				  "state: the newest \"recent\" entry is not the state's own "
				  "(version, history)");
			goto fail;
		}
	}

	if (!(arr = get_array(o, "nodes", "state", err, errlen)))
		goto fail;
	json_array_foreach(arr, i, v)
	{
		snprintf(what, sizeof what, "state: nodes[%zu]", i);
		bool found, sb, mt;
		if (!json_is_object(v)) {
			vg_seterr(err, errlen, "%s: must be an object", what);
			goto fail;
		}
		if (!vg_js_keys_allowed(v, nkeys, what, err, errlen) ||
		    vg_js_str(v, "node", true, VG_REPSTATE_NAME_MAX, false, &a, what, err, errlen) <
			0 ||
		    vg_js_bool(v, "standby", &sb, what, err, errlen) < 0 ||
		    vg_js_bool(v, "maintenance", &mt, what, err, errlen) < 0)
			goto fail;
		size_t pos = find_node(s->nodes, s->n_nodes, a, &found);
		if (found || pos != s->n_nodes || (!sb && !mt)) {
			vg_seterr(err, errlen, "%s: duplicate, unsorted or empty entry", what);
			goto fail;
		}
		if (insert_slot((void **)&s->nodes, &s->n_nodes, sizeof(*s->nodes), pos) < 0)
			goto oom;
		s->nodes[pos].standby = sb;
		s->nodes[pos].maintenance = mt;
		if (!(s->nodes[pos].node = vg_strdup(a)))
			goto oom;
	}

	if (!(arr = get_array(o, "fencing", "state", err, errlen)))
		goto fail;
	json_array_foreach(arr, i, v)
	{
		snprintf(what, sizeof what, "state: fencing[%zu]", i);
		bool found;
		uint64_t t, fv = 0;
		if (!json_is_object(v)) {
			vg_seterr(err, errlen, "%s: must be an object", what);
			goto fail;
		}
		if (json_object_get(v, "version") &&
		    vg_js_u64(v, "version", JSON_MAX_INT, &fv, what, err, errlen) < 0)
			goto fail;
		if (fv > s->version) {
			vg_seterr(err, errlen, "%s: version %llu is after the state's (%llu)", what,
				  (unsigned long long)fv, (unsigned long long)s->version);
			goto fail;
		}
		if (!vg_js_keys_allowed(v, fkeys, what, err, errlen) ||
		    vg_js_str(v, "node", true, VG_REPSTATE_NAME_MAX, false, &a, what, err, errlen) <
			0 ||
		    vg_js_u64(v, "time_ms", JSON_MAX_INT, &t, what, err, errlen) < 0 ||
		    vg_js_str(v, "by", true, VG_REPSTATE_NAME_MAX, false, &b, what, err, errlen) <
			0 ||
		    vg_js_str(v, "method", true, VG_REPSTATE_NAME_MAX, false, &c, what, err,
			      errlen) < 0)
			goto fail;
		size_t pos = find_fence(s->fences, s->n_fences, a, &found);
		if (found || pos != s->n_fences) {
			vg_seterr(err, errlen, "%s: duplicate or unsorted entry", what);
			goto fail;
		}
		if (insert_slot((void **)&s->fences, &s->n_fences, sizeof(*s->fences), pos) < 0)
			goto oom;
		s->fences[pos].time_ms = t;
		s->fences[pos].version = fv;
		if (!(s->fences[pos].node = vg_strdup(a)) || !(s->fences[pos].by = vg_strdup(b)) ||
		    !(s->fences[pos].method = vg_strdup(c)))
			goto oom;
	}

	if (!(arr = get_array(o, "failcounts", "state", err, errlen)))
		goto fail;
	json_array_foreach(arr, i, v)
	{
		snprintf(what, sizeof what, "state: failcounts[%zu]", i);
		bool found;
		uint64_t cnt, t;
		if (!json_is_object(v)) {
			vg_seterr(err, errlen, "%s: must be an object", what);
			goto fail;
		}
		if (!vg_js_keys_allowed(v, ckeys, what, err, errlen) ||
		    vg_js_str(v, "resource", true, VG_REPSTATE_NAME_MAX, false, &a, what, err,
			      errlen) < 0 ||
		    vg_js_str(v, "node", true, VG_REPSTATE_NAME_MAX, false, &b, what, err, errlen) <
			0 ||
		    vg_js_u64(v, "count", UINT32_MAX, &cnt, what, err, errlen) < 0 ||
		    vg_js_u64(v, "last_failure_ms", JSON_MAX_INT, &t, what, err, errlen) < 0)
			goto fail;
		size_t pos = find_failcount(s->failcounts, s->n_failcounts, a, b, &found);
		if (found || pos != s->n_failcounts) {
			vg_seterr(err, errlen, "%s: duplicate or unsorted entry", what);
			goto fail;
		}
		if (insert_slot((void **)&s->failcounts, &s->n_failcounts, sizeof(*s->failcounts),
				pos) < 0)
			goto oom;
		s->failcounts[pos].count = (uint32_t)cnt;
		s->failcounts[pos].last_failure_ms = t;
		if (!(s->failcounts[pos].resource = vg_strdup(a)) ||
		    !(s->failcounts[pos].node = vg_strdup(b)))
			goto oom;
	}

	if (!(arr = get_array(o, "events", "state", err, errlen)))
		goto fail;
	if (json_array_size(arr) > VG_REPSTATE_EVENTS_MAX) {
		vg_seterr(err, errlen, "state: more than %d events", VG_REPSTATE_EVENTS_MAX);
		goto fail;
	}
	json_array_foreach(arr, i, v)
	{
		snprintf(what, sizeof what, "state: events[%zu]", i);
		uint64_t t;
		if (!json_is_object(v)) {
			vg_seterr(err, errlen, "%s: must be an object", what);
			goto fail;
		}
		if (!vg_js_keys_allowed(v, ekeys, what, err, errlen) ||
		    vg_js_u64(v, "time_ms", JSON_MAX_INT, &t, what, err, errlen) < 0 ||
		    vg_js_str(v, "kind", true, VG_REPSTATE_NAME_MAX, false, &a, what, err, errlen) <
			0 ||
		    vg_js_str(v, "text", true, VG_REPSTATE_TEXT_MAX, true, &b, what, err, errlen) <
			0)
			goto fail;
		if (insert_slot((void **)&s->events, &s->n_events, sizeof(*s->events),
				s->n_events) < 0)
			goto oom;
		s->events[s->n_events - 1].time_ms = t;
		if (!(s->events[s->n_events - 1].kind = vg_strdup(a)) ||
		    !(s->events[s->n_events - 1].text = vg_strdup(b)))
			goto oom;
	}
	return s;
oom:
	vg_seterr(err, errlen, "out of memory");
fail:
	vg_repstate_free(s);
	return NULL;
}

vg_repstate *vg_repstate_decode(const char *data, size_t len, char *err, size_t errlen)
{
	json_t *j = vg_js_parse(data, len, VG_REPMSG_MAX, "state", err, errlen);
	if (!j)
		return NULL;
	vg_repstate *s = state_from_json(j, err, errlen);
	json_decref(j);
	return s;
}

/* ---- messages ------------------------------------------------------------------ */

static const char *const kind_names[] = {
    [VG_REPMSG_CONFIG_COMMIT] = "config_commit",     [VG_REPMSG_NODE_ADMIN] = "node_admin",
    [VG_REPMSG_FENCE_RECORD] = "fence_record",	     [VG_REPMSG_FAILCOUNT_SET] = "failcount_set",
    [VG_REPMSG_FAILCOUNT_CLEAR] = "failcount_clear", [VG_REPMSG_EVENT] = "event",
    [VG_REPMSG_STATE_SYNC] = "state_sync",
};
#define N_KINDS (sizeof kind_names / sizeof kind_names[0])

void vg_repmsg_free(vg_repmsg *m)
{
	if (!m)
		return;
	free(m->yaml);
	free(m->node);
	free(m->by);
	free(m->method);
	free(m->resource);
	free(m->event_kind);
	free(m->text);
	vg_repstate_free(m->state);
	free(m);
}

/* Set key to a string when s is non-NULL; returns -1 on OOM. */
static int put_str(json_t *o, const char *key, const char *s)
{
	if (!s)
		return 0;
	return json_object_set_new(o, key, json_string(s));
}

char *vg_repmsg_encode(const vg_repmsg *m, size_t *len)
{
	if ((unsigned)m->kind >= N_KINDS)
		return NULL;
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "kind", json_string(kind_names[m->kind])) < 0)
		goto fail;
	int r = 0;
	switch (m->kind) {
	case VG_REPMSG_CONFIG_COMMIT:
		r |= put_str(o, "yaml", m->yaml);
		r |= json_object_set_new(o, "base_version",
					 json_integer((json_int_t)m->base_version));
		break;
	case VG_REPMSG_NODE_ADMIN:
		r |= put_str(o, "node", m->node);
		if (m->standby >= 0)
			r |= json_object_set_new(o, "standby", json_boolean(m->standby));
		if (m->maintenance >= 0)
			r |= json_object_set_new(o, "maintenance", json_boolean(m->maintenance));
		break;
	case VG_REPMSG_FENCE_RECORD:
		r |= put_str(o, "node", m->node);
		r |= json_object_set_new(o, "time_ms", json_integer((json_int_t)m->time_ms));
		r |= put_str(o, "by", m->by);
		r |= put_str(o, "method", m->method);
		break;
	case VG_REPMSG_FAILCOUNT_SET:
		r |= put_str(o, "resource", m->resource);
		r |= put_str(o, "node", m->node);
		r |= json_object_set_new(o, "count", json_integer((json_int_t)m->count));
		r |=
		    json_object_set_new(o, "last_failure_ms", json_integer((json_int_t)m->time_ms));
		break;
	case VG_REPMSG_FAILCOUNT_CLEAR:
		r |= put_str(o, "resource", m->resource);
		r |= put_str(o, "node", m->node);
		break;
	case VG_REPMSG_EVENT:
		r |= json_object_set_new(o, "time_ms", json_integer((json_int_t)m->time_ms));
		r |= put_str(o, "event_kind", m->event_kind);
		r |= put_str(o, "text", m->text);
		break;
	case VG_REPMSG_STATE_SYNC: {
		json_t *st = m->state ? state_to_json(m->state) : NULL;
		if (!st)
			goto fail;
		r |= json_object_set_new(o, "state", st);
		break;
	}
	}
	if (r)
		goto fail;
	return dump(o, len);
fail:
	json_decref(o);
	return NULL;
}

static int dupstr(char **dst, const char *src)
{
	if (!src)
		return 0;
	return (*dst = vg_strdup(src)) ? 0 : -1;
}

vg_repmsg *vg_repmsg_decode(const void *data, size_t len, char *err, size_t errlen)
{
	static const char *const keys[N_KINDS][6] = {
	    [VG_REPMSG_CONFIG_COMMIT] = {"kind", "yaml", "base_version", NULL},
	    [VG_REPMSG_NODE_ADMIN] = {"kind", "node", "standby", "maintenance", NULL},
	    [VG_REPMSG_FENCE_RECORD] = {"kind", "node", "time_ms", "by", "method", NULL},
	    [VG_REPMSG_FAILCOUNT_SET] = {"kind", "resource", "node", "count", "last_failure_ms",
					 NULL},
	    [VG_REPMSG_FAILCOUNT_CLEAR] = {"kind", "resource", "node", NULL},
	    [VG_REPMSG_EVENT] = {"kind", "time_ms", "event_kind", "text", NULL},
	    [VG_REPMSG_STATE_SYNC] = {"kind", "state", NULL},
	};
	json_t *o = vg_js_parse(data, len, VG_REPMSG_MAX, "message", err, errlen);
	if (!o)
		return NULL;
	vg_repmsg *m = vg_calloc(1, sizeof(*m));
	const char *kind, *a = NULL, *b = NULL, *c = NULL;
	uint64_t u;
	if (!m) {
		vg_seterr(err, errlen, "out of memory");
		goto fail;
	}
	m->standby = m->maintenance = -1;
	if (!json_is_object(o)) {
		vg_seterr(err, errlen, "message: must be a JSON object");
		goto fail;
	}
	if (vg_js_str(o, "kind", true, VG_REPSTATE_NAME_MAX, false, &kind, "message", err, errlen) <
	    0)
		goto fail;
	size_t k;
	for (k = 0; k < N_KINDS; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			break;
	if (k == N_KINDS) {
		vg_seterr(err, errlen, "message: unknown kind \"%s\"", kind);
		goto fail;
	}
	m->kind = (vg_repmsg_kind)k;
	char what[48];
	snprintf(what, sizeof what, "message %s", kind_names[k]);
	if (!vg_js_keys_allowed(o, keys[k], what, err, errlen))
		goto fail;
	switch (m->kind) {
	case VG_REPMSG_CONFIG_COMMIT:
		if (vg_js_str(o, "yaml", true, VG_REPSTATE_YAML_MAX, true, &a, what, err, errlen) <
			0 ||
		    vg_js_u64(o, "base_version", JSON_MAX_INT, &m->base_version, what, err,
			      errlen) < 0)
			goto fail;
		if (dupstr(&m->yaml, a) < 0)
			goto oom;
		break;
	case VG_REPMSG_NODE_ADMIN:
		if (vg_js_str(o, "node", true, VG_REPSTATE_NAME_MAX, false, &a, what, err, errlen) <
			0 ||
		    vg_js_optbool(o, "standby", &m->standby, what, err, errlen) < 0 ||
		    vg_js_optbool(o, "maintenance", &m->maintenance, what, err, errlen) < 0)
			goto fail;
		if (m->standby < 0 && m->maintenance < 0) {
			vg_seterr(err, errlen, "%s: needs \"standby\" or \"maintenance\"", what);
			goto fail;
		}
		if (dupstr(&m->node, a) < 0)
			goto oom;
		break;
	case VG_REPMSG_FENCE_RECORD:
		if (vg_js_str(o, "node", true, VG_REPSTATE_NAME_MAX, false, &a, what, err, errlen) <
			0 ||
		    vg_js_u64(o, "time_ms", JSON_MAX_INT, &m->time_ms, what, err, errlen) < 0 ||
		    vg_js_str(o, "by", true, VG_REPSTATE_NAME_MAX, false, &b, what, err, errlen) <
			0 ||
		    vg_js_str(o, "method", true, VG_REPSTATE_NAME_MAX, false, &c, what, err,
			      errlen) < 0)
			goto fail;
		if (dupstr(&m->node, a) < 0 || dupstr(&m->by, b) < 0 || dupstr(&m->method, c) < 0)
			goto oom;
		break;
	case VG_REPMSG_FAILCOUNT_SET:
		if (vg_js_str(o, "resource", true, VG_REPSTATE_NAME_MAX, false, &a, what, err,
			      errlen) < 0 ||
		    vg_js_str(o, "node", true, VG_REPSTATE_NAME_MAX, false, &b, what, err, errlen) <
			0 ||
		    vg_js_u64(o, "count", UINT32_MAX, &u, what, err, errlen) < 0 ||
		    vg_js_u64(o, "last_failure_ms", JSON_MAX_INT, &m->time_ms, what, err, errlen) <
			0)
			goto fail;
		m->count = (uint32_t)u;
		if (dupstr(&m->resource, a) < 0 || dupstr(&m->node, b) < 0)
			goto oom;
		break;
	case VG_REPMSG_FAILCOUNT_CLEAR:
		if (vg_js_str(o, "resource", true, VG_REPSTATE_NAME_MAX, false, &a, what, err,
			      errlen) < 0 ||
		    vg_js_str(o, "node", false, VG_REPSTATE_NAME_MAX, false, &b, what, err,
			      errlen) < 0)
			goto fail;
		if (dupstr(&m->resource, a) < 0 || dupstr(&m->node, b) < 0)
			goto oom;
		break;
	case VG_REPMSG_EVENT:
		if (vg_js_u64(o, "time_ms", JSON_MAX_INT, &m->time_ms, what, err, errlen) < 0 ||
		    vg_js_str(o, "event_kind", true, VG_REPSTATE_NAME_MAX, false, &a, what, err,
			      errlen) < 0 ||
		    vg_js_str(o, "text", true, VG_REPSTATE_TEXT_MAX, true, &b, what, err, errlen) <
			0)
			goto fail;
		if (dupstr(&m->event_kind, a) < 0 || dupstr(&m->text, b) < 0)
			goto oom;
		break;
	case VG_REPMSG_STATE_SYNC: {
		json_t *st = json_object_get(o, "state");
		if (!st) {
			vg_seterr(err, errlen, "%s: missing field \"state\"", what);
			goto fail;
		}
		if (!(m->state = state_from_json(st, err, errlen)))
			goto fail;
		break;
	}
	}
	json_decref(o);
	return m;
oom:
	vg_seterr(err, errlen, "out of memory");
fail:
	json_decref(o);
	vg_repmsg_free(m);
	return NULL;
}

/* ---- apply ----------------------------------------------------------------------- */

static char *dup_or(const char *src, bool *ok)
{
	if (!src)
		return NULL;
	char *d = vg_strdup(src);
	*ok = *ok && d;
	return d;
}

/* calloc'd copy of an array of n elements (NULL for n == 0). */
static void *dup_array(size_t n, size_t elsize, bool *ok)
{
	if (n == 0)
		return NULL;
	void *d = vg_calloc(n, elsize);
	*ok = *ok && d;
	return d;
}

vg_repstate *vg_repstate_clone(const vg_repstate *s)
{
	vg_repstate *c = vg_repstate_new();
	if (!c)
		return NULL;
	bool ok = true;
	c->epoch = s->epoch;
	c->version = s->version;
	c->hist = s->hist;
	c->config_yaml = dup_or(s->config_yaml, &ok);
	if ((c->nodes = dup_array(s->n_nodes, sizeof *s->nodes, &ok)))
		for (; c->n_nodes < s->n_nodes; c->n_nodes++) {
			vg_rs_node_admin *d = &c->nodes[c->n_nodes];
			*d = s->nodes[c->n_nodes];
			d->node = dup_or(d->node, &ok);
		}
	if ((c->fences = dup_array(s->n_fences, sizeof *s->fences, &ok)))
		for (; c->n_fences < s->n_fences; c->n_fences++) {
			vg_rs_fence *d = &c->fences[c->n_fences];
			*d = s->fences[c->n_fences];
			d->node = dup_or(d->node, &ok);
			d->by = dup_or(d->by, &ok);
			d->method = dup_or(d->method, &ok);
		}
	if ((c->failcounts = dup_array(s->n_failcounts, sizeof *s->failcounts, &ok)))
		for (; c->n_failcounts < s->n_failcounts; c->n_failcounts++) {
			vg_rs_failcount *d = &c->failcounts[c->n_failcounts];
			*d = s->failcounts[c->n_failcounts];
			d->resource = dup_or(d->resource, &ok);
			d->node = dup_or(d->node, &ok);
		}
	if ((c->events = dup_array(s->n_events, sizeof *s->events, &ok)))
		for (; c->n_events < s->n_events; c->n_events++) {
			vg_rs_event *d = &c->events[c->n_events];
			*d = s->events[c->n_events];
			d->kind = dup_or(d->kind, &ok);
			d->text = dup_or(d->text, &ok);
		}
	if (!ok) {
		vg_repstate_free(c);
		return NULL;
	}
	return c;
}

static int apply_node_admin(vg_repstate *s, const vg_repmsg *m)
{
	bool found;
	size_t pos = find_node(s->nodes, s->n_nodes, m->node, &found);
	bool sb = found && s->nodes[pos].standby, mt = found && s->nodes[pos].maintenance;
	if (m->standby >= 0)
		sb = m->standby;
	if (m->maintenance >= 0)
		mt = m->maintenance;
	if (!sb && !mt) {
		if (found) {
			free(s->nodes[pos].node);
			remove_slot(s->nodes, &s->n_nodes, sizeof(*s->nodes), pos);
		}
		return 0;
	}
	if (!found) {
		char *n = vg_strdup(m->node);
		if (!n ||
		    insert_slot((void **)&s->nodes, &s->n_nodes, sizeof(*s->nodes), pos) < 0) {
			free(n);
			return -1;
		}
		s->nodes[pos].node = n;
	}
	s->nodes[pos].standby = sb;
	s->nodes[pos].maintenance = mt;
	return 0;
}

static int apply_fence(vg_repstate *s, const vg_repmsg *m)
{
	bool found;
	size_t pos = find_fence(s->fences, s->n_fences, m->node, &found);
	char *n = found ? NULL : vg_strdup(m->node), *by = vg_strdup(m->by),
	     *meth = vg_strdup(m->method);
	if ((!found && !n) || !by || !meth ||
	    (!found &&
	     insert_slot((void **)&s->fences, &s->n_fences, sizeof(*s->fences), pos) < 0)) {
		free(n);
		free(by);
		free(meth);
		return -1;
	}
	vg_rs_fence *f = &s->fences[pos];
	if (!found)
		f->node = n;
	free(f->by);
	free(f->method);
	f->by = by;
	f->method = meth;
	f->time_ms = m->time_ms;
	f->version = s->version + 1; /* this change's sequence number (vg_repstate_apply) */
	return 0;
}

static int apply_failcount_set(vg_repstate *s, const vg_repmsg *m)
{
	bool found;
	size_t pos = find_failcount(s->failcounts, s->n_failcounts, m->resource, m->node, &found);
	if (!found) {
		char *r = vg_strdup(m->resource), *n = vg_strdup(m->node);
		if (!r || !n ||
		    insert_slot((void **)&s->failcounts, &s->n_failcounts, sizeof(*s->failcounts),
				pos) < 0) {
			free(r);
			free(n);
			return -1;
		}
		s->failcounts[pos].resource = r;
		s->failcounts[pos].node = n;
	}
	s->failcounts[pos].count = m->count;
	s->failcounts[pos].last_failure_ms = m->time_ms;
	return 0;
}

static void apply_failcount_clear(vg_repstate *s, const vg_repmsg *m)
{
	for (size_t i = s->n_failcounts; i-- > 0;) {
		vg_rs_failcount *f = &s->failcounts[i];
		if (strcmp(f->resource, m->resource) != 0 ||
		    (m->node && strcmp(f->node, m->node) != 0))
			continue;
		free(f->resource);
		free(f->node);
		remove_slot(s->failcounts, &s->n_failcounts, sizeof(*s->failcounts), i);
	}
}

static int apply_event(vg_repstate *s, const vg_repmsg *m)
{
	char *k = vg_strdup(m->event_kind), *t = vg_strdup(m->text);
	if (!k || !t)
		goto oom;
	if (s->n_events == VG_REPSTATE_EVENTS_MAX) {
		free(s->events[0].kind);
		free(s->events[0].text);
		remove_slot(s->events, &s->n_events, sizeof(*s->events), 0);
	}
	if (insert_slot((void **)&s->events, &s->n_events, sizeof(*s->events), s->n_events) < 0)
		goto oom; /* only possible when nothing was dropped: n < max before */
	s->events[s->n_events - 1] = (vg_rs_event){.time_ms = m->time_ms, .kind = k, .text = t};
	return 0;
oom:
	free(k);
	free(t);
	return -1;
}

int vg_repstate_apply(vg_repstate *s, const vg_repmsg *m, bool quorate, char *err, size_t errlen)
{
	if (!s || !m || (unsigned)m->kind >= N_KINDS) {
		vg_seterr(err, errlen, "invalid message");
		return -1;
	}
	const char *kind = kind_names[m->kind];
	if (m->kind == VG_REPMSG_STATE_SYNC) {
		if (!m->state) {
			vg_seterr(err, errlen, "state_sync: no state");
			return -1;
		}
		if (m->state->epoch < s->epoch ||
		    (m->state->epoch == s->epoch && m->state->version < s->version)) {
			vg_seterr(err, errlen,
				  "state_sync: offered state (%llu, %llu) is older than ours "
				  "(%llu, %llu)",
				  (unsigned long long)m->state->epoch,
				  (unsigned long long)m->state->version,
				  (unsigned long long)s->epoch, (unsigned long long)s->version);
			return -1;
		}
		vg_repstate *c = vg_repstate_clone(m->state);
		if (!c) {
			vg_seterr(err, errlen, "state_sync: out of memory");
			return -1;
		}
		state_clear(s);
		*s = *c;
		free(c);
		return 0;
	}
	if (!quorate) {
		vg_seterr(err, errlen, "%s: rejected, this partition does not have quorum", kind);
		return -1;
	}
	/* The counters stay within what the state file holds (the decoder takes no more). */
	if (s->version >= (uint64_t)JSON_MAX_INT ||
	    (m->kind == VG_REPMSG_CONFIG_COMMIT && s->epoch >= (uint64_t)JSON_MAX_INT)) {
		vg_seterr(err, errlen, "%s: rejected, the state's version or epoch is at its limit",
			  kind);
		return -1;
	}
	vg_hid next;
	/* Messages built in code (not decoded) must still carry their required fields. */
	bool ok = true;
	switch (m->kind) {
	case VG_REPMSG_CONFIG_COMMIT:
		ok = m->yaml;
		break;
	case VG_REPMSG_NODE_ADMIN:
		ok = m->node && (m->standby >= 0 || m->maintenance >= 0);
		break;
	case VG_REPMSG_FENCE_RECORD:
		ok = m->node && m->by && m->method;
		break;
	case VG_REPMSG_FAILCOUNT_SET:
		ok = m->resource && m->node;
		break;
	case VG_REPMSG_FAILCOUNT_CLEAR:
		ok = m->resource;
		break;
	case VG_REPMSG_EVENT:
		ok = m->event_kind && m->text;
		break;
	case VG_REPMSG_STATE_SYNC:
		break;
	}
	if (!ok) {
		vg_seterr(err, errlen, "%s: missing fields", kind);
		return -1;
	}
	if (m->kind == VG_REPMSG_CONFIG_COMMIT && m->base_version != s->version) {
		vg_seterr(err, errlen,
			  "config_commit: conflict, based on version %llu but the cluster "
			  "is at version %llu",
			  (unsigned long long)m->base_version, (unsigned long long)s->version);
		return -1;
	}
	if (vg_repstate_next_id(s, m, &next) < 0) {
		vg_seterr(err, errlen, "%s: out of memory", kind);
		return -1;
	}
	int r = 0;
	switch (m->kind) {
	case VG_REPMSG_CONFIG_COMMIT: {
		char *y = vg_strdup(m->yaml);
		if (!y) {
			r = -1;
			break;
		}
		free(s->config_yaml);
		s->config_yaml = y;
		s->epoch++;
		break;
	}
	case VG_REPMSG_NODE_ADMIN:
		r = apply_node_admin(s, m);
		break;
	case VG_REPMSG_FENCE_RECORD:
		r = apply_fence(s, m);
		break;
	case VG_REPMSG_FAILCOUNT_SET:
		r = apply_failcount_set(s, m);
		break;
	case VG_REPMSG_FAILCOUNT_CLEAR:
		apply_failcount_clear(s, m);
		break;
	case VG_REPMSG_EVENT:
		r = apply_event(s, m);
		break;
	case VG_REPMSG_STATE_SYNC:
		break;
	}
	if (r < 0) {
		vg_seterr(err, errlen, "%s: out of memory", kind);
		return -1;
	}
	s->version++;
	vg_history_push(&s->hist, s->version, &next, kind);
	return 0;
}

int vg_repstate_next_id(const vg_repstate *s, const vg_repmsg *m, vg_hid *out)
{
	if ((unsigned)m->kind >= N_KINDS || m->kind == VG_REPMSG_STATE_SYNC)
		return -1;
	size_t len;
	char *enc = vg_repmsg_encode(m, &len);
	if (!enc)
		return -1;
	vg_hid_next(out, &s->hist.id, enc, len);
	free(enc);
	return 0;
}

vg_repstate_summary vg_repstate_summarize(const vg_repstate *s, uint32_t nodeid,
					  uint32_t prev_members)
{
	return (vg_repstate_summary){.nodeid = nodeid,
				     .epoch = s->epoch,
				     .version = s->version,
				     .id = s->hist.id,
				     .prev_members = prev_members,
				     .recent = s->hist.ring,
				     .n_recent = s->hist.n};
}

size_t vg_repstate_pick_source(const vg_repstate_summary *members, size_t n)
{
	return vg_history_pick(members, n);
}
