/* json_strict.h - reading untrusted JSON strictly: the field readers of vigil's codecs.
 *
 * Owns: parsing with a size limit and duplicate keys refused, and reading one field of an
 * object with its type, range and length checked, every error naming the message and field
 * ("report: field \"ring\" must be an integer 0..N"). The codecs of the replicated messages
 * (repstate.c) and of the member messages (member_msg.c) read fields through these.
 * Must not: know any message (each codec owns its schema), or allocate what it returns
 * (strings point into the JSON value).
 */
#ifndef VIGIL_JSON_STRICT_H
#define VIGIL_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* the largest integer every JSON reader keeps exact (2^53 - 1) */
#define VG_JS_INT_MAX 9007199254740991ull

/* Parse data (at most max bytes) as one JSON value, duplicate keys refused. NULL with err. */
json_t *vg_js_parse(const void *data, size_t len, size_t max, const char *what, char *err,
		    size_t errlen);
/* Is every key of o in the NULL-terminated list allowed? */
bool vg_js_keys_allowed(const json_t *o, const char *const *allowed, const char *what, char *err,
			size_t errlen);
/* A string of 1..max bytes without control characters (multiline: \n \t \r allowed).
 * Absent: 0 with *out NULL when !required, else -1. */
int vg_js_str(const json_t *o, const char *key, bool required, size_t max, bool multiline,
	      const char **out, const char *what, char *err, size_t errlen);
/* A required integer 0..max. */
int vg_js_u64(const json_t *o, const char *key, uint64_t max, uint64_t *out, const char *what,
	      char *err, size_t errlen);
/* An optional boolean: *out = -1 when absent, else 0/1. */
int vg_js_optbool(const json_t *o, const char *key, int *out, const char *what, char *err,
		  size_t errlen);
/* A required boolean. */
int vg_js_bool(const json_t *o, const char *key, bool *out, const char *what, char *err,
	       size_t errlen);

#endif
