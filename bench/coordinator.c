/* bench/coordinator.c - the time from an input change to the coordinator's actions.
 *
 * Owns: a settled cluster of 3 servers running R `process` resources (1,000 and 3,000 by
 * default) as the coordinator placed them, then, sample after sample, one node's report of
 * one resource changing (running -> stopped, as after a process exit), timing
 * vg_coord_report + vg_coord_run (building the scheduler's input from the view and the
 * replicated state, planning, and handing out the actions) on the coordinator. Prints the
 * median and p99 of at least 300 samples per size, and whether each is under the 5 ms goal
 * of issue 8 at 3,000 resources.
 * Must not: be linked into vigild; it is a measuring tool.
 *
 * Usage: bench_coordinator [--samples N] [SIZES...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordinator.h"
#include "log.h"
#include "repstate.h"
#include "scheduler.h"

#define GOAL_MS 5.0

typedef struct {
	uint64_t actions;
	char node[64];
	char resource[64];
} sink;

static void io_send(void *arg, const char *node, const char *res, vg_op_kind op, uint64_t id)
{
	(void)op;
	(void)id;
	sink *s = arg;
	s->actions++;
	snprintf(s->node, sizeof s->node, "%s", node);
	snprintf(s->resource, sizeof s->resource, "%s", res);
}

static void io_fence(void *arg, const char *node)
{
	(void)arg;
	(void)node;
}

static void io_rearm(void *arg, uint64_t ms)
{
	(void)arg;
	(void)ms;
}

static const vg_coord_io io = {io_send, io_fence, io_rearm};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char *yaml_for(size_t n)
{
	size_t cap = 512 + n * 96, len = 0;
	char *y = malloc(cap);
	if (!y)
		abort();
	len += (size_t)snprintf(y + len, cap - len,
				"cluster: {name: bench}\n"
				"nodes:\n"
				"  - {name: n1, address: 10.9.0.1, role: server}\n"
				"  - {name: n2, address: 10.9.0.2, role: server}\n"
				"  - {name: n3, address: 10.9.0.3, role: server}\n"
				"resources:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
		    y + len, cap - len,
		    "  - {name: p%zu, type: process, params: {command: /bin/true}}\n", i);
	return y;
}

/* Each node's report: resource -> state. */
typedef struct {
	json_t *res[3];
} reports;

static const char *const names[3] = {"n1", "n2", "n3"};

static void send_reports(vg_coord *co, reports *rp, uint64_t ring)
{
	for (int k = 0; k < 3; k++) {
		vg_node_report r = {.ring = ring, .probed = true, .resources = rp->res[k]};
		vg_coord_report(co, names[k], &r);
	}
}

