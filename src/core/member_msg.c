/* member_msg.c - the member messages and their strict codec (see member_msg.h).
 *
 * One table says which fields each kind has and which are required; the decoder and the
 * encoder both follow it, so a message the encoder writes is one the decoder accepts.
 * Must not: act on messages, or do I/O.
 */
#include "member_msg.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "json_strict.h"

#define N_KINDS (VG_MM_RESTART + 1)
#define BIT(k)	(1u << (k))

static const char *const kind_names[N_KINDS] = {
    [VG_MM_REPORT] = "report",	 [VG_MM_ACTION] = "action",	  [VG_MM_SUMMARY] = "summary",
    [VG_MM_BYE] = "bye",	 [VG_MM_HEARTBEAT] = "heartbeat", [VG_MM_FENCE] = "fence",
    [VG_MM_CLEANUP] = "cleanup", [VG_MM_RESTART] = "restart",
};

static const char *const states[] = {"running",	   "stopped",	"starting", "stopping",
				     "failed",	   "unmanaged", "unknown",  "promoted",
				     "unpromoted", "blocked",	NULL};

typedef enum { F_U64, F_BOOL, F_NAME, F_OP, F_STATES, F_HID, F_RING } ftype;

typedef struct {
	const char *key;
	ftype type;
	size_t off;
	unsigned kinds;	   /* kinds that have it */
	unsigned required; /* kinds that must give it */
} field;

#define RING_KINDS                                                                                 \
	(BIT(VG_MM_REPORT) | BIT(VG_MM_ACTION) | BIT(VG_MM_SUMMARY) | BIT(VG_MM_HEARTBEAT))
#define RES_KINDS  (BIT(VG_MM_ACTION) | BIT(VG_MM_CLEANUP) | BIT(VG_MM_RESTART))
#define NODE_KINDS (BIT(VG_MM_ACTION) | BIT(VG_MM_FENCE))
#define F(key, type, member, kinds, required)                                                      \
	{                                                                                          \
		key, type, offsetof(vg_member_msg, member), kinds, required                        \
	}

static const field fields[] = {
    F("ring", F_U64, ring, RING_KINDS, RING_KINDS),
    F("probed", F_BOOL, probed, BIT(VG_MM_REPORT), BIT(VG_MM_REPORT)),
    F("leaving", F_BOOL, leaving, BIT(VG_MM_REPORT), BIT(VG_MM_REPORT)),
    F("ack", F_U64, ack, BIT(VG_MM_REPORT), BIT(VG_MM_REPORT)),
    F("res", F_STATES, resources, BIT(VG_MM_REPORT), BIT(VG_MM_REPORT)),
    F("node", F_NAME, node, NODE_KINDS, NODE_KINDS),
    F("res", F_NAME, resource, RES_KINDS, RES_KINDS),
    F("op", F_OP, op, BIT(VG_MM_ACTION), BIT(VG_MM_ACTION)),
    F("id", F_U64, id, BIT(VG_MM_ACTION), BIT(VG_MM_ACTION)),
    F("coordinator", F_NAME, coordinator, BIT(VG_MM_ACTION), 0),
    F("epoch", F_U64, epoch, BIT(VG_MM_SUMMARY), BIT(VG_MM_SUMMARY)),
    F("version", F_U64, version, BIT(VG_MM_SUMMARY), BIT(VG_MM_SUMMARY)),
    F("history", F_HID, history, BIT(VG_MM_SUMMARY), 0),
    F("recent", F_RING, recent, BIT(VG_MM_SUMMARY), 0),
    F("prev", F_U64, prev, BIT(VG_MM_SUMMARY), 0),
    F("seq", F_U64, seq, BIT(VG_MM_HEARTBEAT), BIT(VG_MM_HEARTBEAT)),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

const char *vg_mm_kind_name(vg_mm_kind k)
{
	return (unsigned)k < N_KINDS ? kind_names[k] : NULL;
}

bool vg_mm_state_valid(const char *s)
{
	for (size_t i = 0; s && states[i]; i++)
		if (!strcmp(s, states[i]))
			return true;
	return false;
}

void vg_mm_free(vg_member_msg *m)
{
	if (!m)
		return;
	json_decref(m->resources);
	json_decref(m->recent);
	free(m->node);
	free(m->resource);
	free(m->coordinator);
	free(m);
}

/* ---- decoding ------------------------------------------------------------------ */

static int read_states(const json_t *o, const char *key, json_t **out, const char *what, char *err,
		       size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_object(v)) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be an object of resource states",
			  what, key);
		return -1;
	}
	const char *name;
	json_t *st;
	json_object_foreach(v, name, st)
	{
		size_t l = strlen(name);
		if (l == 0 || l > VG_MM_NAME_MAX) {
			vg_seterr(err, errlen, "%s: %s: a resource name must be 1..%d bytes", what,
				  key, VG_MM_NAME_MAX);
			return -1;
		}
		if (!json_is_string(st) || !vg_mm_state_valid(json_string_value(st))) {
			vg_seterr(err, errlen, "%s: %s.%s: not a resource state", what, key, name);
			return -1;
		}
	}
	*out = json_incref(v);
	return 0;
}

