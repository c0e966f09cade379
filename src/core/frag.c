/* frag.c - framing and reassembly of vigil's CPG messages (see frag.h). Must not: talk to
 * Corosync or read a clock.
 */
#include "frag.h"
#include "mem.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint32_t node, pid, id, total, got;
	unsigned char *buf;
} partial;

struct vg_frag_rx {
	partial *p;
	size_t n;
	unsigned char *done; /* the last whole message given out */
};

size_t vg_frag_count(size_t len)
{
	return len <= VG_FRAG_PAYLOAD ? 1 : (len + VG_FRAG_PAYLOAD - 1) / VG_FRAG_PAYLOAD;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return ntohl(v);
}

size_t vg_frag_frame(const void *data, size_t len, uint32_t id, size_t k, unsigned char *out)
{
	if (vg_frag_count(len) == 1) {
		out[0] = 'W';
		if (len)
			memcpy(out + 1, data, len);
		return len + 1;
	}
	size_t off = k * VG_FRAG_PAYLOAD;
	size_t n = len - off < VG_FRAG_PAYLOAD ? len - off : VG_FRAG_PAYLOAD;
	out[0] = 'F';
	put32(out + 1, id);
	put32(out + 5, (uint32_t)len);
	put32(out + 9, (uint32_t)off);
	memcpy(out + VG_FRAG_HEADER, (const unsigned char *)data + off, n);
	return VG_FRAG_HEADER + n;
}

vg_frag_rx *vg_frag_rx_new(void)
{
	vg_frag_rx *rx = vg_calloc(1, sizeof *rx);
	return rx;
}

static void drop(vg_frag_rx *rx, size_t i)
{
	free(rx->p[i].buf);
	rx->p[i] = rx->p[--rx->n];
}

void vg_frag_rx_free(vg_frag_rx *rx)
{
	if (!rx)
		return;
	while (rx->n)
		drop(rx, 0);
	free(rx->p);
	free(rx->done);
	free(rx);
}

static partial *find(vg_frag_rx *rx, uint32_t node, uint32_t pid)
{
	for (size_t i = 0; i < rx->n; i++)
		if (rx->p[i].node == node && rx->p[i].pid == pid)
			return &rx->p[i];
	return NULL;
}

int vg_frag_rx_feed(vg_frag_rx *rx, uint32_t node, uint32_t pid, const void *frame, size_t len,
		    const void **out, size_t *out_len)
{
	const unsigned char *f = frame;
	free(rx->done);
	rx->done = NULL;
	if (len >= 1 && f[0] == 'W') {
		*out = f + 1;
		*out_len = len - 1;
		return 1;
	}
	if (len <= VG_FRAG_HEADER || f[0] != 'F')
		return -1;
	uint32_t id = get32(f + 1), total = get32(f + 5), off = get32(f + 9);
	size_t n = len - VG_FRAG_HEADER;
	partial *p = find(rx, node, pid);
	if (off == 0) {
		if (p) /* a new message before the end of the last: that one is lost */
			drop(rx, (size_t)(p - rx->p));
		if (total <= VG_FRAG_PAYLOAD || total > VG_FRAG_MAX_MESSAGE)
			return -1;
		rx->p = vg_realloc(rx->p, (rx->n + 1) * sizeof *rx->p);
		p = &rx->p[rx->n++];
		*p = (partial){node, pid, id, total, 0, vg_malloc(total)};
		if (!p->buf)
			abort();
	}
	if (!p || p->id != id || p->total != total || off != p->got || n > total - p->got) {
		if (p)
			drop(rx, (size_t)(p - rx->p));
		return -1;
	}
	memcpy(p->buf + p->got, f + VG_FRAG_HEADER, n);
	p->got += (uint32_t)n;
	if (p->got < p->total)
		return 0;
	rx->done = p->buf;
	*out = p->buf;
	*out_len = p->total;
	p->buf = NULL;
	drop(rx, (size_t)(p - rx->p));
	return 1;
}

void vg_frag_rx_forget(vg_frag_rx *rx, uint32_t node, uint32_t pid)
{
	for (size_t i = 0; i < rx->n;)
		if (rx->p[i].node == node && (!pid || rx->p[i].pid == pid))
			drop(rx, i);
		else
			i++;
}

size_t vg_frag_rx_pending(const vg_frag_rx *rx)
{
	return rx->n;
}
