/* log.c - leveled logging to stderr and syslog, with repeats limited (see log.h).
 *
 * The one piece of process-wide state is the pointer to the sink's configuration (and the
 * repeat limiter in it), which is owned by main; it is set once at start-up, before the loop
 * runs, and only the loop's thread logs. Must not: allocate, or block.
 */
#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static vg_log_config *sink; /* set once by main; the limiter in it is the loop thread's */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void vg_log_init(vg_log_config *cfg)
{
	sink = cfg;
	if (cfg)
		memset(&cfg->repeats, 0, sizeof cfg->repeats);
	if (cfg && cfg->use_syslog)
		openlog("vigild", LOG_PID, LOG_DAEMON);
}

uint64_t vg_log_key(vg_log_level lvl, const char *text)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	h = (h ^ (uint64_t)lvl) * 1099511628211ull;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h ? h : 1;
}

bool vg_log_repeat_admit(vg_log_repeat *r, uint64_t key, uint64_t now_ms, uint64_t *held_back)
{
	*held_back = 0;
	size_t free_i = VG_LOG_REPEAT_SLOTS, oldest = 0;
	for (size_t i = 0; i < VG_LOG_REPEAT_SLOTS; i++) {
		if (r->slot[i].key == key) {
			if (now_ms - r->slot[i].window_ms >= VG_LOG_REPEAT_WINDOW_MS ||
			    now_ms < r->slot[i].window_ms) {
				/* a new window: this copy is written, with what was held back */
				*held_back = r->slot[i].suppressed;
				r->slot[i].window_ms = now_ms;
				r->slot[i].written = 0;
				r->slot[i].suppressed = 0;
			}
			r->slot[i].last_ms = now_ms;
			if (r->slot[i].written < VG_LOG_REPEAT_BURST) {
				r->slot[i].written++;
				return true;
			}
			r->slot[i].suppressed++;
			return false;
		}
		if (!r->slot[i].key && free_i == VG_LOG_REPEAT_SLOTS)
			free_i = i;
		if (r->slot[i].last_ms < r->slot[oldest].last_ms)
			oldest = i;
	}
	/* A message not seen lately: track it (in place of the one seen least lately, whose
	 * held-back copies are then not said: a message that stopped repeating). */
	size_t i = free_i < VG_LOG_REPEAT_SLOTS ? free_i : oldest;
	r->slot[i].key = key;
	r->slot[i].window_ms = now_ms;
	r->slot[i].last_ms = now_ms;
	r->slot[i].written = 1;
	r->slot[i].suppressed = 0;
	return true;
}

static void json_escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;
	for (; *in && o + 7 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

void vg_log(vg_log_level lvl, const char *fmt, ...)
{
	vg_log_level max = sink ? sink->level : VG_LOG_INFO;
	if (lvl > max)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	if (sink) {
		uint64_t now = vg_clock_mono_ms();
		uint64_t held = 0;
		if (!vg_log_repeat_admit(&sink->repeats, vg_log_key(lvl, msg), now, &held))
			return;
		if (held) {
			size_t n = strlen(msg);
			if (n + 40 >= sizeof msg)
				n = sizeof msg - 40;
			snprintf(msg + n, sizeof msg - n, " (repeated %llu times)",
				 (unsigned long long)held);
		}
	}

	uint64_t wall = vg_clock_wall_ms();
	time_t secs = (time_t)(wall / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char when[40];
	size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof when - n, ".%03uZ", (unsigned)(wall % 1000));

	const char *node = sink && sink->node ? sink->node : "-";
	if (sink && sink->json) {
		char esc[4200];
		json_escape(esc, sizeof esc, msg);
		fprintf(stderr,
			"{\"time\":\"%s\",\"level\":\"%s\",\"node\":\"%s\",\"msg\":\"%s\"}\n", when,
			level_names[lvl], node, esc);
	} else {
		fprintf(stderr, "%s %s %-5s %s\n", when, node, level_names[lvl], msg);
	}
	if (sink && sink->use_syslog) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		syslog(prio[lvl], "%s", msg);
	}
}
