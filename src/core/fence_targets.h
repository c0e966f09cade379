/* fence_targets.h - which configured fence devices can fence a node.
 *
 * Owns: the reading of fence_devices[].targets. Must not: run a device or decide what a
 * fencing result means (node/fence.c runs them; the coordinator decides).
 */
#ifndef VIGIL_FENCE_TARGETS_H
#define VIGIL_FENCE_TARGETS_H

#include <stdbool.h>

#include "config.h"

/* Does device d list `target` in its targets? */
bool vg_fence_device_targets(const vg_fence_device *d, const char *target);
/* Does any fence device of cfg list `target` in its targets? */
bool vg_fence_configured(const vg_config *cfg, const char *target);

#endif
