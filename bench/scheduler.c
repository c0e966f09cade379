/* bench/scheduler.c - planning time and memory of the scheduler, and the ratio to Pacemaker.
 *
 * Owns: generating clusters (flat primitives; groups of 5, each colocated with an earlier
 * group at score 100; clones; a mix of all three) from 100 to 10,000 resources on 3 to 100
 * nodes, timing vg_schedule() cold (nothing running, everything probed) and settled
 * (everything running where the cold plan placed it), and writing the same cluster as a
 * Pacemaker CIB to time `crm_simulate -R -x FILE` on it when crm_simulate is installed.
 * Must not: be linked into vigild; it is a measuring tool.
 *
 * Usage: bench_scheduler [--quick] [--keep-cib DIR] [--no-pacemaker] [--default-malloc]
 *
 * By default large allocations are kept in the heap (mallopt M_MMAP_THRESHOLD), as a
 * long-running vigild should do: otherwise every plan of a big cluster pays for fresh
 * zeroed pages (page faults dominate at 10,000 resources). --default-malloc measures
 * without that.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster_state.h"
#include "config.h"
#include "scheduler.h"

typedef enum { SHAPE_FLAT, SHAPE_GROUPS, SHAPE_CLONES, SHAPE_MIXED } shape;
static const char *const shape_names[] = {"flat", "groups", "clones", "mixed"};

typedef struct {
	vg_config c;
	char **strs;
	size_t n_strs, cap_strs;
} gen;

static char *gstr(gen *g, const char *fmt, unsigned v)
{
	char buf[64];
	snprintf(buf, sizeof(buf), fmt, v);
	if (g->n_strs == g->cap_strs) {
		g->cap_strs = g->cap_strs ? g->cap_strs * 2 : 1024;
		g->strs = realloc(g->strs, g->cap_strs * sizeof(char *));
		if (!g->strs)
			abort();
	}
	char *s = strdup(buf);
	if (!s)
		abort();
	g->strs[g->n_strs++] = s;
	return s;
}

static char *glit(gen *g, const char *s)
{
	char *d = gstr(g, "%u", 0);
	free(d);
	d = strdup(s);
	if (!d)
		abort();
	g->strs[g->n_strs - 1] = d;
	return d;
}

static void gen_free(gen *g)
{
	for (size_t i = 0; i < g->n_strs; i++)
		free(g->strs[i]);
	free(g->strs);
	for (size_t i = 0; i < g->c.n_groups; i++)
		free(g->c.groups[i].members);
	free(g->c.nodes);
	free(g->c.resources);
	free(g->c.groups);
	free(g->c.constraints);
	free(g);
}

/* the kind of resource i is in a shape: 0 flat, 1 group member, 2 clone */
static int kind_of(shape sh, unsigned i, unsigned R)
{
	switch (sh) {
	case SHAPE_FLAT:
		return 0;
	case SHAPE_GROUPS:
		return 1;
	case SHAPE_CLONES:
		return 2;
	default:
		/* mixed: first 60% flat, next 30% in groups, last 10% clones */
		return i < R * 6 / 10 ? 0 : i < R * 9 / 10 ? 1 : 2;
	}
}

