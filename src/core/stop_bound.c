/* stop_bound.c - how long a node needs to have certainly stopped what it runs (see
 * stop_bound.h). Must not: do I/O or read a clock.
 */
#include "stop_bound.h"

#define MAX_INTERVAL_MS 1000u /* feed at least once a second */

uint64_t vg_stop_bound_ms(const vg_config *cfg, const vg_resource *r)
{
	switch (r->cls) {
	case VG_CLASS_VIP:
		return VG_STOP_BOUND_VIP_MS;
	case VG_CLASS_PROCESS:
		return (cfg ? cfg->halt_grace_ms : 0) + VG_STOP_BOUND_KILL_MS;
	default:
		return VG_STOP_UNBOUNDED;
	}
}

uint64_t vg_watchdog_interval_ms(uint32_t timeout_s)
{
	uint64_t third = (uint64_t)timeout_s * 1000 / 3;
	return third < MAX_INTERVAL_MS ? third : MAX_INTERVAL_MS;
}

uint64_t vg_watchdog_deadline_ms(uint32_t timeout_s)
{
	return (uint64_t)timeout_s * 1000 + vg_watchdog_interval_ms(timeout_s);
}
