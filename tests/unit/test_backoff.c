/* Unit tests: restart back-off (table-driven). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void test_sequence(void **state)
{
	(void)state;
	static const struct {
		uint64_t ran_ms;
		uint64_t want_delay;
	} steps[] = {
	    {60000, 0}, /* first crash after a stable run: restart at once */
	    {10, 100},	/* quick crash: base */
	    {10, 200},	/* doubles */
	    {10, 400},	{10, 800}, {10, 1600}, {10, 2000}, /* capped */
	    {10, 2000}, {5000, 0},			   /* ran >= stable: streak resets */
	    {10, 100},
	};
	vg_backoff b;
	vg_backoff_init(&b, 100, 2000, 5000);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		assert_int_equal(vg_backoff_next(&b, steps[i].ran_ms), steps[i].want_delay);
}

static void test_reset(void **state)
{
	(void)state;
	vg_backoff b;
	vg_backoff_init(&b, 50, 1000, 1000);
	assert_int_equal(vg_backoff_next(&b, 0), 0);
	assert_int_equal(vg_backoff_next(&b, 0), 50);
	vg_backoff_reset(&b);
	assert_int_equal(vg_backoff_next(&b, 0), 0);
}

static void test_no_overflow(void **state)
{
	(void)state;
	vg_backoff b;
	vg_backoff_init(&b, 1, UINT64_MAX / 2, UINT64_MAX);
	uint64_t last = 0;
	for (int i = 0; i < 200; i++) {
		uint64_t d = vg_backoff_next(&b, 0);
		assert_true(d >= last);
		last = d;
	}
	assert_true(last <= UINT64_MAX / 2);
}

/* Retries: always paced (never 0 ms), doubling to the ceiling, bounded in number. */
static void test_retry_paced_and_bounded(void **state)
{
	(void)state;
	vg_retry r;
	vg_retry_init(&r, 500, 1500, 4);
	uint64_t d = 12345;
	assert_true(vg_retry_failed(&r, &d));
	assert_int_equal(d, 500);
	assert_true(vg_retry_failed(&r, &d));
	assert_int_equal(d, 1000);
	assert_true(vg_retry_failed(&r, &d));
	assert_int_equal(d, 1500);	       /* capped */
	assert_false(vg_retry_failed(&r, &d)); /* the 4th try failed: give up */
	assert_false(vg_retry_failed(&r, &d)); /* and stays given up */
	assert_int_equal(vg_retry_total_wait_ms(&r), 500 + 1000 + 1500);
	vg_retry_reset(&r);
	assert_true(vg_retry_failed(&r, &d));
	assert_int_equal(d, 500);
}

static void test_retry_degenerate(void **state)
{
	(void)state;
	vg_retry r;
	vg_retry_init(&r, 0, 0, 0); /* one try, and a zero base still paces */
	uint64_t d;
	assert_false(vg_retry_failed(&r, &d));
	assert_int_equal(vg_retry_total_wait_ms(&r), 0);
	vg_retry_init(&r, 0, 0, 3);
	assert_true(vg_retry_failed(&r, &d));
	assert_true(d >= 1);
	vg_retry_init(&r, 1000, UINT64_MAX, 200); /* no overflow on long runs */
	uint64_t last = 0;
	for (int i = 0; i < 198; i++) {
		assert_true(vg_retry_failed(&r, &d));
		assert_true(d >= last);
		last = d;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sequence),	     cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_no_overflow),	     cmocka_unit_test(test_retry_paced_and_bounded),
	    cmocka_unit_test(test_retry_degenerate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
