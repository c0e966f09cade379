/* backoff.c - restart back-off for crash loops (see backoff.h). Pure arithmetic. */
#include "backoff.h"

void vg_backoff_init(vg_backoff *b, uint64_t base_ms, uint64_t max_ms, uint64_t stable_ms)
{
	b->base_ms = base_ms;
	b->max_ms = max_ms;
	b->stable_ms = stable_ms;
	b->streak = 0;
}

uint64_t vg_backoff_next(vg_backoff *b, uint64_t ran_ms)
{
	if (ran_ms >= b->stable_ms)
		b->streak = 0;
	uint64_t delay = 0;
	if (b->streak > 0) {
		delay = b->base_ms;
		for (uint32_t i = 1; i < b->streak && delay < b->max_ms; i++)
			delay *= 2;
		if (delay > b->max_ms)
			delay = b->max_ms;
	}
	if (b->streak < UINT32_MAX)
		b->streak++;
	return delay;
}

void vg_backoff_reset(vg_backoff *b)
{
	b->streak = 0;
}
