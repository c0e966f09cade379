/* chunk.c - cutting a full-state transfer into chunks and reassembling it (see chunk.h).
 *
 * Owns: the chunk layout and the reassembly rules (order, one sender, length and hash).
 * Must not: send or receive (cluster.c does), or hand over a payload it has not verified.
 */
#include "chunk.h"
#include "errbuf.h"
#include "mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t magic[4] = {'V', 'G', 'C', '1'};

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint32_t vg_chunk_count(size_t total)
{
	return total == 0 ? 1 : (uint32_t)((total + VG_CHUNK_SIZE - 1) / VG_CHUNK_SIZE);
}

void vg_chunk_hash(const void *payload, size_t total, uint8_t out[VG_CHUNK_HASH])
{
	crypto_generichash(out, VG_CHUNK_HASH, payload, total, NULL, 0);
}

static size_t chunk_len(size_t total, uint32_t index)
{
	size_t off = (size_t)index * VG_CHUNK_SIZE;
	return total - off < VG_CHUNK_SIZE ? total - off : VG_CHUNK_SIZE;
}

uint8_t *vg_chunk_build(uint64_t id, const void *payload, size_t total,
			const uint8_t hash[VG_CHUNK_HASH], uint32_t index, size_t *len)
{
	uint32_t count = vg_chunk_count(total);
	if (index >= count || total > UINT32_MAX)
		return NULL;
	size_t n = chunk_len(total, index);
	uint8_t *b = vg_malloc(VG_CHUNK_HDR + n);
	if (!b)
		return NULL;
	memcpy(b, magic, 4);
	put_le(b + 4, id, 8);
	put_le(b + 12, index, 4);
	put_le(b + 16, count, 4);
	put_le(b + 20, total, 4);
	memcpy(b + 24, hash, VG_CHUNK_HASH);
	if (n)
		memcpy(b + VG_CHUNK_HDR, (const uint8_t *)payload + (size_t)index * VG_CHUNK_SIZE,
		       n);
	*len = VG_CHUNK_HDR + n;
	return b;
}

void vg_chunk_reset(vg_chunk_asm *a)
{
	free(a->buf);
	memset(a, 0, sizeof *a);
}

static vg_chunk_result refuse(vg_chunk_asm *a, char *err, size_t errlen, const char *why)
{
	vg_seterr(err, errlen, "%s", why);
	vg_chunk_reset(a);
	return VG_CHUNK_REFUSED;
}

vg_chunk_result vg_chunk_add(vg_chunk_asm *a, uint32_t from, const void *msg, size_t len,
			     size_t max_total, char *err, size_t errlen)
{
	const uint8_t *p = msg;
	if (len < VG_CHUNK_HDR || memcmp(p, magic, 4) != 0)
		return refuse(a, err, errlen, "not a state chunk");
	uint64_t id = get_le(p + 4, 8);
	uint32_t index = (uint32_t)get_le(p + 12, 4), count = (uint32_t)get_le(p + 16, 4);
	size_t total = (size_t)get_le(p + 20, 4);
	if (total > max_total || count != vg_chunk_count(total) || index >= count ||
	    len - VG_CHUNK_HDR != chunk_len(total, index))
		return refuse(a, err, errlen, "a chunk with a bad index, count or length");
	if (index == 0) {
		vg_chunk_reset(a);
		a->buf = vg_malloc(total + 1);
		if (!a->buf)
			return refuse(a, err, errlen, "out of memory");
		a->active = true;
		a->from = from;
		a->id = id;
		a->count = count;
		a->total = total;
		memcpy(a->hash, p + 24, VG_CHUNK_HASH);
	} else if (!a->active || a->from != from || a->id != id || a->count != count ||
		   a->total != total || memcmp(a->hash, p + 24, VG_CHUNK_HASH) != 0 ||
		   a->next != index) {
		return refuse(a, err, errlen, "a chunk is missing or of another transfer");
	}
	memcpy(a->buf + a->have, p + VG_CHUNK_HDR, len - VG_CHUNK_HDR);
	a->have += len - VG_CHUNK_HDR;
	a->next++;
	if (a->next < a->count)
		return VG_CHUNK_MORE;
	uint8_t h[VG_CHUNK_HASH];
	vg_chunk_hash(a->buf, a->total, h);
	if (a->have != a->total || sodium_memcmp(h, a->hash, VG_CHUNK_HASH) != 0)
		return refuse(a, err, errlen, "the reassembled state does not match its hash");
	a->buf[a->total] = 0;
	return VG_CHUNK_DONE;
}

uint8_t *vg_chunk_take(vg_chunk_asm *a, size_t *len)
{
	uint8_t *b = a->buf;
	*len = a->total;
	a->buf = NULL;
	vg_chunk_reset(a);
	return b;
}
