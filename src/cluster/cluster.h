/* cluster.h - this server as a member of a cluster: over Corosync, or, standalone, as a
 * cluster of one (membership.h's loopback backend), driven by the same coordinator, scheduler
 * and rules.
 *
 * Owns: the membership connection, the replicated state (applied in agreed order, saved after
 * every change, brought in step after membership changes), the committed configuration and
 * switching to a new one, this node's supervisor in managed mode, its reports, the actions
 * addressed to it, halting on quorum or Corosync loss, fencing on the coordinator's behalf,
 * and the control commands of a cluster node. Must not: decide placement (coordinator.c and
 * scheduler.c do) or block the loop.
 */
#ifndef VIGIL_CLUSTER_H
#define VIGIL_CLUSTER_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "control.h"
#include "metadata.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_cluster vg_cluster;

typedef struct {
	uv_loop_t *loop;
	const char *node;
	const char *data_dir;
	const char *ocf_root;	 /* NULL: default */
	const char *config_path; /* the file vigild was given */
	vg_config *file_config;	 /* loaded from it; the cluster takes ownership */
	/* The agents' meta-data (vigild's; it outlives the cluster). Every configuration is
	 * loaded from it, after vg_md_cache_prepare: the cluster's at start-up must be in it. */
	vg_md_cache *agents;
	/* The local Corosync does not match the configuration: vigild must not run here. */
	void (*on_fatal)(void *arg);
	void *fatal_arg;
	/* One server, no Corosync: a cluster of one. The file vigild was given is the
	 * configuration (committed at start when the saved one differs: there is nobody to
	 * agree with); the status says "mode": "standalone"; what changes a cluster (nodes,
	 * apply) is not served. */
	bool standalone;
} vg_cluster_opts;

typedef void (*vg_cluster_done_cb)(void *arg);

/* ---- functions ------------------------------------------------------------ */

/* Load the saved replicated state (DATA/state.json + DATA/changes.log, store.h). NULL with
 * err when it is unreadable. */
vg_cluster *vg_cluster_new(const vg_cluster_opts *o, char *err, size_t errlen);
/* Probe local resources, connect to Corosync (retrying until it is there). */
void vg_cluster_start(vg_cluster *c);
/* Stop every local resource (the others take them over), say goodbye, then cb. */
void vg_cluster_shutdown(vg_cluster *c, vg_cluster_done_cb cb, void *arg);
/* Release everything (after shutdown or on a fatal error); run the loop afterwards. */
void vg_cluster_free(vg_cluster *c);
/* A control command (see README, "Control socket"). */
void vg_cluster_handle(vg_cluster *c, const char *cmd, json_t *args, vg_control_reply *r);
/* The configuration in use (the committed one once there is one), valid until the next
 * change is applied: read it, do not keep it. */
const vg_config *vg_cluster_config(const vg_cluster *c);

#endif
