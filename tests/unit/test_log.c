/* Unit tests: the log's repeat limiter (pure, time passed in) and vg_log through it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static void test_burst_then_counted(void **state)
{
	(void)state;
	vg_log_repeat r = {0};
	uint64_t k = vg_log_key(VG_LOG_ERROR, "stop failed"), held = 99;
	for (int i = 0; i < VG_LOG_REPEAT_BURST; i++) {
		assert_true(vg_log_repeat_admit(&r, k, 1000 + (uint64_t)i, &held));
		assert_int_equal(held, 0);
	}
	/* the rest of the window is held back and counted */
	for (int i = 0; i < 1234; i++)
		assert_false(vg_log_repeat_admit(&r, k, 2000, &held));
	/* still inside the window */
	assert_false(vg_log_repeat_admit(&r, k, 1000 + VG_LOG_REPEAT_WINDOW_MS - 1, &held));
	/* the next window: written, saying how many were held back */
	assert_true(vg_log_repeat_admit(&r, k, 1000 + VG_LOG_REPEAT_WINDOW_MS, &held));
	assert_int_equal(held, 1235);
	/* and the count starts afresh */
	for (int i = 1; i < VG_LOG_REPEAT_BURST; i++) {
		assert_true(vg_log_repeat_admit(&r, k, 1000 + VG_LOG_REPEAT_WINDOW_MS + 1, &held));
		assert_int_equal(held, 0);
	}
	assert_false(vg_log_repeat_admit(&r, k, 1000 + VG_LOG_REPEAT_WINDOW_MS + 2, &held));
	assert_true(vg_log_repeat_admit(&r, k, 1000 + 3 * VG_LOG_REPEAT_WINDOW_MS, &held));
	assert_int_equal(held, 1);
}

static void test_distinct_messages_apart(void **state)
{
	(void)state;
	vg_log_repeat r = {0};
	uint64_t a = vg_log_key(VG_LOG_WARN, "a"), b = vg_log_key(VG_LOG_WARN, "b");
	uint64_t a_err = vg_log_key(VG_LOG_ERROR, "a"), held;
	assert_true(a != b && a != a_err && a && b && a_err);
	for (int i = 0; i < 50; i++)
		vg_log_repeat_admit(&r, a, 10, &held);
	/* b and the same text at another level are not held back by a's flood */
	for (int i = 0; i < VG_LOG_REPEAT_BURST; i++) {
		assert_true(vg_log_repeat_admit(&r, b, 10, &held));
		assert_true(vg_log_repeat_admit(&r, a_err, 10, &held));
	}
}

static void test_eviction_of_the_oldest(void **state)
{
	(void)state;
	vg_log_repeat r = {0};
	uint64_t held;
	char text[32];
	/* flood message 0, then more distinct messages than there are slots */
	for (int i = 0; i < 20; i++)
		vg_log_repeat_admit(&r, vg_log_key(VG_LOG_INFO, "m0"), 1, &held);
	for (int m = 1; m <= VG_LOG_REPEAT_SLOTS; m++) {
		snprintf(text, sizeof text, "m%d", m);
		assert_true(vg_log_repeat_admit(&r, vg_log_key(VG_LOG_INFO, text), 2, &held));
	}
	/* m0 was evicted: it counts as new (written), the tracked ones stay limited */
	assert_true(vg_log_repeat_admit(&r, vg_log_key(VG_LOG_INFO, "m0"), 3, &held));
	assert_int_equal(held, 0);
}

/* vg_log itself: 1,000 identical lines on stderr become VG_LOG_REPEAT_BURST lines. */
static void test_vg_log_limits_a_flood(void **state)
{
	(void)state;
	char path[] = "/tmp/vigil-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	assert_int_equal(dup2(fd, 2), 2);
	vg_log_config cfg = {.level = VG_LOG_INFO, .node = "n1"};
	vg_log_init(&cfg);
	for (int i = 0; i < 1000; i++)
		vg_error("r: stop failed (rc %d)", 1);
	vg_info("another message");
	vg_debug("dropped by level");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	vg_log_init(NULL);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[512];
	int same = 0, other = 0, total = 0;
	while (fgets(line, sizeof line, f)) {
		total++;
		same += strstr(line, "r: stop failed (rc 1)") != NULL;
		other += strstr(line, "another message") != NULL;
	}
	fclose(f);
	close(fd);
	unlink(path);
	assert_int_equal(same, VG_LOG_REPEAT_BURST);
	assert_int_equal(other, 1);
	assert_int_equal(total, VG_LOG_REPEAT_BURST + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_counted),
	    cmocka_unit_test(test_distinct_messages_apart),
	    cmocka_unit_test(test_eviction_of_the_oldest),
	    cmocka_unit_test(test_vg_log_limits_a_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
