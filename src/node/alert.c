/* alert.c - alerts run with Pacemaker's alert environment (see alert.h). */
#include "alert.h"
#include "child.h"
#include "clock.h"
#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

typedef struct run {
	struct run *next, *prev;
	vg_alerts *owner;
	vg_child *child;
	char *what; /* "alert NAME (recipient R)" for the log */
} run;

struct vg_alerts {
	uv_loop_t *loop;
	char *node;
	uint64_t sequence;
	run *runs;
	size_t n_running;
	bool freeing;
};

static const char *const kind_names[] = {"node", "fencing", "resource", "attribute"};

const char *vg_alert_rc_desc(int rc)
{
	static const char *const d[] = {"ok",
					"error",
					"invalid parameter",
					"unimplemented feature",
					"insufficient privileges",
					"not installed",
					"not configured",
					"not running",
					"promoted",
					"promoted (failed)"};
	return rc >= 0 && (size_t)rc < sizeof d / sizeof d[0] ? d[rc] : "unknown";
}

vg_alerts *vg_alerts_new(uv_loop_t *loop, const char *local_node)
{
	vg_alerts *a = vg_calloc(1, sizeof *a);
	a->loop = loop;
	a->node = vg_strdup(local_node ? local_node : "");
	return a;
}

static void maybe_release(vg_alerts *a)
{
	if (a->freeing && !a->runs) {
		free(a->node);
		free(a);
	}
}

static void on_run_done(void *arg, const vg_child_result *res)
{
	run *r = arg;
	vg_alerts *a = r->owner;
	if (res->error)
		vg_warn("%s: %s", r->what, res->why ? res->why : uv_strerror(res->error));
	else if (res->cancelled)
		vg_info("%s: killed: vigild is stopping", r->what);
	else if (res->timed_out)
		vg_warn("%s: killed at its timeout (%llu ms)", r->what,
			(unsigned long long)(res->duration_us / 1000));
	else if (res->sig)
		vg_warn("%s: ended by signal %d", r->what, res->sig);
	else if (res->status != 0)
		vg_warn("%s: exit status %lld: %.200s", r->what, (long long)res->status,
			res->output ? res->output : "");
	else
		vg_debug("%s: done (%llu ms)", r->what,
			 (unsigned long long)(res->duration_us / 1000));
	if (r->prev)
		r->prev->next = r->next;
	else
		a->runs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	a->n_running--;
	free(r->what);
	free(r);
	maybe_release(a);
}

/* The environment: the daemon's without CRM_alert_*, then vars (NULL-terminated pairs). */
static char **make_env(const char *const *vars)
{
	size_t n = 0, nv = 0;
	while (environ && environ[n])
		n++;
	while (vars[2 * nv])
		nv++;
	char **env = vg_calloc(n + nv + 1, sizeof *env);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CRM_alert_", 10) &&
		    strncmp(environ[i], "VIGIL_alert_", 12))
			env[k++] = vg_strdup(environ[i]);
	for (size_t i = 0; i < nv; i++)
		if (vars[2 * i + 1])
			env[k++] = vg_asprintf("%s=%s", vars[2 * i], vars[2 * i + 1]);
	env[k] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static void start_run(vg_alerts *a, const vg_alert *al, const char *recipient, char **env)
{
	char *args[] = {al->path, NULL};
	vg_child_opts o = {
	    .file = al->path, .args = args, .env = env, .timeout_ms = al->timeout_ms};
	run *r = vg_calloc(1, sizeof *r);
	r->owner = a;
	r->what = recipient && *recipient
		      ? vg_asprintf("alert %s (recipient %s)", al->name, recipient)
		      : vg_asprintf("alert %s", al->name);
	r->next = a->runs;
	if (a->runs)
		a->runs->prev = r;
	a->runs = r;
	a->n_running++;
	r->child = vg_child_run(a->loop, &o, on_run_done, r);
}

