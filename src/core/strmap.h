/* strmap.h - an index from one or two borrowed strings to a number (open addressing).
 *
 * Owns: the table only; the keys are borrowed and must outlive their entries (they point
 * into the caller's own records). Used wherever the pure core looks a name up among many
 * (the scheduler's node and resource tables, the cluster state's instances), so a lookup is
 * O(1) instead of a scan. Must not: copy or free keys, or do I/O. Out of memory aborts (the
 * core's one policy, as xrealloc in cluster_state.c).
 */
#ifndef VIGIL_STRMAP_H
#define VIGIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char **a, **b; /* keys; b[i] NULL for one-string keys */
	uint32_t *vals;
	size_t mask; /* capacity - 1; 0 before init */
	size_t n;
} vg_strmap;

/* An empty index sized for about `hint` entries. */
void vg_strmap_init(vg_strmap *m, size_t hint);
void vg_strmap_free(vg_strmap *m);
/* Map (a, b) to v (b may be NULL), replacing an earlier value; the table grows as needed. */
void vg_strmap_put2(vg_strmap *m, const char *a, const char *b, uint32_t v);
/* The value of (a, b), or -1 when absent (or a is NULL). */
int64_t vg_strmap_get2(const vg_strmap *m, const char *a, const char *b);

static inline void vg_strmap_put(vg_strmap *m, const char *k, uint32_t v)
{
	vg_strmap_put2(m, k, NULL, v);
}
static inline int vg_strmap_get(const vg_strmap *m, const char *k)
{
	return (int)vg_strmap_get2(m, k, NULL);
}

#endif
