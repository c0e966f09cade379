/* member_msg.c - the member messages and their strict codec (see member_msg.h).
 *
 * One table says which fields each kind has and which are required, and one reader per field
 * type checks a field's value; the decoder reads with them what it parsed, the encoder checks
 * with them each field it writes (without parsing its own text again), so a message the
 * encoder writes is one the decoder accepts.
 * Must not: act on messages, or do I/O.
 */
#include "member_msg.h"
#include "mem.h"

#include <stddef.h>
#include <stdio.h>
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

/* F_STATES, F_VERSIONS, F_TEXTS: objects {"name": value} of resource states, versions and
 * reasons; F_TEXT a reason; F_WD the watchdog {"dev": path, "timeout": seconds}. */
typedef enum {
	F_U64,
	F_BOOL,
	F_NAME,
	F_TEXT,
	F_OP,
	F_STATES,
	F_VERSIONS,
	F_TEXTS,
	F_WD,
	F_HID,
	F_RING
} ftype;

typedef struct {
	const char *key;
	ftype type;
	size_t off;
	unsigned kinds;	   /* kinds that have it */
	unsigned required; /* kinds that must give it */
	uint64_t max;	   /* F_U64: the largest value (0: VG_JS_INT_MAX) */
} field;

#define RING_KINDS	 (BIT(VG_MM_REPORT) | BIT(VG_MM_ACTION) | BIT(VG_MM_SUMMARY))
#define RES_KINDS	 (BIT(VG_MM_ACTION) | BIT(VG_MM_CLEANUP) | BIT(VG_MM_RESTART))
#define RES_STATES_KINDS (BIT(VG_MM_REPORT) | BIT(VG_MM_BYE))
#define NODE_KINDS	 (BIT(VG_MM_ACTION) | BIT(VG_MM_FENCE))
#define F(key, type, member, kinds, required)                                                      \
	{                                                                                          \
		key, type, offsetof(vg_member_msg, member), kinds, required, 0                     \
	}
#define REP BIT(VG_MM_REPORT)
#define SUM BIT(VG_MM_SUMMARY)

static const field fields[] = {
    F("ring", F_U64, ring, RING_KINDS, RING_KINDS),
    F("probed", F_BOOL, probed, REP, REP),
    F("leaving", F_BOOL, leaving, REP, REP),
    F("ack", F_U64, ack, REP, REP),
    F("res", F_STATES, resources, RES_STATES_KINDS, RES_STATES_KINDS),
    F("wd", F_WD, wd, REP, 0),
    F("seen", F_VERSIONS, seen, REP, 0),
    F("unrunnable", F_TEXTS, unrunnable, REP, 0),
    F("errors", F_TEXTS, errors, REP, 0),
    F("stale", F_TEXT, stale, REP, 0),
    F("node", F_NAME, node, NODE_KINDS, NODE_KINDS),
    F("res", F_NAME, resource, RES_KINDS, RES_KINDS),
    F("op", F_OP, op, BIT(VG_MM_ACTION), BIT(VG_MM_ACTION)),
    F("id", F_U64, id, BIT(VG_MM_ACTION), BIT(VG_MM_ACTION)),
    F("epoch", F_U64, epoch, SUM, SUM),
    F("version", F_U64, version, SUM, SUM),
    F("history", F_HID, history, SUM, 0),
    F("recent", F_RING, recent, SUM, 0),
    {"prev", F_U64, offsetof(vg_member_msg, prev), SUM, 0, VG_MM_PREV_MAX},
    F("t", F_U64, t, BIT(VG_MM_HEARTBEAT), BIT(VG_MM_HEARTBEAT)),
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
	json_decref(m->seen);
	json_decref(m->unrunnable);
	json_decref(m->errors);
	free(m->wd.dev);
	free(m->stale);
	free(m->node);
	free(m->resource);
	free(m);
}

/* ---- the field readers ---------------------------------------------------------- */

/* Each reader checks one field of a JSON object against the table and, when m is not NULL,
 * stores it in m; with m NULL it only checks. The decoder reads what it parsed with them; the
 * encoder checks with the very same readers the object it is about to write (see the
 * encoding), so both sides apply one set of rules. */

