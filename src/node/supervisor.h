/* supervisor.h - the resources on this node: what runs, what to do about it.
 *
 * Owns: each local resource's observed state, the one operation in flight per resource,
 * recurring monitors, failcounts and their expiry, the on_fail policy, restart back-off,
 * adoption at start-up (probes), and the ordered stop at shutdown. In a standalone node it
 * also decides placement (everything here). In a cluster (managed mode) the coordinator's
 * scheduler decides: the supervisor runs the start and stop it is asked for, reports every
 * change and every failure, and stops everything, in reverse order, when halted (quorum
 * or Corosync lost). Must not: block, or talk to the network other than through the
 * native resource modules.
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

/* Managed mode's reports to its owner. */
typedef struct {
	/* Something observable changed (state, an operation begun or ended); may come often:
	 * the owner coalesces. */
	void (*on_change)(void *arg);
	/* A resource failed here (monitor, start, exit of a process); hard: it cannot run on
	 * this node at all (not installed, not configured). */
	void (*on_failure)(void *arg, const char *resource, const char *what, bool hard);
} vg_supervisor_cbs;

typedef struct {
	uv_loop_t *loop;
	const vg_config *config;
	const char *node_name;
	const char *data_dir;
	const char *ocf_root; /* NULL: $OCF_ROOT or /usr/lib/ocf */
	bool managed;	      /* a cluster node: start/stop only when asked */
	vg_supervisor_cbs cbs;
	void *cb_arg;
} vg_supervisor_opts;

/* ---- functions ------------------------------------------------------------ */

vg_supervisor *vg_supervisor_new(const vg_supervisor_opts *opts);
/* Probe every resource, adopt what already runs, then start what should run. */
void vg_supervisor_start(vg_supervisor *s);
/* Stop every resource in reverse order; cb runs once all are stopped (or given up). */
void vg_supervisor_shutdown(vg_supervisor *s, vg_supervisor_done_cb cb, void *arg);
/* Close all handles; resources keep running (used after shutdown, or on a fatal error). */
void vg_supervisor_free(vg_supervisor *s);

/* The `vigil status --json` document. */
json_t *vg_supervisor_status(const vg_supervisor *s);
/* One resource in detail, or NULL when unknown. */
json_t *vg_supervisor_resource(const vg_supervisor *s, const char *name);
/* Operator actions: 0 ok, -1 unknown resource, -2 busy (an operation is in flight). */
int vg_supervisor_restart(vg_supervisor *s, const char *name);
int vg_supervisor_cleanup(vg_supervisor *s, const char *name);

/* ---- managed mode ---- */

/* Ask for a start or a stop (VG_OP_START / VG_OP_STOP) of a resource; 0, or -1 unknown. */
int vg_supervisor_request(vg_supervisor *s, const char *name, vg_op_kind op);
/* Halt: stop everything in reverse order and start nothing until un-halted. */
void vg_supervisor_halt(vg_supervisor *s, bool halt);
/* Nothing runs or is in flight here (failed stops aside: those count as running). */
bool vg_supervisor_all_stopped(const vg_supervisor *s);
/* Every resource probed since start-up (reports before that carry "unknown"). */
bool vg_supervisor_probed(const vg_supervisor *s);
/* {"NAME": "running"|"stopped"|"starting"|"stopping"|"failed"|"unmanaged"|"unknown", ...} */
json_t *vg_supervisor_report(const vg_supervisor *s);
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
