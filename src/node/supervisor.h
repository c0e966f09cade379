/* supervisor.h - the resources on this node: what runs, what to do about it.
 *
 * Owns: each local resource's observed state, the one operation in flight per resource,
 * recurring monitors, failcounts, restart back-off, the paced and bounded retries of a failed
 * stop, adoption at start-up (probes), the ordered stop at shutdown and the halt. The
 * coordinator's scheduler decides what runs where (on_fail, migration_threshold,
 * failure_timeout), in both modes (a standalone node is a cluster of one): the supervisor runs
 * the start and stop it is asked for, reports every change and every failure, and stops
 * everything at once when halted (quorum, Corosync or the lease lost), within the bounds of
 * stop_bound.h. Must not: decide placement, block, or talk to the network other than through
 * the native resource modules.
 *
 * Retries never spin: a start after a failure waits its back-off (backoff.h: 0 ms after a
 * stable run, then 100 ms doubling to 30 s), also when the coordinator asks again at once;
 * a failed stop is tried again after 1 s and 2 s, and the third failure leaves the resource
 * blocked (on_stop_failed). An agent answering "not installed" (OCF 5, or no agent at all)
 * or "not configured" (OCF 6) to any operation means the resource is not running here and
 * may not start here until cleanup: no stop is attempted, and it is a hard failure.
 */
#ifndef VIGIL_SUPERVISOR_H
#define VIGIL_SUPERVISOR_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_supervisor vg_supervisor;

typedef void (*vg_supervisor_done_cb)(void *arg);

/* An operation that ended (for alerts). */
typedef struct {
	const char *resource;
	const char *task; /* "start", "stop", "monitor", "promote", ... */
	bool probe;	  /* a probe (a monitor at start-up or after cleanup) */
	uint64_t interval_ms;
	int rc;		/* the OCF exit code (classes without one give OCF's meaning) */
	bool timed_out; /* killed at its timeout */
	uint64_t exec_ms;
} vg_supervisor_op;

/* Reports to its owner (the cluster). */
typedef struct {
	/* Something observable changed (state, an operation begun or ended); may come often:
	 * the owner coalesces. */
	void (*on_change)(void *arg);
	/* A resource failed here (monitor, start, exit of a process); hard: it cannot run on
	 * this node at all (not installed, not configured: it is also not running here). */
	void (*on_failure)(void *arg, const char *resource, const char *what, bool hard);
	/* Every try of a stop failed (STOP_TRIES, paced): the resource is blocked here and may
	 * still run, so it is not stopped until cleanup or fencing. fence: on_fail is not
	 * `block`, so this node asks to be fenced (the cluster sends the coordinator a fence
	 * request for it); with `block` it stays as it is. NULL: blocked only. */
	void (*on_stop_failed)(void *arg, const char *resource, const char *what, bool fence);
	/* Every operation that ended, but one a halt cancelled. NULL: not told. */
	void (*on_op)(void *arg, const vg_supervisor_op *op);
} vg_supervisor_cbs;

typedef struct {
	uv_loop_t *loop;
	const vg_config *config;
	const char *node_name;
	const char *data_dir;
	const char *ocf_root; /* NULL: $OCF_ROOT or /usr/lib/ocf */
	vg_supervisor_cbs cbs;
	void *cb_arg;
} vg_supervisor_opts;

/* ---- functions ------------------------------------------------------------ */

vg_supervisor *vg_supervisor_new(const vg_supervisor_opts *opts);
/* Probe every resource and adopt what already runs; starts come from the coordinator. */
void vg_supervisor_start(vg_supervisor *s);
/* Stop every resource in reverse order; cb runs once all are stopped or blocked (a stop that
 * failed for good): vg_supervisor_all_stopped then says whether this was a clean stop
 * (everything verifiably stopped: the cluster says "bye" only then). */
void vg_supervisor_shutdown(vg_supervisor *s, vg_supervisor_done_cb cb, void *arg);
/* Close all handles; resources keep running (used after shutdown, or on a fatal error). */
void vg_supervisor_free(vg_supervisor *s);

/* One resource in detail, or NULL when unknown. */
json_t *vg_supervisor_resource(const vg_supervisor *s, const char *name);
/* Cleanup (the operator's, passed on by the coordinator): forget failures here and probe again;
 * 0 ok, -1 unknown resource, -2 busy (an operation is in flight). */
int vg_supervisor_cleanup(vg_supervisor *s, const char *name);

/* ---- driven by the coordinator ---- */

/* Ask for a start or a stop (VG_OP_START / VG_OP_STOP) of a resource; 0, or -1 unknown. */
int vg_supervisor_request(vg_supervisor *s, const char *name, vg_op_kind op);
/* Halt: stop everything at once, in parallel, and start nothing until un-halted. An operation
 * in flight (probe, monitor, start) is cancelled (its process group killed); every vip is
 * removed by netlink before this returns; every process gets SIGTERM now and SIGKILL of its
 * process group cluster.halt_grace later (a process already stopping gets at most that);
 * every agent's stop (ocf, lsb, systemd) starts now, none waits for another. Pending probes
 * are not waited for. These are the bounds of vg_stop_bound_ms. Un-halting lets the
 * coordinator's requests run again. */
void vg_supervisor_halt(vg_supervisor *s, bool halt);
/* Everything here is verifiably stopped: nothing in flight, nothing unknown, no stop failed
 * or waiting for its retry, nothing blocked while it may run. (A resource whose agent is not
 * installed here counts as stopped: it cannot run.) */
bool vg_supervisor_all_stopped(const vg_supervisor *s);
/* Every resource probed since start-up (reports before that carry "unknown"). */
bool vg_supervisor_probed(const vg_supervisor *s);
/* {"NAME": "running"|"stopped"|"starting"|"stopping"|"failed"|"unmanaged"|"unknown", ...}
 * "stopped" only when verifiably stopped: never for an instance that failed, is blocked, is
 * being stopped (or waits for a stop's retry) or is unmanaged. An instance its agent says is
 * not installed or not configured here is "stopped" (it cannot be running; its hard failure
 * went through on_failure, and vg_supervisor_reasons says why). */
json_t *vg_supervisor_report(const vg_supervisor *s);
/* {"NAME": "last error", ...} for each resource here that has failed since its last cleanup
 * (also one stopped by now, or given up), for `vigil status` to say why. */
json_t *vg_supervisor_errors(const vg_supervisor *s);
/* {"NAME": "why", ...}: the resources that cannot run on this node (their agent is not
 * installed here: the configuration was loaded with vg_config_load_local, or a probe answered
 * OCF "not installed"). Nothing is run for them, not even a stop; vg_supervisor_report gives
 * them as "stopped", the other views as "failed"; a cleanup probes again. */
json_t *vg_supervisor_unrunnable(const vg_supervisor *s);
/* Switch to cfg: resources it drops or redefines are stopped first, then the switch is made
 * (new resources are probed) and cb runs; from then on cfg must outlive the supervisor and
 * the previous configuration is no longer used. -1 when a switch is already under way. */
int vg_supervisor_set_config(vg_supervisor *s, const vg_config *cfg, vg_supervisor_done_cb cb,
			     void *arg);

#endif
