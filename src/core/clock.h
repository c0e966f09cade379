/* clock.h - the one clock helper: monotonic time for intervals and deadlines, wall time for
 * what people and other machines read.
 *
 * Owns: reading the two clocks. The monotonic one is libuv's (uv_hrtime and loop times are
 * CLOCK_MONOTONIC on Linux), so values from here and from the loop compare. Must not: be
 * called by the pure decision code (coordinator, scheduler, lease, member protocol): they are
 * given the time by their callers, so that tests drive it.
 */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stdint.h>

/* ---- functions ------------------------------------------------------------ */

uint64_t vg_clock_mono_ns(void);
uint64_t vg_clock_mono_ms(void);
/* Milliseconds since the epoch (CLOCK_REALTIME): for logs, events and records people read;
 * never to order what happened on different machines. */
uint64_t vg_clock_wall_ms(void);

#endif
