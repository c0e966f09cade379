/* class_process.c - the native `process` class (see rclass.h).
 *
 * Owns: a supervised command's probe (adopting the process a previous vigild's record names),
 * start (spawned with its log in the data directory and its adoption record written; when the
 * resource has a check, started means serving: the check is tried every READY_RETRY_MS until
 * it passes or the start timeout is up), stop (SIGTERM, then SIGKILL of its process group
 * after the stop timeout, or on a halt after cluster.halt_grace, when what it left in its
 * group goes with it) and monitor (alive; then the check, if any), and its exit outside of a
 * stop, reported as an event. There is no promote, demote or notify. Must not: decide
 * restarts (the supervisor does, with back-off) or block.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "process.h"
#include "rclass.h"
#include "mem.h"
#include "clock.h"

enum { READY_RETRY_MS = 10 }; /* a starting process's check is tried again this often */

typedef struct {
	vg_proc *proc;
	bool ready_wait;	 /* the start waits for the check to pass */
	uint64_t ready_deadline; /* monotonic ms */
	uv_timer_t aux;		 /* the stop's kill; the check's next try */
} process;

static uint64_t mono_ms(void)
{
	return vg_clock_mono_ms();
}

static void process_init(vg_rinst *i)
{
	process *p = vg_calloc(1, sizeof *p);
	i->priv = p;
	uv_timer_init(i->loop, &p->aux);
	p->aux.data = i;
}

static bool stopping(const vg_rinst *i)
{
	return i->busy && !i->probe && i->op == VG_OP_STOP;
}

static void on_proc_exit(void *arg, int status, int sig)
{
	vg_rinst *i = arg;
	process *p = i->priv;
	if (i->halted && stopping(i))
		vg_proc_kill_group(p->proc); /* what it left in its group goes with it */
	vg_proc_release(p->proc);
	p->proc = NULL;
	vg_proc_record_remove(i->data_dir, i->cfg->name);
	if (stopping(i)) {
		uv_timer_stop(&p->aux);
		vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
		return;
	}
	char what[128];
	if (sig > 0)
		snprintf(what, sizeof what, "process exited on signal %d", sig);
	else if (status >= 0)
		snprintf(what, sizeof what, "process exited with status %d", status);
	else
		snprintf(what, sizeof what, "process exited");
	if (p->ready_wait) { /* died while starting: the start failed */
		p->ready_wait = false;
		uv_timer_stop(&p->aux);
		vg_rinst_check_drop(i);
		char why[200];
		snprintf(why, sizeof why, "%s before it was ready", what);
		vg_rinst_done(i, VG_OUTCOME_FAILED, 1, why);
		return;
	}
	vg_rinst_exited(i, what);
}

static void process_probe(vg_rinst *i)
{
	process *p = i->priv;
	pid_t pid = vg_proc_record_read(i->data_dir, i->cfg->name);
	if (pid > 0 && !p->proc)
		p->proc = vg_proc_adopt(i->loop, pid, on_proc_exit, i);
	if (p->proc)
		vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
	else
		vg_rinst_done(i, VG_OUTCOME_NOT_RUNNING, VG_OCF_NOT_RUNNING, NULL);
}

static void ready_check(vg_rinst *i);

static void on_ready_retry(uv_timer_t *t)
{
	vg_rinst *i = t->data;
	process *p = i->priv;
	if (p->ready_wait)
		ready_check(i);
}

/* The check of a starting process came back. */
static void ready_done(vg_rinst *i, bool ok, const char *detail)
{
	process *p = i->priv;
	if (!p->ready_wait)
		return;
	if (ok) {
		p->ready_wait = false;
		vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
	} else if (mono_ms() >= p->ready_deadline) {
		p->ready_wait = false;
		char why[400];
		snprintf(why, sizeof why, "not ready within its start timeout: %.300s", detail);
		vg_rinst_done(i, VG_OUTCOME_FAILED, 1, why);
	} else {
		uv_timer_start(&p->aux, on_ready_retry, READY_RETRY_MS, 0);
	}
}

static void ready_check(vg_rinst *i)
{
	process *p = i->priv;
	uint64_t now = mono_ms();
	uint64_t left = p->ready_deadline > now ? p->ready_deadline - now : 1;
	if (vg_rinst_check(i, left < 1000 ? left : 1000, ready_done) != 0) {
		p->ready_wait = false;
		vg_rinst_done(i, VG_OUTCOME_FAILED, 1, "cannot run the check");
	}
}