static gen *generate(shape sh, unsigned R, unsigned N)
{
	gen *g = calloc(1, sizeof(*g));
	if (!g)
		abort();
	vg_config *c = &g->c;
	c->name = gstr(g, "bench%u", R);
	c->stickiness = 100;
	c->token_ms = 500;
	c->nodes = calloc(N, sizeof(vg_node));
	c->resources = calloc(R, sizeof(vg_resource));
	c->groups = calloc(R / 5 + 1, sizeof(vg_group));
	c->constraints = calloc(R + 1, sizeof(vg_constraint));
	if (!c->nodes || !c->resources || !c->groups || !c->constraints)
		abort();
	for (unsigned n = 0; n < N; n++) {
		c->nodes[n].name = gstr(g, "n%03u", n + 1);
		c->nodes[n].id = n + 1;
	}
	c->n_nodes = N;
	for (unsigned i = 0; i < R; i++) {
		vg_resource *r = &c->resources[i];
		int k = kind_of(sh, i, R);
		r->name = gstr(g, k == 2 ? "c%05u" : k == 1 ? "m%05u" : "r%05u", i);
		r->type = glit(g, "ocf:pacemaker:Dummy");
		r->cls = VG_CLASS_OCF;
		r->provider = glit(g, "pacemaker");
		r->agent = glit(g, "Dummy");
		r->requires = VG_REQUIRES_FENCING;
		r->migration_threshold = 1000000;
		for (int o = 0; o < VG_OP_COUNT; o++)
			r->ops[o].timeout_ms = 20000;
		if (k == 2) {
			r->clone.enabled = true;
			r->clone.max = N < 3 ? N : 3;
			r->clone.max_per_node = 1;
			r->clone.promoted_max = 1;
			r->requires = VG_REQUIRES_QUORUM;
		}
		/* a sprinkling of location preferences, as real configs have */
		if (k == 0 && i % 7 == 0) {
			vg_constraint *k2 = &c->constraints[c->n_constraints++];
			k2->kind = VG_CONS_LOCATION;
			k2->u.location.resource = r->name;
			k2->u.location.node = c->nodes[(i / 7) % N].name;
			k2->u.location.score = 50;
		}
	}
	c->n_resources = R;
	/* groups of 5 consecutive group members; group j colocated with group j/2 at 100 */
	unsigned run = 0;
	for (unsigned i = 0; i < R; i++) {
		run = kind_of(sh, i, R) == 1 ? run + 1 : 0;
		if (run < 5)
			continue;
		run = 0;
		vg_group *gr = &c->groups[c->n_groups];
		gr->name = gstr(g, "g%05u", (unsigned)c->n_groups);
		gr->members = calloc(5, sizeof(char *));
		if (!gr->members)
			abort();
		for (unsigned m = 0; m < 5; m++)
			gr->members[m] = c->resources[i - 4 + m].name;
		gr->n_members = 5;
		if (c->n_groups > 0) {
			vg_constraint *k2 = &c->constraints[c->n_constraints++];
			k2->kind = VG_CONS_COLOCATE;
			k2->u.colocate.resource = gr->name;
			k2->u.colocate.with = c->groups[c->n_groups / 2].name;
			k2->u.colocate.score = 100;
		}
		c->n_groups++;
	}
	return g;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* a state where every instance runs where the plan placed it */
static vg_cluster_state *settled_state(const vg_config *c, const vg_plan *p)
{
	vg_cluster_state *st = vg_cluster_state_new(c);
	size_t n = 0;
	for (size_t i = 0; i < p->n_placement; i++)
		n += p->placement[i].n_targets;
	st->insts = calloc(n ? n : 1, sizeof(vg_inst_cond));
	if (!st->insts)
		abort();
	for (size_t i = 0; i < p->n_placement; i++)
		for (size_t k = 0; k < p->placement[i].n_targets; k++) {
			vg_inst_cond *ic = &st->insts[st->n_insts++];
			ic->resource = strdup(p->placement[i].resource);
			ic->node = strdup(p->placement[i].targets[k].node);
			ic->state = p->placement[i].targets[k].role == VG_IROLE_PROMOTED
					? VG_INST_PROMOTED
					: VG_INST_RUNNING;
			ic->count = 1;
		}
	return st;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

typedef struct {
	double median, p99;
	size_t actions, instances;
	long rss_before_kb, rss_peak_kb;
} result;

static void measure(const vg_config *c, const vg_cluster_state *st, int runs, result *res)
{
	double *t = calloc((size_t)runs, sizeof(double));
	if (!t)
		abort();
	res->rss_before_kb = maxrss_kb();
	for (int i = 0; i < runs; i++) {
		vg_plan p;
		double t0 = now_ms();
		if (vg_schedule(c, st, &p)) {
			fprintf(stderr, "vg_schedule failed\n");
			exit(1);
		}
		t[i] = now_ms() - t0;
		if (i == 0) {
			res->actions = p.n_actions;
			res->instances = 0;
			for (size_t k = 0; k < p.n_placement; k++)
				res->instances += p.placement[k].n_targets;
		}
		vg_plan_free(&p);
	}
	res->rss_peak_kb = maxrss_kb();
	qsort(t, (size_t)runs, sizeof(double), cmp_double);
	res->median = t[runs / 2];
	size_t i99 = (size_t)((runs - 1) * 0.99 + 0.5);
	res->p99 = t[i99];
	free(t);
}

/* ---- Pacemaker CIB ----------------------------------------------------------- */

static void cib_op(FILE *f, const char *rsc, const char *node, const char *op, int rc, int call)
{
	fprintf(f,
		"<lrm_rsc_op id=\"%s_last_0\" operation_key=\"%s_%s_0\" operation=\"%s\" "
		"transition-key=\"1:1:7:00000000-0000-0000-0000-000000000000\" "
		"transition-magic=\"0:%d;1:1:7:00000000-0000-0000-0000-000000000000\" "
		"call-id=\"%d\" rc-code=\"%d\" op-status=\"0\" interval=\"0\" on_node=\"%s\"/>",
		rsc, rsc, op, op, rc, call, rc, node);
}

/* st NULL: cold (everything probed, nothing running); else what runs where */
static int write_cib(const char *path, const vg_config *c, const vg_cluster_state *st)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "<cib crm_feature_set=\"3.16.2\" validate-with=\"pacemaker-3.9\" epoch=\"1\" "
		   "num_updates=\"0\" admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"1\">\n"
		   "<configuration>\n<crm_config><cluster_property_set id=\"opts\">"
		   "<nvpair id=\"o1\" name=\"stonith-enabled\" value=\"false\"/>"
		   "</cluster_property_set></crm_config>\n<nodes>\n");
	for (size_t n = 0; n < c->n_nodes; n++)
		fprintf(f, "<node id=\"%zu\" uname=\"%s\"/>\n", n + 1, c->nodes[n].name);
	fprintf(f, "</nodes>\n<resources>\n");
	char *in_group = calloc(c->n_resources, 1);
	if (!in_group)
		abort();
	for (size_t gi = 0; gi < c->n_groups; gi++) {
		const vg_group *g = &c->groups[gi];
		fprintf(f, "<group id=\"%s\">", g->name);
		for (size_t m = 0; m < g->n_members; m++) {
			fprintf(f,
				"<primitive id=\"%s\" class=\"ocf\" provider=\"pacemaker\" "
				"type=\"Dummy\"/>",
				g->members[m]);
			for (size_t r = 0; r < c->n_resources; r++)
				if (c->resources[r].name == g->members[m])
					in_group[r] = 1;
		}
		fprintf(f, "</group>\n");
	}
	for (size_t r = 0; r < c->n_resources; r++) {
		const vg_resource *res = &c->resources[r];
		if (in_group[r])
			continue;
		if (res->clone.enabled)
			fprintf(f,
				"<clone id=\"%s-clone\"><meta_attributes id=\"%s-meta\">"
				"<nvpair id=\"%s-max\" name=\"clone-max\" value=\"%u\"/>"
				"</meta_attributes><primitive id=\"%s\" class=\"ocf\" "
				"provider=\"pacemaker\" type=\"Dummy\"/></clone>\n",
				res->name, res->name, res->name, res->clone.max, res->name);
		else
			fprintf(f,
				"<primitive id=\"%s\" class=\"ocf\" provider=\"pacemaker\" "
				"type=\"Dummy\"/>\n",
				res->name);
	}
	free(in_group);
	fprintf(f,
		"</resources>\n<rsc_defaults><meta_attributes id=\"rd\">"
		"<nvpair id=\"rd-s\" name=\"resource-stickiness\" value=\"%d\"/>"
		"</meta_attributes></rsc_defaults>\n<constraints>\n",
		c->stickiness);
	for (size_t k = 0; k < c->n_constraints; k++) {
		const vg_constraint *ct = &c->constraints[k];
		if (ct->kind == VG_CONS_LOCATION)
			fprintf(
			    f,
			    "<rsc_location id=\"loc%zu\" rsc=\"%s\" node=\"%s\" score=\"%d\"/>\n",
			    k, ct->u.location.resource, ct->u.location.node, ct->u.location.score);
		else if (ct->kind == VG_CONS_COLOCATE)
			fprintf(f,
				"<rsc_colocation id=\"col%zu\" rsc=\"%s\" with-rsc=\"%s\" "
				"score=\"%d\"/>\n",
				k, ct->u.colocate.resource, ct->u.colocate.with,
				ct->u.colocate.score);
	}
	fprintf(f, "</constraints>\n</configuration>\n<status>\n");
	int call = 1;
	for (size_t n = 0; n < c->n_nodes; n++) {
		const char *node = c->nodes[n].name;
		fprintf(f,
			"<node_state id=\"%zu\" uname=\"%s\" in_ccm=\"true\" crmd=\"online\" "
			"join=\"member\" expected=\"member\">\n<lrm id=\"%zu\"><lrm_resources>\n",
			n + 1, node, n + 1);
		for (size_t r = 0; r < c->n_resources; r++) {
			const char *rsc = c->resources[r].name;
			bool running = false;
			if (st)
				for (size_t i = 0; i < st->n_insts && !running; i++)
					running = st->insts[i].node[0] == node[0] &&
						  !strcmp(st->insts[i].node, node) &&
						  !strcmp(st->insts[i].resource, rsc);
			fprintf(f,
				"<lrm_resource id=\"%s\" class=\"ocf\" provider=\"pacemaker\" "
				"type=\"Dummy\">",
				rsc);
			cib_op(f, rsc, node, running ? "start" : "monitor", running ? 0 : 7,
			       call++);
			fprintf(f, "</lrm_resource>\n");
		}
		fprintf(f, "</lrm_resources></lrm>\n</node_state>\n");
	}
	fprintf(f, "</status>\n</cib>\n");
	return fclose(f);
}

