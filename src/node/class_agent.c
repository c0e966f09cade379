/* class_agent.c - the agent classes: ocf, lsb and systemd (see rclass.h).
 *
 * Owns: running an instance's operation as its agent's action through the executor (one child
 * at a time), the native check in place of the agent's monitor when the resource has one, and
 * which actions each class has: an OCF agent is asked promote, demote and notify by those
 * names (it answers UNIMPLEMENTED itself if it has none); an init script or a unit has no such
 * actions, and those are answered "unsupported" without running anything. Must not: decide
 * anything, or map exit codes (executor.c and ocf.c do).
 */
#include <stdlib.h>

#include "executor.h"
#include "rclass.h"
#include "mem.h"

typedef struct {
	vg_exec_op *exec; /* the agent's action in flight */
} agent;

static void agent_init(vg_rinst *i)
{
	i->priv = vg_calloc(1, sizeof(agent));
}

static void on_exec_done(void *arg, const vg_op_result *res)
{
	vg_rinst *i = arg;
	agent *a = i->priv;
	a->exec = NULL;
	if (i->closing) {
		vg_rinst_unpend(i);
		return;
	}
	vg_rinst_unpend(i);
	vg_rclass_result r = {
	    .outcome = res->outcome,
	    .exit_code = res->exit_code,
	    .timed_out = res->timed_out,
	    .duration_us = res->duration_us,
	    .output = res->output,
	};
	vg_rinst_done_res(i, &r);
}

/* The agent's action of the operation in flight. */
static void agent_run(vg_rinst *i)
{
	agent *a = i->priv;
	a->exec = vg_exec_run(i->loop, i->ocf_root, i->node_name, i->cfg, i->op, i->probe,
			      vg_rinst_timeout(i, i->op), on_exec_done, i);
	if (!a->exec) {
		vg_rinst_done(i, VG_OUTCOME_FAILED, -1, "out of memory");
		return;
	}
	vg_rinst_pend(i); /* its callback always comes */
}

static void agent_monitor(vg_rinst *i)
{
	if (i->cfg->check.kind != VG_CHECK_NONE)
		vg_rinst_monitor_check(i);
	else
		agent_run(i);
}

/* The agent's child is killed; its completion still comes, as failed. */
static bool agent_abandon(vg_rinst *i)
{
	agent *a = i->priv;
	if (!a->exec)
		return true;
	vg_exec_cancel(a->exec);
	return false;
}

static void agent_close(vg_rinst *i)
{
	agent *a = i->priv;
	if (a->exec)
		vg_exec_cancel(a->exec); /* on_exec_done unpends */
}

/* What every agent class runs the same way: the agent's own action of each name. */
#define AGENT_OPS(class_name)                                                                      \
	.name = class_name, .init = agent_init, .probe = agent_run, .start = agent_run,            \
	.stop = agent_run, .monitor = agent_monitor, .abandon = agent_abandon,                     \
	.close = agent_close

/* Only OCF agents have promote, demote and notify; the others answer UNIMPLEMENTED (rclass.h). */
const vg_class_ops vg_class_ocf = {
    AGENT_OPS("ocf"),
    .promote = agent_run,
    .demote = agent_run,
    .notify = agent_run,
};

const vg_class_ops vg_class_lsb = {AGENT_OPS("lsb")};

const vg_class_ops vg_class_systemd = {AGENT_OPS("systemd")};
