/* fence.h - runs fence devices (fence-agents programs) against a node, level by level.
 *
 * Owns: turning the fence devices of a configuration into agent runs over the fence-agents
 * stdin protocol (one `key=value` line per parameter), their timeouts and the topology
 * semantics of levels. Must not: decide when to fence, record that a node was fenced, or
 * block the loop.
 */
#ifndef VIGIL_FENCE_H
#define VIGIL_FENCE_H

#include <stdbool.h>

#include <uv.h>

#include "config.h"
#include "fence_targets.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_fence_op vg_fence_op;

typedef struct {
	bool ok;
	int level;	  /* level that succeeded (or last tried); 0 when none was tried */
	char device[256]; /* device that succeeded (or last failed), "" if none configured */
	char detail[512]; /* "fence_x off n2: ok", or why it failed (exit code, timeout, output) */
} vg_fence_result;

typedef void (*vg_fence_cb)(void *arg, const vg_fence_result *res);

/* ---- functions ------------------------------------------------------------ */

/* Fence `target` with `action` ("off", "reboot", "on", "status", "monitor"). Levels run in
 * ascending order; a level succeeds when every device of that level that targets the node
 * succeeds (run one after the other, in file order); the first level that succeeds ends it.
 * If all fail, cb gets ok=false with the reason of the last failure.
 *
 * One device run: the agent (a name looked up in /usr/sbin then $PATH, or a path) runs in
 * its own session with the daemon's environment and cwd "/"; its stdin carries one
 * `key=value` line per device parameter (except `action`), then `action=ACTION` and
 * `plug=TARGET` (unless the parameters name `plug` or `port`), and is then closed. It is
 * killed with its whole process group after the device's timeout_ms (20 s if 0); success is
 * exit 0. The tail of its stdout+stderr goes into the detail.
 *
 * Everything needed is copied: cfg may be freed once this returns. cb is called exactly
 * once, from the loop, never inside this call. Returns NULL only when memory is exhausted
 * (cb is then never called). */
vg_fence_op *vg_fence_run(uv_loop_t *loop, const vg_config *cfg, const char *target,
			  const char *action, vg_fence_cb cb, void *arg);

/* Stop: kills a running agent (its process group); cb is NOT called afterwards. Memory is
 * released through the loop. Must not be called once cb has run. */
void vg_fence_cancel(vg_fence_op *op);

#endif
