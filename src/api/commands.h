/* commands.h - the one table of vigild's commands, shared by every way in (the control socket,
 * the CLI, the HTTP API to come).
 *
 * Owns: each command's name on the wire, the argument that names its object (a resource or a
 * node), whether it changes anything (the HTTP API will require the token for those), whether
 * a starting vigild answers it, and the dispatch of a request to a mode's handler with the
 * checks every command shares (known command, available in this mode, object named). Must
 * not: do what a command does; the standalone node (vigild.c) and the cluster (cluster.c)
 * each give a handler per command they serve.
 *
 * Reply codes are the CLI's exit codes (control.h): 2 for a request that is wrong whatever
 * the cluster's state (unknown command, missing or unknown object), 1 for one that failed,
 * 3 when the cluster cannot be reached or has no quorum.
 */
#ifndef VIGIL_COMMANDS_H
#define VIGIL_COMMANDS_H

#include <stdbool.h>

#include <jansson.h>

#include "control.h"

/* ---- types ---------------------------------------------------------------- */

typedef enum {
	VG_CMD_PING,
	VG_CMD_STATUS,
	VG_CMD_CONFIG_SHOW,
	VG_CMD_EVENTS,
	VG_CMD_APPLY,
	VG_CMD_RESOURCE_SHOW,
	VG_CMD_RESOURCE_RESTART,
	VG_CMD_RESOURCE_CLEANUP,
	VG_CMD_NODE_STANDBY,
	VG_CMD_NODE_UNSTANDBY,
	VG_CMD_NODE_MAINTENANCE,
	VG_CMD_NODE_FENCE,
	VG_CMD_NODE_CONFIRM_DOWN,
	VG_CMD_COUNT
} vg_cmd_id;

/* The argument that names a command's object: "name" for a resource, "node" for a node. */
typedef enum { VG_TARGET_NONE, VG_TARGET_RESOURCE, VG_TARGET_NODE } vg_cmd_target;

typedef struct {
	vg_cmd_id id;
	const char *name; /* on the control socket: {"cmd": name, "args": {...}} */
	vg_cmd_target target;
	bool writes;	     /* changes the cluster's state or a resource */
	bool while_starting; /* answered before the node runs (its agents' meta-data is read) */
	const char *what;    /* one line, for errors and listings */
} vg_cmd;

/* One handler per command a mode serves. target is the checked value of the command's
 * target argument (NULL for VG_TARGET_NONE); args is never NULL. */
typedef void (*vg_cmd_fn)(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
			  vg_control_reply *r);

typedef struct {
	const char *mode;	    /* for "not available" errors: "a standalone node" */
	vg_cmd_fn fn[VG_CMD_COUNT]; /* NULL: not served in this mode */
	/* Optional: whether the object exists; when not, the reply is "no resource/node named". */
	bool (*exists)(void *ctx, vg_cmd_target kind, const char *name);
} vg_cmd_handlers;

/* ---- functions ------------------------------------------------------------ */

/* The table, in vg_cmd_id order. */
const vg_cmd *vg_cmd_get(vg_cmd_id id);
/* NULL when no command has that name. */
const vg_cmd *vg_cmd_by_name(const char *name);
/* Look name up, check its target argument (present, a string, and known to h->exists), and
 * call its handler in h. A name not in the table is "unknown command 'X'" (code 2); a
 * command h does not serve is "'X' is not available on MODE" (code 2); starting: only the
 * commands marked while_starting are served, the others refused with code 1. */
void vg_cmd_dispatch(const vg_cmd_handlers *h, void *ctx, bool starting, const char *name,
		     json_t *args, vg_control_reply *r);
/* Fill r with code and a printf-style error. */
void vg_cmd_fail(vg_control_reply *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