/* run crm_simulate -R -x path; returns wall ms, counts "Start" lines of its summary */
static double run_crm(const char *path, size_t *starts, size_t *moves)
{
	int pfd[2];
	if (pipe(pfd))
		return -1;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		int devnull = open("/dev/null", 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		close(pfd[0]);
		close(pfd[1]);
		execlp("crm_simulate", "crm_simulate", "-R", "-x", path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	char line[512];
	*starts = *moves = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "* Start "))
			(*starts)++;
		if (strstr(line, "* Move ") || strstr(line, "* Stop ") ||
		    strstr(line, "* Restart "))
			(*moves)++;
	}
	if (f)
		fclose(f);
	int status;
	waitpid(pid, &status, 0);
	double t = now_ms() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return t;
}

static bool have_crm(void)
{
	return system("command -v crm_simulate >/dev/null 2>&1") == 0;
}

/* one configuration: cold and settled, in a child process so peak memory is its own */
static void bench_one(shape sh, unsigned R, unsigned N, bool quick)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid > 0) {
		int status;
		waitpid(pid, &status, 0);
		return;
	}
	gen *g = generate(sh, R, N);
	vg_cluster_state *cold = vg_cluster_state_new(&g->c);
	vg_plan p;
	if (vg_schedule(&g->c, cold, &p))
		_exit(1);
	vg_cluster_state *settled = settled_state(&g->c, &p);
	vg_plan_free(&p);
	size_t budget = (size_t)R * N;
	int runs = quick ? 5 : budget >= 500000 ? 30 : budget >= 10000 ? 100 : 300;
	result rc, rs;
	measure(&g->c, cold, runs, &rc);
	measure(&g->c, settled, runs, &rs);
	printf("scheduler %-6s %5ux%-3u cold:    median %7.2f ms p99 %7.2f ms peak %4ld MB "
	       "(%zu instances placed, %zu actions)\n",
	       shape_names[sh], R, N, rc.median, rc.p99, rc.rss_peak_kb / 1024, rc.instances,
	       rc.actions);
	printf("scheduler %-6s %5ux%-3u settled: median %7.2f ms p99 %7.2f ms peak %4ld MB "
	       "(%zu actions)\n",
	       shape_names[sh], R, N, rs.median, rs.p99, rs.rss_peak_kb / 1024, rs.actions);
	fflush(stdout);
	vg_cluster_state_free(cold);
	vg_cluster_state_free(settled);
	gen_free(g);
	_exit(0);
}

