/* test_scheduler.c - table-driven scenarios for the scheduler, plus state JSON round trips.
 *
 * Owns: one scenario per case (config and condition in sched_dsl.h text, expected actions
 * and placement asserted exactly; optionally the state reached after replaying rounds
 * until nothing is left to do). Must not: touch anything but the pure scheduler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sched_dsl.h"

typedef struct {
	const char *name;
	const char *cfg;
	const char *state;
	const char *actions;   /* first round, exact */
	const char *placement; /* exact */
	const char *final;     /* observed state after replaying to a fixed point (optional) */
} scenario;

#define N3 "nodes n1 n2 n3\n"

static const scenario scenarios[] = {
    /* --- primitives, locations, stickiness --- */
    {"cold_start_single", N3 "prim web", "", "start web n1", "web=n1", "web=n1"},
    {"settled_no_actions", N3 "prim web", "run web n2", "", "web=n2", NULL},
    {"location_preference", N3 "prim web\nloc web n2 100", "", "start web n2", "web=n2", "web=n2"},
    {"location_moves_without_stickiness", N3 "prim web\nloc web n2 100", "run web n1",
     "stop web n1", "web=n2", "web=n2"},
    {"cluster_stickiness_keeps", N3 "cluster stick=200\nprim web\nloc web n2 100", "run web n1", "",
     "web=n1", NULL},
    {"resource_stickiness_overrides_cluster",
     N3 "cluster stick=200\nprim web stick=50\nloc web n2 100", "run web n1", "stop web n1",
     "web=n2", "web=n2"},
    {"stickiness_inf_never_moves", N3 "prim web stick=inf\nloc web n2 5000", "run web n1", "",
     "web=n1", NULL},
    {"ban_minus_inf", N3 "prim web\nloc web n1 -inf", "", "start web n2", "web=n2", NULL},
    {"ban_combined_with_preference", N3 "prim web\nloc web n1 100\nloc web n1 -inf\nloc web n3 50",
     "", "start web n3", "web=n3", NULL},
    {"ban_evicts_running", N3 "cluster stick=1000\nprim web\nloc web n1 -inf", "run web n1",
     "stop web n1", "web=n2", "web=n2"},
    {"banned_everywhere_stops", N3 "prim web\nloc web n1 -inf\nloc web n2 -inf\nloc web n3 -inf",
     "run web n1", "stop web n1", "web=-", "web=-"},
    {"load_balance_cold", N3 "prim a\nprim b\nprim c\nprim d", "",
     "start a n1\nstart b n2\nstart c n3\nstart d n1", "a=n1 b=n2 c=n3 d=n1", NULL},
    {"disabled_running_stops", N3 "prim web disabled", "run web n1", "stop web n1", "web=-",
     "web=-"},
    {"disabled_cold_nothing", N3 "prim web disabled", "", "", "web=-", NULL},
    /* --- node states --- */
    {"standby_moves_away", N3 "prim web", "node n1 standby\nrun web n1", "stop web n1", "web=n2",
     "web=n2"},
    {"standby_not_used", N3 "prim web", "node n1 standby", "start web n2", "web=n2", NULL},
    {"maintenance_unmanaged", N3 "prim web\nloc web n2 100", "node n1 maintenance\nrun web n1", "",
     "web=n1", NULL},
    {"maintenance_failed_left_alone", N3 "prim web", "node n1 maintenance\nfail web n1", "",
     "web=n1", NULL},
    {"maintenance_not_used", N3 "prim web", "node n1 maintenance", "start web n2", "web=n2", NULL},
    {"unclean_fence_then_wait", N3 "prim web", "node n1 unclean\nrun web n1", "fence n1", "web=n2",
     "web=n2"},
    {"unclean_fence_pending_waits", N3 "prim web", "node n1 unclean pending\nrun web n1", "",
     "web=n2", NULL},
    {"fenced_node_recovers", N3 "prim web", "node n1 fenced\nrun web n1", "start web n2", "web=n2",
     "web=n2"},
    {"offline_node_recovers", N3 "prim web", "node n1 offline\nrun web n1", "start web n2",
     "web=n2", NULL},
    {"unclean_quorum_resource_self_stopped", N3 "prim vip class=vip",
     "node n1 unclean selfstop\nrun vip n1", "fence n1\nstart vip n2", "vip=n2", "vip=n2"},
    {"unclean_fencing_resource_self_stopped", N3 "prim web", "node n1 unclean selfstop\nrun web n1",
     "fence n1", "web=n2", "web=n2"},
    {"unclean_quorum_resource_not_stopped", N3 "prim vip class=vip", "node n1 unclean\nrun vip n1",
     "fence n1", "vip=n2", "vip=n2"},
    {"unclean_node_running_nothing", N3 "prim web", "node n3 unclean", "fence n3\nstart web n1",
     "web=n1", NULL},
    /* --- quorum --- */
    {"no_quorum_stops", N3 "prim web", "noquorum\nrun web n1", "stop web n1", "web=-", NULL},
    {"no_quorum_starts_nothing", N3 "prim web", "noquorum", "", "web=-", NULL},
    {"no_quorum_freeze_keeps", N3 "cluster noquorum=freeze\nprim web\nprim db",
     "noquorum\nrun web n1\nfail db n2", "", "db=n2 web=n1", NULL},
    {"no_quorum_no_fencing", N3 "prim web", "noquorum\nnode n2 unclean\nrun web n1", "stop web n1",
     "web=-", NULL},
    {"no_quorum_stop_respects_order", N3 "prim a\nprim b\nord a b", "noquorum\nrun a n1\nrun b n1",
     "stop b n1", "a=- b=-", "a=- b=-"},
    /* --- failures --- */
    {"failed_restarts_in_place", N3 "prim web", "fail web n1", "stop web n1", "web=n1", "web=n1"},
    {"migration_threshold_moves", N3 "prim web thr=1", "fail web n1", "stop web n1", "web=n2",
     "web=n2"},
    {"threshold_not_reached", N3 "prim web thr=3", "fail web n1 fc=2", "stop web n1", "web=n1",
     NULL},
    {"failcount_keeps_away", N3 "prim web thr=1", "fc web n1 1", "start web n2", "web=n2", NULL},
    {"failure_expired", N3 "prim web thr=1 ft=60000", "fc web n1 1 t=100000", "start web n1",
     "web=n1", NULL},
    {"failure_not_expired", N3 "prim web thr=1 ft=60000", "fc web n1 1 t=990000", "start web n2",
     "web=n2", NULL},
    {"failure_expiry_boundary", N3 "prim web thr=1 ft=60000", "fc web n1 1 t=940000",
     "start web n1", "web=n1", NULL},
    {"failure_returns_after_expiry", N3 "prim web thr=1 ft=60000 stick=0\nloc web n1 10",
     "fc web n1 1 t=940000\nrun web n2", "stop web n2", "web=n1", "web=n1"},
    {"threshold_zero_never_moves", N3 "prim web thr=0", "fail web n1 fc=50", "stop web n1",
     "web=n1", NULL},
    {"on_fail_stop", N3 "prim web onfail=stop", "fail web n1", "stop web n1", "web=-", NULL},
    /* a process that exited is stopped by then, with its failure counted: on_fail stop still
     * holds, until the failure expires */
    {"on_fail_stop_after_an_exit", N3 "prim web onfail=stop", "fc web n1 1", "", "web=-", NULL},
    {"on_fail_stop_expired", N3 "prim web onfail=stop ft=60000", "fc web n1 1 t=100000",
     "start web n1", "web=n1", NULL},
    {"on_fail_block", N3 "prim web onfail=block", "fail web n1", "", "web=n1", NULL},
    {"on_fail_fence", N3 "prim web onfail=fence", "fail web n1", "fence n1", "web=n2", "web=n2"},
    {"on_fail_standby", N3 "prim web onfail=standby\nprim db", "fail web n1\nrun db n1",
     "stop db n1\nstop web n1", "db=n2 web=n3", NULL},
    {"multiply_active_keeps_best", N3 "prim web\nloc web n2 10", "run web n1\nrun web n2",
     "stop web n1", "web=n2", "web=n2"},
    {"multiply_active_tie_keeps_first", N3 "prim web", "run web n1\nrun web n3", "stop web n3",
     "web=n1", "web=n1"},
    /* --- groups --- */
    {"group_cold_start_in_order", N3 "prim a\nprim b\nprim c\ngroup g a b c", "", "start a n1",
     "a=n1 b=n1 c=n1", "a=n1 b=n1 c=n1"},
    {"group_second_member_after_first", N3 "prim a\nprim b\nprim c\ngroup g a b c", "run a n1",
     "start b n1", "a=n1 b=n1 c=n1", NULL},
    {"group_settled", N3 "prim a\nprim b\nprim c\ngroup g a b c", "run a n2\nrun b n2\nrun c n2",
     "", "a=n2 b=n2 c=n2", NULL},
    {"group_middle_member_fails", N3 "prim a\nprim b\nprim c\ngroup g a b c",
     "run a n1\nfail b n1\nrun c n1", "stop c n1", "a=n1 b=n1 c=n1", "a=n1 b=n1 c=n1"},
    {"group_location_on_group", N3 "prim a\nprim b\ngroup g a b\nloc g n2 100", "", "start a n2",
     "a=n2 b=n2", "a=n2 b=n2"},
    {"group_member_ban_moves_group", N3 "prim a\nprim b\ngroup g a b\nloc b n1 -inf", "",
     "start a n2", "a=n2 b=n2", "a=n2 b=n2"},
    {"group_member_threshold_moves_group", N3 "prim a\nprim b thr=1\ngroup g a b",
     "run a n1\nfail b n1", "stop b n1", "a=n2 b=n2", "a=n2 b=n2"},
    {"group_disabled_member_stops_rest", N3 "prim a\nprim b disabled\nprim c\ngroup g a b c",
     "run a n1\nrun b n1\nrun c n1", "stop c n1", "a=n1 b=- c=-", "a=n1 b=- c=-"},
    {"group_on_unclean_node", N3 "prim a\nprim b\ngroup g a b",
     "node n1 unclean\nrun a n1\nrun b n1", "fence n1", "a=n2 b=n2", "a=n2 b=n2"},
    /* --- colocation --- */
    {"colocation_dependent_pulls_primary", N3 "prim web\nprim vip\ncol vip web inf\nloc vip n3 100",
     "", "start vip n3\nstart web n3", "vip=n3 web=n3", NULL},
    {"colocation_chain_dependent_cannot_run",
     N3 "prim a\nprim b\nprim c\ncol b a inf\ncol c b inf\nloc c n1 -inf\nloc a n1 50", "",
     "start a n2\nstart b n2\nstart c n2", "a=n2 b=n2 c=n2", NULL},
    {"colocation_rollback_when_dependent_cannot_run",
     N3 "prim a\nprim b\ncol b a inf\nloc b n1 -inf\nloc b n2 -inf\nloc b n3 -inf\nloc a n1 10", "",
     "start a n1", "a=n1 b=-", NULL},
    {"colocation_negative", N3 "prim a\nprim b\ncol b a -inf", "", "start a n1\nstart b n2",
     "a=n1 b=n2", NULL},
    {"colocation_finite_score", N3 "prim a\nprim b\ncol b a 50\nloc b n3 40", "",
     "start a n1\nstart b n1", "a=n1 b=n1", NULL},
    {"colocation_primary_disabled", N3 "prim a disabled\nprim b\ncol b a inf", "", "", "a=- b=-",
     NULL},
    {"colocation_dependent_follows_move", N3 "prim a\nprim b\ncol b a inf\nloc a n2 100",
     "run a n1\nrun b n1", "stop a n1\nstop b n1", "a=n2 b=n2", "a=n2 b=n2"},
    /* --- order --- */
    {"order_across_nodes_waits", N3 "prim a\nprim b\nloc a n1 100\nloc b n2 100\nord a b", "",
     "start a n1", "a=n1 b=n2", "a=n1 b=n2"},
    {"order_then_starts_once_first_runs", N3 "prim a\nprim b\nloc a n1 100\nloc b n2 100\nord a b",
     "run a n1", "start b n2", "a=n1 b=n2", NULL},
    {"order_first_moves_then_stops_first",
     N3 "prim a\nprim b\nloc a n1 100\nloc a n3 200\nloc b n2 100\nord a b", "run a n1\nrun b n2",
     "stop b n2", "a=n3 b=n2", "a=n3 b=n2"},
    {"order_mandatory_first_disabled", N3 "prim a disabled\nprim b\nord a b", "", "", "a=- b=-",
     NULL},
    {"order_optional_first_disabled", N3 "prim a disabled\nprim b\nord a b optional", "",
     "start b n1", "a=- b=n1", NULL},
    {"order_optional_failure_does_not_stop_then", N3 "prim a\nprim b\nord a b optional",
     "fail a n1\nrun b n2", "stop a n1", "a=n1 b=n2", NULL},
    {"order_mandatory_failure_restarts_then", N3 "prim a\nprim b\nord a b", "fail a n1\nrun b n2",
     "stop b n2", "a=n1 b=n2", "a=n1 b=n2"},
    {"order_clone_then_primitive", N3 "clone base max=3\nprim app\nord base app",
     "run base n1\nrun base n2", "start app n1\nstart base n3", "app=n1 base=n1,n2,n3", NULL},
    /* --- clones --- */
    {"clone_cold_start", N3 "clone web max=3", "", "start web n1\nstart web n2\nstart web n3",
     "web=n1,n2,n3", NULL},
    {"clone_max_two", N3 "clone web max=2", "", "start web n1\nstart web n2", "web=n1,n2", NULL},
    {"clone_settled_stays", N3 "clone web max=2", "run web n2\nrun web n3", "", "web=n2,n3", NULL},
    {"clone_loses_unclean_node_waits", N3 "clone web max=2",
     "node n2 unclean\nrun web n1\nrun web n2", "fence n2", "web=n1,n3", "web=n1,n3"},
    {"clone_loses_node_self_stopped", N3 "clone web max=2",
     "node n2 unclean selfstop\nrun web n1\nrun web n2", "fence n2\nstart web n3", "web=n1,n3",
     NULL},
    {"clone_loses_offline_node", N3 "clone web max=2", "node n2 offline\nrun web n1\nrun web n2",
     "start web n3", "web=n1,n3", NULL},
    {"clone_max_per_node_two", N3 "clone web max=4 mpn=2", "",
     "start web n1\nstart web n1\nstart web n2\nstart web n3", "web=n1,n1,n2,n3",
     "web=n1,n1,n2,n3"},
    {"clone_max_reduced_stops_extra", N3 "clone web max=1", "run web n1\nrun web n2", "stop web n2",
     "web=n1", "web=n1"},
    {"clone_failed_instance_restarts", N3 "clone web max=3", "run web n1\nrun web n2\nfail web n3",
     "stop web n3", "web=n1,n2,n3", "web=n1,n2,n3"},
    {"clone_failed_instance_moves_after_stop", N3 "clone web max=2 thr=1",
     "run web n1\nfail web n3", "stop web n3", "web=n1,n2", "web=n1,n2"},
    /* --- promotable clones --- */
    {"promotable_cold", N3 "clone db max=3 prom", "attr n2 master-db 10",
     "start db n1\nstart db n2\nstart db n3", "db=n1,n2*,n3", "db=n1,n2*,n3"},
    {"promotable_promote_running", N3 "clone db max=3 prom",
     "attr n2 master-db 10\nrun db n1\nrun db n2\nrun db n3", "promote db n2", "db=n1,n2*,n3",
     NULL},
    {"promotable_stickiness_keeps_promoted", N3 "clone db max=3 prom stick=100",
     "attr n2 master-db 10\nrun db n1 promoted\nrun db n2\nrun db n3", "", "db=n1*,n2,n3", NULL},
    {"promotable_better_score_moves_promotion", N3 "clone db max=3 prom",
     "attr n2 master-db 10\nrun db n1 promoted\nrun db n2\nrun db n3", "demote db n1",
     "db=n1,n2*,n3", "db=n1,n2*,n3"},
    {"promotion_moves_when_promoted_node_unclean", N3 "clone db max=3 prom",
     "node n1 unclean\nrun db n1 promoted\nrun db n2\nrun db n3", "fence n1", "db=n2*,n3",
     "db=n2*,n3"},
    {"promotion_moves_when_promoted_node_fenced", N3 "clone db max=3 prom",
     "node n1 fenced\nrun db n1 promoted\nrun db n2\nrun db n3", "promote db n2", "db=n2*,n3",
     NULL},
    {"promoted_instance_fails", N3 "clone db max=3 prom",
     "fail db n1\nrun db n2\nrun db n3\nattr n1 master-db 5", "stop db n1", "db=n1*,n2,n3",
     "db=n1*,n2,n3"},
    {"colocation_with_promoted_role",
     N3 "prim vip class=vip\nclone db max=3 prom\ncol vip db inf with=promoted",
     "run db n1\nrun db n2 promoted\nrun db n3", "start vip n2", "db=n1,n2*,n3 vip=n2", NULL},
    {"dependent_steers_promotion",
     N3 "prim vip class=vip\nclone db max=3 prom\ncol vip db inf with=promoted\nloc vip n3 100",
     "run db n1\nrun db n2\nrun db n3", "start vip n3\npromote db n3", "db=n1,n2,n3* vip=n3",
     "db=n1,n2,n3* vip=n3"},
    {"order_promote_then_start", N3 "clone db max=3 prom\nprim api\nord db api fa=promote", "",
     "start db n1\nstart db n2\nstart db n3", "api=n1 db=n1*,n2,n3", "api=n1 db=n1*,n2,n3"},
    {"promotion_location_role", N3 "clone db max=3 prom\nloc db n3 50 promoted",
     "run db n1\nrun db n2\nrun db n3", "promote db n3", "db=n1,n2,n3*", NULL},
    {"promoted_max_two", N3 "clone db max=3 prom pmax=2",
     "attr n1 master-db 5\nattr n3 master-db 10\nrun db n1\nrun db n2\nrun db n3",
     "promote db n1\npromote db n3", "db=n1*,n2,n3*", NULL},
    {"promotion_forbidden_by_attribute", N3 "clone db max=3 prom",
     "attr n1 master-db -inf\nrun db n1\nrun db n2\nrun db n3", "promote db n2", "db=n1,n2*,n3",
     NULL},
    {"promoted_colocated_with_primitive",
     N3 "prim vip class=vip\nclone db max=3 prom\nloc vip n3 100\ncol db vip inf role=promoted",
     "run vip n3\nrun db n1\nrun db n2\nrun db n3", "promote db n3", "db=n1,n2,n3* vip=n3", NULL},
    /* --- rules --- */
    {"rule_eq", N3 "prim web\nrule web ssd eq yes 100", "attr n3 ssd yes", "start web n3", "web=n3",
     NULL},
    {"rule_not_defined_bans", N3 "prim web\nrule web gpu undefined 0 -inf", "attr n2 gpu 1",
     "start web n2", "web=n2", NULL},
    {"rule_gt_numeric", N3 "prim web\nrule web mem gt 8 100", "attr n1 mem 4\nattr n2 mem 16",
     "start web n2", "web=n2", NULL},
    {"rule_ne", N3 "prim web\nrule web zone ne a -inf", "attr n1 zone b\nattr n2 zone a",
     "start web n2", "web=n2", NULL},
    /* --- probes --- */
    {"probe_unprobed_node", N3 "prim web", "node n2 online unprobed\nrun web n1", "probe web n2",
     "web=n1", NULL},
    {"probe_blocks_start", N3 "prim web", "node n1 online unprobed", "probe web n1", "web=n1",
     "web=n1"},
    {"probe_unknown_record", N3 "prim web", "unknown web n3\nrun web n1", "probe web n3", "web=n1",
     NULL},
    {"probe_not_on_maintenance_or_unclean", N3 "prim web",
     "node n2 maintenance unprobed\nnode n3 unclean pending unprobed\nrun web n1", "", "web=n1",
     NULL},
    /* --- larger mixes --- */
    {"spec_example",
     N3 "prim web\nprim vip class=vip\nclone api max=3 class=process\nclone db max=3 prom "
	"stick=200 thr=3 ft=600000\n"
	"group frontend web vip\ncol vip web inf\ncol vip db inf with=promoted\nord web vip\n"
	"ord db api fa=promote\nloc web n1 100\nloc web n2 -inf",
     "", "start db n1\nstart db n2\nstart db n3\nstart web n1",
     "api=n1,n2,n3 db=n1*,n2,n3 vip=n1 web=n1", "api=n1,n2,n3 db=n1*,n2,n3 vip=n1 web=n1"},
    {"spec_example_as_written_order_cycle_dropped",
     N3 "prim web\nprim vip class=vip\nclone api max=3 class=process\nclone db max=3 prom "
	"stick=200 thr=3 ft=600000\n"
	"group frontend vip web\ncol vip web inf\ncol vip db inf with=promoted\nord web vip\n"
	"ord db api fa=promote\nloc web n1 100\nloc web n2 -inf",
     "", "start db n1\nstart db n2\nstart db n3\nstart vip n1",
     "api=n1,n2,n3 db=n1*,n2,n3 vip=n1 web=n1", "api=n1,n2,n3 db=n1*,n2,n3 vip=n1 web=n1"},
    {"order_cycle_keeps_first_declared", N3 "prim a\nprim b\nord a b\nord b a", "", "start a n1",
     "a=n1 b=n2", "a=n1 b=n2"},
    {"no_nodes_nothing_to_do", "nodes\nprim web\nclone c max=2", "", "", "c=- web=-", NULL},
    {"recovery_reason_names_lost_node", N3 "prim web", "node n2 offline\nrun web n2",
     "start web n1", "web=n1", NULL},
    {"promoted_twice_demotes_one", N3 "clone db max=3 prom",
     "run db n1 promoted\nrun db n2 promoted", "demote db n2\nstart db n3", "db=n1*,n2,n3",
     "db=n1*,n2,n3"},
    {"multiply_active_unmanaged_copy_kept", N3 "prim web",
     "node n1 maintenance\nrun web n1\nrun web n2", "stop web n2", "web=n1", "web=n1"},
    {"two_groups_colocated",
     N3 "prim a1\nprim a2\nprim b1\nprim b2\ngroup ga a1 a2\ngroup gb b1 b2\ncol gb ga 100\nloc b2 "
	"n3 50",
     "", "start a1 n1\nstart b1 n1", "a1=n1 a2=n1 b1=n1 b2=n1", "a1=n1 a2=n1 b1=n1 b2=n1"},
    {"unclean_and_on_fail_fence", N3 "prim a onfail=fence\nprim b",
     "node n3 unclean\nfail a n1\nrun b n2", "fence n1\nfence n3", "a=n2 b=n2", NULL},
};

