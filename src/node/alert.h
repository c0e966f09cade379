/* alert.h - alerts: the configured scripts (cluster.yaml `alerts:`), run with Pacemaker's
 * alert environment so that its shipped alert agents (/usr/share/pacemaker/alerts/) and
 * users' own scripts work unchanged.
 *
 * Owns: the runs for one event: each enabled alert whose kinds hold the event's kind, once per
 * recipient (once with an empty recipient when it has none), all in parallel, each in a
 * session of its own killed with its process group at the alert's timeout (child.h); the
 * node's alert sequence number (CRM_alert_node_sequence); the environment: the daemon's own
 * without any CRM_alert_* it had, plus CRM_alert_kind, _version, _recipient, _node_sequence,
 * _timestamp (%H:%M:%S.%06N), _timestamp_epoch, _timestamp_usec, _node, _nodeid, _desc, _task,
 * _rc, _rsc, _interval, _target_rc, _status, _exec_time, _attribute_name, _attribute_value
 * (those the kind has), and VIGIL_alert_name, VIGIL_alert_cluster, VIGIL_version.
 * CRM_alert_version is the Pacemaker alert interface this follows (2.1).
 * Must not: block the loop or wait for a script (a script's end, its exit status or its
 * timeout is only logged), decide what is an event (the cluster does), or read the clock
 * other than through clock.h.
 */
#ifndef VIGIL_ALERT_H
#define VIGIL_ALERT_H

#include <stdint.h>
#include <uv.h>

#include "config.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_alerts vg_alerts;

/* One event. Strings are used during vg_alerts_send only; NULL: not given. */
typedef struct {
	vg_alert_kind kind;
	const char *node; /* the node it is about (the fencing target, the resource's node) */
	uint32_t nodeid;  /* 0: not given */
	const char *desc; /* node: "member" / "lost"; fencing: "Operation reboot of n2 by n1 for
			     vigild@n1: OK"; resource: "ok", "not running", "Timed Out", ... */
	const char *task; /* fencing: "reboot" / "off"; resource: "start", "stop", "monitor", ... */
	int rc;		  /* fencing: 0 ok; resource: the OCF exit code */
	const char *rsc;
	uint64_t interval_ms;
	int target_rc;
	int status; /* resource: Pacemaker's execution status (0 done, 2 timed out, 4 error,
		       7 not installed) */
	uint64_t exec_time_ms;
	const char *attribute_name, *attribute_value;
} vg_alert_event;

/* ---- functions ------------------------------------------------------------ */

vg_alerts *vg_alerts_new(uv_loop_t *loop, const char *local_node);
/* Run the alerts of cfg (used during this call only) for ev; returns how many runs were
 * started. Nothing is called back: each run's end is logged. */
size_t vg_alerts_send(vg_alerts *a, const vg_config *cfg, const vg_alert_event *ev);
/* Scripts still running. */
size_t vg_alerts_running(const vg_alerts *a);
/* Kill what still runs and release (the memory once every run has ended, from the loop). */
void vg_alerts_free(vg_alerts *a);

/* Pacemaker's words for an OCF exit code ("ok", "error", "not running", ...). */
const char *vg_alert_rc_desc(int rc);

#endif
