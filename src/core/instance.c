/* instance.c - names and comparison of the instance types (see instance.h).
 *
 * Owns: the one spelling of each role and state. Must not: keep state or do I/O.
 */
#include "instance.h"

#include <string.h>

const char *vg_instance_role_name(vg_instance_role r)
{
	static const char *const names[VG_INSTANCE_ROLE_COUNT] = {
	    [VG_INSTANCE_ROLE_STOPPED] = "stopped",
	    [VG_INSTANCE_ROLE_STARTED] = "started",
	    [VG_INSTANCE_ROLE_UNPROMOTED] = "unpromoted",
	    [VG_INSTANCE_ROLE_PROMOTED] = "promoted",
	};
	return (unsigned)r < VG_INSTANCE_ROLE_COUNT ? names[r] : "?";
}

const char *vg_instance_state_name(vg_instance_state s)
{
	static const char *const names[VG_INSTANCE_STATE_COUNT] = {
	    [VG_INSTANCE_RUNNING] = "running",	 [VG_INSTANCE_STOPPED] = "stopped",
	    [VG_INSTANCE_STARTING] = "starting", [VG_INSTANCE_STOPPING] = "stopping",
	    [VG_INSTANCE_FAILED] = "failed",	 [VG_INSTANCE_UNMANAGED] = "unmanaged",
	    [VG_INSTANCE_UNKNOWN] = "unknown",
	};
	return (unsigned)s < VG_INSTANCE_STATE_COUNT ? names[s] : "?";
}

bool vg_instance_key_equal(vg_instance_key a, vg_instance_key b)
{
	return a.instance == b.instance && a.resource && b.resource &&
	       !strcmp(a.resource, b.resource);
}
