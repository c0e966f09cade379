/* rclass.h - the resource-class interface: how one instance's operations are performed.
 *
 * Owns: the vtable every class fills in (probe, start, stop, monitor, promote, demote, notify,
 * and what a halt needs: abandoning what is in flight, bounding a stop), one instance of a
 * resource on this node keyed by (resource, instance) with its class's state, the contract of
 * an operation's completion (the callback is called exactly once, from the loop, never inside
 * the call that began it, as in child.h), the "unsupported" answer of a class that has no such
 * operation (OCF's UNIMPLEMENTED, 3), and the native check (check.h) run as a monitor. The
 * classes are one file each: class_agent.c (ocf, lsb, systemd over executor.c), class_vip.c
 * (vip.c and garp.c), class_process.c (process.c and check.c for readiness).
 * Must not: decide anything (what to run next, retries, failure policy: the supervisor's),
 * run two operations of one instance at once (the owner serialises), or block.
 */
#ifndef VIGIL_RCLASS_H
#define VIGIL_RCLASS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "instance-t.h"
#include "ocf.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_rinst vg_rinst;

/* How an operation ended. A class without the operation answers exit_code
 * VG_OCF_ERR_UNIMPLEMENTED with vg_ocf_outcome's outcome for it (hard for promote and demote,
 * ok for notify) and says so in output, without running anything. */
typedef struct {
	vg_op_kind op; /* VG_OP_MONITOR for a probe */
	bool probe;    /* a one-off monitor that finds out what runs */
	vg_outcome outcome;
	int exit_code;	/* OCF's numbers; -1 when nothing ran to its end */
	bool timed_out; /* an agent killed at its timeout */
	uint64_t duration_us;
	const char *output; /* the agent's output, or what went wrong; "" when none */
} vg_rclass_result;

/* res and its strings are valid during the call only. */
typedef void (*vg_rclass_cb)(void *arg, const vg_rclass_result *res);
/* The resource ended by itself, outside of any stop (a process exited): WHAT says how. Comes
 * from the loop; after the completion of an operation whose answer was already given. */
typedef void (*vg_rclass_exit_cb)(void *arg, const char *what);
typedef void (*vg_rclass_closed_cb)(void *arg);

typedef struct {
	uv_loop_t *loop;
	const vg_resource *cfg; /* must outlive the instance (or vg_rinst_set_config) */
	uint32_t instance;	/* 0 for a primitive */
	/* these must outlive the instance */
	const char *ocf_root; /* NULL: $OCF_ROOT or /usr/lib/ocf */
	const char *node_name;
	const char *data_dir; /* where a process keeps its log and adoption record */
	vg_rclass_exit_cb on_exit;
	void *arg; /* of on_exit */
} vg_rinst_opts;

/* A class: each operation begins on instance i (i->op and i->probe say which, i->cfg what)
 * and ends with vg_rinst_done (or vg_rinst_done_res), which keeps the completion contract for
 * every class: called inside the operation it is delivered from the loop. NULL promote, demote
 * or notify: unsupported (the answer above). */
typedef struct {
	const char *name;
	/* A stop that is done within the call (one netlink request): a halt runs these first. */
	bool stops_at_once;
	void (*init)(vg_rinst *i); /* set i->priv up (handles on i->loop, vg_rinst_pend them) */
	void (*probe)(vg_rinst *i);
	void (*start)(vg_rinst *i);
	void (*stop)(vg_rinst *i);
	void (*monitor)(vg_rinst *i);
	void (*promote)(vg_rinst *i);
	void (*demote)(vg_rinst *i);
	void (*notify)(vg_rinst *i);
	/* A halt: end the operation in flight (never a stop) now. true: it is over, nothing of it
	 * is left running and its completion will not come; false: it is being killed and its
	 * completion still comes (as failed). NULL: nothing of the class runs asynchronously. */
	bool (*abandon)(vg_rinst *i);
	/* A halt began (i->halted) while a stop is in flight: it must end within
	 * i->halt_grace_ms from now. NULL: nothing bounds the class's stop. */
	void (*bound_stop)(vg_rinst *i);
	int (*pid)(const vg_rinst *i); /* the process watched, 0 none; NULL: never any */
	/* Release everything (a process is left running): handles are closed and each
	 * vg_rinst_unpend-ed when closed; an operation in flight is cancelled and its
	 * completion is not delivered. NULL: nothing to release. */
	void (*close)(vg_rinst *i);
} vg_class_ops;

/* The instance. The owner uses only the functions below; the fields are for the classes. */
struct vg_rinst {
	const vg_class_ops *ops;
	uv_loop_t *loop;
	vg_instance_key key;
	const vg_resource *cfg;
	const char *ocf_root;
	const char *node_name;
	const char *data_dir;
	vg_rclass_exit_cb on_exit;
	void *exit_arg;
	bool halted; /* a halt: a stop gets halt_grace_ms, and takes what the resource left */
	uint64_t halt_grace_ms;
	void *priv; /* the class's own state (freed with the instance) */

