/* backoff.h - pacing for whatever fails again and again: crash loops and retried operations.
 *
 * Owns: how long to wait before restarting something that keeps failing (vg_backoff), and
 * the bounded, paced retries of an operation that must succeed (vg_retry: a stop). Pure
 * arithmetic: no clocks (the caller passes how long the thing ran), no I/O.
 */
#ifndef VIGIL_BACKOFF_H
#define VIGIL_BACKOFF_H

#include <stdbool.h>
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

/* Retries of one operation: at most max_tries tries in all, the k-th retry (k >= 1) after
 * base_ms * 2^(k-1), at most max_ms. Never at once: a retry is always paced. */
typedef struct {
	uint64_t base_ms;
	uint64_t max_ms;
	uint32_t max_tries; /* tries in all, the first included (>= 1) */
	uint32_t failed;    /* tries failed so far */
} vg_retry;

void vg_retry_init(vg_retry *r, uint64_t base_ms, uint64_t max_ms, uint32_t max_tries);
/* A try failed: true and *delay_ms the wait before the next try, or false when that was the
 * last one allowed (give up). */
bool vg_retry_failed(vg_retry *r, uint64_t *delay_ms);
/* A try succeeded (or the operator cleaned up): the next failure starts afresh. */
void vg_retry_reset(vg_retry *r);
/* The longest a run of failing tries can last beyond the tries themselves (the waits). */
uint64_t vg_retry_total_wait_ms(const vg_retry *r);

#endif
