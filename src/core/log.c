/* log.c - leveled logging to stderr and syslog (see log.h).
 *
 * The one piece of process-wide state is the pointer to the sink's configuration,
 * which is owned by main; it is set once at start-up, before the loop runs.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const vg_log_config *sink; /* set once by main; read-only afterwards */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void vg_log_init(const vg_log_config *cfg)
{
	sink = cfg;
	if (cfg && cfg->use_syslog)
		openlog("vigild", LOG_PID, LOG_DAEMON);
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

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

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
