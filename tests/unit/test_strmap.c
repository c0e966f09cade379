/* test_strmap.c - unit tests of the string index (src/core/strmap.c) and of the cluster
 * state's instance lookups built on it (src/core/cluster_state.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_state.h"
#include "strmap.h"

static void test_put_get_grow(void **state)
{
	(void)state;
	enum { N = 5000 };
	static char keys[N][16];
	vg_strmap m;
	vg_strmap_init(&m, 4); /* far too small: it must grow */
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof keys[i], "r%d", i);
		vg_strmap_put(&m, keys[i], (uint32_t)i);
	}
	assert_int_equal(m.n, N);
	for (int i = 0; i < N; i++) {
		char k[16]; /* another pointer, the same text */
		snprintf(k, sizeof k, "r%d", i);
		assert_int_equal(vg_strmap_get(&m, k), i);
	}
	assert_int_equal(vg_strmap_get(&m, "r5000"), -1);
	assert_int_equal(vg_strmap_get(&m, NULL), -1);
	vg_strmap_put(&m, keys[7], 70); /* replaces */
	assert_int_equal(vg_strmap_get(&m, "r7"), 70);
	assert_int_equal(m.n, N);
	vg_strmap_free(&m);
	assert_int_equal(vg_strmap_get(&m, "r1"), -1); /* freed is empty */
}

static void test_two_part_keys(void **state)
{
	(void)state;
	vg_strmap m = {0}; /* zeroed is a valid empty map */
	assert_int_equal(vg_strmap_get2(&m, "web", "n1"), -1);
	vg_strmap_put2(&m, "web", "n1", 1);
	vg_strmap_put2(&m, "web", "n2", 2);
	vg_strmap_put2(&m, "webn", "1", 3); /* same letters, other split */
	vg_strmap_put(&m, "web", 4);	    /* one-part key apart from the pairs */
	assert_int_equal(vg_strmap_get2(&m, "web", "n1"), 1);
	assert_int_equal(vg_strmap_get2(&m, "web", "n2"), 2);
	assert_int_equal(vg_strmap_get2(&m, "webn", "1"), 3);
	assert_int_equal(vg_strmap_get(&m, "web"), 4);
	assert_int_equal(vg_strmap_get2(&m, "web", "n3"), -1);
	vg_strmap_free(&m);
}

/* Instances added through the API and appended by hand are all found, first match wins. */
static void test_cluster_state_index(void **state)
{
	(void)state;
	vg_cluster_state *s = vg_cluster_state_new(NULL);
	for (int i = 0; i < 300; i++) {
		char r[16];
		snprintf(r, sizeof r, "p%d", i);
		vg_inst_cond *ic = vg_cluster_state_inst_get(s, r, "n1");
		ic->count = (uint32_t)i;
	}
	assert_int_equal(s->n_insts, 300);
	assert_ptr_equal(vg_cluster_state_inst_get(s, "p42", "n1"), &s->insts[42]);
	assert_int_equal(s->n_insts, 300); /* found, not added */
	assert_null(vg_cluster_state_inst(s, "p42", "n2"));
	/* appended by hand (as the benchmarks and parsers may do) */
	s->insts = realloc(s->insts, sizeof(*s->insts) * (s->n_insts + 1));
	s->cap_insts = s->n_insts + 1;
	vg_inst_cond *h = &s->insts[s->n_insts++];
	memset(h, 0, sizeof *h);
	h->resource = strdup("hand");
	h->node = strdup("n2");
	assert_ptr_equal(vg_cluster_state_inst(s, "hand", "n2"), h);
	/* a duplicate appended later does not shadow the first */
	vg_inst_cond *d = vg_cluster_state_inst_add(s, "p1", "n1");
	d->count = 999;
	assert_int_equal(vg_cluster_state_inst(s, "p1", "n1")->count, 1);
	vg_cluster_state *c = vg_cluster_state_dup(s);
	assert_int_equal(vg_cluster_state_inst(c, "p299", "n1")->count, 299);
	vg_cluster_state_free(c);
	vg_cluster_state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_grow),
	    cmocka_unit_test(test_two_part_keys),
	    cmocka_unit_test(test_cluster_state_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