static void process_start(vg_rinst *i)
{
	process *p = i->priv;
	char logp[4096], err[256];
	snprintf(logp, sizeof logp, "%s/%s.log", i->data_dir, i->cfg->name);
	p->proc = vg_proc_spawn(i->loop, vg_resource_param(i->cfg, "command"), logp, on_proc_exit,
				i, err, sizeof err);
	if (!p->proc) {
		vg_rinst_done(i, VG_OUTCOME_FAILED, -1, err);
		return;
	}
	vg_proc_record_write(i->data_dir, i->cfg->name, vg_proc_pid(p->proc));
	if (i->cfg->check.kind != VG_CHECK_NONE) {
		/* started means serving: the check must pass first (what a VIP ordered after it
		 * relies on) */
		p->ready_wait = true;
		p->ready_deadline = mono_ms() + vg_rinst_timeout(i, VG_OP_START);
		ready_check(i);
		return;
	}
	vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
}

static void on_kill(uv_timer_t *t)
{
	vg_rinst *i = t->data;
	process *p = i->priv;
	if (i->halted)
		vg_warn("%s: still running %llu ms after SIGTERM (cluster.halt_grace), killing its "
			"process group",
			i->cfg->name, (unsigned long long)i->halt_grace_ms);
	else
		vg_warn("%s: did not stop within its timeout, killing it", i->cfg->name);
	vg_proc_kill_group(p->proc);
}

static void process_stop(vg_rinst *i)
{
	process *p = i->priv;
	if (!p->proc) {
		vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
		return;
	}
	vg_proc_signal(p->proc, SIGTERM);
	/* How long it gets after SIGTERM: its stop timeout, or on a halt cluster.halt_grace
	 * (the bound stop_bound.c promises the quorate side). */
	uv_timer_start(&p->aux, on_kill,
		       i->halted ? i->halt_grace_ms : vg_rinst_timeout(i, VG_OP_STOP), 0);
	/* on_proc_exit completes it */
}

static void process_monitor(vg_rinst *i)
{
	process *p = i->priv;
	bool alive = vg_proc_alive(p->proc);
	if (alive && i->cfg->check.kind != VG_CHECK_NONE)
		vg_rinst_monitor_check(i);
	else if (alive)
		vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
	else
		vg_rinst_done(i, VG_OUTCOME_NOT_RUNNING, VG_OCF_NOT_RUNNING, "process is gone");
}

/* A start waiting for its check is over at once: the check is dropped, the process (spawned,
 * not yet ready) is left for the stop that follows. */
static bool process_abandon(vg_rinst *i)
{
	process *p = i->priv;
	if (p->ready_wait) {
		p->ready_wait = false;
		uv_timer_stop(&p->aux);
		vg_rinst_check_drop(i);
	}
	return true;
}

/* A halt while it is being stopped: it gets cluster.halt_grace from now at most. */
static void process_bound_stop(vg_rinst *i)
{
	process *p = i->priv;
	if (!p->proc)
		return;
	if (!uv_is_active((uv_handle_t *)&p->aux) ||
	    uv_timer_get_due_in(&p->aux) > i->halt_grace_ms)
		uv_timer_start(&p->aux, on_kill, i->halt_grace_ms, 0);
}

static int process_pid(const vg_rinst *i)
{
	const process *p = i->priv;
	return p->proc ? vg_proc_pid(p->proc) : 0;
}

static void on_aux_close(uv_handle_t *h)
{
	vg_rinst_unpend(h->data);
}

static void process_close(vg_rinst *i)
{
	process *p = i->priv;
	vg_proc_release(p->proc);
	p->proc = NULL;
	p->ready_wait = false;
	vg_rinst_pend(i);
	uv_close((uv_handle_t *)&p->aux, on_aux_close);
}

const vg_class_ops vg_class_process = {
    .name = "process",
    .init = process_init,
    .probe = process_probe,
    .start = process_start,
    .stop = process_stop,
    .monitor = process_monitor,
    .abandon = process_abandon,
    .bound_stop = process_bound_stop,
    .pid = process_pid,
    .close = process_close,
};
