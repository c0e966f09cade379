/* Unit tests: feeding a watchdog device from the libuv loop.
 *
 * The machine's real /dev/watchdog is never opened here: opening it arms it, and a test
 * that stopped feeding it (as these do on purpose) or died in between would reset the whole
 * machine. A FIFO (read by the test from the other end, non-blocking) or a regular file
 * stands in for the device instead. Both answer the watchdog ioctls with ENOTTY, so the
 * module feeds them by writing one NUL byte per feed, and each feed can be counted; the
 * magic 'V' of a clean stop is written the same way. What the stand-in cannot show: that the
 * kernel accepts WDIOC_SETTIMEOUT / WDIOC_KEEPALIVE, and the reset itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "file.h"
#include "watchdog.h"

/* ---- fixture: a temporary directory and a loop ---------------------------- */

typedef struct {
	char dir[64];
	char path[128]; /* the stand-in device */
	uv_loop_t loop;
	uv_timer_t stop; /* ends run_for() */
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/vg-watchdog-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/dev", f->dir);
	uv_loop_init(&f->loop);
	uv_timer_init(&f->loop, &f->stop);
	*state = f;
	return 0;
}

static void walk_fail(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		fail_msg("a handle of type %s is still open", uv_handle_type_name(h->type));
}

static int teardown(void **state)
{
	fx *f = *state;
	uv_close((uv_handle_t *)&f->stop, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT); /* runs the watchdog's close callback too */
	uv_walk(&f->loop, walk_fail, NULL);
	int rc = uv_loop_close(&f->loop);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

static void on_stop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Run the loop for about MS milliseconds. */
static void run_for(fx *f, uint64_t ms)
{
	uv_update_time(&f->loop);
	uv_timer_start(&f->stop, on_stop, ms, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&f->stop);
}

/* Read everything the FIFO holds; returns the number of bytes, all of which must be C. */
static size_t drain(int rfd, char c)
{
	size_t total = 0;
	char buf[4096];
	for (;;) {
		ssize_t n = read(rfd, buf, sizeof buf);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			return total;
		}
		if (n == 0)
			return total; /* no writer left */
		for (ssize_t i = 0; i < n; i++)
			assert_int_equal(buf[i], c);
		total += (size_t)n;
	}
}

static int open_fifo_reader(fx *f)
{
	assert_int_equal(mkfifo(f->path, 0600), 0);
	int rfd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	return rfd;
}

static vg_watchdog *must_open(fx *f, uint32_t timeout_s)
{
	char err[256] = "";
	vg_watchdog *w = vg_watchdog_open(&f->loop, f->path, timeout_s, err, sizeof err);
	if (!w)
		fail_msg("vg_watchdog_open: %s", err);
	return w;
}

/* The whole content of a regular file. */
static size_t slurp(const char *path, char *buf, size_t len)
{
	size_t n = 0;
	char *t = vg_file_read(path, len - 1, &n, NULL, 0);
	assert_non_null(t);
	memcpy(buf, t, n + 1);
	free(t);
	return n;
}

/* ---- (a) fed repeatedly while healthy ------------------------------------- */

static void test_fed_while_healthy(void **state)
{
	fx *f = *state;
	int rfd = open_fifo_reader(f);
	vg_watchdog *w = must_open(f, 3);      /* fed every 1000 ms */
	assert_int_equal(drain(rfd, '\0'), 1); /* fed once at open, before the loop runs */
	/* feeds due at 1000 and 2000 ms; the next at 3000 ms is outside the window (timers
	 * fire late under load, never early) */
	run_for(f, 2500);
	assert_int_equal(drain(rfd, '\0'), 2);
	run_for(f, 1000);
	assert_int_equal(drain(rfd, '\0'), 1);
	vg_watchdog_close(w, false);
	close(rfd);
}

/* ---- (b) no feeding while unhealthy, resumed at once after ---------------- */

static void test_unhealthy_stops_feeding(void **state)
{
	fx *f = *state;
	int rfd = open_fifo_reader(f);
	vg_watchdog *w = must_open(f, 1); /* fed every 333 ms */
	assert_int_equal(drain(rfd, '\0'), 1);

	vg_watchdog_set_healthy(w, false);
	vg_watchdog_set_healthy(w, false); /* repeating a state changes nothing */
	run_for(f, 1000);		   /* three feeds would have been due */
	assert_int_equal(drain(rfd, '\0'), 0);

	vg_watchdog_set_healthy(w, true);
	assert_int_equal(drain(rfd, '\0'), 1); /* at once, not at the next tick */
	vg_watchdog_set_healthy(w, true);
	assert_int_equal(drain(rfd, '\0'), 0);
	run_for(f, 850); /* due at 333 and 666 ms, not 999 */
	assert_int_equal(drain(rfd, '\0'), 2);

	vg_watchdog_close(w, false);
	close(rfd);
}

/* ---- (c) close: 'V' last with disarm, none without ------------------------ */

static void test_close_disarm_writes_v_last(void **state)
{
	fx *f = *state;
	int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	vg_watchdog *w = must_open(f, 1);
	run_for(f, 500); /* fed at 0 and 333 ms */
	vg_watchdog_close(w, true);
	run_for(f, 400); /* nothing is written after the close */

	char buf[64];
	size_t n = slurp(f->path, buf, sizeof buf);
	assert_int_equal(n, 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], '\0');
	assert_int_equal(buf[2], 'V');
}