/* active instances of the state, as "r=n1,n2*" for every resource (sorted) */
static void fmt_state(const vg_config *c, const vg_cluster_state *st, char *buf, size_t len)
{
	vg_plan p;
	assert_int_equal(vg_schedule(c, st, &p), 0);
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < p.n_placement; i++) {
		const char *r = p.placement[i].resource;
		o += (size_t)snprintf(buf + o, len - o, "%s%s=", i ? " " : "", r);
		size_t before = o;
		for (size_t n = 0; n < st->n_nodes; n++) {
			const vg_node_cond *nd = &st->nodes[n];
			if (nd->state == VG_NODE_OFFLINE || nd->state == VG_NODE_FENCED)
				continue;
			for (size_t k = 0; k < st->n_insts; k++) {
				const vg_inst_cond *ic = &st->insts[k];
				if (strcmp(ic->resource, r) || strcmp(ic->node, nd->name) ||
				    ic->state < VG_INST_RUNNING)
					continue;
				for (uint32_t x = 0; x < (ic->count ? ic->count : 1); x++)
					o += (size_t)snprintf(
					    buf + o, len - o, "%s%s%s", o > before ? "," : "",
					    nd->name,
					    x == 0 && ic->state == VG_INST_PROMOTED ? "*" : "");
			}
		}
		if (o == before)
			o += (size_t)snprintf(buf + o, len - o, "-");
	}
	vg_plan_free(&p);
}