static void bench_crm(shape sh, unsigned R, unsigned N, const char *dir, bool quick)
{
	gen *g = generate(sh, R, N);
	vg_cluster_state *cold = vg_cluster_state_new(&g->c);
	vg_plan p;
	if (vg_schedule(&g->c, cold, &p))
		exit(1);
	vg_cluster_state *settled = settled_state(&g->c, &p);
	size_t placed = 0;
	for (size_t k = 0; k < p.n_placement; k++)
		placed += p.placement[k].n_targets;
	vg_plan_free(&p);
	int runs = quick ? 5 : 30;
	for (int mode = 0; mode < 2; mode++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s-%ux%u-%s.xml", dir, shape_names[sh], R, N,
			 mode ? "settled" : "cold");
		if (write_cib(path, &g->c, mode ? settled : NULL)) {
			fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
			continue;
		}
		result ours;
		measure(&g->c, mode ? settled : cold, runs, &ours);
		int crm_runs = quick ? 1 : 3;
		double tt[3];
		size_t starts = 0, moves = 0;
		int ok = 1;
		for (int i = 0; i < crm_runs; i++) {
			tt[i] = run_crm(path, &starts, &moves);
			if (tt[i] < 0)
				ok = 0;
		}
		if (!ok) {
			printf("pacemaker %-6s %5ux%-3u %s: crm_simulate failed on %s\n",
			       shape_names[sh], R, N, mode ? "settled" : "cold", path);
			continue;
		}
		qsort(tt, (size_t)crm_runs, sizeof(double), cmp_double);
		double crm = tt[crm_runs / 2];
		printf("pacemaker %-6s %5ux%-3u %-8s crm_simulate -R %8.1f ms (%zu starts, %zu "
		       "stops/moves; vigil: %zu placed, %zu actions) vigil %.2f ms -> %.0fx "
		       "faster\n",
		       shape_names[sh], R, N, mode ? "settled:" : "cold:", crm, starts, moves,
		       mode ? placed : ours.instances, ours.actions, ours.median,
		       crm / (ours.median > 0.001 ? ours.median : 0.001));
		if (!mode && starts != ours.instances)
			printf("  note: Pacemaker starts %zu instances, vigil places %zu\n", starts,
			       ours.instances);
		fflush(stdout);
	}
	vg_cluster_state_free(cold);
	vg_cluster_state_free(settled);
	gen_free(g);
}

