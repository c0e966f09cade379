/* supervisor.c - the resources on this node (see supervisor.h).
 *
 * Every resource has an observed state and at most one operation in flight. Operations of
 * every class end in one place, op_done(), which updates the observed state and applies the
 * failure policy; reconcile() then compares observed with wanted and starts what may start
 * now (level-triggered: it is simply called again after every change). A halt is the one
 * exception to order: halt_resource() cancels what is in flight and halt_stops() starts every
 * stop at once (vip first), so that the node keeps the bounds of stop_bound.h. Retries are
 * paced: a start after a failure by the back-off (retry_timer), a failed stop by vg_retry
 * (stop_timer), which also bounds its tries. Every operation goes through the resource-class
 * interface (rclass.h): one instance per resource, keyed (resource, 0). Must not: block, or know
 * how a class performs an operation (the class_*.c files do).
 */
#include "supervisor.h"
#include "mem.h"
#include "clock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backoff.h"
#include "config_diff.h"
#include "instance.h"
#include "log.h"
#include "rclass.h"

/* What this node knows about a resource. */
typedef enum {
	OBS_UNKNOWN, /* not probed yet */
	OBS_STOPPED,
	OBS_RUNNING,
	OBS_UNCLEAN, /* may be partly running: must be stopped before it starts again */
} observed;

enum {
	BACKOFF_BASE_MS = 100,
	BACKOFF_MAX_MS = 30000,
	BACKOFF_STABLE_MS = 10000,
	/* A failed stop is tried again after 1 s, then 2 s; the third failure blocks it. */
	STOP_RETRY_BASE_MS = 1000,
	STOP_RETRY_MAX_MS = 8000,
	STOP_TRIES = 3,
};

/* Managed mode: what the coordinator last asked for (cleared once reached). */
typedef enum { TGT_NONE, TGT_RUNNING, TGT_STOPPED } target;

typedef struct rsc rsc;
struct rsc {
	vg_supervisor *sv;
	const vg_resource *cfg;
	vg_instance_key key; /* (name, 0): one instance of each resource here */
	vg_rinst *inst;	     /* its class's operations */
	size_t index;
	observed obs;
	target target;
	int closes;	       /* handle closes still due once r has left the table */
	vg_instance_role role; /* stopped, started or promoted (what a probe found) */
	bool busy;
	vg_op_kind busy_op;
	bool busy_probe;
	bool gave_up;	   /* failed for good (threshold, on_fail stop): target stopped */
	bool blocked;	   /* on_fail block, or stop failed: hands off until cleanup */
	bool waiting;	   /* back-off delay before the next start */
	bool halt_cancel;  /* the operation in flight was cancelled by a halt: its end is moot */
	bool cannot_run;   /* an agent answered "not installed" or "not configured": not here */
	bool stop_waiting; /* a failed stop waits for its next (paced) try */
	vg_retry stop_retry;
	/* Why it cannot run on this node ("" when it can): its agent is not installed here (the
	 * configuration says so, vg_config_load_local, or a probe answered "not installed").
	 * Then nothing is run for it, not even a stop: it is not here. Shown failed, reported
	 * stopped with this reason (vg_supervisor_unrunnable). */
	char unrunnable[512];
	uint32_t failcount;
	int64_t last_failure_ms; /* wall clock, for display and expiry */
	char last_error[512];
	uint64_t running_since; /* monotonic ms */
	uint64_t restarts;
	vg_backoff backoff;
	uv_timer_t monitor_timer;
	uv_timer_t retry_timer;
	uv_timer_t stop_timer; /* the next try of a failed stop */
	struct {
		bool valid;
		vg_op_kind op;
		bool probe;
		int exit_code;
		vg_outcome outcome;
		uint64_t duration_us;
		char output[512];
		int64_t when_ms;
	} last_op;
};

struct vg_supervisor {
	uv_loop_t *loop;
	const vg_config *cfg;
	char *node;
	char *data_dir;
	char *ocf_root;
	rsc **r; /* each on the heap: libuv handles must not move */
	size_t n;
	size_t probes_pending;
	bool started;
	bool shutting_down;
	bool halted; /* stop everything at once and start nothing */
	vg_supervisor_cbs cbs;
	void *cb_arg;
	vg_config *next_cfg; /* configuration to switch to once what it drops is down */
	vg_supervisor_done_cb cfg_cb;
	void *cfg_arg;
	vg_supervisor_done_cb done_cb;
	void *done_arg;
	int open_handles;
	bool freeing;
};

static void reconcile(vg_supervisor *s);
static void run_op(rsc *r, vg_op_kind op, bool probe);
static void mark_unrunnable(rsc *r, const char *why);

static uint64_t mono_ms(void)
{
	return vg_clock_mono_ms();
}

static int64_t wall_ms(void)
{
	return (int64_t)vg_clock_wall_ms();
}

static rsc *find_instance(const vg_supervisor *s, vg_instance_key key)
{
	for (size_t i = 0; i < s->n; i++)
		if (vg_instance_key_equal(s->r[i]->key, key))
			return s->r[i];
	return NULL;
}

/* A resource by name: its instance 0 (a primitive's only one). */
static rsc *find(const vg_supervisor *s, const char *name)
{
	return find_instance(s, (vg_instance_key){.resource = name, .instance = 0});
}

