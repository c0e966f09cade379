/* executor.c - runs one resource-agent operation as a child process (see executor.h).
 *
 * Each operation is a child in its own session (so its whole process group can be killed at
 * the timeout), with stdout and stderr on one pipe whose tail is kept for the report. The
 * operation ends when the child exits: a daemon the agent leaves behind may keep the pipe
 * open, so end-of-file is not waited for. Must not: block, or decide policy.
 */
#include "executor.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct vg_exec_op {
	uv_loop_t *loop;
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	int open_handles;
	bool spawned;
	bool exited;
	bool killed; /* cancelled by the caller */
	uint64_t started_ns;
	vg_op_result res;
	size_t out_len;
	char outbuf[sizeof(((vg_op_result *)0)->output)];
	char rbuf[4096]; /* read buffer: consumed into outbuf at once */
	vg_rclass cls;
	vg_exec_cb cb;
	void *arg;
	char **env;
	char *argv[4];
	char path[4096];
};

static void finish_if_closed(vg_exec_op *o)
{
	if (o->open_handles > 0)
		return;
	o->res.duration_us = (uv_hrtime() - o->started_ns) / 1000;
	/* Keep the last whole lines of output, trimmed of trailing newlines. */
	size_t n = o->out_len;
	while (n > 0 && (o->outbuf[n - 1] == '\n' || o->outbuf[n - 1] == '\r'))
		n--;
	memcpy(o->res.output, o->outbuf, n);
	o->res.output[n] = '\0';
	o->cb(o->arg, &o->res);
	vg_env_free(o->env);
	free(o);
}

static void on_close(uv_handle_t *h)
{
	vg_exec_op *o = h->data;
	o->open_handles--;
	finish_if_closed(o);
}

static void close_all(vg_exec_op *o)
{
	uv_handle_t *hs[] = {(uv_handle_t *)&o->timer, (uv_handle_t *)&o->out,
			     (uv_handle_t *)&o->proc};
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
		if (hs[i]->data && !uv_is_closing(hs[i]))
			uv_close(hs[i], on_close);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	vg_exec_op *o = h->data;
	*buf = uv_buf_init(o->rbuf, sizeof o->rbuf);
}

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

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	vg_exec_op *o = s->data;
	if (nread <= 0) {
		if (nread < 0)
			uv_read_stop(s);
		return;
	}
	size_t cap = sizeof o->outbuf - 1;
	size_t n = (size_t)nread;
	if (n >= cap) {
		memcpy(o->outbuf, buf->base + n - cap, cap);
		o->out_len = cap;
	} else {
		if (o->out_len + n > cap) {
			size_t drop = o->out_len + n - cap;
			memmove(o->outbuf, o->outbuf + drop, o->out_len - drop);
			o->out_len -= drop;
		}
		memcpy(o->outbuf + o->out_len, buf->base, n);
		o->out_len += n;
	}
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
	vg_exec_op *o = p->data;
	o->exited = true;
	if (o->res.timed_out || o->killed) {
		o->res.exit_code = -1;
		o->res.outcome = o->res.timed_out ? VG_OUTCOME_TIMEOUT : VG_OUTCOME_FAILED;
	} else if (sig) {
		o->res.exit_code = -1;
		o->res.outcome = VG_OUTCOME_FAILED;
		snprintf(o->outbuf + o->out_len, sizeof o->outbuf - o->out_len,
			 "\nkilled by signal %d", sig);
		o->out_len = strlen(o->outbuf);
	} else {
		o->res.exit_code = (int)status;
		o->res.outcome = class_outcome(o->cls, o->res.op, (int)status);
	}
	/* Whatever is left in the group (an agent's stray helper) goes with the operation;
	 * a daemon the agent started has its own session and is not touched. */
	close_all(o);
}

static void on_timeout(uv_timer_t *t)
{
	vg_exec_op *o = t->data;
	if (o->exited)
		return;
	o->res.timed_out = true;
	kill(-o->proc.pid, SIGKILL);
}

static void on_spawn_failed(uv_timer_t *t)
{
	vg_exec_op *o = t->data;
	close_all(o);
}