static void run_scenario(void **state)
{
	const scenario *sc = *state;
	tcfg *t = tc_build(sc->cfg);
	vg_cluster_state *st = tc_state(&t->c, sc->state);
	vg_plan p, q;
	char buf[4096], buf2[4096];

	assert_int_equal(vg_schedule(&t->c, st, &p), 0);
	tc_fmt_actions(&p, buf, sizeof(buf));
	if (strcmp(buf, sc->actions))
		print_error("%s: actions\n--- got:\n%s\n--- want:\n%s\n", sc->name, buf,
			    sc->actions);
	assert_string_equal(buf, sc->actions);
	tc_fmt_placement(&p, buf, sizeof(buf));
	assert_string_equal(buf, sc->placement);
	for (size_t i = 0; i < p.n_actions; i++)
		assert_true(p.actions[i].reason[0] != 0);

	/* determinism: same input, same output */
	assert_int_equal(vg_schedule(&t->c, st, &q), 0);
	assert_int_equal(p.n_actions, q.n_actions);
	for (size_t i = 0; i < p.n_actions; i++) {
		assert_int_equal(p.actions[i].kind, q.actions[i].kind);
		assert_string_equal(p.actions[i].reason, q.actions[i].reason);
	}
	vg_plan_free(&q);

	if (sc->final) {
		int rounds = 0;
		while (p.n_actions && rounds < 30) {
			vg_plan_apply(&t->c, &p, st);
			vg_plan_free(&p);
			assert_int_equal(vg_schedule(&t->c, st, &p), 0);
			rounds++;
		}
		tc_fmt_actions(&p, buf2, sizeof(buf2));
		assert_string_equal(buf2, ""); /* converged */
		fmt_state(&t->c, st, buf, sizeof(buf));
		assert_string_equal(buf, sc->final);
	}
	vg_plan_free(&p);
	vg_cluster_state_free(st);
	tc_free(t);
}