/* ---- completion of every operation ---------------------------------------- */

static void on_monitor_timer(uv_timer_t *t);

static void schedule_monitor(rsc *r)
{
	uint64_t iv = r->cfg->ops[VG_OP_MONITOR].interval_ms;
	if (iv > 0 && r->obs == OBS_RUNNING && !r->blocked && !r->sv->shutting_down)
		uv_timer_start(&r->monitor_timer, on_monitor_timer, iv, 0);
	else
		uv_timer_stop(&r->monitor_timer);
}

static void on_retry(uv_timer_t *t)
{
	rsc *r = t->data;
	r->waiting = false;
	reconcile(r->sv);
}

static void on_stop_retry(uv_timer_t *t)
{
	rsc *r = t->data;
	r->stop_waiting = false;
	reconcile(r->sv);
}

/* A start that follows a failure waits its back-off (in both modes: a coordinator asking
 * again at once must not make a failing start spin). */
static void pace_next_start(rsc *r, uint64_t ran)
{
	uint64_t delay = vg_backoff_next(&r->backoff, ran);
	if (delay > 0) {
		r->waiting = true;
		uv_timer_start(&r->retry_timer, on_retry, delay, 0);
	}
}

/* Count a failure, pace the next start and report it. */
static void record_failure(rsc *r, const char *what)
{
	r->failcount++;
	r->last_failure_ms = wall_ms();
	snprintf(r->last_error, sizeof r->last_error, "%s", what);
	uint64_t ran = r->running_since ? mono_ms() - r->running_since : 0;
	r->running_since = 0;
	uv_timer_stop(&r->monitor_timer);
	/* The coordinator decides what comes next (on_fail, migration_threshold,
	 * failure_timeout: the scheduler's); this node only reports. */
	bool hard = r->gave_up;
	r->gave_up = false;
	if (r->cfg->on_fail == VG_ON_FAIL_BLOCK)
		r->blocked = true;
	else
		pace_next_start(r, ran);
	vg_warn("%s: %s", r->cfg->name, what);
	if (r->sv->cbs.on_failure)
		r->sv->cbs.on_failure(r->sv->cb_arg, r->cfg->name, what, hard);
}

/* An agent's answer that the resource cannot be here at all: OCF_ERR_INSTALLED (also what
 * a missing agent or init script gives) or OCF_ERR_CONFIGURED. */
static bool not_here(vg_outcome out, int exit_code)
{
	return (out == VG_OUTCOME_HARD || out == VG_OUTCOME_FATAL) &&
	       (exit_code == VG_OCF_ERR_INSTALLED || exit_code == VG_OCF_ERR_CONFIGURED);
}

/* Not installed or not configured here: it is not running here (nothing to stop: no stop is
 * attempted) and may not start here until cleanup; a hard failure for the cluster. */
static void cannot_run_here(rsc *r, vg_op_kind op, bool probe, int exit_code, const char *detail)
{
	vg_supervisor *s = r->sv;
	char what[480];
	snprintf(what, sizeof what, "%s: %s (%s)%s%.300s", probe ? "probe" : vg_op_name(op),
		 exit_code == VG_OCF_ERR_INSTALLED ? "not installed" : "not configured",
		 vg_ocf_exit_name(exit_code), detail && *detail ? ": " : "", detail ? detail : "");
	if (probe && s->probes_pending > 0)
		s->probes_pending--;
	if ((op == VG_OP_START && r->target == TGT_RUNNING) ||
	    (op == VG_OP_STOP && r->target == TGT_STOPPED))
		r->target = TGT_NONE;
	r->obs = OBS_STOPPED;
	r->role = VG_INSTANCE_ROLE_STOPPED;
	r->cannot_run = true;
	r->gave_up = true;
	r->running_since = 0;
	r->failcount++;
	r->last_failure_ms = wall_ms();
	uv_timer_stop(&r->monitor_timer);
	snprintf(r->last_error, sizeof r->last_error, "cannot run on this node: %s", what);
	snprintf(r->unrunnable, sizeof r->unrunnable, "%s", what); /* reported with the reason */
	vg_error("%s: cannot run on this node: %s: not running here, and may not start here until "
		 "cleanup (no stop is attempted)",
		 r->cfg->name, what);
	if (s->cbs.on_failure)
		s->cbs.on_failure(s->cb_arg, r->cfg->name, r->last_error, true);
}

/* A stop failed: we no longer know what runs. Tried again, paced (STOP_RETRY_*), up to
 * STOP_TRIES in all; then hands off (blocked until cleanup) and, unless on_fail is block,
 * the owner is asked to have this node fenced. */