/* An object {"name": value}, each name 1..VG_MM_NAME_MAX bytes, each value of type t. */
static int read_map(const json_t *o, const char *key, ftype t, json_t **out, const char *what,
		    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_object(v)) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be an object of %s", what, key,
			  t == F_STATES	    ? "resource states"
			  : t == F_VERSIONS ? "versions"
					    : "reasons");
		return -1;
	}
	char in[64];
	snprintf(in, sizeof in, "%s: %s", what, key);
	const char *name;
	size_t l;
	json_t *val;
	json_object_keylen_foreach(v, name, l, val)
	{
		const char *s;
		uint64_t n;
		/* a NUL in a name: only a value built in memory can have one (the parser refuses
		 * it), and its text would not load back */
		if (l == 0 || l > VG_MM_NAME_MAX || strlen(name) != l) {
			vg_seterr(err, errlen, "%s: %s: a name must be 1..%d bytes", what, key,
				  VG_MM_NAME_MAX);
			return -1;
		}
		if (t == F_STATES &&
		    (!json_is_string(val) || !vg_mm_state_valid(json_string_value(val)))) {
			vg_seterr(err, errlen, "%s: %s.%s: not a resource state", what, key, name);
			return -1;
		}
		if (t == F_VERSIONS && vg_js_u64(v, name, VG_JS_INT_MAX, &n, in, err, errlen) < 0)
			return -1;
		if (t == F_TEXTS &&
		    vg_js_str(v, name, true, VG_MM_TEXT_MAX, true, &s, in, err, errlen) < 0)
			return -1;
	}
	if (out)
		*out = json_incref(v);
	return 0;
}

static int read_str(const json_t *o, const char *key, size_t max, bool multiline, char **out,
		    const char *what, char *err, size_t errlen)
{
	const char *s;
	if (vg_js_str(o, key, true, max, multiline, &s, what, err, errlen) < 0)
		return -1;
	if (out && !(*out = vg_strdup(s)))
		abort();
	return 0;
}

/* {"dev": "/dev/watchdog0", "timeout": 1..VG_MM_WD_MAX_S} */
static int read_wd(const json_t *o, const char *key, vg_member_msg *m, const char *what, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(o, key);
	char in[64];
	snprintf(in, sizeof in, "%s: %s", what, key);
	static const char *const keys[] = {"dev", "timeout", NULL};
	uint64_t timeout;
	if (!json_is_object(v)) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be an object {dev, timeout}", what,
			  key);
		return -1;
	}
	if (!vg_js_keys_allowed(v, keys, in, err, errlen) ||
	    vg_js_u64(v, "timeout", VG_MM_WD_MAX_S, &timeout, in, err, errlen) < 0)
		return -1;
	if (timeout == 0) {
		vg_seterr(err, errlen, "%s: field \"timeout\" must be 1..%d", in, VG_MM_WD_MAX_S);
		return -1;
	}
	if (m)
		m->wd.timeout_s = timeout;
	return read_str(v, "dev", VG_MM_NAME_MAX, false, m ? &m->wd.dev : NULL, in, err, errlen);
}

static int read_field(const json_t *o, const field *f, vg_member_msg *m, const char *what,
		      char *err, size_t errlen)
{
	char *p = m ? (char *)m + f->off : NULL;
	const char *s;
	switch (f->type) {
	case F_U64: {
		uint64_t v;
		if (vg_js_u64(o, f->key, f->max ? f->max : VG_JS_INT_MAX, &v, what, err, errlen) <
		    0)
			return -1;
		if (p)
			*(uint64_t *)(void *)p = v;
		return 0;
	}
	case F_BOOL: {
		bool v;
		if (vg_js_bool(o, f->key, &v, what, err, errlen) < 0)
			return -1;
		if (p)
			*(bool *)(void *)p = v;
		return 0;
	}
	case F_NAME:
		return read_str(o, f->key, VG_MM_NAME_MAX, false, p ? (char **)(void *)p : NULL,
				what, err, errlen);
	case F_TEXT:
		return read_str(o, f->key, VG_MM_TEXT_MAX, true, p ? (char **)(void *)p : NULL,
				what, err, errlen);
	case F_WD:
		return read_wd(o, f->key, m, what, err, errlen);
	case F_OP: {
		vg_op_kind op;
		if (vg_js_str(o, f->key, true, VG_MM_NAME_MAX, false, &s, what, err, errlen) < 0)
			return -1;
		if (vg_op_from_name(s, &op) != 0) {
			vg_seterr(err, errlen, "%s: field \"%s\": unknown operation \"%s\"", what,
				  f->key, s);
			return -1;
		}
		if (p)
			*(vg_op_kind *)(void *)p = op;
		return 0;
	}
	case F_STATES:
	case F_VERSIONS:
	case F_TEXTS:
		return read_map(o, f->key, f->type, p ? (json_t **)(void *)p : NULL, what, err,
				errlen);
	case F_HID: {
		vg_hid id;
		if (vg_js_str(o, f->key, true, 2 * VG_HID_LEN, false, &s, what, err, errlen) < 0)
			return -1;
		if (vg_hid_parse(s, &id) < 0) {
			vg_seterr(err, errlen, "%s: field \"%s\" must be 64 hex digits", what,
				  f->key);
			return -1;
		}
		if (p)
			*(vg_hid *)(void *)p = id;
		return 0;
	}
	case F_RING: {
		json_t *v = json_object_get(o, f->key);
		vg_hist_entry *ring = vg_malloc(VG_HIST_RING * sizeof *ring);
		char why[160];
		if (!ring)
			abort();
		int n = vg_history_ring_parse(v, ring, why, sizeof why);
		free(ring);
		if (n < 0) {
			vg_seterr(err, errlen, "%s: field \"%s\": %s", what, f->key, why);
			return -1;
		}
		if (p)
			*(json_t **)(void *)p = json_incref(v);
		return 0;
	}
	}
	return -1;
}

