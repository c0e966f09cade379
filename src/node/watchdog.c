/* watchdog.c - feeding a Linux watchdog device from the libuv loop (see watchdog.h).
 *
 * Owns: the device's file descriptor, its feeding timer and the rate limit of its warnings.
 * Must not: block the loop (only quick ioctl/write calls on a non-blocking descriptor),
 * decide when the node is healthy (the owner says so), or leave a device armed after a
 * failed open.
 */
#include "watchdog.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/watchdog.h>

#include "errbuf.h"
#include "log.h"

#define MAX_TIMEOUT_S	 3600u	/* cluster.watchdog_timeout is at most 1h */
#define WARN_INTERVAL_MS 10000u /* at most one feed-failure warning per 10 s */

struct vg_watchdog {
	uv_timer_t timer; /* first: the handle's pointer is the struct's */
	char *path;
	int fd;
	uint32_t timeout_s;   /* the device's timeout (may be below the one asked for) */
	uint64_t interval_ms; /* feeding period */
	bool healthy;
	bool by_write;	       /* not a watchdog (ENOTTY): fed by writing a NUL byte */
	uint64_t fail_streak;  /* feeds failed in a row */
	uint64_t last_warn_ms; /* loop time of the last feed-failure warning */
	uint64_t suppressed;   /* failures not warned about since then */
};

/* One feed; 0 or an errno value. */
static int feed_once(vg_watchdog *w)
{
	if (!w->by_write) {
		int dummy = 0;
		if (ioctl(w->fd, WDIOC_KEEPALIVE, &dummy) == 0)
			return 0;
		if (errno != ENOTTY)
			return errno;
		w->by_write = true;
		vg_info("watchdog %s: WDIOC_KEEPALIVE not supported (not a watchdog device?); "
			"feeding it by writes",
			w->path);
	}
	ssize_t n = write(w->fd, "\0", 1);
	if (n == 1)
		return 0;
	return n < 0 ? errno : EAGAIN;
}

/* Feed, and warn about failures: the first of a streak at once, then at most one warning
 * per WARN_INTERVAL_MS with the number left unsaid. */
static void feed(vg_watchdog *w)
{
	int e = feed_once(w);
	uint64_t now = uv_now(w->timer.loop);
	if (e == 0) {
		if (w->fail_streak)
			vg_info("watchdog %s: fed again after %" PRIu64 " failed feeds", w->path,
				w->fail_streak);
		w->fail_streak = 0;
		w->suppressed = 0;
		return;
	}
	w->fail_streak++;
	if (w->fail_streak == 1 || now - w->last_warn_ms >= WARN_INTERVAL_MS) {
		vg_warn("watchdog %s: feeding failed: %s (%" PRIu64 " failures in a row, %" PRIu64
			" not logged); the machine resets %" PRIu32 " s after the last good feed",
			w->path, strerror(e), w->fail_streak, w->suppressed, w->timeout_s);
		w->last_warn_ms = now;
		w->suppressed = 0;
	} else {
		w->suppressed++;
	}
}

static void on_timer(uv_timer_t *t)
{
	vg_watchdog *w = (vg_watchdog *)t;
	feed(w);
}

/* Write the magic close character; 0 or an errno value. */
static int write_magic(int fd)
{
	ssize_t n = write(fd, "V", 1);
	if (n == 1)
		return 0;
	return n < 0 ? errno : EAGAIN;
}

/* Undo an open that failed after the device was opened: disarm, then close. */
static void abandon(int fd, const char *path)
{
	int e = write_magic(fd);
	if (e)
		vg_error("watchdog %s: could not disarm after a failed open: %s; the machine "
			 "resets at the device's timeout",
			 path, strerror(e));
	close(fd);
}

/* Set the device's timeout. 0 (with *DEVICE_S the timeout it took, or TIMEOUT_S when it is
 * not a watchdog, *NOT_WATCHDOG then true), or -1 with ERR. */
static int set_timeout(int fd, const char *path, uint32_t timeout_s, uint32_t *device_s,
		       bool *not_watchdog, char *err, size_t errlen)
{
	int t = (int)timeout_s;
	*not_watchdog = false;
	*device_s = timeout_s;
	if (ioctl(fd, WDIOC_SETTIMEOUT, &t) != 0) {
		if (errno != ENOTTY) {
			vg_seterr(err, errlen,
				  "watchdog %s: cannot set the timeout to %" PRIu32 " s: %s", path,
				  timeout_s, strerror(errno));
			return -1;
		}
		*not_watchdog = true;
		vg_info("watchdog %s: WDIOC_SETTIMEOUT not supported (not a watchdog device?); "
			"going on, feeding it by writes",
			path);
		return 0;
	}
	if (t <= 0 || (uint32_t)t > timeout_s) {
		vg_seterr(err, errlen,
			  "watchdog %s: asked for a %" PRIu32 " s timeout, the device "
			  "took %d s: the fencing deadline would be wrong",
			  path, timeout_s, t);
		return -1;
	}
	if ((uint32_t)t < timeout_s)
		vg_warn("watchdog %s: asked for a %" PRIu32 " s timeout, the device took %d s; "
			"using %d s",
			path, timeout_s, t, t);
	*device_s = (uint32_t)t;
	return 0;
}