size_t vg_alerts_send(vg_alerts *a, const vg_config *cfg, const vg_alert_event *ev)
{
	if (!a || a->freeing || !cfg || !ev)
		return 0;
	unsigned bit = (unsigned)ev->kind;
	size_t kind = 0;
	while (kind < 4 && bit != 1u << kind)
		kind++;
	if (kind == 4)
		return 0;
	bool any = false;
	for (size_t i = 0; i < cfg->n_alerts && !any; i++)
		any = cfg->alerts[i].enabled && (cfg->alerts[i].kinds & bit);
	if (!any)
		return 0;

	uint64_t now_us = vg_clock_wall_ms() * 1000; /* ms: the clock helper's resolution */
	time_t secs = (time_t)(now_us / 1000000u);
	struct tm tm;
	localtime_r(&secs, &tm);
	char stamp[64], epoch[24], usec[16], seq[24], nodeid[16], rc[16], interval[24], target[16],
	    status[16], exec[24];
	snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(now_us % 1000000u));
	snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)(now_us / 1000000u));
	snprintf(usec, sizeof usec, "%u", (unsigned)(now_us % 1000000u));
	snprintf(seq, sizeof seq, "%llu", (unsigned long long)++a->sequence);
	snprintf(nodeid, sizeof nodeid, "%u", ev->nodeid);
	snprintf(rc, sizeof rc, "%d", ev->rc);
	snprintf(interval, sizeof interval, "%llu", (unsigned long long)ev->interval_ms);
	snprintf(target, sizeof target, "%d", ev->target_rc);
	snprintf(status, sizeof status, "%d", ev->status);
	snprintf(exec, sizeof exec, "%llu", (unsigned long long)ev->exec_time_ms);
	bool res = ev->kind == VG_ALERT_RESOURCE, fen = ev->kind == VG_ALERT_FENCING,
	     attr = ev->kind == VG_ALERT_ATTRIBUTE;

	size_t started = 0;
	for (size_t i = 0; i < cfg->n_alerts; i++) {
		const vg_alert *al = &cfg->alerts[i];
		if (!al->enabled || !(al->kinds & bit))
			continue;
		size_t nr = al->n_recipients ? al->n_recipients : 1;
		for (size_t k = 0; k < nr; k++) {
			const char *recipient = al->n_recipients ? al->recipients[k] : "";
			const char *vars[] = {"CRM_alert_kind",
					      kind_names[kind],
					      "CRM_alert_version",
					      "2.1",
					      "CRM_alert_recipient",
					      recipient,
					      "CRM_alert_node_sequence",
					      seq,
					      "CRM_alert_timestamp",
					      stamp,
					      "CRM_alert_timestamp_epoch",
					      epoch,
					      "CRM_alert_timestamp_usec",
					      usec,
					      "CRM_alert_node",
					      ev->node,
					      "CRM_alert_nodeid",
					      ev->nodeid ? nodeid : NULL,
					      "CRM_alert_desc",
					      ev->desc,
					      "CRM_alert_task",
					      res || fen ? ev->task : NULL,
					      "CRM_alert_rc",
					      res || fen ? rc : NULL,
					      "CRM_alert_rsc",
					      res ? ev->rsc : NULL,
					      "CRM_alert_interval",
					      res ? interval : NULL,
					      "CRM_alert_target_rc",
					      res ? target : NULL,
					      "CRM_alert_status",
					      res ? status : NULL,
					      "CRM_alert_exec_time",
					      res ? exec : NULL,
					      "CRM_alert_attribute_name",
					      attr ? ev->attribute_name : NULL,
					      "CRM_alert_attribute_value",
					      attr ? ev->attribute_value : NULL,
					      "VIGIL_alert_name",
					      al->name,
					      "VIGIL_alert_cluster",
					      cfg->name,
					      "VIGIL_alert_local_node",
					      a->node,
					      "VIGIL_version",
					      VIGIL_VERSION,
					      NULL,
					      NULL};
			char **env = make_env(vars);
			start_run(a, al, recipient, env);
			free_env(env);
			started++;
		}
	}
	return started;
}

size_t vg_alerts_running(const vg_alerts *a)
{
	return a ? a->n_running : 0;
}

void vg_alerts_free(vg_alerts *a)
{
	if (!a || a->freeing)
		return;
	a->freeing = true;
	for (run *r = a->runs; r; r = r->next)
		if (r->child)
			vg_child_cancel(r->child);
	maybe_release(a);
}