static void test_close_disarm_while_unhealthy(void **state)
{
	fx *f = *state;
	int rfd = open_fifo_reader(f);
	vg_watchdog *w = must_open(f, 1);
	vg_watchdog_set_healthy(w, false);
	vg_watchdog_close(w, true); /* a clean stop disarms whatever the health */
	char buf[8];
	assert_int_equal(read(rfd, buf, sizeof buf), 2);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'V');
	assert_int_equal(read(rfd, buf, sizeof buf), 0); /* the device was closed: EOF */
	close(rfd);
}

static void test_close_armed_writes_no_v(void **state)
{
	fx *f = *state;
	int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	vg_watchdog *w = must_open(f, 1);
	run_for(f, 500);
	vg_watchdog_close(w, false);
	run_for(f, 400);

	char buf[64];
	size_t n = slurp(f->path, buf, sizeof buf);
	assert_int_equal(n, 2);
	assert_null(memchr(buf, 'V', n));
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], '\0');
	vg_watchdog_close(NULL, true); /* allowed, does nothing */
}

/* ---- (d) failed opens ----------------------------------------------------- */

static void test_open_missing_path(void **state)
{
	fx *f = *state;
	char err[256] = "";
	assert_null(vg_watchdog_open(&f->loop, f->path, 5, err, sizeof err));
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_null(vg_watchdog_open(&f->loop, f->path, 5, NULL, 0)); /* no buffer: fine */
}

static void test_open_bad_timeout(void **state)
{
	fx *f = *state;
	int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	uint32_t bad[] = {0, 3601, UINT32_MAX};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[256] = "";
		assert_null(vg_watchdog_open(&f->loop, f->path, bad[i], err, sizeof err));
		assert_non_null(strstr(err, f->path));
		assert_non_null(strstr(err, "out of range"));
	}
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0); /* rejected before the device was touched */
}

/* A FIFO nobody reads: the open fails at once instead of blocking the loop. */
static void test_open_fifo_without_reader(void **state)
{
	fx *f = *state;
	assert_int_equal(mkfifo(f->path, 0600), 0);
	char err[256] = "";
	assert_null(vg_watchdog_open(&f->loop, f->path, 5, err, sizeof err));
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, strerror(ENXIO)));
}

/* Fill the FIFO through a second writer until a one-byte write no longer fits. */
static int fill_fifo(const char *path)
{
	int wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(wfd >= 0);
	char buf[4096];
	memset(buf, 'x', sizeof buf);
	while (write(wfd, buf, sizeof buf) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	while (write(wfd, buf, 1) == 1)
		;
	assert_int_equal(errno, EAGAIN);
	return wfd;
}

/* The first feed fails: the open fails, and nothing is left behind (the loop closes clean
 * in teardown, valgrind sees no leak). */
static void test_open_first_feed_fails(void **state)
{
	fx *f = *state;
	int rfd = open_fifo_reader(f);
	int wfd = fill_fifo(f->path);
	char err[256] = "";
	assert_null(vg_watchdog_open(&f->loop, f->path, 5, err, sizeof err));
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "first feed failed"));
	assert_non_null(strstr(err, strerror(EAGAIN)));
	close(wfd);
	assert_true(drain(rfd, 'x') > 0); /* only the filler: no feed and no 'V' got through */
	close(rfd);
}

/* Feeds that fail (the FIFO is full) are retried at every tick; once there is room again
 * the device is fed again without anyone's help. */
static void test_feeding_survives_failures(void **state)
{
	fx *f = *state;
	int rfd = open_fifo_reader(f);
	vg_watchdog *w = must_open(f, 1);
	assert_int_equal(drain(rfd, '\0'), 1);
	int wfd = fill_fifo(f->path);
	run_for(f, 1100); /* three feeds fail */
	assert_true(drain(rfd, 'x') > 0);
	run_for(f, 500); /* fed again within one interval */
	size_t fed = drain(rfd, '\0');
	assert_true(fed >= 1 && fed <= 2);
	vg_watchdog_close(w, false);
	close(wfd);
	close(rfd);
}

/* ---- (e) arithmetic ------------------------------------------------------- */

static void test_deadline(void **state)
{
	(void)state;
	static const struct {
		uint32_t timeout_s;
		uint64_t interval_ms, deadline_ms;
	} cases[] = {
	    {0, 0, 0},
	    {1, 333, 1333},
	    {2, 666, 2666},
	    {3, 1000, 4000},
	    {10, 1000, 11000}, /* the config's default */
	    {60, 1000, 61000},
	    {3600, 1000, 3601000},
	    {UINT32_MAX, 1000, (uint64_t)UINT32_MAX * 1000 + 1000}, /* no overflow */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(vg_watchdog_interval_ms(cases[i].timeout_s), cases[i].interval_ms);
		assert_int_equal(vg_watchdog_deadline_ms(cases[i].timeout_s), cases[i].deadline_ms);
		/* a feed is always due well before the device fires */
		assert_true(cases[i].interval_ms * 3 <= (uint64_t)cases[i].timeout_s * 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fed_while_healthy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unhealthy_stops_feeding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_disarm_writes_v_last, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_disarm_while_unhealthy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_armed_writes_no_v, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_missing_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_bad_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_fifo_without_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_first_feed_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_feeding_survives_failures, setup, teardown),
	    cmocka_unit_test(test_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
