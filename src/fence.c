/* fence.c - fences a node through its fence devices, level by level (see fence.h).
 *
 * Owns: the plan of one fencing operation (the devices that target the node, ordered by
 * level, each with its resolved agent path and its stdin text, all copied from the
 * configuration), and the child process of the device being run: stdin is a pipe filled
 * and closed before the agent starts, stdout and stderr share one pipe whose tail is kept,
 * the agent runs in its own session so the timeout kills its whole process group.
 * Must not: block the loop, keep pointers into the configuration, or decide policy (what a
 * failed fencing means is the caller's business).
 */
#include "fence.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define DEFAULT_TIMEOUT_MS 20000
#define INPUT_MAX	   32768 /* stdin text of one device: well under a pipe's capacity */
#define OUTPUT_TAIL	   300	 /* characters of agent output quoted in a detail */

/* One device to run, everything copied out of the configuration. */
typedef struct {
	char *device;
	char *agent; /* as configured */
	char *path;  /* resolved program; NULL when `error` says why not */
	char *input; /* stdin text */
	size_t input_len;
	uint64_t timeout_ms;
	int level;
	char error[160]; /* set when the device cannot be run at all */
} fence_step;

/* The child process of one step. */
typedef struct {
	vg_fence_op *op;
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	int open_handles;
	bool spawned;
	bool exited;
	bool timed_out;
	int spawn_err;
	int64_t status;
	int sig;
	size_t tail_len;
	char tail[1024];
	char rbuf[4096];
} fence_run;

struct vg_fence_op {
	uv_loop_t *loop;
	uv_timer_t kick; /* defers the first step out of vg_fence_run; closed at the end */
	fence_step *steps;
	size_t n_steps;
	size_t cur;
	int n_levels;
	fence_run *run; /* the step in flight, NULL between steps */
	bool cancelled;
	bool finished;
	char target[256];
	char action[16];
	vg_fence_result res;
	vg_fence_cb cb;
	void *arg;
};

static const char *const actions[] = {"off", "reboot", "on", "status", "monitor", "list", NULL};

/* ---- the plan ------------------------------------------------------------- */

static bool device_targets(const vg_fence_device *d, const char *target)
{
	for (size_t t = 0; t < d->n_targets; t++)
		if (d->targets[t] && strcmp(d->targets[t], target) == 0)
			return true;
	return false;
}

bool vg_fence_configured(const vg_config *cfg, const char *target)
{
	if (!cfg || !target)
		return false;
	for (size_t i = 0; i < cfg->n_fence_devices; i++)
		if (device_targets(&cfg->fence_devices[i], target))
			return true;
	return false;
}

static bool executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* The program for `agent`: a path is taken as it is (made absolute, since the agent runs
 * in "/"); a name is looked up in /usr/sbin, then in each directory of $PATH. */
static char *resolve_agent(const char *agent, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	if (strchr(agent, '/')) {
		if (!realpath(agent, buf) || !executable(buf)) {
			snprintf(err, errlen, "fence agent %.100s: %s", agent,
				 errno ? strerror(errno) : "not executable");
			return NULL;
		}
		return strdup(buf);
	}
	snprintf(buf, sizeof buf, "/usr/sbin/%s", agent);
	if (executable(buf))
		return strdup(buf);
	const char *p = getenv("PATH");
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > 0 && len + strlen(agent) + 2 <= sizeof buf) {
			int n = snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, agent);
			if (n > 0 && (size_t)n < sizeof buf && buf[0] == '/' && executable(buf))
				return strdup(buf);
		}
		p = end ? end + 1 : NULL;
	}
	snprintf(err, errlen, "fence agent %.100s not found in /usr/sbin or $PATH", agent);
	return NULL;
}