/* the reasons operators read: one case per kind of decision */
static void test_reasons(void **unused)
{
	(void)unused;
	static const struct {
		const char *cfg, *state, *reason;
	} cases[] = {
	    {N3 "prim web", "node n2 fenced\nrun web n2",
	     "recover from n2 (fenced) on n1 (score 0)"},
	    {N3 "prim web", "fail web n1 fc=2", "failed on n1 (failcount 2)"},
	    {N3 "prim web\nloc web n3 100", "run web n1", "moving to n3"},
	    {N3 "prim web", "node n1 standby\nrun web n1", "node n1 is in standby"},
	    {N3 "prim web", "node n1 unclean\nrun web n1", "node n1 is unclean"},
	    {N3 "prim a\nprim b\nord a b", "fail a n1\nrun b n1",
	     "b must stop first (order a then b)"},
	    {N3 "prim a disabled\nprim b\nord a b", "run b n1", "cannot run without a"},
	    {N3 "prim web thr=2", "fail web n1 fc=2", "failed on n1 (failcount 2)"},
	    {N3 "prim web thr=2", "fc web n1 2\nrun web n1",
	     "banned from n1 (failcount 2, "
	     "migration_threshold 2)"},
	    {N3 "prim web", "run web n1\nrun web n2", "active on several nodes; keeping n1"},
	    {N3 "prim web", "noquorum\nrun web n1", "no quorum"},
	    {N3 "prim web onfail=fence", "fail web n2",
	     "a resource with on_fail fence failed on n2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tcfg *t = tc_build(cases[i].cfg);
		vg_cluster_state *st = tc_state(&t->c, cases[i].state);
		vg_plan p;
		assert_int_equal(vg_schedule(&t->c, st, &p), 0);
		assert_true(p.n_actions > 0);
		if (strcmp(p.actions[0].reason, cases[i].reason))
			print_error("case %zu: reason \"%s\"\n", i, p.actions[0].reason);
		assert_string_equal(p.actions[0].reason, cases[i].reason);
		vg_plan_free(&p);
		vg_cluster_state_free(st);
		tc_free(t);
	}
}

/* ---- cluster state JSON ---------------------------------------------------- */

static void test_state_json_roundtrip(void **unused)
{
	(void)unused;
	tcfg *t = tc_build(N3 "prim web\nclone db max=3 prom");
	vg_cluster_state *st =
	    tc_state(&t->c, "node n3 standby\nrun web n1\nrun db n1 promoted\n"
			    "run db n2\nfail db n3 fc=2 t=5000\nattr n1 master-db 7");
	char *js = vg_cluster_state_to_json(&t->c, st);
	assert_non_null(js);
	char err[256];
	vg_cluster_state *back =
	    vg_cluster_state_parse(&t->c, js, strlen(js), st->now_ms, err, sizeof(err));
	assert_non_null(back);
	char *js2 = vg_cluster_state_to_json(&t->c, back);
	assert_string_equal(js, js2);
	vg_inst_cond *ic = vg_cluster_state_inst(back, "db", "n3");
	assert_non_null(ic);
	assert_int_equal(ic->state, VG_INST_FAILED);
	assert_int_equal(ic->failcount, 2);
	assert_int_equal(ic->last_failure_ms, 5000);
	assert_int_equal(vg_cluster_state_node(back, "n3")->state, VG_NODE_STANDBY);
	assert_string_equal(vg_node_cond_attr(vg_cluster_state_node(back, "n1"), "master-db"), "7");
	assert_int_equal(vg_cluster_state_inst(back, "db", "n1")->state, VG_INST_PROMOTED);
	free(js);
	free(js2);
	vg_cluster_state_free(back);
	vg_cluster_state_free(st);
	tc_free(t);
}

/* An instance that cannot run on its node (agent not installed there): never placed there,
 * nothing stopped there; in the status form "failed" with "unrunnable": true, read back. */
static void test_unrunnable_instance(void **unused)
{
	(void)unused;
	tcfg *t = tc_build(N3 "prim web");
	vg_cluster_state *st = tc_state(&t->c, "");
	for (const char *const *n = (const char *const[]){"n1", "n2", NULL}; *n; n++)
		vg_cluster_state_inst_get(st, "web", *n)->unrunnable = true;
	vg_plan p;
	char buf[512];
	assert_int_equal(vg_schedule(&t->c, st, &p), 0);
	tc_fmt_actions(&p, buf, sizeof(buf));
	assert_string_equal(buf, "start web n3");
	vg_plan_free(&p);

	char *js = vg_cluster_state_to_json(&t->c, st);
	assert_non_null(strstr(js, "\"unrunnable\": true"));
	char err[256];
	vg_cluster_state *back =
	    vg_cluster_state_parse(&t->c, js, strlen(js), st->now_ms, err, sizeof(err));
	assert_non_null(back);
	vg_inst_cond *ic = vg_cluster_state_inst(back, "web", "n1");
	assert_non_null(ic);
	assert_true(ic->unrunnable);
	assert_int_equal(ic->state, VG_INST_STOPPED);
	assert_null(vg_cluster_state_inst(back, "web", "n3"));
	char *js2 = vg_cluster_state_to_json(&t->c, back);
	assert_string_equal(js, js2);
	free(js);
	free(js2);
	vg_cluster_state_free(back);

	/* and where nothing else may run it: it runs nowhere, no stop asked anywhere */
	vg_cluster_state_inst_get(st, "web", "n3")->unrunnable = true;
	assert_int_equal(vg_schedule(&t->c, st, &p), 0);
	tc_fmt_actions(&p, buf, sizeof(buf));
	assert_string_equal(buf, "");
	vg_plan_free(&p);
	vg_cluster_state_free(st);
	tc_free(t);
}

static void test_state_json_status_form(void **unused)
{
	(void)unused;
	tcfg *t = tc_build(N3 "prim web");
	const char *js =
	    "{\"cluster\": {\"name\": \"demo\", \"leader\": \"n1\", \"quorate\": false},"
	    " \"nodes\": [{\"name\": \"n1\", \"role\": \"server\", \"state\": \"online\"},"
	    "  {\"name\": \"n2\", \"role\": \"server\", \"state\": \"unclean\"}],"
	    " \"resources\": [{\"name\": \"web\", \"type\": \"ocf:heartbeat:anything\","
	    "  \"state\": \"running\", \"failcount\": 0, \"instances\": [{\"node\": \"n2\","
	    "  \"role\": \"started\", \"state\": \"running\"}], \"last_error\": null}]}";
	char err[256];
	vg_cluster_state *st = vg_cluster_state_parse(&t->c, js, strlen(js), 1, err, sizeof(err));
	assert_non_null(st);
	assert_false(st->quorate);
	assert_int_equal(vg_cluster_state_node(st, "n3")->state, VG_NODE_OFFLINE);
	assert_int_equal(vg_cluster_state_node(st, "n2")->state, VG_NODE_UNCLEAN);
	assert_int_equal(vg_cluster_state_inst(st, "web", "n2")->state, VG_INST_RUNNING);
	vg_cluster_state_free(st);
	tc_free(t);
}

static void test_state_json_errors(void **unused)
{
	(void)unused;
	tcfg *t = tc_build(N3 "prim web");
	static const struct {
		const char *json, *want;
	} bad[] = {
	    {"{", "line 1"},
	    {"[]", "not an object"},
	    {"{\"nodes\": [{\"name\": \"n9\", \"state\": \"online\"}]}", "nodes[0].name"},
	    {"{\"nodes\": [{\"name\": \"n1\", \"state\": \"dancing\"}]}", "nodes[0].state"},
	    {"{\"resources\": [{\"name\": \"nope\"}]}", "resources[0].name"},
	    {"{\"resources\": [{\"name\": \"web\", \"instances\": [{\"node\": \"n1\","
	     " \"state\": \"sleeping\"}]}]}",
	     "resources[0].instances[0].state"},
	    {"{\"cluster\": {\"quorate\": 1}}", "cluster.quorate"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		vg_cluster_state *st = vg_cluster_state_parse(
		    &t->c, bad[i].json, strlen(bad[i].json), 1, err, sizeof(err));
		assert_null(st);
		if (!strstr(err, bad[i].want))
			print_error("case %zu: unexpected error \"%s\"\n", i, err);
		assert_non_null(strstr(err, bad[i].want));
	}
	tc_free(t);
}

int main(void)
{
	size_t n = sizeof(scenarios) / sizeof(scenarios[0]);
	struct CMUnitTest *tests = calloc(n + 5, sizeof(*tests));
	for (size_t i = 0; i < n; i++) {
		tests[i].name = scenarios[i].name;
		tests[i].test_func = run_scenario;
		tests[i].initial_state = (void *)&scenarios[i];
	}
	tests[n] = (struct CMUnitTest)cmocka_unit_test(test_state_json_roundtrip);
	tests[n + 1] = (struct CMUnitTest)cmocka_unit_test(test_state_json_status_form);
	tests[n + 2] = (struct CMUnitTest)cmocka_unit_test(test_state_json_errors);
	tests[n + 3] = (struct CMUnitTest)cmocka_unit_test(test_reasons);
	tests[n + 4] = (struct CMUnitTest)cmocka_unit_test(test_unrunnable_instance);
	int rc = _cmocka_run_group_tests("scheduler", tests, n + 5, NULL, NULL);
	free(tests);
	return rc;
}
