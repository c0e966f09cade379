/* history.c - the identity of the replicated history (see history.h).
 *
 * Owns: the hash chain of applied changes, the ring of recent points and its JSON, and the
 * merge rule (which history survives a merge, who is behind, who diverged, what is lost).
 * Must not: do I/O, read clocks, or know the state's tables (repstate.c feeds it encodings).
 */
#include "history.h"
#include "errbuf.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_INT 9007199254740991LL

/* ---- ids ------------------------------------------------------------------------ */

void vg_hid_next(vg_hid *out, const vg_hid *prev, const void *change, size_t len)
{
	crypto_generichash_state st;
	vg_hid next;
	crypto_generichash_init(&st, NULL, 0, VG_HID_LEN);
	crypto_generichash_update(&st, prev->b, VG_HID_LEN);
	crypto_generichash_update(&st, change, len);
	crypto_generichash_final(&st, next.b, VG_HID_LEN);
	*out = next;
}

bool vg_hid_is_zero(const vg_hid *id)
{
	for (size_t i = 0; i < VG_HID_LEN; i++)
		if (id->b[i])
			return false;
	return true;
}

bool vg_hid_equal(const vg_hid *a, const vg_hid *b)
{
	return memcmp(a->b, b->b, VG_HID_LEN) == 0;
}

void vg_hid_hex(const vg_hid *id, char out[VG_HID_HEX])
{
	sodium_bin2hex(out, VG_HID_HEX, id->b, VG_HID_LEN);
}

