/* replog.c - the change log's record codec and replay (see replog.h).
 *
 * Owns: the byte layout of a log record, its checksum, and the rules of replaying a log on a
 * snapshot (order, gaps, ids).
 * Must not: open files or block (the caller reads and writes them), or apply a record whose
 * id does not match what applying it gives.
 */
#include "replog.h"
#include "errbuf.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SUM_LEN 16
static const uint8_t magic[4] = {'V', 'G', 'L', '1'};

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* header bytes 0..47 and the payload */
static void checksum(const uint8_t *hdr, const void *payload, size_t len, uint8_t out[SUM_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, SUM_LEN);
	crypto_generichash_update(&st, hdr, 48);
	crypto_generichash_update(&st, payload, len);
	crypto_generichash_final(&st, out, SUM_LEN);
}

size_t vg_replog_record_size(size_t len)
{
	return VG_REPLOG_HDR + len;
}

void vg_replog_record_put(uint8_t *out, uint64_t version, const vg_hid *id, const void *payload,
			  size_t len)
{
	memcpy(out, magic, 4);
	put_u32(out + 4, (uint32_t)len);
	put_u64(out + 8, version);
	memcpy(out + 16, id->b, VG_HID_LEN);
	checksum(out, payload, len, out + 48);
	memcpy(out + VG_REPLOG_HDR, payload, len);
}

long vg_replog_record_get(const uint8_t *buf, size_t len, vg_replog_record *out)
{
	if (len == 0)
		return 0;
	if (len < VG_REPLOG_HDR || memcmp(buf, magic, 4) != 0)
		return -1;
	uint32_t plen = get_u32(buf + 4);
	if (plen > VG_REPMSG_MAX || len - VG_REPLOG_HDR < plen)
		return -1;
	uint8_t sum[SUM_LEN];
	checksum(buf, buf + VG_REPLOG_HDR, plen, sum);
	if (sodium_memcmp(sum, buf + 48, SUM_LEN) != 0)
		return -1;
	out->version = get_u64(buf + 8);
	memcpy(out->id.b, buf + 16, VG_HID_LEN);
	out->payload = (const char *)buf + VG_REPLOG_HDR;
	out->len = plen;
	return (long)(VG_REPLOG_HDR + plen);
}

size_t vg_replog_replay(vg_repstate *s, const uint8_t *buf, size_t len, size_t *applied, char *why,
			size_t whylen)
{
	size_t off = 0;
	*applied = 0;
	vg_seterr(why, whylen, "%s", "");
	while (off < len) {
		vg_replog_record r;
		long n = vg_replog_record_get(buf + off, len - off, &r);
		if (n <= 0) {
			vg_seterr(why, whylen, "a torn or corrupt record at byte %zu", off);
			return off;
		}
		if (r.version <= s->version) {
			/* already in the snapshot; it must be of the same history */
			const vg_hist_entry *e =
			    vg_history_find(s->hist.ring, s->hist.n, r.version);
			if (e && !vg_hid_equal(&e->id, &r.id)) {
				vg_seterr(why, whylen,
					  "record of version %llu is of another history than the "
					  "snapshot",
					  (unsigned long long)r.version);
				return off;
			}
			off += (size_t)n;
			continue;
		}
		if (r.version != s->version + 1) {
			vg_seterr(why, whylen,
				  "record of version %llu does not follow version %llu",
				  (unsigned long long)r.version, (unsigned long long)s->version);
			return off;
		}
		char err[256];
		vg_repmsg *m = vg_repmsg_decode(r.payload, r.len, err, sizeof err);
		vg_hid next;
		const char *bad = NULL;
		if (!m || m->kind == VG_REPMSG_STATE_SYNC)
			bad = m ? "a state_sync" : err;
		else if (vg_repstate_next_id(s, m, &next) < 0)
			bad = "out of memory";
		else if (!vg_hid_equal(&next, &r.id))
			bad = "its history id is not the one applying it gives";
		else if (vg_repstate_apply(s, m, true, err, sizeof err) < 0)
			bad = err;
		if (bad) {
			vg_seterr(why, whylen, "record of version %llu cannot be applied: %s",
				  (unsigned long long)r.version, bad);
			vg_repmsg_free(m);
			return off;
		}
		vg_repmsg_free(m);
		(*applied)++;
		off += (size_t)n;
	}
	return off;
}