int main(int argc, char **argv)
{
	bool quick = false, pacemaker = true, tune = true;
	const char *keep = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--no-pacemaker"))
			pacemaker = false;
		else if (!strcmp(argv[i], "--default-malloc"))
			tune = false;
		else if (!strcmp(argv[i], "--keep-cib") && i + 1 < argc)
			keep = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--quick] [--keep-cib DIR] [--no-pacemaker] "
				"[--default-malloc]\n",
				argv[0]);
			return 2;
		}
	}
	if (tune) {
		mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
		mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
	}
	printf("# malloc: %s\n",
	       tune ? "big blocks kept in the heap (M_MMAP_THRESHOLD 256 MB)" : "glibc defaults");
	static const struct {
		unsigned R, N;
	} sizes[] = {{100, 3}, {1000, 16}, {10000, 100}};
	for (int sh = 0; sh < 4; sh++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			bench_one((shape)sh, sizes[s].R, sizes[s].N, quick);
	if (!pacemaker)
		return 0;
	if (!have_crm()) {
		printf("pacemaker: crm_simulate not installed, comparison skipped\n");
		return 0;
	}
	char tmpl[] = "/tmp/vigil-bench-cib-XXXXXX";
	const char *dir = keep;
	if (!dir) {
		dir = mkdtemp(tmpl);
		if (!dir) {
			perror("mkdtemp");
			return 1;
		}
	} else {
		mkdir(dir, 0755);
	}
	{ /* what crm_simulate costs on a trivial cluster (process start, libraries) */
		gen *g = generate(SHAPE_FLAT, 1, 1);
		char path[512];
		size_t st, mv;
		snprintf(path, sizeof(path), "%s/trivial.xml", dir);
		if (!write_cib(path, &g->c, NULL))
			printf("pacemaker trivial 1x1: crm_simulate -R %.1f ms (fixed cost of one "
			       "run)\n",
			       run_crm(path, &st, &mv));
		gen_free(g);
	}
	bench_crm(SHAPE_MIXED, 1000, 16, dir, quick);
	if (!quick) {
		bench_crm(SHAPE_FLAT, 1000, 16, dir, quick);
		bench_crm(SHAPE_GROUPS, 1000, 16, dir, quick);
		bench_crm(SHAPE_CLONES, 1000, 16, dir, quick);
	}
	if (!keep) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else {
		printf("CIB files kept in %s\n", dir);
	}
	return 0;
}