static bool has_newline(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* The stdin text of one device run: its parameters, then action and plug. */
static char *build_input(const vg_fence_device *d, const char *target, const char *action,
			 size_t *len, char *err, size_t errlen)
{
	bool has_plug = false;
	for (size_t i = 0; i < d->n_params; i++) {
		const vg_param *p = &d->params[i];
		if (has_newline(p->key) || has_newline(p->value)) {
			snprintf(err, errlen, "parameter %.60s contains a line break", p->key);
			return NULL;
		}
		if (strcmp(p->key, "plug") == 0 || strcmp(p->key, "port") == 0)
			has_plug = true;
	}
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < d->n_params; i++) {
		const vg_param *p = &d->params[i];
		if (strcmp(p->key, "action") != 0) /* ours wins */
			fprintf(f, "%s=%s\n", p->key, p->value ? p->value : "");
	}
	fprintf(f, "action=%s\n", action);
	if (!has_plug)
		fprintf(f, "plug=%s\n", target);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (*len > INPUT_MAX) {
		free(buf);
		snprintf(err, errlen, "parameters longer than %d bytes", INPUT_MAX);
		return NULL;
	}
	return buf;
}

static void free_steps(vg_fence_op *op)
{
	for (size_t i = 0; i < op->n_steps; i++) {
		free(op->steps[i].device);
		free(op->steps[i].agent);
		free(op->steps[i].path);
		free(op->steps[i].input);
	}
	free(op->steps);
	op->steps = NULL;
	op->n_steps = 0;
}

/* Devices that target the node, stably ordered by level. Returns -1 on exhausted memory. */
static int make_plan(vg_fence_op *op, const vg_config *cfg)
{
	op->steps = calloc(cfg->n_fence_devices + 1, sizeof *op->steps);
	if (!op->steps)
		return -1;
	for (size_t i = 0; i < cfg->n_fence_devices; i++) {
		const vg_fence_device *d = &cfg->fence_devices[i];
		if (!device_targets(d, op->target))
			continue;
		fence_step *s = &op->steps[op->n_steps++];
		s->device = strdup(d->name ? d->name : "");
		s->agent = strdup(d->agent ? d->agent : "");
		if (!s->device || !s->agent)
			return -1;
		s->level = d->level;
		s->timeout_ms = d->timeout_ms ? d->timeout_ms : DEFAULT_TIMEOUT_MS;
		if (!d->agent || !*d->agent)
			snprintf(s->error, sizeof s->error, "no fence agent given");
		else
			s->path = resolve_agent(d->agent, s->error, sizeof s->error);
		if (s->path)
			s->input = build_input(d, op->target, op->action, &s->input_len, s->error,
					       sizeof s->error);
	}
	/* insertion sort by level: keeps file order within a level */
	for (size_t i = 1; i < op->n_steps; i++) {
		fence_step s = op->steps[i];
		size_t j = i;
		for (; j > 0 && op->steps[j - 1].level > s.level; j--)
			op->steps[j] = op->steps[j - 1];
		op->steps[j] = s;
	}
	for (size_t i = 0; i < op->n_steps; i++)
		if (i == 0 || op->steps[i].level != op->steps[i - 1].level)
			op->n_levels++;
	return 0;
}

/* ---- the end of an operation ---------------------------------------------- */

static void on_op_closed(uv_handle_t *h)
{
	vg_fence_op *op = h->data;
	if (!op->cancelled)
		op->cb(op->arg, &op->res);
	free_steps(op);
	free(op);
}

static void finish(vg_fence_op *op)
{
	if (op->finished)
		return;
	op->finished = true;
	if (!op->cancelled) {
		if (op->res.ok)
			vg_info("fencing %s (%s) succeeded: %s", op->target, op->action,
				op->res.detail);
		else
			vg_error("fencing %s (%s) failed: %s", op->target, op->action,
				 op->res.detail);
	}
	uv_close((uv_handle_t *)&op->kick, on_op_closed);
}

static void fail_op(vg_fence_op *op, const char *fmt, const char *a)
{
	op->res.ok = false;
	snprintf(op->res.detail, sizeof op->res.detail, fmt, a);
}

/* ---- one device run ------------------------------------------------------- */

static void start_next(vg_fence_op *op);