static void stop_failed(rsc *r, const char *what)
{
	vg_supervisor *s = r->sv;
	r->obs = OBS_UNCLEAN;
	snprintf(r->last_error, sizeof r->last_error, "%s", what);
	uint64_t delay = 0;
	if (vg_retry_failed(&r->stop_retry, &delay)) {
		r->stop_waiting = true;
		uv_timer_start(&r->stop_timer, on_stop_retry, delay, 0);
		vg_warn("%s: stop failed (try %u of %u), trying again in %llu ms: %s", r->cfg->name,
			r->stop_retry.failed, r->stop_retry.max_tries, (unsigned long long)delay,
			what);
		return;
	}
	r->blocked = true;
	bool fence = r->cfg->on_fail != VG_ON_FAIL_BLOCK;
	vg_error("%s: stop failed %u times, resource blocked until cleanup%s: %s", r->cfg->name,
		 r->stop_retry.failed, fence ? " (this node asks to be fenced)" : "", what);
	if (s->cbs.on_stop_failed)
		s->cbs.on_stop_failed(s->cb_arg, r->cfg->name, what, fence);
}

static void op_done(rsc *r, vg_op_kind op, bool probe, vg_outcome out, int exit_code,
		    const char *detail, uint64_t duration_us)
{
	vg_supervisor *s = r->sv;
	r->busy = false;
	r->last_op.valid = true;
	r->last_op.op = op;
	r->last_op.probe = probe;
	r->last_op.exit_code = exit_code;
	r->last_op.outcome = out;
	r->last_op.duration_us = duration_us;
	r->last_op.when_ms = wall_ms();
	snprintf(r->last_op.output, sizeof r->last_op.output, "%s", detail ? detail : "");
	vg_debug("%s: %s -> %s (rc %d, %llu us)", r->cfg->name, probe ? "probe" : vg_op_name(op),
		 vg_outcome_name(out), exit_code, (unsigned long long)duration_us);

	char what[480];
	const char *name = probe ? "probe" : vg_op_name(op);
	if (detail && *detail)
		snprintf(what, sizeof what, "%s %s: %.380s", name, vg_outcome_name(out), detail);
	else
		snprintf(what, sizeof what, "%s %s (rc %d)", name, vg_outcome_name(out), exit_code);

	if (r->halt_cancel) {
		/* Cancelled by a halt: whatever it found, the resource may be (partly) running;
		 * the halt stops it next. No failure is counted. */
		r->halt_cancel = false;
		if (probe && s->probes_pending > 0)
			s->probes_pending--;
		if (probe || op == VG_OP_START)
			r->obs = OBS_UNCLEAN;
		vg_info("%s: %s cancelled by the halt", r->cfg->name, name);
		reconcile(s);
		return;
	}
	if (s->cbs.on_op) {
		vg_supervisor_op o = {.resource = r->cfg->name,
				      .task = vg_op_name(op),
				      .probe = probe,
				      .interval_ms = op == VG_OP_MONITOR && !probe
							 ? r->cfg->ops[VG_OP_MONITOR].interval_ms
							 : 0,
				      .rc = exit_code,
				      .timed_out = out == VG_OUTCOME_TIMEOUT,
				      .exec_ms = duration_us / 1000};
		s->cbs.on_op(s->cb_arg, &o);
		if (s->freeing)
			return;
	}
	if (not_here(out, exit_code)) {
		cannot_run_here(r, op, probe, exit_code, detail);
		reconcile(s);
		return;
	}

	if (probe) {
		if (s->probes_pending > 0)
			s->probes_pending--;
		if (out == VG_OUTCOME_OK || out == VG_OUTCOME_PROMOTED) {
			r->obs = OBS_RUNNING;
			r->role = out == VG_OUTCOME_PROMOTED ? VG_INSTANCE_ROLE_PROMOTED
							     : VG_INSTANCE_ROLE_STARTED;
			r->running_since = mono_ms();
			vg_info("%s: found running, adopted", r->cfg->name);
			schedule_monitor(r);
		} else if (out == VG_OUTCOME_NOT_RUNNING) {
			r->obs = OBS_STOPPED;
		} else {
			r->obs = OBS_UNCLEAN;
			record_failure(r, what);
		}
	} else if (op == VG_OP_START) {
		if (r->target == TGT_RUNNING)
			r->target =
			    TGT_NONE; /* asked once: a failure goes back to the coordinator */
		if (out == VG_OUTCOME_OK) {
			r->obs = OBS_RUNNING;
			if (r->role == VG_INSTANCE_ROLE_STOPPED)
				r->role = VG_INSTANCE_ROLE_STARTED;
			r->running_since = mono_ms();
			vg_info("%s: started (%llu ms)", r->cfg->name,
				(unsigned long long)(duration_us / 1000));
			schedule_monitor(r);
		} else {
			r->obs = OBS_UNCLEAN;
			if (out == VG_OUTCOME_HARD || out == VG_OUTCOME_FATAL)
				r->gave_up = true; /* cannot run here at all */
			record_failure(r, what);
		}
	} else if (op == VG_OP_STOP) {
		if (r->target == TGT_STOPPED)
			r->target = TGT_NONE;
		if (out == VG_OUTCOME_OK || out == VG_OUTCOME_NOT_RUNNING) {
			r->obs = OBS_STOPPED;
			r->role = VG_INSTANCE_ROLE_STOPPED;
			vg_retry_reset(&r->stop_retry);
			vg_info("%s: stopped", r->cfg->name);
		} else {
			stop_failed(r, what);
		}
	} else if (op == VG_OP_MONITOR) {
		if (out == VG_OUTCOME_OK || out == VG_OUTCOME_PROMOTED) {
			schedule_monitor(r);
		} else if (r->obs == OBS_RUNNING) {
			r->obs = OBS_UNCLEAN; /* stopped or broken: stop it cleanly first */
			record_failure(r, what);
		}
	}
	reconcile(s);
}

