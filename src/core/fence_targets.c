/* fence_targets.c - which configured fence devices can fence a node (see fence_targets.h).
 *
 * Owns: nothing but the lookup. Must not: do I/O.
 */
#include "fence_targets.h"

#include <string.h>

bool vg_fence_device_targets(const vg_fence_device *d, const char *target)
{
	for (size_t t = 0; t < d->n_targets; t++)
		if (d->targets[t] && strcmp(d->targets[t], target) == 0)
			return true;
	return false;
}

bool vg_fence_configured(const vg_config *cfg, const char *target)
{
	if (!cfg || !target)
		return false;
	for (size_t i = 0; i < cfg->n_fence_devices; i++)
		if (vg_fence_device_targets(&cfg->fence_devices[i], target))
			return true;
	return false;
}
