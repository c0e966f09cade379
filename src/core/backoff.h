/* backoff.h - restart back-off for crash loops.
 *
 * Owns: how long to wait before restarting something that keeps failing. Pure
 * arithmetic: no clocks (the caller passes how long the thing ran), no I/O.
 */
#ifndef VIGIL_BACKOFF_H
#define VIGIL_BACKOFF_H

#include <stdint.h>

typedef struct {
	uint64_t base_ms;   /* delay after the second quick failure */
	uint64_t max_ms;    /* ceiling */
	uint64_t stable_ms; /* a run at least this long resets the streak */
	uint32_t streak;    /* quick failures in a row */
} vg_backoff;

void vg_backoff_init(vg_backoff *b, uint64_t base_ms, uint64_t max_ms, uint64_t stable_ms);
/* A failure after running ran_ms: returns the delay before the next restart. The first
 * failure after a stable run restarts at once (0 ms); each further quick failure doubles
 * the delay from base_ms up to max_ms. */
uint64_t vg_backoff_next(vg_backoff *b, uint64_t ran_ms);
void vg_backoff_reset(vg_backoff *b);

#endif