static void sv_unref(vg_supervisor *s);

/* r cannot run here (see rsc.unrunnable): it is not running, nothing is run for it, and the
 * owner hears of it as a hard failure (it must be kept off this node). */
static void mark_unrunnable(rsc *r, const char *why)
{
	snprintf(r->unrunnable, sizeof r->unrunnable, "%s", why && *why ? why : "not installed");
	snprintf(r->last_error, sizeof r->last_error, "%s", r->unrunnable);
	r->last_failure_ms = wall_ms();
	r->obs = OBS_STOPPED;
	r->target = TGT_NONE;
	r->running_since = 0;
	uv_timer_stop(&r->monitor_timer);
	vg_warn("%s: cannot run on this node: %s", r->cfg->name, r->unrunnable);
	if (r->sv->cbs.on_failure)
		r->sv->cbs.on_failure(r->sv->cb_arg, r->cfg->name, r->unrunnable, true);
}

/* ---- running operations -------------------------------------------------------- */

static void on_inst_done(void *arg, const vg_rclass_result *res)
{
	rsc *r = arg;
	op_done(r, res->op, res->probe, res->outcome, res->exit_code, res->output,
		res->duration_us);
}

/* The resource ended by itself (a process exited): it is stopped, and that is a failure. */
static void on_inst_exit(void *arg, const char *what)
{
	rsc *r = arg;
	vg_supervisor *s = r->sv;
	if (s->cbs.on_op) { /* what a monitor would have found: not running */
		vg_supervisor_op o = {.resource = r->cfg->name,
				      .task = vg_op_name(VG_OP_MONITOR),
				      .interval_ms = r->cfg->ops[VG_OP_MONITOR].interval_ms,
				      .rc = VG_OCF_NOT_RUNNING};
		s->cbs.on_op(s->cb_arg, &o);
	}
	r->obs = OBS_STOPPED;
	r->restarts++;
	record_failure(r, what);
	reconcile(r->sv);
}

static void run_op(rsc *r, vg_op_kind op, bool probe)
{
	r->busy = true;
	r->busy_op = probe ? VG_OP_MONITOR : op;
	r->busy_probe = probe;
	vg_rinst_run(r->inst, op, probe, on_inst_done, r);
}

static void on_monitor_timer(uv_timer_t *t)
{
	rsc *r = t->data;
	if (r->obs != OBS_RUNNING || r->sv->shutting_down)
		return;
	if (r->busy) {
		schedule_monitor(r);
		return;
	}
	run_op(r, VG_OP_MONITOR, false);
}

/* ---- the order of a shutdown ------------------------------------------------------ */

static bool is_down(const rsc *r)
{
	return r->obs == OBS_STOPPED && !(r->busy && r->busy_op == VG_OP_START);
}

/* May r stop now, when everything is being stopped? A halt stops everything at once; a
 * shutdown goes strictly in reverse order of the configuration (README "Signals"). Every
 * other stop is the coordinator's, in the scheduler's order. */
static bool stop_allowed(const vg_supervisor *s, const rsc *r)
{
	if (s->halted)
		return true;
	for (size_t j = r->index + 1; j < s->n; j++)
		if (!is_down(s->r[j]) && !s->r[j]->blocked)
			return false;
	return true;
}

static bool all_down(const vg_supervisor *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i]->busy || (s->r[i]->obs != OBS_STOPPED && !s->r[i]->blocked))
			return false;
	return true;
}

static void notify(vg_supervisor *s)
{
	if (s->cbs.on_change && !s->freeing)
		s->cbs.on_change(s->cb_arg);
}

static void swap_config(vg_supervisor *s);

/* Must r be stopped for the configuration about to be switched to (dropped or redefined)? */
static bool leaving(const vg_supervisor *s, const rsc *r)
{
	if (!s->next_cfg)
		return false;
	const vg_resource *nr = vg_config_resource(s->next_cfg, r->cfg->name);
	return !nr || vg_config_resource_changed(s->cfg, s->next_cfg, r->cfg->name) ||
	       !nr->unrunnable != !r->cfg->unrunnable; /* its agent came or went */
}

static bool any_busy(const vg_supervisor *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i]->busy)
			return true;
	return false;
}

/* A halt's pass over the resources: every stop at once, the addresses first (one netlink
 * request each, done before this returns), then processes (SIGTERM now, their group killed
 * after cluster.halt_grace) and agents' stops, all in parallel. */
static void halt_stops(vg_supervisor *s)
{
	for (int pass = 0; pass < 2 && !s->freeing; pass++)
		for (size_t i = 0; i < s->n && !s->freeing; i++) {
			rsc *r = s->r[i];
			if (vg_rinst_stops_at_once(r->inst) != (pass == 0))
				continue;
			if (r->busy || r->blocked || r->stop_waiting)
				continue;
			if (r->obs == OBS_RUNNING || r->obs == OBS_UNCLEAN)
				run_op(r, VG_OP_STOP, false);
		}
}