static int read_field(const json_t *o, const field *f, vg_member_msg *m, const char *what,
		      char *err, size_t errlen)
{
	char *p = (char *)m + f->off;
	const char *s;
	switch (f->type) {
	case F_U64:
		return vg_js_u64(o, f->key, VG_JS_INT_MAX, (uint64_t *)(void *)p, what, err,
				 errlen);
	case F_BOOL:
		return vg_js_bool(o, f->key, (bool *)(void *)p, what, err, errlen);
	case F_NAME:
		if (vg_js_str(o, f->key, true, VG_MM_NAME_MAX, false, &s, what, err, errlen) < 0)
			return -1;
		if (!(*(char **)(void *)p = strdup(s)))
			abort();
		return 0;
	case F_OP:
		if (vg_js_str(o, f->key, true, VG_MM_NAME_MAX, false, &s, what, err, errlen) < 0)
			return -1;
		if (vg_op_from_name(s, (vg_op_kind *)(void *)p) != 0) {
			vg_seterr(err, errlen, "%s: field \"%s\": unknown operation \"%s\"", what,
				  f->key, s);
			return -1;
		}
		return 0;
	case F_STATES:
		return read_states(o, f->key, (json_t **)(void *)p, what, err, errlen);
	case F_HID:
		if (vg_js_str(o, f->key, true, 2 * VG_HID_LEN, false, &s, what, err, errlen) < 0)
			return -1;
		if (vg_hid_parse(s, (vg_hid *)(void *)p) < 0) {
			vg_seterr(err, errlen, "%s: field \"%s\" must be 64 hex digits", what,
				  f->key);
			return -1;
		}
		return 0;
	case F_RING: {
		json_t *v = json_object_get(o, f->key);
		vg_hist_entry *ring = malloc(VG_HIST_RING * sizeof *ring);
		char why[160];
		if (!ring)
			abort();
		int n = vg_history_ring_parse(v, ring, why, sizeof why);
		free(ring);
		if (n < 0) {
			vg_seterr(err, errlen, "%s: field \"%s\": %s", what, f->key, why);
			return -1;
		}
		*(json_t **)(void *)p = json_incref(v);
		return 0;
	}
	}
	return -1;
}

