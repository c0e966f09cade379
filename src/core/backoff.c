/* backoff.c - restart back-off and bounded, paced retries (see backoff.h). Pure arithmetic. */
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

void vg_retry_init(vg_retry *r, uint64_t base_ms, uint64_t max_ms, uint32_t max_tries)
{
	r->base_ms = base_ms ? base_ms : 1;
	r->max_ms = max_ms < r->base_ms ? r->base_ms : max_ms;
	r->max_tries = max_tries ? max_tries : 1;
	r->failed = 0;
}

static uint64_t retry_delay(const vg_retry *r, uint32_t k)
{
	uint64_t d = r->base_ms;
	for (uint32_t i = 1; i < k && d < r->max_ms; i++)
		d = d > r->max_ms / 2 ? r->max_ms : d * 2;
	return d > r->max_ms ? r->max_ms : d;
}

bool vg_retry_failed(vg_retry *r, uint64_t *delay_ms)
{
	if (r->failed < UINT32_MAX)
		r->failed++;
	if (r->failed >= r->max_tries) {
		*delay_ms = 0;
		return false;
	}
	*delay_ms = retry_delay(r, r->failed);
	return true;
}

void vg_retry_reset(vg_retry *r)
{
	r->failed = 0;
}

uint64_t vg_retry_total_wait_ms(const vg_retry *r)
{
	uint64_t t = 0;
	for (uint32_t k = 1; k < r->max_tries; k++)
		t += retry_delay(r, k);
	return t;
}