/* Managed mode: run what the coordinator asked for, one operation per resource, no policy of
 * our own (the scheduler already ordered the actions); stop everything when halted. A start
 * waits out the back-off of an earlier failure, a failed stop its paced retry. */
static void reconcile_managed(vg_supervisor *s)
{
	if (s->halted)
		halt_stops(s);
	bool stopping_all = s->halted || s->shutting_down;
	for (size_t k = 0; k < s->n && !s->freeing; k++) {
		size_t i = stopping_all ? s->n - 1 - k : k;
		rsc *r = s->r[i];
		if (r->unrunnable[0])
			r->target = TGT_NONE; /* not here: nothing to start or stop */
		if (r->busy || r->blocked || r->unrunnable[0])
			continue;
		bool up = r->obs == OBS_RUNNING || r->obs == OBS_UNCLEAN;
		bool may_stop = up && !r->stop_waiting;
		if (stopping_all || leaving(s, r)) {
			if (may_stop && (!stopping_all || stop_allowed(s, r)))
				run_op(r, VG_OP_STOP, false);
			continue;
		}
		if (r->target == TGT_RUNNING) {
			if (r->cannot_run) {
				r->target = TGT_NONE; /* refused: said again, as a hard failure */
				vg_warn("%s: not started: %s", r->cfg->name, r->last_error);
				if (s->cbs.on_failure)
					s->cbs.on_failure(s->cb_arg, r->cfg->name, r->last_error,
							  true);
			} else if (r->obs == OBS_STOPPED && !r->waiting) {
				run_op(r, VG_OP_START, false);
			} else if (r->obs == OBS_UNCLEAN && may_stop) {
				run_op(r, VG_OP_STOP, false); /* clean up first, then start */
			} else if (r->obs == OBS_RUNNING) {
				r->target = TGT_NONE;
			}
		} else if (r->target == TGT_STOPPED) {
			if (may_stop)
				run_op(r, VG_OP_STOP, false);
			else if (r->obs == OBS_STOPPED)
				r->target = TGT_NONE;
		}
	}
	if (s->next_cfg && !s->freeing && !any_busy(s)) {
		bool ready = true;
		for (size_t i = 0; i < s->n; i++)
			if (leaving(s, s->r[i]) && s->r[i]->obs != OBS_STOPPED && !s->r[i]->blocked)
				ready = false;
		if (ready)
			swap_config(s);
	}
}

static void reconcile(vg_supervisor *s)
{
	/* Probes are waited for, except by a halt (it cancels them and stops what it can now). */
	if (!s->started || (s->probes_pending > 0 && !s->halted) || s->freeing) {
		notify(s);
		return;
	}
	reconcile_managed(s);
	if (s->shutting_down && all_down(s) && s->done_cb) {
		vg_supervisor_done_cb cb = s->done_cb;
		s->done_cb = NULL;
		cb(s->done_arg);
		return;
	}
	notify(s);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void timer_init(vg_supervisor *s, uv_timer_t *t, rsc *r)
{
	uv_timer_init(s->loop, t);
	t->data = r;
}

static rsc *rsc_new(vg_supervisor *s, const vg_resource *cfg, size_t index)
{
	rsc *r = vg_calloc(1, sizeof *r);
	r->sv = s;
	r->cfg = cfg;
	r->index = index;
	r->obs = OBS_UNKNOWN;
	vg_backoff_init(&r->backoff, BACKOFF_BASE_MS, BACKOFF_MAX_MS, BACKOFF_STABLE_MS);
	vg_retry_init(&r->stop_retry, STOP_RETRY_BASE_MS, STOP_RETRY_MAX_MS, STOP_TRIES);
	timer_init(s, &r->stop_timer, r);
	timer_init(s, &r->monitor_timer, r);
	timer_init(s, &r->retry_timer, r);
	vg_rinst_opts io = {
	    .loop = s->loop,
	    .cfg = cfg,
	    .instance = 0,
	    .ocf_root = s->ocf_root,
	    .node_name = s->node,
	    .data_dir = s->data_dir,
	    .on_exit = on_inst_exit,
	    .arg = r,
	};
	r->inst = vg_rinst_new(&io);
	r->key = r->inst->key;
	vg_rinst_halt(r->inst, s->halted, s->cfg->halt_grace_ms);
	return r;
}

vg_supervisor *vg_supervisor_new(const vg_supervisor_opts *o)
{
	vg_supervisor *s = vg_calloc(1, sizeof *s);
	s->loop = o->loop;
	s->cfg = o->config;
	s->node = vg_strdup(o->node_name);
	s->data_dir = vg_strdup(o->data_dir);
	s->ocf_root = o->ocf_root ? vg_strdup(o->ocf_root) : NULL;
	s->cbs = o->cbs;
	s->cb_arg = o->cb_arg;
	s->n = o->config->n_resources;
	s->r = vg_calloc(s->n ? s->n : 1, sizeof *s->r);
	for (size_t i = 0; i < s->n; i++)
		s->r[i] = rsc_new(s, &o->config->resources[i], i);
	return s;
}

void vg_supervisor_start(vg_supervisor *s)
{
	s->started = true;
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i]->cfg->unrunnable)
			mark_unrunnable(s->r[i], s->r[i]->cfg->unrunnable);
	for (size_t i = 0; i < s->n; i++)
		s->probes_pending += s->r[i]->obs == OBS_UNKNOWN;
	vg_info("probing %zu resources", s->probes_pending);
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i]->obs == OBS_UNKNOWN)
			run_op(s->r[i], VG_OP_MONITOR, true);
	reconcile(s);
}

