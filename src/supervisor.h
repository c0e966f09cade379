/* supervisor.h - the resources on this node: what runs, what to do about it.
 *
 * Owns: each local resource's observed state, the one operation in flight per resource,
 * recurring monitors, failcounts and their expiry, the on_fail policy, restart back-off,
 * adoption at start-up (probes), and the ordered stop at shutdown. In a standalone node it
 * also decides placement (everything here); in a cluster that decision comes from the
 * coordinator's scheduler. Must not: block, or talk to the network other than through the
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

typedef struct {
	uv_loop_t *loop;
	const vg_config *config;
	const char *node_name;
	const char *data_dir;
	const char *ocf_root; /* NULL: $OCF_ROOT or /usr/lib/ocf */
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

#endif
