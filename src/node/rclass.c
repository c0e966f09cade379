/* rclass.c - the resource-class interface (see rclass.h).
 *
 * Owns: dispatching an operation to its class, the one place where a completion is delivered
 * (deferred to the loop when a class answers inside the call, dropped once abandoned or
 * closed), the unsupported answer, the native check as a monitor, and an instance's lifetime
 * (freed once every handle and callback its class is owed has come back). Must not: know how
 * a class performs an operation (the class_*.c files do), or decide anything.
 */
#include "rclass.h"
#include "mem.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* One native check; it outlives a drop (its callback always comes, and is then swallowed). */
struct vg_rinst_check {
	vg_rinst *i;
	vg_check_op *op; /* valid until on_check */
	bool dropped;
	vg_rinst_check_cb done;
};

const vg_class_ops *vg_class_ops_of(vg_rclass cls)
{
	switch (cls) {
	case VG_CLASS_OCF:
		return &vg_class_ocf;
	case VG_CLASS_LSB:
		return &vg_class_lsb;
	case VG_CLASS_SYSTEMD:
		return &vg_class_systemd;
	case VG_CLASS_VIP:
		return &vg_class_vip;
	case VG_CLASS_PROCESS:
		return &vg_class_process;
	}
	return &vg_class_ocf; /* not reached: the configuration knows no other class */
}

static void maybe_free(vg_rinst *i)
{
	if (!i->closing || i->pending > 0)
		return;
	vg_rclass_closed_cb cb = i->closed_cb;
	void *arg = i->closed_arg;
	free(i->priv);
	free(i);
	if (cb)
		cb(arg);
}

void vg_rinst_pend(vg_rinst *i)
{
	i->pending++;
}

void vg_rinst_unpend(vg_rinst *i)
{
	i->pending--;
	maybe_free(i);
}

static void on_defer_close(uv_handle_t *h)
{
	vg_rinst_unpend(h->data);
}

vg_rinst *vg_rinst_new(const vg_rinst_opts *o)
{
	vg_rinst *i = vg_calloc(1, sizeof *i);
	i->ops = vg_class_ops_of(o->cfg->cls);
	i->loop = o->loop;
	i->cfg = o->cfg;
	i->key.resource = o->cfg->name;
	i->key.instance = o->instance;
	i->ocf_root = o->ocf_root;
	i->node_name = o->node_name;
	i->data_dir = o->data_dir;
	i->on_exit = o->on_exit;
	i->exit_arg = o->arg;
	uv_timer_init(i->loop, &i->defer);
	i->defer.data = i;
	if (i->ops->init)
		i->ops->init(i);
	return i;
}

uint64_t vg_rinst_timeout(const vg_rinst *i, vg_op_kind op)
{
	uint64_t t = i->cfg->ops[op].timeout_ms;
	return t ? t : 20000;
}

/* ---- completion ---------------------------------------------------------------- */

static void deliver_exit(vg_rinst *i, const char *what)
{
	if (i->on_exit && !i->closing)
		i->on_exit(i->exit_arg, what);
}

/* The operation ends: busy is cleared first, so that cb may begin the next one. */
static void deliver(vg_rinst *i, const vg_rclass_result *res)
{
	vg_rclass_cb cb = i->cb;
	void *arg = i->cb_arg;
	i->busy = false;
	i->cb = NULL;
	i->check_monitor = false;
	cb(arg, res);
}

static void on_defer(uv_timer_t *t)
{
	vg_rinst *i = t->data;
	if (i->closing)
		return;
	bool exit_due = i->dexit_due;
	char what[sizeof i->dexit];
	memcpy(what, i->dexit, sizeof what);
	i->dexit_due = false;
	if (i->deferred) {
		i->deferred = false;
		vg_rclass_result res = i->dres;
		char out[sizeof i->dout];
		memcpy(out, i->dout, sizeof out);
		res.output = out;
		deliver(i, &res);
	}
	if (exit_due)
		deliver_exit(i, what);
}

void vg_rinst_done_res(vg_rinst *i, const vg_rclass_result *res)
{
	if (!i->busy || i->deferred || i->closing)
		return; /* abandoned, already answered, or going away */
	vg_rclass_result r = *res;
	r.op = i->op;
	r.probe = i->probe;
	if (!r.output)
		r.output = "";
	if (i->in_call) {
		i->dres = r;
		snprintf(i->dout, sizeof i->dout, "%s", r.output);
		i->deferred = true;
		uv_timer_start(&i->defer, on_defer, 0, 0);
		return;
	}
	deliver(i, &r);
}

void vg_rinst_done(vg_rinst *i, vg_outcome out, int exit_code, const char *output)
{
	vg_rclass_result r = {
	    .outcome = out,
	    .exit_code = exit_code,
	    .duration_us = (vg_clock_mono_ns() - i->t0_ns) / 1000,
	    .output = output,
	};
	vg_rinst_done_res(i, &r);
}

void vg_rinst_unsupported(vg_rinst *i)
{
	char why[160];
	snprintf(why, sizeof why, "%s is not supported by class %s", vg_op_name(i->op),
		 i->ops->name);
	vg_rinst_done(i, vg_ocf_outcome(i->op, VG_OCF_ERR_UNIMPLEMENTED), VG_OCF_ERR_UNIMPLEMENTED,
		      why);
}