void vg_supervisor_shutdown(vg_supervisor *s, vg_supervisor_done_cb cb, void *arg)
{
	vg_info("stopping all resources");
	s->shutting_down = true;
	s->done_cb = cb;
	s->done_arg = arg;
	for (size_t i = 0; i < s->n; i++) {
		uv_timer_stop(&s->r[i]->monitor_timer);
		uv_timer_stop(&s->r[i]->retry_timer);
		s->r[i]->waiting = false;
	}
	reconcile(s);
}

/* The supervisor is freed when the last of its handles and cancelled operations is done. */
static void sv_unref(vg_supervisor *s)
{
	if (--s->open_handles > 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->r[i]);
	free(s->r);
	free(s->node);
	free(s->data_dir);
	free(s->ocf_root);
	free(s);
}

static void on_free_close(uv_handle_t *h)
{
	rsc *r = h->data;
	sv_unref(r->sv);
}

static void on_inst_free(void *arg)
{
	rsc *r = arg;
	sv_unref(r->sv);
}

void vg_supervisor_free(vg_supervisor *s)
{
	if (!s)
		return;
	s->freeing = true;
	s->open_handles++; /* held until every close below is issued */
	for (size_t i = 0; i < s->n; i++) {
		rsc *r = s->r[i];
		/* what is in flight is cancelled, a process left running */
		s->open_handles++;
		vg_rinst_close(r->inst, on_inst_free, r);
		r->inst = NULL;
		uv_timer_t *ts[] = {&r->monitor_timer, &r->retry_timer, &r->stop_timer};
		for (size_t k = 0; k < 3; k++) {
			s->open_handles++;
			uv_close((uv_handle_t *)ts[k], on_free_close);
		}
	}
	sv_unref(s);
}

/* ---- views and operator actions ------------------------------------------------ */

static vg_instance_state state_of(const rsc *r)
{
	if (r->unrunnable[0])
		return VG_INSTANCE_FAILED;
	if (r->busy && !r->busy_probe && r->busy_op == VG_OP_START)
		return VG_INSTANCE_STARTING;
	if (r->busy && !r->busy_probe && r->busy_op == VG_OP_STOP)
		return VG_INSTANCE_STOPPING;
	if (r->blocked)
		return r->obs == OBS_STOPPED ? VG_INSTANCE_FAILED : VG_INSTANCE_UNMANAGED;
	if (r->obs == OBS_UNCLEAN || r->cannot_run || (r->gave_up && r->failcount > 0))
		return VG_INSTANCE_FAILED;
	if (r->obs == OBS_RUNNING)
		return VG_INSTANCE_RUNNING;
	/* a start asked for, waiting out the back-off of a failure: under way, so that the
	 * coordinator does not ask again (and again) meanwhile */
	if (r->obs == OBS_STOPPED && r->target == TGT_RUNNING && r->waiting)
		return VG_INSTANCE_STARTING;
	return r->obs == OBS_UNKNOWN ? VG_INSTANCE_UNKNOWN : VG_INSTANCE_STOPPED;
}

/* The role an instance listed in the views has: promoted, or started (also while it is being
 * started or stopped, or has failed: it may run). */
static vg_instance_role shown_role(const rsc *r)
{
	return r->role == VG_INSTANCE_ROLE_PROMOTED ? VG_INSTANCE_ROLE_PROMOTED
						    : VG_INSTANCE_ROLE_STARTED;
}

static json_t *resource_json(const vg_supervisor *s, const rsc *r)
{
	const char *st = vg_instance_state_name(state_of(r));
	json_t *inst = json_array();
	if (r->obs == OBS_RUNNING || r->obs == OBS_UNCLEAN || r->busy) {
		if (!(r->obs == OBS_STOPPED && !r->busy))
			json_array_append_new(
			    inst, json_pack("{s:s, s:s, s:s}", "node", s->node, "role",
					    vg_instance_role_name(shown_role(r)), "state", st));
	}
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "name", r->cfg->name, "type", r->cfg->type,
		      "state", st, "failcount", (json_int_t)r->failcount, "instances", inst,
		      "last_error", r->last_error[0] ? json_string(r->last_error) : json_null());
	return o;
}

