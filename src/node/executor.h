/* executor.h - runs one resource-agent operation as a child process on the loop.
 *
 * Owns: spawning an OCF / LSB / systemd action with its environment, capturing its output,
 * enforcing its timeout (the whole process group is killed), and mapping the result to an
 * outcome. Must not: decide what to run next, or run two operations of one resource at once
 * (the supervisor serialises per resource).
 */
#ifndef VIGIL_EXECUTOR_H
#define VIGIL_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "ocf.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct {
	vg_op_kind op;
	bool probe;    /* a one-off monitor (interval 0) */
	int exit_code; /* agent's exit code; -1 when killed or not started */
	vg_outcome outcome;
	bool timed_out;
	uint64_t duration_us;
	char output[512]; /* tail of the agent's stdout+stderr */
} vg_op_result;

typedef void (*vg_exec_cb)(void *arg, const vg_op_result *res);

typedef struct vg_exec_op vg_exec_op;

/* ---- functions ------------------------------------------------------------ */

/* Start `op` of resource r (class ocf, lsb or systemd). The callback is called exactly
 * once, from the loop, never from inside this call. Returns NULL (and calls nothing) only
 * when memory is exhausted; a spawn failure is reported through the callback. */
vg_exec_op *vg_exec_run(uv_loop_t *loop, const char *ocf_root, const char *node_name,
			const vg_resource *r, vg_op_kind op, bool probe, uint64_t timeout_ms,
			vg_exec_cb cb, void *arg);

/* Kill an operation in flight (its process group); the callback still fires, as failed. */
void vg_exec_cancel(vg_exec_op *o);

#endif
