/* instance-t.h - the types of a resource instance: who it is, its role, its state.
 *
 * Owns: the identity of one instance of a resource on a node (the resource's name and an
 * instance number: a primitive is instance 0, a clone's copies are 0, 1, ...), the role it
 * has there and the state this node shows for it. Types only (HAProxy's *-t.h style): the
 * functions on them are instance.h's. These are the node's own view (supervisor.c); the
 * coordinator's record of an instance on a node is cluster_state.h's vg_inst_state, and the
 * role a plan gives one scheduler.h's vg_inst_role. Must not: include anything but the C
 * library's headers.
 */
#ifndef VIGIL_INSTANCE_T_H
#define VIGIL_INSTANCE_T_H

#include <stdint.h>

/* ---- types ---------------------------------------------------------------- */

/* One instance: (resource, instance). resource points at the configuration's name. */
typedef struct {
	const char *resource;
	uint32_t instance; /* 0 for a primitive */
} vg_instance_key;

/* The role an instance has on a node. */
typedef enum {
	VG_INSTANCE_ROLE_STOPPED,
	VG_INSTANCE_ROLE_STARTED, /* running, not promotable or not (yet) told which role */
	VG_INSTANCE_ROLE_UNPROMOTED,
	VG_INSTANCE_ROLE_PROMOTED,
	VG_INSTANCE_ROLE_COUNT
} vg_instance_role;

/* The state a node shows for an instance (`vigil status`, and the reports to the coordinator:
 * the names are part of the JSON users' scripts read). */
typedef enum {
	VG_INSTANCE_RUNNING,
	VG_INSTANCE_STOPPED, /* verifiably stopped */
	VG_INSTANCE_STARTING,
	VG_INSTANCE_STOPPING,
	VG_INSTANCE_FAILED,
	VG_INSTANCE_UNMANAGED, /* blocked, and it may still run: hands off until cleanup */
	VG_INSTANCE_UNKNOWN,   /* not probed yet */
	VG_INSTANCE_STATE_COUNT
} vg_instance_state;

#endif