json_t *vg_supervisor_resource(const vg_supervisor *s, const char *name)
{
	const rsc *r = find(s, name);
	if (!r)
		return NULL;
	json_t *o = resource_json(s, r);
	json_t *params = json_object();
	for (size_t i = 0; i < r->cfg->n_params; i++)
		json_object_set_new(params, r->cfg->params[i].key,
				    json_string(r->cfg->params[i].value));
	json_object_set_new(o, "params", params);
	json_t *ops = json_object();
	for (int k = 0; k < VG_OP_COUNT; k++) {
		const vg_op *op = &r->cfg->ops[k];
		if (k != VG_OP_START && k != VG_OP_STOP && k != VG_OP_MONITOR && !op->configured)
			continue;
		json_object_set_new(ops, vg_op_name((vg_op_kind)k),
				    json_pack("{s:I, s:I}", "timeout_ms",
					      (json_int_t)op->timeout_ms, "interval_ms",
					      (json_int_t)op->interval_ms));
	}
	json_object_set_new(o, "ops", ops);
	json_object_set_new(o, "migration_threshold",
			    json_integer((json_int_t)r->cfg->migration_threshold));
	json_object_set_new(o, "failure_timeout_ms",
			    json_integer((json_int_t)r->cfg->failure_timeout_ms));
	json_object_set_new(o, "restarts", json_integer((json_int_t)r->restarts));
	json_object_set_new(o, "last_failure_ms",
			    r->last_failure_ms ? json_integer(r->last_failure_ms) : json_null());
	if (vg_rinst_pid(r->inst) > 0)
		json_object_set_new(o, "pid", json_integer(vg_rinst_pid(r->inst)));
	if (r->last_op.valid)
		json_object_set_new(
		    o, "last_op",
		    json_pack("{s:s, s:i, s:s, s:I, s:s, s:I}", "op",
			      r->last_op.probe ? "probe" : vg_op_name(r->last_op.op), "rc",
			      r->last_op.exit_code, "outcome", vg_outcome_name(r->last_op.outcome),
			      "duration_us", (json_int_t)r->last_op.duration_us, "output",
			      r->last_op.output, "time_ms", (json_int_t)r->last_op.when_ms));
	return o;
}

int vg_supervisor_cleanup(vg_supervisor *s, const char *name)
{
	rsc *r = find(s, name);
	if (!r)
		return -1;
	if (r->busy)
		return -2;
	r->failcount = 0;
	r->gave_up = false;
	r->blocked = false;
	r->waiting = false;
	r->cannot_run = false;
	r->stop_waiting = false;
	r->last_error[0] = '\0';
	r->unrunnable[0] = '\0';
	if (r->cfg->unrunnable) { /* loaded without its agent: stays so until a new switch */
		snprintf(r->unrunnable, sizeof r->unrunnable, "%s", r->cfg->unrunnable);
		snprintf(r->last_error, sizeof r->last_error, "%s", r->unrunnable);
		reconcile(s);
		return 0;
	}
	vg_backoff_reset(&r->backoff);
	vg_retry_reset(&r->stop_retry);
	uv_timer_stop(&r->stop_timer);
	uv_timer_stop(&r->retry_timer);
	/* Forget what we knew and ask again, as after a restart of vigild. */
	uv_timer_stop(&r->monitor_timer);
	if (vg_rinst_pid(r->inst) > 0) { /* its process is watched: running */
		r->obs = OBS_RUNNING;
		schedule_monitor(r);
		reconcile(s);
		return 0;
	}
	s->probes_pending++;
	run_op(r, VG_OP_MONITOR, true);
	return 0;
}

/* ---- driven by the coordinator ------------------------------------------------------ */

static void rsc_unref(rsc *r)
{
	if (--r->closes == 0)
		free(r);
}

static void on_rsc_close(uv_handle_t *h)
{
	rsc_unref(h->data);
}

static void on_rsc_inst_close(void *arg)
{
	rsc_unref(arg);
}

/* r has left the table: nothing runs there (it was stopped), no operation is in flight. */
static void rsc_destroy(rsc *r)
{
	r->closes = 4; /* three timers and the instance */
	vg_rinst_close(r->inst, on_rsc_inst_close, r);
	r->inst = NULL;
	uv_timer_t *ts[] = {&r->monitor_timer, &r->retry_timer, &r->stop_timer};
	for (size_t k = 0; k < 3; k++)
		uv_close((uv_handle_t *)ts[k], on_rsc_close);
}

static void swap_config(vg_supervisor *s)
{
	const vg_config *nc = s->next_cfg;
	rsc **nr = vg_calloc(nc->n_resources ? nc->n_resources : 1, sizeof *nr);
	size_t probes = 0;
	for (size_t i = 0; i < nc->n_resources; i++) {
		rsc *old = find(s, nc->resources[i].name);
		if (old && !leaving(s, old)) {
			nr[i] = old;
			old->cfg = &nc->resources[i];
			vg_rinst_set_config(old->inst, old->cfg);
			old->key = old->inst->key;
			old->index = i;
		} else if (old && !old->unrunnable[0]) { /* redefined: stopped above, starts
							     afresh under the new one */
			nr[i] = rsc_new(s, &nc->resources[i], i);
			nr[i]->obs = OBS_STOPPED;
		} else { /* new, or its agent came: probed */
			nr[i] = rsc_new(s, &nc->resources[i], i);
			probes++;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		bool kept = false;
		for (size_t j = 0; j < nc->n_resources && !kept; j++)
			kept = nr[j] == s->r[i];
		if (!kept)
			rsc_destroy(s->r[i]);
	}
	free(s->r);
	s->r = nr;
	s->n = nc->n_resources;
	s->cfg = nc;
	s->next_cfg = NULL;
	vg_info("configuration switched: %zu resources", s->n);
	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i]->cfg->unrunnable && !s->r[i]->unrunnable[0]) {
			probes -= s->r[i]->obs == OBS_UNKNOWN;
			mark_unrunnable(s->r[i], s->r[i]->cfg->unrunnable);
		}
	}
	s->probes_pending += probes;
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i]->obs == OBS_UNKNOWN)
			run_op(s->r[i], VG_OP_MONITOR, true);
	vg_supervisor_done_cb cb = s->cfg_cb;
	s->cfg_cb = NULL;
	if (cb)
		cb(s->cfg_arg);
}