static void tail_append(fence_run *r, const char *data, size_t n)
{
	size_t cap = sizeof r->tail;
	if (n >= cap) {
		memcpy(r->tail, data + n - cap, cap);
		r->tail_len = cap;
		return;
	}
	if (r->tail_len + n > cap) {
		size_t drop = r->tail_len + n - cap;
		memmove(r->tail, r->tail + drop, r->tail_len - drop);
		r->tail_len -= drop;
	}
	memcpy(r->tail + r->tail_len, data, n);
	r->tail_len += n;
}

/* The agent's output as one line: non-empty lines joined by " | ", the last OUTPUT_TAIL
 * characters of it. */
static void output_summary(const fence_run *r, char *out, size_t len)
{
	char joined[sizeof r->tail * 2 + 1];
	size_t n = 0;
	size_t i = 0;
	while (i < r->tail_len) {
		size_t start = i;
		while (i < r->tail_len && r->tail[i] != '\n' && r->tail[i] != '\r')
			i++;
		size_t e = i;
		while (start < e && (r->tail[start] == ' ' || r->tail[start] == '\t'))
			start++;
		while (e > start && (r->tail[e - 1] == ' ' || r->tail[e - 1] == '\t'))
			e--;
		if (e > start) {
			if (n > 0) {
				memcpy(joined + n, " | ", 3);
				n += 3;
			}
			for (size_t k = start; k < e; k++) {
				unsigned char c = (unsigned char)r->tail[k];
				joined[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
			}
		}
		i++;
	}
	joined[n] = '\0';
	if (n > OUTPUT_TAIL)
		snprintf(out, len, "...%s", joined + n - OUTPUT_TAIL);
	else
		snprintf(out, len, "%s", joined);
}

/* The step at op->cur ended (ok or not; detail already in op->res). Moves on: returns true
 * when the whole operation is decided (finish() was called). */
static bool step_ended(vg_fence_op *op, bool ok)
{
	const fence_step *s = &op->steps[op->cur];
	int level = s->level;
	op->res.level = level;
	snprintf(op->res.device, sizeof op->res.device, "%s", s->device);
	if (ok) {
		op->cur++;
		if (op->cur == op->n_steps || op->steps[op->cur].level != level) {
			op->res.ok = true;
			finish(op);
			return true;
		}
		return false;
	}
	while (op->cur < op->n_steps && op->steps[op->cur].level == level)
		op->cur++;
	if (op->cur == op->n_steps) {
		if (op->n_levels > 1) {
			char last[sizeof op->res.detail];
			snprintf(last, sizeof last, "%s", op->res.detail);
			snprintf(op->res.detail, sizeof op->res.detail,
				 "all %d fence levels failed; last: %.440s", op->n_levels, last);
		}
		op->res.ok = false;
		finish(op);
		return true;
	}
	vg_warn("fencing %s: level %d failed (%s); trying level %d", op->target, level,
		op->res.detail, op->steps[op->cur].level);
	return false;
}

static void run_complete(fence_run *r)
{
	vg_fence_op *op = r->op;
	op->run = NULL;
	if (op->cancelled) {
		free(r);
		finish(op);
		return;
	}
	const fence_step *s = &op->steps[op->cur];
	char what[512], out[OUTPUT_TAIL + 8];
	snprintf(what, sizeof what, "%.100s %s %.100s (device %.100s, level %d)", s->agent,
		 op->action, op->target, s->device, s->level);
	output_summary(r, out, sizeof out);
	bool ok = false;
	char why[128];
	if (!r->spawned) {
		snprintf(why, sizeof why, "cannot run %.60s: %s", s->path,
			 uv_strerror(r->spawn_err));
	} else if (r->timed_out) {
		snprintf(why, sizeof why, "timed out after %llu ms (process group killed)",
			 (unsigned long long)s->timeout_ms);
	} else if (r->sig) {
		snprintf(why, sizeof why, "killed by signal %d", r->sig);
	} else if (r->status != 0) {
		snprintf(why, sizeof why, "exit %lld", (long long)r->status);
	} else {
		ok = true;
	}
	char full[1024];
	if (ok)
		snprintf(full, sizeof full, "%.100s %s %.100s: ok (device %.100s, level %d)",
			 s->agent, op->action, op->target, s->device, s->level);
	else
		snprintf(full, sizeof full, "%s: %s%s%s", what, why, out[0] ? ": " : "", out);
	/* the end of the agent's output may be cut */
	snprintf(op->res.detail, sizeof op->res.detail, "%.*s", (int)sizeof op->res.detail - 1,
		 full);
	free(r);
	if (!step_ended(op, ok))
		start_next(op);
}

static void on_run_closed(uv_handle_t *h)
{
	fence_run *r = h->data;
	if (--r->open_handles == 0)
		run_complete(r);
}

static void close_run(fence_run *r)
{
	uv_handle_t *hs[] = {(uv_handle_t *)&r->timer, (uv_handle_t *)&r->out,
			     (uv_handle_t *)&r->proc};
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
		if (hs[i]->data && !uv_is_closing(hs[i]))
			uv_close(hs[i], on_run_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	fence_run *r = h->data;
	*buf = uv_buf_init(r->rbuf, sizeof r->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	fence_run *r = s->data;
	if (nread < 0)
		uv_read_stop(s);
	else if (nread > 0)
		tail_append(r, buf->base, (size_t)nread);
}

/* What the agent wrote just before it exited may still sit in the pipe: read it now
 * (bounded), since end-of-file is not waited for (a helper left behind may hold the pipe). */
static void drain_output(fence_run *r)
{
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&r->out, &fd) != 0)
		return;
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(fd, r->rbuf, sizeof r->rbuf);
		if (n <= 0)
			break;
		tail_append(r, r->rbuf, (size_t)n);
	}
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
	fence_run *r = p->data;
	r->exited = true;
	r->status = status;
	r->sig = sig;
	drain_output(r);
	close_run(r);
}

