/* Unit tests: a full-state transfer in chunks (chunk.c): reassembly, and the refusal of a
 * missing, reordered, foreign or corrupt chunk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "chunk.h"

#define MAX (8u * 1024 * 1024)

typedef struct {
	uint8_t *payload;
	size_t total;
	uint32_t n;
	uint8_t **chunks;
	size_t *lens;
} transfer;

static transfer make(size_t total, uint64_t id, uint8_t seed)
{
	transfer t = {.total = total};
	t.payload = malloc(total ? total : 1);
	for (size_t i = 0; i < total; i++)
		t.payload[i] = (uint8_t)(i * 31 + seed);
	uint8_t h[VG_CHUNK_HASH];
	vg_chunk_hash(t.payload, total, h);
	t.n = vg_chunk_count(total);
	t.chunks = calloc(t.n, sizeof *t.chunks);
	t.lens = calloc(t.n, sizeof *t.lens);
	for (uint32_t i = 0; i < t.n; i++) {
		t.chunks[i] = vg_chunk_build(id, t.payload, total, h, i, &t.lens[i]);
		assert_non_null(t.chunks[i]);
		assert_true(t.lens[i] <= VG_CHUNK_HDR + VG_CHUNK_SIZE);
	}
	assert_null(vg_chunk_build(id, t.payload, total, h, t.n, &t.lens[0]));
	return t;
}

static void drop(transfer *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->lens);
	free(t->payload);
}

static void test_reassemble(void **state)
{
	(void)state;
	size_t sizes[] = {0, 1, VG_CHUNK_SIZE, VG_CHUNK_SIZE + 1, 3 * VG_CHUNK_SIZE + 12345};
	vg_chunk_asm a = {0};
	char err[128];
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		transfer t = make(sizes[k], 7, (uint8_t)k);
		assert_int_equal(t.n,
				 sizes[k] ? (sizes[k] + VG_CHUNK_SIZE - 1) / VG_CHUNK_SIZE : 1);
		for (uint32_t i = 0; i < t.n; i++) {
			vg_chunk_result r =
			    vg_chunk_add(&a, 2, t.chunks[i], t.lens[i], MAX, err, sizeof err);
			assert_int_equal(r, i + 1 == t.n ? VG_CHUNK_DONE : VG_CHUNK_MORE);
		}
		size_t len;
		uint8_t *got = vg_chunk_take(&a, &len);
		assert_int_equal(len, sizes[k]);
		assert_memory_equal(got, t.payload, len);
		assert_int_equal(got[len], 0);
		free(got);
		drop(&t);
	}
}

static void test_refused(void **state)
{
	(void)state;
	vg_chunk_asm a = {0};
	char err[128];
	transfer t = make(3 * VG_CHUNK_SIZE + 99, 7, 1);
	assert_int_equal(t.n, 4);
	/* a missing chunk: 0, 1, 3 */
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[0], t.lens[0], MAX, err, sizeof err),
			 VG_CHUNK_MORE);
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[1], t.lens[1], MAX, err, sizeof err),
			 VG_CHUNK_MORE);
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[3], t.lens[3], MAX, err, sizeof err),
			 VG_CHUNK_REFUSED);
	assert_non_null(strstr(err, "missing"));
	assert_false(a.active);
	/* and the rest of that transfer is refused too */
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[2], t.lens[2], MAX, err, sizeof err),
			 VG_CHUNK_REFUSED);
	/* a corrupt byte in any chunk: the whole is refused at the end */
	for (uint32_t bad = 0; bad < t.n; bad++) {
		t.chunks[bad][VG_CHUNK_HDR + 5] ^= 1;
		vg_chunk_result r = VG_CHUNK_MORE;
		for (uint32_t i = 0; i < t.n; i++)
			r = vg_chunk_add(&a, 2, t.chunks[i], t.lens[i], MAX, err, sizeof err);
		assert_int_equal(r, VG_CHUNK_REFUSED);
		assert_non_null(strstr(err, "hash"));
		t.chunks[bad][VG_CHUNK_HDR + 5] ^= 1;
	}
	/* a chunk of another sender in the middle */
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[0], t.lens[0], MAX, err, sizeof err),
			 VG_CHUNK_MORE);
	assert_int_equal(vg_chunk_add(&a, 3, t.chunks[1], t.lens[1], MAX, err, sizeof err),
			 VG_CHUNK_REFUSED);
	/* another transfer's chunk in the middle */
	transfer o = make(3 * VG_CHUNK_SIZE + 99, 8, 2);
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[0], t.lens[0], MAX, err, sizeof err),
			 VG_CHUNK_MORE);
	assert_int_equal(vg_chunk_add(&a, 2, o.chunks[1], o.lens[1], MAX, err, sizeof err),
			 VG_CHUNK_REFUSED);
	/* a truncated chunk, a bad magic, a total over the limit */
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[0], t.lens[0] - 1, MAX, err, sizeof err),
			 VG_CHUNK_REFUSED);
	assert_int_equal(vg_chunk_add(&a, 2, "nope", 4, MAX, err, sizeof err), VG_CHUNK_REFUSED);
	assert_int_equal(
	    vg_chunk_add(&a, 2, t.chunks[0], t.lens[0], VG_CHUNK_SIZE, err, sizeof err),
	    VG_CHUNK_REFUSED);
	/* a partial transfer dropped (membership change), then a new one from its start works */
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[0], t.lens[0], MAX, err, sizeof err),
			 VG_CHUNK_MORE);
	vg_chunk_reset(&a);
	assert_int_equal(vg_chunk_add(&a, 2, t.chunks[1], t.lens[1], MAX, err, sizeof err),
			 VG_CHUNK_REFUSED);
	vg_chunk_result r = VG_CHUNK_MORE;
	for (uint32_t i = 0; i < o.n; i++)
		r = vg_chunk_add(&a, 3, o.chunks[i], o.lens[i], MAX, err, sizeof err);
	assert_int_equal(r, VG_CHUNK_DONE);
	size_t len;
	uint8_t *got = vg_chunk_take(&a, &len);
	assert_memory_equal(got, o.payload, o.total);
	free(got);
	drop(&o);
	drop(&t);
	vg_chunk_reset(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reassemble),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
