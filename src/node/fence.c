/* fence.c - fences a node through its fence devices, level by level (see fence.h).
 *
 * Owns: the plan of one fencing operation (the devices that target the node, ordered by
 * level, each with its resolved agent path and its stdin text, all copied from the
 * configuration), and what the end of each device's agent means. The agent runs as a
 * child.c child: stdin text written and closed before it starts, output tail kept, own
 * session so the timeout kills its whole process group.
 * Must not: block the loop, keep pointers into the configuration, or decide policy (what a
 * failed fencing means is the caller's business).
 */
#include "fence.h"
#include "mem.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "fence_targets.h"
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

struct vg_fence_op {
	uv_loop_t *loop;
	uv_timer_t kick; /* defers the first step out of vg_fence_run; closed at the end */
	fence_step *steps;
	size_t n_steps;
	size_t cur;
	int n_levels;
	vg_child *child; /* the agent in flight, NULL between steps */
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
		return vg_strdup(buf);
	}
	snprintf(buf, sizeof buf, "/usr/sbin/%s", agent);
	if (executable(buf))
		return vg_strdup(buf);
	const char *p = getenv("PATH");
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > 0 && len + strlen(agent) + 2 <= sizeof buf) {
			int n = snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, agent);
			if (n > 0 && (size_t)n < sizeof buf && buf[0] == '/' && executable(buf))
				return vg_strdup(buf);
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
	op->steps = vg_calloc(cfg->n_fence_devices + 1, sizeof *op->steps);
	if (!op->steps)
		return -1;
	for (size_t i = 0; i < cfg->n_fence_devices; i++) {
		const vg_fence_device *d = &cfg->fence_devices[i];
		if (!vg_fence_device_targets(d, op->target))
			continue;
		fence_step *s = &op->steps[op->n_steps++];
		s->device = vg_strdup(d->name ? d->name : "");
		s->agent = vg_strdup(d->agent ? d->agent : "");
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

/* The agent's output as one line: non-empty lines joined by " | ", the last OUTPUT_TAIL
 * characters of it. */
static void output_summary(const char *tail, size_t tail_len, char *out, size_t len)
{
	char joined[VG_CHILD_OUTPUT_MAX * 2 + 1];
	size_t n = 0;
	size_t i = 0;
	while (i < tail_len) {
		size_t start = i;
		while (i < tail_len && tail[i] != '\n' && tail[i] != '\r')
			i++;
		size_t e = i;
		while (start < e && (tail[start] == ' ' || tail[start] == '\t'))
			start++;
		while (e > start && (tail[e - 1] == ' ' || tail[e - 1] == '\t'))
			e--;
		if (e > start) {
			if (n > 0) {
				memcpy(joined + n, " | ", 3);
				n += 3;
			}
			for (size_t k = start; k < e; k++) {
				unsigned char c = (unsigned char)tail[k];
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

/* The agent of the step at op->cur is done (or never started). */
static void on_agent_done(void *arg, const vg_child_result *cr)
{
	vg_fence_op *op = arg;
	op->child = NULL;
	if (op->cancelled) {
		finish(op);
		return;
	}
	const fence_step *s = &op->steps[op->cur];
	char what[512], out[OUTPUT_TAIL + 8];
	snprintf(what, sizeof what, "%.100s %s %.100s (device %.100s, level %d)", s->agent,
		 op->action, op->target, s->device, s->level);
	output_summary(cr->output, cr->output_len, out, sizeof out);
	bool ok = false;
	char why[320];
	if (cr->error) {
		snprintf(why, sizeof why, "%s", cr->why);
	} else if (cr->timed_out) {
		vg_warn("fencing %s: agent pid %d timed out, its process group was killed",
			op->target, cr->pid);
		snprintf(why, sizeof why, "timed out after %llu ms (process group killed)",
			 (unsigned long long)s->timeout_ms);
	} else if (cr->sig) {
		snprintf(why, sizeof why, "killed by signal %d", cr->sig);
	} else if (cr->status != 0) {
		snprintf(why, sizeof why, "exit %lld", (long long)cr->status);
	} else {
		ok = true;
	}
	char full[1200];
	if (ok)
		snprintf(full, sizeof full, "%.100s %s %.100s: ok (device %.100s, level %d)",
			 s->agent, op->action, op->target, s->device, s->level);
	else
		snprintf(full, sizeof full, "%s: %s%s%s", what, why, out[0] ? ": " : "", out);
	/* the end of the agent's output may be cut */
	snprintf(op->res.detail, sizeof op->res.detail, "%.*s", (int)sizeof op->res.detail - 1,
		 full);
	if (!step_ended(op, ok))
		start_next(op);
}

/* Starts the step at op->cur. Returns 0 when its agent is under way (it will end through
 * on_agent_done), -1 when the step failed at once (detail in op->res). */
static int spawn_step(vg_fence_op *op)
{
	const fence_step *s = &op->steps[op->cur];
	if (!s->path || !s->input) {
		snprintf(op->res.detail, sizeof op->res.detail, "device %.100s (level %d): %s",
			 s->device, s->level, s->error);
		return -1;
	}
	char *argv[] = {s->path, NULL};
	vg_child_opts co = {.file = s->path,
			    .args = argv,
			    .input = s->input,
			    .input_len = s->input_len,
			    .timeout_ms = s->timeout_ms};
	op->child = vg_child_run(op->loop, &co, on_agent_done, op);
	if (!op->child) {
		fail_op(op, "%s", "out of memory");
		return -1;
	}
	int pid = vg_child_pid(op->child);
	if (pid)
		vg_info("fencing %s: %s %s (device %s, level %d, pid %d, timeout %llu ms)",
			op->target, s->agent, op->action, s->device, s->level, pid,
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
	vg_fence_op *op = vg_calloc(1, sizeof *op);
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
	if (op->child) {
		/* the agent ends through on_agent_done, which then finishes the operation */
		vg_child_cancel(op->child);
		return;
	}
	uv_timer_stop(&op->kick);
	finish(op);
}