static void on_timeout(uv_timer_t *t)
{
	fence_run *r = t->data;
	if (r->exited)
		return;
	r->timed_out = true;
	vg_warn("fencing %s: agent pid %d timed out, killing its process group", r->op->target,
		r->proc.pid);
	kill(-r->proc.pid, SIGKILL);
}

/* Fills a pipe with the step's stdin text and closes its write end: the agent reads all of
 * it, then end-of-file. Returns the read end, or -1 with the reason in op->res.detail. */
static int stdin_pipe(vg_fence_op *op, const fence_step *s)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fail_op(op, "cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	/* non-blocking write end: a pipe smaller than the text fails instead of hanging */
	int fl = fcntl(fds[1], F_GETFL);
	ssize_t n = -1;
	if (fl >= 0 && fcntl(fds[1], F_SETFL, fl | O_NONBLOCK) == 0)
		n = write(fds[1], s->input, s->input_len);
	int err = errno;
	close(fds[1]);
	if (n != (ssize_t)s->input_len) {
		close(fds[0]);
		fail_op(op, "cannot write the agent's input: %s",
			n < 0 ? strerror(err) : "short write");
		return -1;
	}
	return fds[0];
}

/* Starts the step at op->cur. Returns 0 when a run is under way (it will end through
 * run_complete), -1 when the step failed at once (detail in op->res). */
