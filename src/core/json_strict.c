/* json_strict.c - reading untrusted JSON strictly (see json_strict.h).
 * Must not: know any message, or allocate what it returns.
 */
#include "json_strict.h"

#include <string.h>

#include "errbuf.h"

json_t *vg_js_parse(const void *data, size_t len, size_t max, const char *what, char *err,
		    size_t errlen)
{
	if (len > max) {
		vg_seterr(err, errlen, "%s: too large (%zu bytes, limit %zu)", what, len, max);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		vg_seterr(err, errlen, "%s: line %d: %s", what, je.line, je.text);
	return j;
}

bool vg_js_keys_allowed(const json_t *o, const char *const *allowed, const char *what, char *err,
			size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			vg_seterr(err, errlen, "%s: unknown field \"%s\"", what, key);
			return false;
		}
	}
	return true;
}

static bool text_ok(const char *s, bool multiline)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t' || *p == '\r')))
			return false;
	return true;
}

int vg_js_str(const json_t *o, const char *key, bool required, size_t max, bool multiline,
	      const char **out, const char *what, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		vg_seterr(err, errlen, "%s: missing field \"%s\"", what, key);
		return -1;
	}
	if (!json_is_string(v)) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be a string", what, key);
		return -1;
	}
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (len == 0 || len > max) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be 1..%zu bytes long", what, key,
			  max);
		return -1;
	}
	if (strlen(s) != len || !text_ok(s, multiline)) {
		vg_seterr(err, errlen, "%s: field \"%s\" has control characters", what, key);
		return -1;
	}
	*out = s;
	return 0;
}

int vg_js_u64(const json_t *o, const char *key, uint64_t max, uint64_t *out, const char *what,
	      char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		vg_seterr(err, errlen, "%s: missing field \"%s\"", what, key);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be an integer 0..%llu", what, key,
			  (unsigned long long)max);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int vg_js_optbool(const json_t *o, const char *key, int *out, const char *what, char *err,
		  size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = -1;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		vg_seterr(err, errlen, "%s: field \"%s\" must be true or false", what, key);
		return -1;
	}
	*out = json_is_true(v) ? 1 : 0;
	return 0;
}

int vg_js_bool(const json_t *o, const char *key, bool *out, const char *what, char *err,
	       size_t errlen)
{
	int b;
	if (vg_js_optbool(o, key, &b, what, err, errlen) < 0)
		return -1;
	if (b < 0) {
		vg_seterr(err, errlen, "%s: missing field \"%s\"", what, key);
		return -1;
	}
	*out = b == 1;
	return 0;
}
