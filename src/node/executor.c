/* executor.c - runs one resource-agent operation as a child process (see executor.h).
 *
 * Owns: the command line and OCF environment of an operation, and the mapping of how its
 * child ended onto an outcome. The child itself (own session, output tail, timeout that
 * kills the process group, ending at exit rather than end-of-file, since a daemon the agent
 * leaves behind may keep the pipe open) is child.c's. Must not: block, or decide policy.
 */
#include "executor.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "log.h"

struct vg_exec_op {
	vg_child *child;
	bool not_installed; /* nothing was run: res already says why */
	vg_rclass cls;
	vg_op_result res;
	vg_exec_cb cb;
	void *arg;
};

/* LSB `status` and `systemctl is-active` say "stopped" with 3; everything else is OCF. */
static vg_outcome class_outcome(vg_rclass cls, vg_op_kind op, int rc)
{
	if (cls != VG_CLASS_OCF && op == VG_OP_MONITOR) {
		if (rc == 0)
			return VG_OUTCOME_OK;
		return rc == 3 ? VG_OUTCOME_NOT_RUNNING : VG_OUTCOME_FAILED;
	}
	if (cls != VG_CLASS_OCF)
		return rc == 0 ? VG_OUTCOME_OK : VG_OUTCOME_FAILED;
	return vg_ocf_outcome(op, rc);
}

/* The report keeps the end of the output (and of `note`), trimmed of trailing newlines. */
static void keep_output(vg_op_result *res, const vg_child_result *cr, const char *note)
{
	char buf[VG_CHILD_OUTPUT_MAX + 64];
	size_t n = cr->output_len;
	memcpy(buf, cr->output, n);
	n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", note);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	size_t cap = sizeof res->output - 1;
	size_t from = n > cap ? n - cap : 0;
	memcpy(res->output, buf + from, n - from);
	res->output[n - from] = '\0';
}

static void on_child_done(void *arg, const vg_child_result *cr)
{
	vg_exec_op *o = arg;
	o->res.duration_us = cr->duration_us;
	o->res.timed_out = cr->timed_out;
	if (o->not_installed) {
		/* res was filled in by vg_exec_run */
	} else if (cr->error) {
		snprintf(o->res.output, sizeof o->res.output, "%s", cr->why);
		if (cr->spawn_failed) {
			o->res.exit_code = VG_OCF_ERR_INSTALLED;
			o->res.outcome = VG_OUTCOME_HARD;
		}
	} else if (cr->timed_out || cr->cancelled) {
		o->res.outcome = cr->timed_out ? VG_OUTCOME_TIMEOUT : VG_OUTCOME_FAILED;
		keep_output(&o->res, cr, "");
	} else if (cr->sig) {
		char note[48];
		snprintf(note, sizeof note, "\nkilled by signal %d", cr->sig);
		keep_output(&o->res, cr, note);
	} else {
		o->res.exit_code = (int)cr->status;
		o->res.outcome = class_outcome(o->cls, o->res.op, (int)cr->status);
		keep_output(&o->res, cr, "");
	}
	o->cb(o->arg, &o->res);
	free(o);
}

/* The program and arguments of an operation; LSB and systemd actions are named so that
 * class_outcome can read their results. Returns -1 when the agent is not installed. */
static int build_command(char *path, size_t len, char *argv[4], const char *ocf_root,
			 const vg_resource *r, vg_op_kind op, bool probe)
{
	const char *action = probe ? "monitor" : vg_op_name(op);
	switch (r->cls) {
	case VG_CLASS_OCF:
		if (vg_ocf_agent_path(ocf_root, r->provider, r->agent, path, len))
			return -1;
		argv[0] = path;
		argv[1] = (char *)action;
		return 0;
	case VG_CLASS_LSB:
		snprintf(path, len, "/etc/init.d/%s", r->agent);
		argv[0] = path;
		argv[1] = (char *)(op == VG_OP_MONITOR ? "status" : action);
		return 0;
	case VG_CLASS_SYSTEMD:
		snprintf(path, len, "/bin/systemctl");
		argv[0] = path;
		argv[1] = (char *)(op == VG_OP_MONITOR ? "is-active" : action);
		argv[2] = r->agent;
		return 0;
	default:
		return -1;
	}
}

vg_exec_op *vg_exec_run(uv_loop_t *loop, const char *ocf_root, const char *node_name,
			const vg_resource *r, vg_op_kind op, bool probe, uint64_t timeout_ms,
			vg_exec_cb cb, void *arg)
{
	vg_exec_op *o = vg_calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->cb = cb;
	o->arg = arg;
	o->cls = r->cls;
	o->res.op = probe ? VG_OP_MONITOR : op;
	o->res.probe = probe;
	o->res.exit_code = -1;
	o->res.outcome = VG_OUTCOME_FAILED;

	char path[4096];
	char *argv[4] = {NULL};
	vg_child_opts co = {.args = argv, .timeout_ms = timeout_ms};
	if (build_command(path, sizeof path, argv, ocf_root, r, op, probe) == 0) {
		co.file = path;
	} else { /* the child then runs nothing and reports through the loop */
		o->not_installed = true;
		o->res.exit_code = VG_OCF_ERR_INSTALLED;
		o->res.outcome = VG_OUTCOME_HARD;
		snprintf(o->res.output, sizeof o->res.output, "agent for %s is not installed",
			 r->type);
	}
	uint64_t interval = (!probe && op == VG_OP_MONITOR) ? r->ops[VG_OP_MONITOR].interval_ms : 0;
	co.env = vg_ocf_env(ocf_root, r, o->res.op, timeout_ms, interval, node_name);
	o->child = vg_child_run(loop, &co, on_child_done, o);
	vg_env_free(co.env);
	if (!o->child) {
		free(o);
		return NULL;
	}
	if (vg_child_pid(o->child))
		vg_debug("exec %s %s (pid %d, timeout %llu ms)", r->name, argv[1],
			 vg_child_pid(o->child), (unsigned long long)timeout_ms);
	return o;
}

void vg_exec_cancel(vg_exec_op *o)
{
	if (o)
		vg_child_cancel(o->child);
}
