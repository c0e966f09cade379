/* log.h - leveled logging to stderr and syslog, text or JSON lines, with repeats limited.
 *
 * Owns: the log sink, its format, and the one rate limit of repeated lines: an identical
 * message (same level, same text) is written at most VG_LOG_REPEAT_BURST times per
 * VG_LOG_REPEAT_WINDOW_MS; the repeats in between are counted, and the next copy written
 * says "(repeated N times)". Everything that logs goes through vg_log, so a loop that fails
 * the same way over and over costs a few lines, not a flood. Must not: allocate per message
 * on the heap, or block (stderr writes are small; syslog is local).
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { VG_LOG_ERROR, VG_LOG_WARN, VG_LOG_INFO, VG_LOG_DEBUG } vg_log_level;

#define VG_LOG_REPEAT_BURST	20    /* copies of one message written per window */
#define VG_LOG_REPEAT_WINDOW_MS 10000 /* the window, from the first copy written */
#define VG_LOG_REPEAT_SLOTS	32    /* distinct messages tracked at once (oldest evicted) */

/* The repeat limiter: which recent messages were written, and how many copies were held
 * back since. Pure: the caller passes the time. Zero-initialised is empty. */
typedef struct {
	struct {
		uint64_t key;	     /* hash of level and text; 0: free */
		uint64_t window_ms;  /* when the current window began (monotonic) */
		uint64_t last_ms;    /* the last copy seen (eviction picks the oldest) */
		uint32_t written;    /* copies written in the current window */
		uint64_t suppressed; /* copies held back since the last one written */
	} slot[VG_LOG_REPEAT_SLOTS];
} vg_log_repeat;

typedef struct {
	vg_log_level level; /* messages above this level are dropped */
	bool json;	    /* --log-format json */
	bool use_syslog;
	const char *node;      /* node name added to each line */
	vg_log_repeat repeats; /* the sink's limiter (mutable: the sink owns it) */
} vg_log_config;

/* Set the sink (the pointer is kept; it lives in main's context, which owns the limiter in
 * it). NULL: stderr, info, and no limit on repeats (there is no limiter to keep). */
void vg_log_init(vg_log_config *cfg);
void vg_log(vg_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The limiter's decision for one message (key: vg_log_key of it) seen at now_ms: true when
 * it is to be written, then *held_back says how many copies were held back before it (to
 * be said as "(repeated N times)"; 0: none). */
bool vg_log_repeat_admit(vg_log_repeat *r, uint64_t key, uint64_t now_ms, uint64_t *held_back);
/* The limiter's key of a message: never 0. */
uint64_t vg_log_key(vg_log_level lvl, const char *text);

#define vg_error(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)
#define vg_warn(...)  vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_info(...)  vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)

#endif
