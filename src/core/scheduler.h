/* scheduler.h - the placement engine: (config, cluster condition) -> placement + actions.
 *
 * A pure function: no I/O, no clock (time is vg_cluster_state.now_ms), no globals.
 * Same input, same output, byte for byte. The actions returned are those whose
 * preconditions hold now; run it again when the condition changes (level-triggered).
 *
 * Conventions (documented choices):
 * - Promotion preference: node attribute "master-<resource>" (what crm_master sets), an
 *   integer or inf/-inf; absent counts as 0; -inf (or any value <= -1000000) forbids
 *   promotion there. Location constraints with role promoted add to it.
 * - A colocation naming a group as `resource` binds its first member, as `with` its last
 *   member; an order's `first` group means its last member, `then` its first member;
 *   a location on a group applies to its first member (the others follow it).
 * - Mandatory order first->then: `then` starts only when `first` is up (a primitive:
 *   running at its target; a clone: at least one instance running); when `first` must
 *   stop (or is down), `then` is stopped first. Optional orders only delay `then` while
 *   `first` has a start pending.
 * - Ties in placement: current node first, then the node with fewer instances assigned
 *   so far, then node name. Clone instances that run stay unless a strictly better score
 *   (beyond stickiness) exists elsewhere. Promotable clones run at most one instance per
 *   node.
 * - A positively colocated dependent's scores are merged into its primary's (scaled by
 *   score/inf), unless that would leave the primary nowhere to run (then ignored).
 * - An order that would close a cycle is dropped (groups' own orders are kept first);
 *   colocation cycles are resolved greedily (the first by name is placed first).
 * - Something that must run once (a primitive, a promoted instance up to promoted_max)
 *   starts only when no instance is active anywhere: instances on an unclean node count
 *   as active until it is fenced, except `requires: quorum` ones on a node marked
 *   self_stopped. Offline and fenced nodes run nothing.
 * - No quorum: `stop` stops everything (in order) and starts nothing; `freeze` keeps what
 *   runs and emits no action but probes. No fencing without quorum.
 * - Failures: failcount >= migration_threshold (when not 0) bans the node until
 *   last_failure + failure_timeout; a failed instance is stopped then restarted per the
 *   placement; on_fail stop keeps a primitive stopped (bans the node for a clone),
 *   block leaves it alone, fence fences the node, standby empties the node.
 */
#ifndef VIGIL_SCHEDULER_H
#define VIGIL_SCHEDULER_H

#include <stddef.h>

#include "cluster_state.h"
#include "config.h"

/* ---- types ---------------------------------------------------------------- */

typedef enum {
	VG_ACT_FENCE,
	VG_ACT_PROBE,
	VG_ACT_DEMOTE,
	VG_ACT_STOP,
	VG_ACT_START,
	VG_ACT_PROMOTE,
} vg_action_kind;

typedef enum {
	VG_IROLE_NONE, /* probe, fence */
	VG_IROLE_STOPPED,
	VG_IROLE_STARTED,
	VG_IROLE_UNPROMOTED,
	VG_IROLE_PROMOTED,
} vg_inst_role;

typedef struct {
	vg_action_kind kind;
	const char *resource; /* NULL for fence; points into the config */
	const char *node;     /* points into the config */
	vg_inst_role role;    /* role the instance has after the action */
	char reason[120];
} vg_action;

typedef struct {
	const char *node; /* points into the config */
	vg_inst_role role;
} vg_target;

typedef struct {
	const char *resource; /* points into the config */
	vg_target *targets;   /* where it should run (into vg_plan.target_pool) */
	size_t n_targets;
} vg_placement;

typedef struct {
	vg_action *actions;
	size_t n_actions;
	vg_placement *placement; /* one per config resource, sorted by name */
	size_t n_placement;
	vg_target *target_pool;
} vg_plan;

/* ---- functions ------------------------------------------------------------ */

/* Plan. Returns 0, or -1 on allocation failure. The plan points into cfg: free it first. */
int vg_schedule(const vg_config *cfg, const vg_cluster_state *st, vg_plan *out);
void vg_plan_free(vg_plan *p);

/* Apply the plan's actions to st as if each succeeded (what simulate and tests replay):
 * start -> running (unpromoted for promotable clones), stop -> stopped, promote/demote,
 * probe -> stopped where unknown, fence -> node fenced and everything there stopped. */
void vg_plan_apply(const vg_config *cfg, const vg_plan *p, vg_cluster_state *st);

const char *vg_action_kind_name(vg_action_kind k);
const char *vg_inst_role_name(vg_inst_role r);

#endif