vg_member_msg *vg_mm_decode(const void *data, size_t len, char *err, size_t errlen)
{
	json_t *o = vg_js_parse(data, len, VG_MM_MAX, "member message", err, errlen);
	if (!o)
		return NULL;
	vg_member_msg *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	const char *kind;
	if (!json_is_object(o)) {
		vg_seterr(err, errlen, "member message: must be a JSON object");
		goto fail;
	}
	if (vg_js_str(o, "kind", true, VG_MM_NAME_MAX, false, &kind, "member message", err,
		      errlen) < 0)
		goto fail;
	size_t k;
	for (k = 0; k < N_KINDS && strcmp(kind, kind_names[k]); k++)
		;
	if (k == N_KINDS) {
		vg_seterr(err, errlen, "member message: unknown kind \"%s\"", kind);
		goto fail;
	}
	m->kind = (vg_mm_kind)k;
	const char *allowed[N_FIELDS + 2];
	size_t na = 0;
	allowed[na++] = "kind";
	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].kinds & BIT(k))
			allowed[na++] = fields[i].key;
	allowed[na] = NULL;
	const char *what = kind_names[k];
	if (!vg_js_keys_allowed(o, allowed, what, err, errlen))
		goto fail;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const field *f = &fields[i];
		if (!(f->kinds & BIT(k)))
			continue;
		if (!(f->required & BIT(k)) && !json_object_get(o, f->key))
			continue;
		if (read_field(o, f, m, what, err, errlen) < 0)
			goto fail;
	}
	json_decref(o);
	return m;
fail:
	json_decref(o);
	vg_mm_free(m);
	return NULL;
}

/* ---- encoding ------------------------------------------------------------------ */

static json_t *write_field(const field *f, const vg_member_msg *m)
{
	const char *p = (const char *)m + f->off;
	switch (f->type) {
	case F_U64: {
		uint64_t v = *(const uint64_t *)(const void *)p;
		return v > VG_JS_INT_MAX ? NULL : json_integer((json_int_t)v);
	}
	case F_BOOL:
		return json_boolean(*(const bool *)(const void *)p);
	case F_NAME: {
		const char *s = *(char *const *)(const void *)p;
		return s && *s && strlen(s) <= VG_MM_NAME_MAX ? json_string(s) : NULL;
	}
	case F_OP:
		return json_string(vg_op_name(*(const vg_op_kind *)(const void *)p));
	case F_STATES: {
		json_t *v = *(json_t *const *)(const void *)p;
		if (!json_is_object(v))
			return NULL;
		const char *name;
		json_t *st;
		json_object_foreach(v, name, st)
		{
			size_t l = strlen(name);
			if (!l || l > VG_MM_NAME_MAX || !json_is_string(st) ||
			    !vg_mm_state_valid(json_string_value(st)))
				return NULL;
		}
		return json_deep_copy(v);
	}
	case F_HID: {
		char hex[VG_HID_HEX];
		vg_hid_hex((const vg_hid *)(const void *)p, hex);
		return json_string(hex);
	}
	case F_RING: {
		json_t *v = *(json_t *const *)(const void *)p;
		vg_hist_entry *ring = malloc(VG_HIST_RING * sizeof *ring);
		if (!ring)
			abort();
		int n = vg_history_ring_parse(v, ring, NULL, 0);
		free(ring);
		return n < 0 ? NULL : json_deep_copy(v);
	}
	}
	return NULL;
}

/* An optional field is written when given: a name or ring that is there, a number or
 * history id that is not zero. */
static bool given(const field *f, const vg_member_msg *m)
{
	const char *p = (const char *)m + f->off;
	switch (f->type) {
	case F_NAME:
		return *(char *const *)(const void *)p;
	case F_RING:
		return *(json_t *const *)(const void *)p;
	case F_U64:
		return *(const uint64_t *)(const void *)p != 0;
	case F_HID:
		return !vg_hid_is_zero((const vg_hid *)(const void *)p);
	default:
		return true;
	}
}

char *vg_mm_encode(const vg_member_msg *m, size_t *len)
{
	if ((unsigned)m->kind >= N_KINDS)
		return NULL;
	json_t *o = json_object();
	if (!o)
		abort();
	json_object_set_new(o, "kind", json_string(kind_names[m->kind]));
	for (size_t i = 0; i < N_FIELDS; i++) {
		const field *f = &fields[i];
		if (!(f->kinds & BIT(m->kind)))
			continue;
		if (!(f->required & BIT(m->kind)) && !given(f, m))
			continue;
		json_t *v = write_field(f, m);
		if (!v) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, f->key, v);
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (s && len)
		*len = strlen(s);
	return s;
}
