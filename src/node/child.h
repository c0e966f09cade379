/* child.h - a child process run to completion on the loop.
 *
 * Owns: one program run in its own session (so its whole process group can be killed), with
 * an optional stdin text, the tail of its stdout+stderr, a timeout that kills its process
 * group, and one completion callback once all of it is closed. Must not: know what the child
 * is or what its result means (that is the caller's business), or block the loop.
 */
#ifndef VIGIL_CHILD_H
#define VIGIL_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* ---- types ---------------------------------------------------------------- */

#define VG_CHILD_OUTPUT_MAX 1024 /* bytes of output kept: the last ones */

typedef struct vg_child vg_child;

typedef struct {
	const char *file;  /* program; NULL: nothing is run (cb reports UV_ENOENT) */
	char **args;	   /* argv, NULL-terminated; args[0] is usually file */
	char **env;	   /* NULL: the daemon's environment */
	const char *input; /* stdin text (must fit in a pipe, 64 KiB); NULL: stdin ignored */
	size_t input_len;
	uint64_t timeout_ms; /* the process group is killed (SIGKILL) after this long */
	size_t output_max;   /* bytes of output kept (the last ones); 0: VG_CHILD_OUTPUT_MAX */
	bool stdout_only;    /* stderr goes to /dev/null (output that is data, e.g. XML) */
} vg_child_opts;

typedef struct {
	int error;	      /* 0 when it ran; else the libuv error that kept it from running */
	bool spawn_failed;    /* that error came from starting the program, not from its pipes */
	const char *why;      /* when error: "cannot make a pipe: ...", "cannot run FILE: ..." */
	bool timed_out;	      /* killed at the timeout */
	bool cancelled;	      /* killed by vg_child_cancel */
	int64_t status;	      /* exit status */
	int sig;	      /* signal that ended it, 0 when it exited */
	int pid;	      /* 0 when it did not run */
	uint64_t duration_us; /* from vg_child_run to this callback */
	const char *output;   /* tail of its stdout+stderr, NUL-terminated (may hold NULs) */
	size_t output_len;    /* at most output_max */
	bool output_cut;      /* it wrote more than output_max: the start is missing */
} vg_child_result;

/* res and the strings in it are valid during the call only; the child is freed after it. */
typedef void (*vg_child_cb)(void *arg, const vg_child_result *res);

/* ---- functions ------------------------------------------------------------ */

/* Run opts->file with cwd "/" in a session of its own; stdout and stderr share one pipe.
 * The stdin text is written into a pipe that is closed before the child starts, so it reads
 * the whole text, then end-of-file. The run ends when the child exits (not at end-of-file
 * of its output: a helper left behind may hold the pipe); what it wrote up to then is kept.
 * opts and what it points to are used during this call only.
 *
 * cb is called exactly once, from the loop, never inside this call; a failure to start is
 * reported through it. Returns NULL (and calls nothing) only when memory is exhausted. */
vg_child *vg_child_run(uv_loop_t *loop, const vg_child_opts *opts, vg_child_cb cb, void *arg);

/* The child's process id, 0 if it did not start. Valid until cb is called. */
int vg_child_pid(const vg_child *c);

/* Kill the child's process group if it is still running; cb still fires (cancelled set if it
 * was killed here). Must not be called once cb has run. */
void vg_child_cancel(vg_child *c);

#endif