int vg_hid_parse(const char *hex, vg_hid *out)
{
	if (!hex || strlen(hex) != 2 * VG_HID_LEN)
		return -1;
	for (const char *p = hex; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -1;
	size_t got = 0;
	if (sodium_hex2bin(out->b, VG_HID_LEN, hex, 2 * VG_HID_LEN, NULL, &got, NULL) != 0 ||
	    got != VG_HID_LEN)
		return -1;
	return 0;
}

/* ---- the ring ------------------------------------------------------------------- */

void vg_history_push(vg_history *h, uint64_t version, const vg_hid *id, const char *kind)
{
	if (h->n == VG_HIST_RING) {
		memmove(h->ring, h->ring + 1, (VG_HIST_RING - 1) * sizeof h->ring[0]);
		h->n--;
	}
	vg_hist_entry *e = &h->ring[h->n++];
	e->version = version;
	e->id = *id;
	snprintf(e->kind, sizeof e->kind, "%s", kind);
	h->id = *id;
}

const vg_hist_entry *vg_history_find(const vg_hist_entry *ring, size_t n, uint64_t version)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ring[mid].version == version)
			return &ring[mid];
		if (ring[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

json_t *vg_history_ring_json(const vg_hist_entry *ring, size_t n)
{
	json_t *a = json_array();
	char hex[VG_HID_HEX];
	for (size_t i = 0; a && i < n; i++) {
		vg_hid_hex(&ring[i].id, hex);
		if (json_array_append_new(a, json_pack("[I, s, s]", (json_int_t)ring[i].version,
						       hex, ring[i].kind)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int vg_history_ring_parse(const json_t *a, vg_hist_entry *ring, char *err, size_t errlen)
{
	if (!json_is_array(a)) {
		vg_seterr(err, errlen, "history ring must be an array");
		return -1;
	}
	if (json_array_size(a) > VG_HIST_RING) {
		vg_seterr(err, errlen, "history ring has more than %d entries", VG_HIST_RING);
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		json_t *v = json_array_get(e, 0), *id = json_array_get(e, 1),
		       *k = json_array_get(e, 2);
		const char *ks = json_string_value(k);
		if (!json_is_array(e) || json_array_size(e) != 3 || !json_is_integer(v) ||
		    json_integer_value(v) < 1 || json_integer_value(v) > JSON_MAX_INT ||
		    vg_hid_parse(json_string_value(id), &ring[i].id) < 0 || !ks ||
		    json_string_length(k) == 0 || json_string_length(k) >= VG_HIST_KIND_MAX ||
		    strlen(ks) != json_string_length(k)) {
			vg_seterr(err, errlen,
				  "history ring entry %zu must be [version >= 1, 64 hex digits, "
				  "kind]",
				  i);
			return -1;
		}
		for (const char *p = ks; *p; p++)
			if (*p <= 0x20 || *p > 0x7e) {
				vg_seterr(err, errlen, "history ring entry %zu: bad kind", i);
				return -1;
			}
		ring[i].version = (uint64_t)json_integer_value(v);
		if (i > 0 && ring[i].version <= ring[i - 1].version) {
			vg_seterr(err, errlen, "history ring entry %zu: versions must increase", i);
			return -1;
		}
		snprintf(ring[i].kind, sizeof ring[i].kind, "%s", ks);
	}
	return (int)json_array_size(a);
}

/* ---- merging -------------------------------------------------------------------- */

/* a is preferred over b as the history to continue with. */
static bool better(const vg_history_summary *a, const vg_history_summary *b)
{
	if (a->epoch != b->epoch)
		return a->epoch > b->epoch;
	if (a->version != b->version)
		return a->version > b->version;
	/* always, not only between different ids: a total order, the same pick in any order */
	if (a->prev_members != b->prev_members)
		return a->prev_members > b->prev_members;
	return a->nodeid < b->nodeid;
}

size_t vg_history_pick(const vg_history_summary *m, size_t n)
{
	size_t best = n;
	for (size_t i = 0; i < n; i++)
		if (best == n || better(&m[i], &m[best]))
			best = i;
	return best;
}

/* The source's id at version v: its own, or from its ring; NULL when not known. */
static const vg_hid *src_id_at(const vg_history_summary *src, uint64_t v)
{
	if (v == src->version)
		return &src->id;
	const vg_hist_entry *e = vg_history_find(src->recent, src->n_recent, v);
	return e ? &e->id : NULL;
}

vg_hist_rel vg_history_relation(const vg_history_summary *src, const vg_history_summary *m,
				uint64_t *fork, bool *fork_known)
{
	*fork = 0;
	*fork_known = false;
	if (m->epoch == src->epoch && m->version == src->version && vg_hid_equal(&m->id, &src->id))
		return VG_HIST_SAME;
	bool not_ahead =
	    m->epoch < src->epoch || (m->epoch == src->epoch && m->version <= src->version);
	/* the empty state and states saved before ids existed: behind, by counts (as before) */
	if (vg_hid_is_zero(&m->id) && not_ahead)
		return m->version == 0 || vg_hid_is_zero(&src->id) ? VG_HIST_BEHIND
								   : VG_HIST_UNVERIFIED;
	if (vg_hid_is_zero(&src->id) && not_ahead)
		return VG_HIST_UNVERIFIED; /* the source's own start is unknown */
	const vg_hid *at = not_ahead ? src_id_at(src, m->version) : NULL;
	if (at && vg_hid_equal(at, &m->id))
		return VG_HIST_BEHIND;
	if (!at && not_ahead && m->version != src->version &&
	    (src->n_recent == 0 || m->version < src->recent[0].version))
		return VG_HIST_UNVERIFIED;
	/* diverged: find the last point both share, newest first, in m's ring */
	for (size_t i = m->n_recent; i-- > 0;) {
		const vg_hist_entry *e = &m->recent[i];
		if (e->version > src->version)
			continue;
		const vg_hid *s = src_id_at(src, e->version);
		if (s && vg_hid_equal(s, &e->id)) {
			*fork = e->version;
			*fork_known = true;
			break;
		}
	}
	return VG_HIST_DIVERGED;
}

void vg_history_lost_text(const vg_history_summary *src, const char *src_name,
			  const vg_history_summary *m, const char *name, uint64_t fork,
			  bool fork_known, char *out, size_t outlen)
{
	char mh[VG_HID_HEX], sh[VG_HID_HEX];
	vg_hid_hex(&m->id, mh);
	vg_hid_hex(&src->id, sh);
	size_t len = (size_t)snprintf(
	    out, outlen,
	    "%s's history (epoch %llu, version %llu, id %.8s) diverged from %s's (epoch %llu, "
	    "version %llu, id %.8s) %s version %llu; discarded:",
	    name, (unsigned long long)m->epoch, (unsigned long long)m->version, mh, src_name,
	    (unsigned long long)src->epoch, (unsigned long long)src->version, sh,
	    fork_known ? "after" : "at or before",
	    (unsigned long long)(fork_known    ? fork
				 : m->n_recent ? m->recent[0].version - 1
					       : m->version));
	if (len >= outlen)
		return;
	size_t shown = 0, total = 0;
	for (size_t i = 0; i < m->n_recent; i++) {
		const vg_hist_entry *e = &m->recent[i];
		if (fork_known && e->version <= fork)
			continue;
		total++;
		char item[64];
		int il = snprintf(item, sizeof item, "%s version %llu %s", shown ? "," : "",
				  (unsigned long long)e->version, e->kind);
		if (len + (size_t)il + 24 < outlen) {
			memcpy(out + len, item, (size_t)il + 1);
			len += (size_t)il;
			shown++;
		}
	}
	if (total == 0)
		snprintf(out + len, outlen - len, " (changes before its recent history)");
	else if (shown < total)
		snprintf(out + len, outlen - len, " and %zu more", total - shown);
}
