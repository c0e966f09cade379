/* log.h - leveled logging to stderr and syslog, text or JSON lines.
 *
 * Owns: the log sink and its format. Must not: allocate per message on the heap,
 * or block (stderr writes are small; syslog is local).
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdbool.h>

typedef enum { VG_LOG_ERROR, VG_LOG_WARN, VG_LOG_INFO, VG_LOG_DEBUG } vg_log_level;

typedef struct {
	vg_log_level level; /* messages above this level are dropped */
	bool json;	    /* --log-format json */
	bool use_syslog;
	const char *node; /* node name added to each line */
} vg_log_config;

/* Set the sink (the pointer is kept; it lives in main's context). NULL: stderr, info. */
void vg_log_init(const vg_log_config *cfg);
void vg_log(vg_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vg_error(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)
#define vg_warn(...)  vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_info(...)  vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)

#endif