vg_watchdog *vg_watchdog_open(uv_loop_t *loop, const char *path, uint32_t timeout_s, char *err,
			      size_t errlen)
{
	if (timeout_s == 0 || timeout_s > MAX_TIMEOUT_S) {
		vg_seterr(err, errlen, "watchdog %s: timeout %" PRIu32 " s out of range (1..%u)",
			  path, timeout_s, MAX_TIMEOUT_S);
		return NULL;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		vg_seterr(err, errlen, "watchdog %s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	/* from here on the device may be armed (opening a watchdog starts it) */
	uint32_t device_s;
	bool not_watchdog;
	if (set_timeout(fd, path, timeout_s, &device_s, &not_watchdog, err, errlen) != 0) {
		abandon(fd, path);
		return NULL;
	}
	char identity[sizeof((struct watchdog_info *)0)->identity + 1] = "";
	if (!not_watchdog) {
		struct watchdog_info info;
		memset(&info, 0, sizeof info);
		if (ioctl(fd, WDIOC_GETSUPPORT, &info) == 0) {
			memcpy(identity, info.identity, sizeof info.identity);
			identity[sizeof info.identity] = '\0';
			if (!(info.options & WDIOF_MAGICCLOSE))
				vg_warn("watchdog %s: the driver has no magic close: a clean stop "
					"will not disarm it",
					path);
		}
	}

	vg_watchdog *w = vg_calloc(1, sizeof *w);
	char *p = vg_strdup(path);
	if (!w || !p) {
		free(w);
		free(p);
		abandon(fd, path);
		vg_seterr(err, errlen, "watchdog %s: out of memory", path);
		return NULL;
	}
	w->path = p;
	w->fd = fd;
	w->timeout_s = device_s;
	w->interval_ms = vg_watchdog_interval_ms(device_s);
	w->healthy = true;
	w->by_write = not_watchdog;
	int e = feed_once(w); /* before the timer exists: a failure can free at once */
	if (e) {
		vg_seterr(err, errlen, "watchdog %s: first feed failed: %s", path, strerror(e));
		abandon(fd, path);
		free(w->path);
		free(w);
		return NULL;
	}
	uv_timer_init(loop, &w->timer); /* cannot fail */
	uv_timer_start(&w->timer, on_timer, w->interval_ms, w->interval_ms);
	vg_info("watchdog %s%s%s%s: armed, timeout %" PRIu32 " s, fed every %" PRIu64 " ms", path,
		identity[0] ? " (" : "", identity, identity[0] ? ")" : "", device_s,
		w->interval_ms);
	return w;
}

const char *vg_watchdog_path(const vg_watchdog *w)
{
	return w->path;
}

uint32_t vg_watchdog_timeout_s(const vg_watchdog *w)
{
	return w->timeout_s;
}

void vg_watchdog_set_healthy(vg_watchdog *w, bool healthy)
{
	if (healthy == w->healthy)
		return;
	w->healthy = healthy;
	if (!healthy) {
		uv_timer_stop(&w->timer);
		vg_warn("watchdog %s: no longer fed; the machine resets within %" PRIu32
			" s unless health comes back",
			w->path, w->timeout_s);
		return;
	}
	feed(w);
	uv_timer_start(&w->timer, on_timer, w->interval_ms, w->interval_ms);
	vg_info("watchdog %s: healthy again, feeding resumed", w->path);
}

static void on_closed(uv_handle_t *h)
{
	vg_watchdog *w = (vg_watchdog *)h;
	free(w->path);
	free(w);
}

void vg_watchdog_close(vg_watchdog *w, bool disarm)
{
	if (!w)
		return;
	uv_timer_stop(&w->timer);
	if (w->fd >= 0) {
		int e = disarm ? write_magic(w->fd) : 0;
		if (e)
			vg_error(
			    "watchdog %s: could not disarm: %s; the machine resets within %" PRIu32
			    " s",
			    w->path, strerror(e), w->timeout_s);
		else if (disarm)
			vg_info("watchdog %s: disarmed and closed", w->path);
		else
			vg_warn(
			    "watchdog %s: closed and left armed; the machine resets within %" PRIu32
			    " s unless it is reopened and fed",
			    w->path, w->timeout_s);
		close(w->fd);
		w->fd = -1;
	}
	uv_close((uv_handle_t *)&w->timer, on_closed);
}
