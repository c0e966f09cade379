/* strmap.c - an index from one or two borrowed strings to a number (see strmap.h).
 * Must not: copy or free keys, or do I/O.
 */
#include "strmap.h"
#include "mem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash2(const char *a, const char *b)
{
	uint32_t h = 2166136261u; /* FNV-1a over a, a separator, b */
	for (; *a; a++)
		h = (h ^ (uint8_t)*a) * 16777619u;
	if (b) {
		h = (h ^ 0xffu) * 16777619u;
		for (; *b; b++)
			h = (h ^ (uint8_t)*b) * 16777619u;
	}
	return h;
}

static bool same(const char *x, const char *y)
{
	return x == y || (x && y && !strcmp(x, y));
}

static void *zalloc(size_t n, size_t size)
{
	void *p = vg_calloc(n, size);
	return p;
}

static void alloc_table(vg_strmap *m, size_t cap)
{
	m->a = zalloc(cap, sizeof(*m->a));
	m->b = zalloc(cap, sizeof(*m->b));
	m->vals = zalloc(cap, sizeof(*m->vals));
	m->mask = cap - 1;
	m->n = 0;
}

void vg_strmap_init(vg_strmap *m, size_t hint)
{
	size_t cap = 16;
	while (cap < hint * 2)
		cap <<= 1;
	alloc_table(m, cap);
}

void vg_strmap_free(vg_strmap *m)
{
	free(m->a);
	free(m->b);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t slot(const vg_strmap *m, const char *a, const char *b)
{
	size_t i = hash2(a, b) & m->mask;
	while (m->a[i] && !(same(m->a[i], a) && same(m->b[i], b)))
		i = (i + 1) & m->mask;
	return i;
}

void vg_strmap_put2(vg_strmap *m, const char *a, const char *b, uint32_t v)
{
	if (!m->mask)
		vg_strmap_init(m, 8);
	if ((m->n + 1) * 2 > m->mask + 1) {
		vg_strmap old = *m;
		alloc_table(m, (old.mask + 1) * 2);
		for (size_t i = 0; i <= old.mask; i++)
			if (old.a[i])
				vg_strmap_put2(m, old.a[i], old.b[i], old.vals[i]);
		vg_strmap_free(&old);
	}
	size_t i = slot(m, a, b);
	if (!m->a[i])
		m->n++;
	m->a[i] = a;
	m->b[i] = b;
	m->vals[i] = v;
}

int64_t vg_strmap_get2(const vg_strmap *m, const char *a, const char *b)
{
	if (!a || !m->mask)
		return -1;
	size_t i = slot(m, a, b);
	return m->a[i] ? (int64_t)m->vals[i] : -1;
}