static int bench_size(size_t n, size_t samples)
{
	char *yaml = yaml_for(n);
	vg_config_errors errs = {0};
	vg_config *cfg = vg_config_load_buffer("bench.yaml", yaml, strlen(yaml), NULL, &errs);
	free(yaml);
	if (!cfg) {
		char line[512];
		vg_config_error_format(&errs.items[0], line, sizeof line);
		fprintf(stderr, "config: %s\n", line);
		return 1;
	}
	vg_config_errors_free(&errs);
	sink s = {0};
	vg_coord *co = vg_coord_new("n1", &io, &s);
	vg_repstate *rs = vg_repstate_new();
	vg_coord_set_config(co, cfg);
	vg_coord_set_synced(co, true);
	uint32_t members[3] = {1, 2, 3};
	const uint64_t ring = 7;
	vg_coord_membership(co, members, 3, members, 3, true, ring, 1000, 1000);
	reports rp;
	for (int k = 0; k < 3; k++) {
		rp.res[k] = json_object();
		for (size_t i = 0; i < n; i++) {
			char name[32];
			snprintf(name, sizeof name, "p%zu", i);
			json_object_set_new(rp.res[k], name, json_string("stopped"));
		}
	}
	/* Settle: run, then report every start asked for as running. */
	uint64_t t = 1000;
	for (int round = 0; round < 4; round++) {
		send_reports(co, &rp, ring);
		vg_coord_run(co, rs, t, t);
		t += 10;
		/* what the coordinator asked for, from the scheduler's view: start where planned */
		vg_cluster_state *cs = vg_coord_state(co, rs, t, t);
		vg_plan plan;
		if (vg_schedule(cfg, cs, &plan) != 0)
			abort();
		for (size_t a = 0; a < plan.n_actions; a++) {
			const vg_action *ac = &plan.actions[a];
			if (ac->kind != VG_ACT_START)
				continue;
			for (int k = 0; k < 3; k++)
				if (!strcmp(names[k], ac->node))
					json_object_set_new(rp.res[k], ac->resource,
							    json_string("running"));
		}
		vg_plan_free(&plan);
		vg_cluster_state_free(cs);
	}
	send_reports(co, &rp, ring);
	vg_coord_run(co, rs, t, t);

	double *d = malloc(samples * sizeof *d);
	if (!d)
		abort();
	uint64_t before = s.actions;
	for (size_t i = 0; i < samples; i++) {
		/* a resource of n2 stops (its process exited): the coordinator restarts it */
		char name[32];
		snprintf(name, sizeof name, "p%zu", (i * 7919) % n);
		int k = -1;
		for (int j = 0; j < 3; j++)
			if (!strcmp(json_string_value(json_object_get(rp.res[j], name)), "running"))
				k = j;
		if (k < 0)
			k = 1;
		json_object_set_new(rp.res[k], name, json_string("stopped"));
		vg_node_report r = {.ring = ring, .probed = true, .resources = rp.res[k]};
		t += 10;
		double t0 = now_ms();
		vg_coord_report(co, names[k], &r);
		vg_coord_run(co, rs, t, t);
		d[i] = now_ms() - t0;
		/* the start it asked for succeeds */
		json_object_set_new(rp.res[k], name, json_string("running"));
		for (int j = 0; j < 3; j++)
			if (!strcmp(names[j], s.node) && j != k) {
				json_object_set_new(rp.res[k], name, json_string("stopped"));
				json_object_set_new(rp.res[j], name, json_string("running"));
				k = j;
			}
		r.resources = rp.res[k];
		vg_coord_report(co, names[k], &r);
	}
	uint64_t acted = s.actions - before;
	qsort(d, samples, sizeof *d, cmp_double);
	double med = d[samples / 2], p99 = d[(samples * 99) / 100], max = d[samples - 1];
	if (samples >= 300)
		printf(
		    "coordinator  %5zu resources, 3 nodes: input change to actions median %.3f ms, "
		    "p99 %.3f ms (%zu samples, %llu actions)%s\n",
		    n, med, p99, samples, (unsigned long long)acted,
		    n >= 3000 ? (p99 < GOAL_MS ? "  [goal < 5 ms at 3,000: met]"
					       : "  [goal < 5 ms at 3,000: OVER]")
			      : "");
	else
		printf("coordinator  %5zu resources, 3 nodes: input change to actions max of %zu: "
		       "%.3f ms (%llu actions)\n",
		       n, samples, max, (unsigned long long)acted);
	free(d);
	for (int k = 0; k < 3; k++)
		json_decref(rp.res[k]);
	vg_coord_free(co);
	vg_repstate_free(rs);
	vg_config_free(cfg);
	return acted ? 0 : 1; /* a coordinator that does nothing measures nothing */
}

int main(int argc, char **argv)
{
	static vg_log_config quiet = {.level = VG_LOG_ERROR};
	vg_log_init(&quiet); /* the coordinator's info lines are not what is measured */
	size_t samples = 300;
	size_t sizes[16], n_sizes = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			samples = strtoul(argv[++i], NULL, 10);
		else if (n_sizes < 16)
			sizes[n_sizes++] = strtoul(argv[i], NULL, 10);
	}
	if (!n_sizes) {
		sizes[n_sizes++] = 1000;
		sizes[n_sizes++] = 3000;
	}
	if (!samples)
		samples = 1;
	int rc = 0;
	for (size_t i = 0; i < n_sizes; i++)
		rc |= bench_size(sizes[i], samples);
	return rc;
}
