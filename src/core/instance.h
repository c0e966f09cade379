/* instance.h - names and comparison of the instance types (instance-t.h).
 *
 * Owns: the text of a role and of a state as the JSON views spell them, and the equality of
 * two instance keys. Must not: keep state or do I/O.
 */
#ifndef VIGIL_INSTANCE_H
#define VIGIL_INSTANCE_H

#include <stdbool.h>

#include "instance-t.h"

/* ---- functions ------------------------------------------------------------ */

/* "stopped", "started", "unpromoted", "promoted" ("?" for a value out of range). */
const char *vg_instance_role_name(vg_instance_role r);
/* "running", "stopped", "starting", "stopping", "failed", "unmanaged", "unknown" ("?"). */
const char *vg_instance_state_name(vg_instance_state s);
/* The same resource name and instance number. */
bool vg_instance_key_equal(vg_instance_key a, vg_instance_key b);

#endif