	/* the operation in flight (rclass.c's) */
	bool busy;
	vg_op_kind op;
	bool probe;
	bool in_call; /* inside the call that began it: a completion is deferred */
	uint64_t t0_ns;
	vg_rclass_cb cb;
	void *cb_arg;
	bool deferred; /* a completion waits for the defer timer */
	vg_rclass_result dres;
	char dout[512];
	char dexit[256]; /* an exit that came while a completion was deferred */
	bool dexit_due;
	uv_timer_t defer;
	struct vg_rinst_check *check; /* the native check running for this instance */
	bool check_monitor;	      /* ... as the monitor in flight */
	int pending;		      /* handles and callbacks still due before it is freed */
	bool closing;
	vg_rclass_closed_cb closed_cb;
	void *closed_arg;
};

/* Done callback of a class's own check (vg_rinst_check); DETAIL valid during the call. */
typedef void (*vg_rinst_check_cb)(vg_rinst *i, bool ok, const char *detail);

/* ---- the owner's functions ----------------------------------------------- */

/* The instance of cfg (its class is cfg->cls's). Aborts when memory is exhausted. */
vg_rinst *vg_rinst_new(const vg_rinst_opts *o);
/* Begin OP (probe: a one-off monitor finding out what runs). One at a time: not while
 * vg_rinst_busy. cb is called exactly once, from the loop, never inside this call (unless
 * the operation is abandoned, or the instance closed, first). */
void vg_rinst_run(vg_rinst *i, vg_op_kind op, bool probe, vg_rclass_cb cb, void *arg);
void vg_rinst_probe(vg_rinst *i, vg_rclass_cb cb, void *arg);
bool vg_rinst_busy(const vg_rinst *i);
/* Halt (see vg_class_ops.abandon): end the operation in flight, which must not be a stop.
 * true: it is over now and cb will not be called (what it did is unknown: a start or a probe
 * may have left the resource running); false: cb still comes. */
bool vg_rinst_abandon(vg_rinst *i);
/* Halted: every stop ends within grace_ms (a process's group is then killed, with what it
 * left behind), also one in flight now. Un-halted: stops get their own timeouts again. */
void vg_rinst_halt(vg_rinst *i, bool halted, uint64_t grace_ms);
/* Does the class's stop complete its work within vg_rinst_run (a halt runs these first)? */
bool vg_rinst_stops_at_once(const vg_rinst *i);
/* The process the instance watches (a `process` resource), 0 when none. */
int vg_rinst_pid(const vg_rinst *i);
/* The class's name ("ocf", "vip", ...). */
const char *vg_rinst_class(const vg_rinst *i);
/* The configuration changed but not the resource (same class and definition). */
void vg_rinst_set_config(vg_rinst *i, const vg_resource *cfg);
/* Free the instance: what is in flight is cancelled and its cb is not called, a process is
 * left running (and no longer watched). cb (may be NULL) runs once, from the loop, when
 * everything is closed: the loop may then be closed. */
void vg_rinst_close(vg_rinst *i, vg_rclass_closed_cb cb, void *arg);

/* ---- the classes' functions ---------------------------------------------- */

/* The vtable of a class. */
const vg_class_ops *vg_class_ops_of(vg_rclass cls);
extern const vg_class_ops vg_class_ocf, vg_class_lsb, vg_class_systemd, vg_class_vip,
    vg_class_process;

/* The operation in flight ends: OUTPUT (may be NULL) is copied. Duration: since it began. */
void vg_rinst_done(vg_rinst *i, vg_outcome out, int exit_code, const char *output);
/* The same with a whole result (op and probe are the instance's). */
void vg_rinst_done_res(vg_rinst *i, const vg_rclass_result *res);
/* It ends as "unsupported by this class" (see vg_rclass_result). */
void vg_rinst_unsupported(vg_rinst *i);
/* The resource ended by itself (see vg_rclass_exit_cb). */
void vg_rinst_exited(vg_rinst *i, const char *what);
/* The timeout of OP (a probe's is the monitor's): the configured one, else 20 s. */
uint64_t vg_rinst_timeout(const vg_rinst *i, vg_op_kind op);
/* The monitor in flight is the resource's native check (cfg->check): ok is running, else
 * failed (exit code 0 or 1, the check's detail as output). */
void vg_rinst_monitor_check(vg_rinst *i);
/* Run the native check for a class's own use (a process's readiness); done is called from
 * the loop unless vg_rinst_check_drop comes first. 0, or -1 when it cannot run (no call). */
int vg_rinst_check(vg_rinst *i, uint64_t timeout_ms, vg_rinst_check_cb done);
/* Cancel the running check, if any: its done is not called. */
void vg_rinst_check_drop(vg_rinst *i);
/* Something of the class is still to come back (a handle's close, a child's end) before the
 * instance may be freed; and it came back. */
void vg_rinst_pend(vg_rinst *i);
void vg_rinst_unpend(vg_rinst *i);

#endif