/* Map LSB/systemd results onto OCF meaning, so one outcome table serves all classes. */
static int build_command(vg_exec_op *o, const char *ocf_root, const vg_resource *r, vg_op_kind op,
			 bool probe)
{
	const char *action = probe ? "monitor" : vg_op_name(op);
	switch (r->cls) {
	case VG_CLASS_OCF:
		if (vg_ocf_agent_path(ocf_root, r->provider, r->agent, o->path, sizeof o->path))
			return -1;
		o->argv[0] = o->path;
		o->argv[1] = (char *)action;
		return 0;
	case VG_CLASS_LSB:
		snprintf(o->path, sizeof o->path, "/etc/init.d/%s", r->agent);
		o->argv[0] = o->path;
		o->argv[1] = (char *)(op == VG_OP_MONITOR ? "status" : action);
		return 0;
	case VG_CLASS_SYSTEMD:
		snprintf(o->path, sizeof o->path, "/bin/systemctl");
		o->argv[0] = o->path;
		o->argv[1] = (char *)(op == VG_OP_MONITOR ? "is-active" : action);
		o->argv[2] = r->agent;
		return 0;
	default:
		return -1;
	}
}

vg_exec_op *vg_exec_run(uv_loop_t *loop, const char *ocf_root, const char *node_name,
			const vg_resource *r, vg_op_kind op, bool probe, uint64_t timeout_ms,
			vg_exec_cb cb, void *arg)
{
	vg_exec_op *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->loop = loop;
	o->cb = cb;
	o->arg = arg;
	o->res.op = probe ? VG_OP_MONITOR : op;
	o->res.probe = probe;
	o->cls = r->cls;
	o->res.exit_code = -1;
	o->res.outcome = VG_OUTCOME_FAILED;
	o->started_ns = uv_hrtime();
	uint64_t interval = (!probe && op == VG_OP_MONITOR) ? r->ops[VG_OP_MONITOR].interval_ms : 0;
	o->env = vg_ocf_env(ocf_root, r, o->res.op, timeout_ms, interval, node_name);

	uv_timer_init(loop, &o->timer);
	o->timer.data = o;
	o->open_handles = 1;

	if (build_command(o, ocf_root, r, op, probe) != 0) {
		o->res.exit_code = VG_OCF_ERR_INSTALLED;
		o->res.outcome = VG_OUTCOME_HARD;
		snprintf(o->outbuf, sizeof o->outbuf, "agent for %s is not installed", r->type);
		o->out_len = strlen(o->outbuf);
		uv_timer_start(&o->timer, on_spawn_failed, 0, 0);
		return o;
	}

	/* One pipe for stdout and stderr: made here, so both descriptors can name it. */
	uv_file fds[2];
	int prc = uv_pipe(fds, UV_NONBLOCK_PIPE, 0);
	if (prc != 0) {
		snprintf(o->outbuf, sizeof o->outbuf, "cannot make a pipe: %s", uv_strerror(prc));
		o->out_len = strlen(o->outbuf);
		uv_timer_start(&o->timer, on_spawn_failed, 0, 0);
		return o;
	}
	uv_pipe_init(loop, &o->out, 0);
	o->out.data = o;
	o->open_handles++;
	uv_pipe_open(&o->out, fds[0]);
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE},
	    {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
	    {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
	};
	uv_process_options_t opts = {
	    .exit_cb = on_child_exit,
	    .file = o->path,
	    .args = o->argv,
	    .env = o->env,
	    .cwd = "/",
	    .flags = UV_PROCESS_DETACHED, /* own session: the timeout kills the group */
	    .stdio_count = 3,
	    .stdio = stdio,
	};
	o->proc.data = o;
	int rc = uv_spawn(loop, &o->proc, &opts);
	close(fds[1]);
	o->open_handles++; /* the process handle must be closed even when uv_spawn fails */
	if (rc != 0) {
		snprintf(o->outbuf, sizeof o->outbuf, "cannot run %.200s: %s", o->path,
			 uv_strerror(rc));
		o->out_len = strlen(o->outbuf);
		o->res.exit_code = VG_OCF_ERR_INSTALLED;
		o->res.outcome = VG_OUTCOME_HARD;
		uv_timer_start(&o->timer, on_spawn_failed, 0, 0);
		return o;
	}
	o->spawned = true;
	uv_read_start((uv_stream_t *)&o->out, on_alloc, on_read);
	uv_timer_start(&o->timer, on_timeout, timeout_ms, 0);
	vg_debug("exec %s %s (pid %d, timeout %llu ms)", r->name, o->argv[1], o->proc.pid,
		 (unsigned long long)timeout_ms);
	return o;
}

void vg_exec_cancel(vg_exec_op *o)
{
	if (!o || !o->spawned || o->exited)
		return;
	o->killed = true;
	kill(-o->proc.pid, SIGKILL);
}