static int spawn_step(vg_fence_op *op)
{
	const fence_step *s = &op->steps[op->cur];
	if (!s->path || !s->input) {
		snprintf(op->res.detail, sizeof op->res.detail, "device %.100s (level %d): %s",
			 s->device, s->level, s->error);
		return -1;
	}
	fence_run *r = calloc(1, sizeof *r);
	if (!r) {
		fail_op(op, "%s", "out of memory");
		return -1;
	}
	r->op = op;
	int in_fd = stdin_pipe(op, s);
	if (in_fd < 0) {
		free(r);
		return -1;
	}
	uv_file out_fds[2];
	int prc = uv_pipe(out_fds, UV_NONBLOCK_PIPE, 0);
	if (prc != 0) {
		close(in_fd);
		free(r);
		fail_op(op, "cannot make a pipe: %s", uv_strerror(prc));
		return -1;
	}
	uv_timer_init(op->loop, &r->timer);
	r->timer.data = r;
	uv_pipe_init(op->loop, &r->out, 0);
	r->out.data = r;
	uv_pipe_open(&r->out, out_fds[0]);
	r->open_handles = 2;

	char *argv[] = {s->path, NULL};
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_INHERIT_FD, .data.fd = in_fd},
	    {.flags = UV_INHERIT_FD, .data.fd = out_fds[1]},
	    {.flags = UV_INHERIT_FD, .data.fd = out_fds[1]},
	};
	uv_process_options_t opts = {
	    .exit_cb = on_child_exit,
	    .file = s->path,
	    .args = argv,
	    .cwd = "/",
	    .flags = UV_PROCESS_DETACHED, /* own session: the timeout kills the group */
	    .stdio_count = 3,
	    .stdio = stdio,
	};
	r->proc.data = r;
	int rc = uv_spawn(op->loop, &r->proc, &opts);
	close(in_fd);
	close(out_fds[1]);
	r->open_handles++; /* the process handle must be closed even when uv_spawn fails */
	op->run = r;
	if (rc != 0) {
		r->spawn_err = rc;
		close_run(r);
		return 0;
	}
	r->spawned = true;
	uv_read_start((uv_stream_t *)&r->out, on_alloc, on_read);
	uv_timer_start(&r->timer, on_timeout, s->timeout_ms, 0);
	vg_info("fencing %s: %s %s (device %s, level %d, pid %d, timeout %llu ms)", op->target,
		s->agent, op->action, s->device, s->level, r->proc.pid,
		(unsigned long long)s->timeout_ms);
	return 0;
}

/* Runs steps from op->cur until one is under way or the operation is decided. Only ever
 * called from loop callbacks. */
static void start_next(vg_fence_op *op)
{
	while (!op->finished) {
		if (op->cancelled) {
			finish(op);
			return;
		}
		if (spawn_step(op) == 0)
			return;
		if (step_ended(op, false))
			return;
	}
}

static void on_kick(uv_timer_t *t)
{
	vg_fence_op *op = t->data;
	if (op->finished)
		return;
	if (op->res.detail[0]) { /* decided in vg_fence_run: bad action, no device */
		finish(op);
		return;
	}
	start_next(op);
}

/* ---- API ------------------------------------------------------------------ */

vg_fence_op *vg_fence_run(uv_loop_t *loop, const vg_config *cfg, const char *target,
			  const char *action, vg_fence_cb cb, void *arg)
{
	vg_fence_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->loop = loop;
	op->cb = cb;
	op->arg = arg;
	snprintf(op->target, sizeof op->target, "%s", target ? target : "");
	snprintf(op->action, sizeof op->action, "%s", action ? action : "");

	bool known = false;
	for (size_t i = 0; actions[i]; i++)
		known = known || (action && strcmp(action, actions[i]) == 0);
	if (!known) {
		fail_op(op, "unknown fence action '%.100s'", action ? action : "(null)");
	} else if (!target || !*target || has_newline(target)) {
		fail_op(op, "%s", "bad fence target");
	} else if (!cfg || make_plan(op, cfg) != 0) {
		if (cfg) {
			free_steps(op);
			free(op);
			return NULL;
		}
		fail_op(op, "no fence device for %s (no configuration)", op->target);
	} else if (op->n_steps == 0) {
		fail_op(op, "no fence device for %s", op->target);
	}
	uv_timer_init(loop, &op->kick);
	op->kick.data = op;
	uv_timer_start(&op->kick, on_kick, 0, 0);
	return op;
}

void vg_fence_cancel(vg_fence_op *op)
{
	if (!op || op->finished || op->cancelled)
		return;
	op->cancelled = true;
	fence_run *r = op->run;
	if (r) {
		/* the run ends through its exit callback, which then finishes the operation */
		if (r->spawned && !r->exited)
			kill(-r->proc.pid, SIGKILL);
		return;
	}
	uv_timer_stop(&op->kick);
	finish(op);
}