void vg_rinst_exited(vg_rinst *i, const char *what)
{
	if (i->deferred) { /* after the answer already given, as it happened */
		snprintf(i->dexit, sizeof i->dexit, "%s", what);
		i->dexit_due = true;
		return;
	}
	deliver_exit(i, what);
}

/* ---- dispatch ---------------------------------------------------------------- */

void vg_rinst_run(vg_rinst *i, vg_op_kind op, bool probe, vg_rclass_cb cb, void *arg)
{
	i->busy = true;
	i->op = probe ? VG_OP_MONITOR : op;
	i->probe = probe;
	i->cb = cb;
	i->cb_arg = arg;
	i->t0_ns = vg_clock_mono_ns();
	i->in_call = true;
	void (*fn)(vg_rinst *) = NULL;
	if (probe) {
		fn = i->ops->probe;
	} else {
		switch (op) {
		case VG_OP_START:
			fn = i->ops->start;
			break;
		case VG_OP_STOP:
			fn = i->ops->stop;
			break;
		case VG_OP_MONITOR:
			fn = i->ops->monitor;
			break;
		case VG_OP_PROMOTE:
			fn = i->ops->promote;
			break;
		case VG_OP_DEMOTE:
			fn = i->ops->demote;
			break;
		case VG_OP_NOTIFY:
			fn = i->ops->notify;
			break;
		case VG_OP_COUNT:
			break;
		}
	}
	if (fn)
		fn(i);
	else
		vg_rinst_unsupported(i);
	i->in_call = false;
}

void vg_rinst_probe(vg_rinst *i, vg_rclass_cb cb, void *arg)
{
	vg_rinst_run(i, VG_OP_MONITOR, true, cb, arg);
}

bool vg_rinst_busy(const vg_rinst *i)
{
	return i->busy;
}

bool vg_rinst_abandon(vg_rinst *i)
{
	if (!i->busy)
		return true;
	bool over = true;
	if (i->deferred) { /* a native operation's work is done; its answer is dropped */
		i->deferred = false;
		if (!i->dexit_due) /* else the timer still brings the exit */
			uv_timer_stop(&i->defer);
	} else if (i->check_monitor) {
		vg_rinst_check_drop(i);
	} else if (i->ops->abandon) {
		over = i->ops->abandon(i);
	}
	if (over) {
		i->busy = false;
		i->cb = NULL;
		i->check_monitor = false;
	}
	return over;
}

void vg_rinst_halt(vg_rinst *i, bool halted, uint64_t grace_ms)
{
	i->halted = halted;
	i->halt_grace_ms = grace_ms;
	if (halted && i->busy && !i->probe && i->op == VG_OP_STOP && i->ops->bound_stop)
		i->ops->bound_stop(i);
}

bool vg_rinst_stops_at_once(const vg_rinst *i)
{
	return i->ops->stops_at_once;
}

int vg_rinst_pid(const vg_rinst *i)
{
	return i->ops->pid ? i->ops->pid(i) : 0;
}

const char *vg_rinst_class(const vg_rinst *i)
{
	return i->ops->name;
}

void vg_rinst_set_config(vg_rinst *i, const vg_resource *cfg)
{
	i->cfg = cfg;
	i->key.resource = cfg->name;
}

void vg_rinst_close(vg_rinst *i, vg_rclass_closed_cb cb, void *arg)
{
	i->closing = true;
	i->closed_cb = cb;
	i->closed_arg = arg;
	i->deferred = false;
	i->busy = false;
	i->cb = NULL;
	vg_rinst_check_drop(i);
	if (i->ops->close)
		i->ops->close(i);
	vg_rinst_pend(i);
	uv_close((uv_handle_t *)&i->defer, on_defer_close);
}

/* ---- the native check ---------------------------------------------------------- */

static void on_check(void *arg, bool ok, const char *detail)
{
	struct vg_rinst_check *c = arg;
	vg_rinst *i = c->i;
	bool dropped = c->dropped;
	vg_rinst_check_cb done = c->done;
	if (i->check == c)
		i->check = NULL;
	free(c);
	if (!dropped && !i->closing)
		done(i, ok, detail);
	vg_rinst_unpend(i);
}

int vg_rinst_check(vg_rinst *i, uint64_t timeout_ms, vg_rinst_check_cb done)
{
	struct vg_rinst_check *c = vg_calloc(1, sizeof *c);
	c->i = i;
	c->done = done;
	if (vg_check_start(i->loop, &i->cfg->check, timeout_ms, on_check, c, &c->op) != 0) {
		free(c);
		return -1;
	}
	i->check = c;
	vg_rinst_pend(i); /* its callback always comes */
	return 0;
}

void vg_rinst_check_drop(vg_rinst *i)
{
	struct vg_rinst_check *c = i->check;
	if (!c)
		return;
	i->check = NULL;
	c->dropped = true;
	vg_check_cancel(c->op);
}

static void on_monitor_check(vg_rinst *i, bool ok, const char *detail)
{
	vg_rinst_done(i, ok ? VG_OUTCOME_OK : VG_OUTCOME_FAILED, ok ? 0 : 1, detail);
}

void vg_rinst_monitor_check(vg_rinst *i)
{
	i->check_monitor = true;
	if (vg_rinst_check(i, vg_rinst_timeout(i, VG_OP_MONITOR), on_monitor_check) != 0)
		vg_rinst_done(i, VG_OUTCOME_FAILED, 1, "cannot run the check");
}