int vg_supervisor_set_config(vg_supervisor *s, const vg_config *cfg, vg_supervisor_done_cb cb,
			     void *arg)
{
	if (s->next_cfg)
		return -1;
	s->next_cfg = (vg_config *)cfg;
	s->cfg_cb = cb;
	s->cfg_arg = arg;
	reconcile(s);
	return 0;
}

int vg_supervisor_request(vg_supervisor *s, const char *name, vg_op_kind op)
{
	rsc *r = find(s, name);
	if (!r)
		return -1;
	if (op == VG_OP_START)
		r->target = TGT_RUNNING;
	else if (op == VG_OP_STOP)
		r->target = TGT_STOPPED;
	else
		return -1;
	reconcile(s);
	return 0;
}

/* A halt's first step for r: nothing new begins, and what is in flight ends now. A probe,
 * monitor or start is cancelled (an agent's process group killed; a native check dropped);
 * a process already being stopped gets cluster.halt_grace from now, not its stop timeout; an
 * agent's stop is left to finish (nothing bounds it: stop_bound.c). */
static void halt_resource(rsc *r)
{
	vg_supervisor *s = r->sv;
	uv_timer_stop(&r->monitor_timer);
	uv_timer_stop(&r->retry_timer);
	r->waiting = false;
	if (!r->busy)
		return;
	if (!r->busy_probe && r->busy_op == VG_OP_STOP)
		return; /* bounded by vg_rinst_halt (a process), or left to finish (an agent) */
	if (!vg_rinst_abandon(r->inst)) { /* an agent's: op_done sees halt_cancel */
		r->halt_cancel = true;
		return;
	}
	/* over now (a native operation): what it did is unknown */
	r->busy = false;
	if (r->busy_probe && s->probes_pending > 0)
		s->probes_pending--;
	if (r->busy_probe || r->busy_op == VG_OP_START)
		r->obs = OBS_UNCLEAN; /* may be (partly) running: the halt stops it */
	vg_info("%s: %s cancelled by the halt", r->cfg->name,
		r->busy_probe ? "probe" : vg_op_name(r->busy_op));
}

void vg_supervisor_halt(vg_supervisor *s, bool halt)
{
	if (s->halted == halt)
		return;
	s->halted = halt;
	for (size_t i = 0; i < s->n; i++) {
		s->r[i]->target = TGT_NONE;
		vg_rinst_halt(s->r[i]->inst, halt, s->cfg->halt_grace_ms);
	}
	if (halt) {
		vg_warn("halt: stopping every resource at once (processes get %llu ms after "
			"SIGTERM)",
			(unsigned long long)s->cfg->halt_grace_ms);
		for (size_t i = 0; i < s->n; i++)
			halt_resource(s->r[i]);
	} else {
		vg_info("resources may run again");
		for (size_t i = 0; i < s->n; i++)
			schedule_monitor(s->r[i]);
	}
	reconcile(s);
}

bool vg_supervisor_all_stopped(const vg_supervisor *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const rsc *r = s->r[i];
		if (r->busy || r->obs != OBS_STOPPED || r->stop_waiting)
			return false;
	}
	return true;
}

bool vg_supervisor_probed(const vg_supervisor *s)
{
	return s->started && s->probes_pending == 0;
}

/* The state the coordinator is told: state_of's, but for an instance that cannot run here
 * (verifiably not running) "stopped", so that it is recovered elsewhere without a stop. */
static vg_instance_state report_state(const rsc *r)
{
	if (r->unrunnable[0]) /* not here: stopped, for the scheduler (vg_supervisor_unrunnable) */
		return VG_INSTANCE_STOPPED;
	if (r->cannot_run && !r->busy && !r->blocked && r->obs == OBS_STOPPED)
		return VG_INSTANCE_STOPPED;
	return state_of(r);
}

json_t *vg_supervisor_report(const vg_supervisor *s)
{
	json_t *o = json_object();
	for (size_t i = 0; i < s->n; i++) {
		const rsc *r = s->r[i];
		json_object_set_new(o, r->cfg->name,
				    json_string(vg_instance_state_name(report_state(r))));
	}
	return o;
}

json_t *vg_supervisor_errors(const vg_supervisor *s)
{
	json_t *o = json_object();
	for (size_t i = 0; i < s->n; i++) {
		const rsc *r = s->r[i];
		if (r->last_error[0])
			json_object_set_new(o, r->cfg->name, json_string(r->last_error));
	}
	return o;
}

json_t *vg_supervisor_unrunnable(const vg_supervisor *s)
{
	json_t *o = json_object();
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i]->unrunnable[0])
			json_object_set_new(o, s->r[i]->cfg->name,
					    json_string(s->r[i]->unrunnable));
	return o;
}
