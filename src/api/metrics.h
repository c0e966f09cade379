/* metrics.h - `/metrics`: the cluster in Prometheus' text format, with the names and labels
 * of ClusterLabs' ha_cluster_exporter, so that dashboards made for Pacemaker clusters work on
 * vigil unchanged, plus vigil's own `vigil_*` series.
 *
 * Owns: turning one `vigil status` object (the one status producer's output) and the
 * configuration it was made with into the exposition text: names, HELP and TYPE lines, label
 * escaping, and the mapping of vigil's node and instance states onto the exporter's label
 * values. Must not: compute state of its own (everything comes from the status object and
 * the configuration), or do I/O.
 *
 * The exporter's series:
 *   ha_cluster_pacemaker_nodes{node,type,status}     0/1 for each of online, standby,
 *       maintenance, pending, unclean, shutdown, expected_up, dc (dc: the coordinator);
 *       type member (server) or remote (agent)
 *   ha_cluster_pacemaker_nodes_total, ha_cluster_pacemaker_resources_total
 *   ha_cluster_pacemaker_resources{node,resource,role,managed,status,agent,group,clone}  1
 *       per instance that runs, fails or is unmanaged (status active, failed or blocked)
 *   ha_cluster_pacemaker_fail_count{node,resource}, ha_cluster_pacemaker_migration_threshold
 *       {node,resource}   per instance with failures
 *   ha_cluster_pacemaker_location_constraints{constraint,node,resource,role}  the score
 *   ha_cluster_pacemaker_stonith_enabled   1 with a fence device or a watchdog
 *   ha_cluster_pacemaker_maintenance_mode_enabled   0: vigil has node maintenance only
 *   ha_cluster_corosync_quorate, ha_cluster_corosync_quorum_votes{type}
 *       (expected_votes, highest_expected, total_votes, quorum),
 *       ha_cluster_corosync_member_votes{node_id,node,local}
 * vigil's own: vigil_resource_up{resource} (1 when running somewhere), vigil_node_online
 * {node}.
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <jansson.h>

#include "config.h"

/* ---- functions ------------------------------------------------------------ */

/* The exposition text (version 0.0.4) of status, made with cfg; the caller frees. */
char *vg_metrics_text(const json_t *status, const vg_config *cfg);

#endif