/* ---- decoding ------------------------------------------------------------------ */

vg_member_msg *vg_mm_decode(const void *data, size_t len, char *err, size_t errlen)
{
	json_t *o = vg_js_parse(data, len, VG_MM_MAX, "member message", err, errlen);
	if (!o)
		return NULL;
	vg_member_msg *m = vg_calloc(1, sizeof *m);
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

/* The field's JSON value, NULL when it cannot be written (a required pointer that is NULL, a
 * string jansson refuses: not UTF-8). Whether the value keeps the rules is left to the
 * field's reader (vg_mm_encode). A JSON value of the message is shared, not copied: the
 * object is only dumped. */
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
	case F_NAME:
	case F_TEXT: {
		const char *s = *(char *const *)(const void *)p;
		return s ? json_string(s) : NULL;
	}
	case F_OP: {
		const char *s = vg_op_name(*(const vg_op_kind *)(const void *)p);
		return s ? json_string(s) : NULL;
	}
	case F_STATES:
	case F_VERSIONS:
	case F_TEXTS:
	case F_RING: {
		json_t *v = *(json_t *const *)(const void *)p;
		return v ? json_incref(v) : NULL;
	}
	case F_WD:
		if (!m->wd.dev || m->wd.timeout_s > VG_JS_INT_MAX)
			return NULL;
		return json_pack("{s:s, s:I}", "dev", m->wd.dev, "timeout",
				 (json_int_t)m->wd.timeout_s);
	case F_HID: {
		char hex[VG_HID_HEX];
		vg_hid_hex((const vg_hid *)(const void *)p, hex);
		return json_string(hex);
	}
	}
	return NULL;
}

static bool given(const field *f, const vg_member_msg *m)
{
	const char *p = (const char *)m + f->off;
	switch (f->type) {
	case F_NAME:
	case F_TEXT:
		return *(char *const *)(const void *)p;
	case F_STATES:
	case F_VERSIONS:
	case F_TEXTS:
	case F_RING:
		return *(json_t *const *)(const void *)p;
	case F_WD:
		return m->wd.dev;
	case F_U64:
		return *(const uint64_t *)(const void *)p != 0;
	case F_HID:
		return !vg_hid_is_zero((const vg_hid *)(const void *)p);
	default:
		return true;
	}
}

/* What the decoder accepts, by construction: the object holds "kind" and exactly the fields
 * of the table for that kind (the required ones and those given), each checked by the
 * decoder's own reader before the object is dumped; the values are jansson's, made with its
 * checking constructors (UTF-8, and a NUL inside a string or a name is refused by the
 * readers), so the text loads back to the same object; and the text is at most VG_MM_MAX.
 * The text is not parsed again. */
char *vg_mm_encode(const vg_member_msg *m, size_t *len)
{
	if ((unsigned)m->kind >= N_KINDS)
		return NULL;
	json_t *o = json_object();
	if (!o)
		abort();
	const char *what = kind_names[m->kind];
	json_object_set_new(o, "kind", json_string(what));
	for (size_t i = 0; i < N_FIELDS; i++) {
		const field *f = &fields[i];
		if (!(f->kinds & BIT(m->kind)))
			continue;
		if (!(f->required & BIT(m->kind)) && !given(f, m))
			continue;
		json_t *v = write_field(f, m);
		if (!v || json_object_set_new(o, f->key, v) != 0 ||
		    read_field(o, f, NULL, what, NULL, 0) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		return NULL;
	size_t l = strlen(s);
	if (l > VG_MM_MAX) { /* what its own decoder refuses is not sent */
		free(s);
		return NULL;
	}
	if (len)
		*len = l;
	return s;
}
