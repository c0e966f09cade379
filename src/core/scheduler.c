/* scheduler.c - the pure placement engine (see scheduler.h for the conventions).
 *
 * Owns: turning (config, observed condition) into a target placement and the actions
 * whose preconditions hold now. Must not: do I/O, read clocks, keep state between calls,
 * or depend on input order (everything is indexed by name-sorted position).
 *
 * Outline: index nodes and resources by sorted name; fold observations into per-resource
 * cells; expand groups into colocations and orders; compute static node scores (location,
 * stickiness, failures) and merge in the scores of positively colocated dependents; assign
 * resources in colocation order (primaries first); drop the targets of what cannot run
 * (a mandatory `first` or an inf primary without a place); derive order-driven stops;
 * emit the actions whose preconditions hold; sort them (fence, probe, demote, stop, start,
 * promote; then resource and node name).
 */
#include "scheduler.h"
#include "mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define NEG_INF (-VG_SCORE_INF)
#define POS_INF VG_SCORE_INF

/* ---- small helpers -------------------------------------------------------- */

static int sadd(int a, int b)
{
	if (a <= NEG_INF || b <= NEG_INF)
		return NEG_INF;
	if (a >= POS_INF || b >= POS_INF)
		return POS_INF;
	long s = (long)a + b;
	if (s <= NEG_INF)
		return NEG_INF + 1;
	if (s >= POS_INF)
		return POS_INF - 1;
	return (int)s;
}

/* v scaled by a colocation score s (s/INF): inf keeps v, finite s gives a fraction */
static int scale(int v, int s)
{
	if (s >= POS_INF)
		return v;
	return (int)((long long)v * s / POS_INF);
}

/* ---- internal model ------------------------------------------------------- */

typedef struct {
	const char *name;
	const vg_node_cond *cond;
	vg_node_state state;
	bool avail;  /* may be a target */
	bool manage; /* actions may run there */
	bool gone;   /* runs nothing */
	bool maint;
	bool fence;	   /* must be fenced */
	bool onfail_fence; /* fenced because of a failure */
	bool onfail_standby;
	bool probed;
	uint32_t load;
} nodei;

typedef struct {
	uint32_t node;
	uint8_t state;	/* vg_inst_state */
	bool counted;	/* active, on a node where it may still run */
	bool banned;	/* failcount reached migration_threshold */
	uint32_t count; /* active instances */
	uint32_t fc;	/* failcount, after expiry */
} cell;

typedef struct {
	uint32_t node;
	uint8_t role; /* vg_inst_role */
	uint32_t count;
	int score;
	int pscore;  /* promotion score, when chosen to be promoted */
	bool pinned; /* unmanaged or blocked: stays as it is */
} tgt;

typedef struct {
	uint32_t r, node; /* node UINT32_MAX for rule locations */
	const vg_location *loc;
	int score;
	vg_rrole role;
} locc;

typedef struct {
	uint32_t dep, prim;
	int score;
	vg_rrole dep_role, prim_role;
} colc;

typedef struct {
	uint32_t first, then;
	bool first_promote, then_promote, optional;
} ordc;

typedef struct {
	const vg_resource *cfg;
	bool clone, promotable, disabled, onfail_stop;
	int stick;
	uint32_t max, mpn, pmax;
	uint32_t cell_off, cell_n;
	uint32_t tgt_off, tgt_n;
	uint32_t active;    /* counted active instances */
	uint32_t waitable;  /* of those, the ones a stop or a fence will end (not unmanaged) */
	uint32_t promoted;  /* counted instances that are (or may be) promoted */
	uint32_t n_unknown; /* probes pending */
	bool placed;
	bool must_stop;
	uint32_t must_stop_by;
	bool up_s, up_p, down_s, down_p;
	bool multi; /* primitive active on several nodes */
	int cut_by; /* resource whose absence leaves this one without a place, or -1 */
} resi;

typedef struct {
	const vg_config *cfg;
	const vg_cluster_state *st;
	size_t N, R;
	nodei *nodes;
	resi *res;
	vg_strmap nmap, rmap;
	cell *cells;
	size_t n_cells;
	int *score;  /* node scores, one row per resource in a colocation */
	int *row_of; /* resource -> row of score, or -1 */
	tgt *tgts;
	size_t n_tgts, cap_tgts;
	locc *locs;
	size_t n_locs;
	uint32_t *loc_off, *loc_idx;
	colc *cols;
	size_t n_cols;
	uint32_t *cin_off, *cin_idx;   /* by dep */
	uint32_t *cout_off, *cout_idx; /* by prim */
	ordc *ords;
	size_t n_ords;
	uint32_t *oin_off, *oin_idx;   /* by then */
	uint32_t *oout_off, *oout_idx; /* by first */
	uint32_t *topo;
	int *tmp;	/* N */
	uint32_t *mark; /* N */
	uint32_t stamp;
	vg_action *acts;
	uint32_t *act_r, *act_n; /* resource and node index of each action, for sorting */
	size_t n_acts, cap_acts;
	bool frozen, stopall;
	bool oom;
} sched;

static void *zalloc(sched *s, size_t n, size_t sz)
{
	void *p = vg_calloc(n ? n : 1, sz);
	if (!p)
		s->oom = true;
	return p;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* CSR index of m items by key */
static void csr(sched *s, size_t R, size_t m, const uint32_t *keys, uint32_t **off, uint32_t **idx)
{
	*off = zalloc(s, R + 1, sizeof(uint32_t));
	*idx = zalloc(s, m, sizeof(uint32_t));
	if (s->oom)
		return;
	for (size_t i = 0; i < m; i++)
		(*off)[keys[i] + 1]++;
	for (size_t r = 0; r < R; r++)
		(*off)[r + 1] += (*off)[r];
	uint32_t *fill = zalloc(s, R + 1, sizeof(uint32_t));
	if (!fill)
		return;
	memcpy(fill, *off, (R + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < m; i++)
		(*idx)[fill[keys[i]]++] = (uint32_t)i;
	free(fill);
}

/* ---- indexing ------------------------------------------------------------- */

static int index_nodes(sched *s)
{
	const vg_config *c = s->cfg;
	s->N = c->n_nodes;
	const char ***p = zalloc(s, s->N, sizeof(*p));
	s->nodes = zalloc(s, s->N, sizeof(nodei));
	if (s->oom) {
		free(p);
		return -1;
	}
	vg_strmap_init(&s->nmap, s->N);
	for (size_t i = 0; i < s->N; i++)
		p[i] = (const char **)&c->nodes[i].name;
	qsort(p, s->N, sizeof(*p), cmp_str_ptr);
	for (size_t i = 0; i < s->N; i++) {
		s->nodes[i].name = *p[i];
		s->nodes[i].state = VG_NODE_OFFLINE;
		s->nodes[i].probed = true;
		vg_strmap_put(&s->nmap, *p[i], (uint32_t)i);
	}
	free(p);
	for (size_t i = 0; i < s->st->n_nodes; i++) {
		int n = vg_strmap_get(&s->nmap, s->st->nodes[i].name);
		if (n < 0)
			continue;
		s->nodes[n].cond = &s->st->nodes[i];
		s->nodes[n].state = s->st->nodes[i].state;
		s->nodes[n].probed = s->st->nodes[i].probed;
	}
	return 0;
}

static const vg_group *group_by_name(const vg_config *c, const char *name)
{
	for (size_t g = 0; g < c->n_groups; g++)
		if (!strcmp(c->groups[g].name, name))
			return &c->groups[g];
	return NULL;
}

static int index_resources(sched *s)
{
	const vg_config *c = s->cfg;
	s->R = c->n_resources;
	const char ***p = zalloc(s, s->R, sizeof(*p));
	s->res = zalloc(s, s->R, sizeof(resi));
	if (s->oom) {
		free(p);
		return -1;
	}
	vg_strmap_init(&s->rmap, s->R + c->n_groups);
	for (size_t i = 0; i < s->R; i++)
		p[i] = (const char **)&c->resources[i].name;
	qsort(p, s->R, sizeof(*p), cmp_str_ptr);
	for (size_t i = 0; i < s->R; i++) {
		const vg_resource *rc =
		    (const vg_resource *)((const char *)p[i] - offsetof(vg_resource, name));
		resi *r = &s->res[i];
		r->cfg = rc;
		r->clone = rc->clone.enabled;
		r->promotable = r->clone && rc->clone.promotable;
		r->disabled = rc->disabled;
		r->stick = rc->has_stickiness ? rc->stickiness : c->stickiness;
		r->max = r->clone ? (rc->clone.max ? rc->clone.max : (uint32_t)s->N) : 1;
		r->mpn = r->clone && !r->promotable && rc->clone.max_per_node
			     ? rc->clone.max_per_node
			     : 1;
		r->pmax = r->promotable ? rc->clone.promoted_max : 0;
		r->cut_by = -1;
		vg_strmap_put(&s->rmap, rc->name, (uint32_t)i);
	}
	free(p);
	return 0;
}

typedef struct {
	uint32_t r, n;
	const vg_inst_cond *ic;
} obsref;

static int cmp_obs(const void *a, const void *b)
{
	const obsref *x = a, *y = b;
	if (x->r != y->r)
		return x->r < y->r ? -1 : 1;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return 0;
}

static bool is_active_state(uint8_t st)
{
	return st >= VG_INST_RUNNING;
}

static void index_cells(sched *s)
{
	const vg_cluster_state *st = s->st;
	obsref *o = zalloc(s, st->n_insts, sizeof(*o));
	s->cells = zalloc(s, st->n_insts, sizeof(cell));
	if (s->oom) {
		free(o);
		return;
	}
	size_t m = 0;
	for (size_t i = 0; i < st->n_insts; i++) {
		int r = vg_strmap_get(&s->rmap, st->insts[i].resource);
		int n = vg_strmap_get(&s->nmap, st->insts[i].node);
		if (r < 0 || n < 0 || r >= (int)s->R)
			continue;
		o[m++] = (obsref){(uint32_t)r, (uint32_t)n, &st->insts[i]};
	}
	qsort(o, m, sizeof(*o), cmp_obs);
	size_t k = 0;
	for (size_t i = 0; i < m; i++) {
		resi *r = &s->res[o[i].r];
		const vg_inst_cond *ic = o[i].ic;
		cell *c;
		if (k > 0 && i > 0 && o[i - 1].r == o[i].r && o[i - 1].n == o[i].n) {
			c = &s->cells[k - 1]; /* duplicate record: merge */
			if (ic->state == VG_INST_FAILED || c->state < ic->state)
				c->state = ic->state;
			c->count += ic->count;
		} else {
			if (r->cell_n == 0)
				r->cell_off = (uint32_t)k;
			r->cell_n++;
			c = &s->cells[k++];
			c->node = o[i].n;
			c->state = (uint8_t)ic->state;
			c->count = ic->count;
		}
		if (is_active_state(c->state) && c->count == 0)
			c->count = 1;
		if (!r->promotable &&
		    (c->state == VG_INST_PROMOTED || c->state == VG_INST_UNPROMOTED))
			c->state = VG_INST_RUNNING; /* no roles without promotable */
		if (r->promotable && c->state == VG_INST_RUNNING)
			c->state = VG_INST_UNPROMOTED;
		if (ic->unrunnable)
			c->banned = true; /* its agent is not installed there */
		uint32_t fc = vg_inst_cond_failcount(r->cfg, ic, st->now_ms);
		if (fc > c->fc)
			c->fc = fc;
	}
	s->n_cells = k;
	free(o);
}

static cell *cell_at(sched *s, const resi *r, uint32_t n)
{
	uint32_t lo = 0, hi = r->cell_n;
	cell *c = s->cells + r->cell_off;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (c[mid].node == n)
			return &c[mid];
		if (c[mid].node < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* node conditions that depend on failures (on_fail fence/standby) */
static void classify_nodes(sched *s)
{
	for (size_t r = 0; r < s->R; r++) {
		resi *ri = &s->res[r];
		for (uint32_t k = 0; k < ri->cell_n; k++) {
			cell *c = &s->cells[ri->cell_off + k];
			/* on_fail stop counts any failure not yet expired, also of an instance
			 * that is stopped by now (a process that exited) */
			bool failed = c->state == VG_INST_FAILED ||
				      (ri->cfg->on_fail == VG_ON_FAIL_STOP && c->fc > 0);
			if (!failed)
				continue;
			nodei *n = &s->nodes[c->node];
			if (n->state != VG_NODE_ONLINE && n->state != VG_NODE_STANDBY)
				continue;
			switch (ri->cfg->on_fail) {
			case VG_ON_FAIL_FENCE:
				n->onfail_fence = true;
				break;
			case VG_ON_FAIL_STANDBY:
				n->onfail_standby = true;
				break;
			case VG_ON_FAIL_STOP:
				if (!ri->clone)
					ri->onfail_stop = true;
				else
					c->banned = true;
				break;
			default:
				break;
			}
		}
	}
	for (size_t i = 0; i < s->N; i++) {
		nodei *n = &s->nodes[i];
		switch (n->state) {
		case VG_NODE_ONLINE:
			n->avail = n->manage = true;
			break;
		case VG_NODE_STANDBY:
			n->manage = true;
			break;
		case VG_NODE_MAINTENANCE:
			n->maint = true;
			break;
		case VG_NODE_OFFLINE:
		case VG_NODE_FENCED:
			n->gone = true;
			break;
		case VG_NODE_UNCLEAN:
			n->fence = true;
			break;
		}
		if (n->onfail_standby)
			n->avail = false;
		if (n->onfail_fence) {
			n->fence = true;
			n->avail = n->manage = false;
		}
		if (!n->manage || n->maint)
			n->probed = true; /* nothing to probe where nothing can run */
	}
	/* what counts as active (blocks a second instance elsewhere) */
	for (size_t r = 0; r < s->R; r++) {
		resi *ri = &s->res[r];
		for (uint32_t k = 0; k < ri->cell_n; k++) {
			cell *c = &s->cells[ri->cell_off + k];
			const nodei *n = &s->nodes[c->node];
			uint32_t thr = ri->cfg->migration_threshold;
			if (thr && c->fc >= thr)
				c->banned = true;
			if (!is_active_state(c->state) || n->gone)
				continue;
			if (n->state == VG_NODE_UNCLEAN && n->cond && n->cond->self_stopped &&
			    ri->cfg->requires == VG_REQUIRES_QUORUM)
				continue;
			c->counted = true;
			ri->active += c->count;
			if (!n->maint &&
			    !(c->state == VG_INST_FAILED && ri->cfg->on_fail == VG_ON_FAIL_BLOCK))
				ri->waitable += c->count;
			if (ri->promotable &&
			    (c->state == VG_INST_PROMOTED || c->state == VG_INST_FAILED))
				ri->promoted++;
		}
	}
}

/* ---- constraints ---------------------------------------------------------- */

/* name -> resource index; groups resolve to their first (or last) member */
static int resolve(sched *s, const char *name, bool last)
{
	int r = vg_strmap_get(&s->rmap, name);
	if (r >= 0)
		return r;
	const vg_group *g = group_by_name(s->cfg, name);
	if (!g || !g->n_members)
		return -1;
	return vg_strmap_get(&s->rmap, g->members[last ? g->n_members - 1 : 0]);
}

static void drop_order_cycles(sched *s);

static void build_constraints(sched *s)
{
	const vg_config *c = s->cfg;
	size_t nl = 0, nc = 0, no = 0;
	for (size_t g = 0; g < c->n_groups; g++) {
		if (c->groups[g].n_members > 1) {
			nc += c->groups[g].n_members - 1;
			no += c->groups[g].n_members - 1;
		}
	}
	for (size_t i = 0; i < c->n_constraints; i++) {
		switch (c->constraints[i].kind) {
		case VG_CONS_LOCATION:
			nl++;
			break;
		case VG_CONS_COLOCATE:
			nc++;
			break;
		case VG_CONS_ORDER:
			no++;
			break;
		}
	}
	s->locs = zalloc(s, nl, sizeof(locc));
	s->cols = zalloc(s, nc, sizeof(colc));
	s->ords = zalloc(s, no, sizeof(ordc));
	if (s->oom)
		return;
	for (size_t g = 0; g < c->n_groups; g++) {
		const vg_group *gr = &c->groups[g];
		for (size_t m = 1; m < gr->n_members; m++) {
			int a = vg_strmap_get(&s->rmap, gr->members[m - 1]);
			int b = vg_strmap_get(&s->rmap, gr->members[m]);
			if (a < 0 || b < 0)
				continue;
			s->cols[s->n_cols++] =
			    (colc){(uint32_t)b, (uint32_t)a, POS_INF, VG_RROLE_ANY, VG_RROLE_ANY};
			s->ords[s->n_ords++] =
			    (ordc){(uint32_t)a, (uint32_t)b, false, false, false};
		}
	}
	for (size_t i = 0; i < c->n_constraints; i++) {
		const vg_constraint *k = &c->constraints[i];
		if (k->kind == VG_CONS_LOCATION) {
			const vg_location *l = &k->u.location;
			int r = resolve(s, l->resource, false);
			if (r < 0)
				continue;
			int n = -1;
			if (l->node) {
				n = vg_strmap_get(&s->nmap, l->node);
				if (n < 0)
					continue;
			}
			s->locs[s->n_locs++] = (locc){(uint32_t)r, n < 0 ? UINT32_MAX : (uint32_t)n,
						      l, l->score, l->role};
		} else if (k->kind == VG_CONS_COLOCATE) {
			const vg_colocation *l = &k->u.colocate;
			int d = resolve(s, l->resource, false);
			int p = resolve(s, l->with, true);
			if (d < 0 || p < 0 || d == p || l->score == 0)
				continue;
			s->cols[s->n_cols++] =
			    (colc){(uint32_t)d, (uint32_t)p, l->score, l->role, l->with_role};
		} else {
			const vg_order *o = &k->u.order;
			int f = resolve(s, o->first, true);
			int t = resolve(s, o->then, false);
			if (f < 0 || t < 0 || f == t)
				continue;
			s->ords[s->n_ords++] =
			    (ordc){(uint32_t)f, (uint32_t)t, o->first_action == VG_OP_PROMOTE,
				   o->then_action == VG_OP_PROMOTE, o->optional};
		}
	}
	drop_order_cycles(s);
	uint32_t *keys = zalloc(s, nl + nc + no + 1, sizeof(uint32_t));
	if (!keys)
		return;
	for (size_t i = 0; i < s->n_locs; i++)
		keys[i] = s->locs[i].r;
	csr(s, s->R, s->n_locs, keys, &s->loc_off, &s->loc_idx);
	for (size_t i = 0; i < s->n_cols; i++)
		keys[i] = s->cols[i].dep;
	csr(s, s->R, s->n_cols, keys, &s->cin_off, &s->cin_idx);
	for (size_t i = 0; i < s->n_cols; i++)
		keys[i] = s->cols[i].prim;
	csr(s, s->R, s->n_cols, keys, &s->cout_off, &s->cout_idx);
	for (size_t i = 0; i < s->n_ords; i++)
		keys[i] = s->ords[i].then;
	csr(s, s->R, s->n_ords, keys, &s->oin_off, &s->oin_idx);
	for (size_t i = 0; i < s->n_ords; i++)
		keys[i] = s->ords[i].first;
	csr(s, s->R, s->n_ords, keys, &s->oout_off, &s->oout_idx);
	free(keys);
}

/* orders are kept in sequence (groups first, then the file's order) unless one would close
 * a cycle, which could never be satisfied (e.g. a group [vip, web] plus web-then-vip): that
 * one is dropped, so the group's own order wins */
static void drop_order_cycles(sched *s)
{
	int32_t *head = zalloc(s, s->R, sizeof(int32_t));
	int32_t *next = zalloc(s, s->n_ords, sizeof(int32_t));
	uint32_t *seen = zalloc(s, s->R, sizeof(uint32_t));
	uint32_t *stack = zalloc(s, s->n_ords + 1, sizeof(uint32_t));
	if (s->oom)
		goto out;
	for (size_t r = 0; r < s->R; r++)
		head[r] = -1;
	size_t kept = 0;
	uint32_t stamp = 0;
	for (size_t i = 0; i < s->n_ords; i++) {
		ordc o = s->ords[i];
		/* does `then` already reach `first`? */
		bool cycle = false;
		size_t sp = 0;
		stamp++;
		stack[sp++] = o.then;
		seen[o.then] = stamp;
		while (sp && !cycle) {
			uint32_t x = stack[--sp];
			if (x == o.first) {
				cycle = true;
				break;
			}
			for (int32_t e = head[x]; e >= 0; e = next[e]) {
				uint32_t y = s->ords[e].then;
				if (seen[y] != stamp) {
					seen[y] = stamp;
					stack[sp++] = y;
				}
			}
		}
		if (cycle)
			continue;
		s->ords[kept] = o;
		next[kept] = head[o.first];
		head[o.first] = (int32_t)kept;
		kept++;
	}
	s->n_ords = kept;
out:
	free(head);
	free(next);
	free(seen);
	free(stack);
}

/* primaries before dependents; cycles broken at the lowest index */
static void topo_sort(sched *s)
{
	uint32_t *indeg = zalloc(s, s->R, sizeof(uint32_t));
	s->topo = zalloc(s, s->R, sizeof(uint32_t));
	bool *done = zalloc(s, s->R, sizeof(bool));
	if (s->oom) {
		free(indeg);
		free(done);
		return;
	}
	for (size_t i = 0; i < s->n_cols; i++)
		indeg[s->cols[i].dep]++;
	size_t head = 0, tail = 0, scan = 0;
	for (size_t r = 0; r < s->R; r++)
		if (!indeg[r]) {
			s->topo[tail++] = (uint32_t)r;
			done[r] = true;
		}
	while (tail < s->R) {
		if (head == tail) {
			while (done[scan])
				scan++;
			s->topo[tail++] = (uint32_t)scan;
			done[scan] = true;
		}
		uint32_t p = s->topo[head++];
		for (uint32_t k = s->cout_off[p]; k < s->cout_off[p + 1]; k++) {
			uint32_t d = s->cols[s->cout_idx[k]].dep;
			if (indeg[d])
				indeg[d]--;
			if (!indeg[d] && !done[d]) {
				s->topo[tail++] = d;
				done[d] = true;
			}
		}
	}
	free(indeg);
	free(done);
}

/* ---- scores --------------------------------------------------------------- */

static bool rule_matches(const locc *l, const nodei *n)
{
	const char *v = n->cond ? vg_node_cond_attr(n->cond, l->loc->rule_attribute) : NULL;
	const char *want = l->loc->rule_value ? l->loc->rule_value : "";
	switch (l->loc->rule_op) {
	case VG_RULE_OP_DEFINED:
		return v != NULL;
	case VG_RULE_OP_NOT_DEFINED:
		return v == NULL;
	case VG_RULE_OP_EQ:
		return v && !strcmp(v, want);
	case VG_RULE_OP_NE:
		return !v || strcmp(v, want);
	default:
		break;
	}
	if (!v)
		return false;
	char *e1, *e2;
	double a = strtod(v, &e1), b = strtod(want, &e2);
	if (e1 == v || e2 == want)
		return false;
	switch (l->loc->rule_op) {
	case VG_RULE_OP_GT:
		return a > b;
	case VG_RULE_OP_LT:
		return a < b;
	case VG_RULE_OP_GTE:
		return a >= b;
	case VG_RULE_OP_LTE:
		return a <= b;
	default:
		return false;
	}
}

static void add_locations(sched *s, uint32_t r, int *row, bool promoted_role)
{
	for (uint32_t k = s->loc_off[r]; k < s->loc_off[r + 1]; k++) {
		const locc *l = &s->locs[s->loc_idx[k]];
		if ((l->role == VG_RROLE_PROMOTED) != promoted_role)
			continue;
		if (l->node != UINT32_MAX) {
			row[l->node] = sadd(row[l->node], l->score);
			continue;
		}
		for (size_t n = 0; n < s->N; n++)
			if (rule_matches(l, &s->nodes[n]))
				row[n] = sadd(row[n], l->score);
	}
}

/* location, failures and (for primitives) stickiness: the resource's own node scores */
static void base_row(sched *s, uint32_t r, int *row)
{
	const resi *ri = &s->res[r];
	for (size_t n = 0; n < s->N; n++)
		row[n] = s->nodes[n].avail ? 0 : NEG_INF;
	add_locations(s, r, row, false);
	for (uint32_t k = 0; k < ri->cell_n; k++) {
		const cell *c = &s->cells[ri->cell_off + k];
		if (c->banned)
			row[c->node] = NEG_INF;
		else if (!ri->clone && c->counted && c->state != VG_INST_FAILED)
			row[c->node] = sadd(row[c->node], ri->stick);
	}
}

/* rows are stored only for resources in colocations (the others are computed when
 * assigned), so a flat configuration needs no R x N matrix */
static void static_scores(sched *s)
{
	s->row_of = zalloc(s, s->R, sizeof(int));
	if (s->oom)
		return;
	size_t rows = 0;
	for (size_t r = 0; r < s->R; r++) {
		bool coloc =
		    s->cin_off[r] != s->cin_off[r + 1] || s->cout_off[r] != s->cout_off[r + 1];
		s->row_of[r] = coloc ? (int)rows++ : -1;
	}
	s->score = zalloc(s, rows * s->N, sizeof(int));
	if (s->oom)
		return;
	for (size_t r = 0; r < s->R; r++)
		if (s->row_of[r] >= 0)
			base_row(s, (uint32_t)r, s->score + (size_t)s->row_of[r] * s->N);
	/* merge positively colocated dependents into primitives (dependents first) */
	for (size_t i = s->R; i-- > 0;) {
		uint32_t p = s->topo[i];
		resi *pi = &s->res[p];
		if (pi->clone || s->row_of[p] < 0)
			continue;
		int *row = s->score + (size_t)s->row_of[p] * s->N;
		for (uint32_t k = s->cout_off[p]; k < s->cout_off[p + 1]; k++) {
			const colc *c = &s->cols[s->cout_idx[k]];
			const resi *d = &s->res[c->dep];
			if (c->score <= 0 || d->clone || d->disabled || d->onfail_stop ||
			    c->dep_role == VG_RROLE_PROMOTED)
				continue;
			const int *drow = s->score + (size_t)s->row_of[c->dep] * s->N;
			bool any = false;
			for (size_t n = 0; n < s->N; n++) {
				s->tmp[n] = sadd(row[n], scale(drow[n], c->score));
				any |= s->tmp[n] > NEG_INF;
			}
			if (any) /* else roll back: the dependent cannot run anywhere we can */
				memcpy(row, s->tmp, s->N * sizeof(int));
		}
	}
}

/* ---- assignment ----------------------------------------------------------- */

static void push_tgt(sched *s, uint32_t node, uint8_t role, uint32_t count, int score)
{
	if (s->n_tgts == s->cap_tgts) {
		size_t nc = s->cap_tgts ? s->cap_tgts * 2 : 64;
		tgt *t = vg_realloc(s->tgts, nc * sizeof(tgt));
		if (!t) {
			s->oom = true;
			return;
		}
		s->tgts = t;
		s->cap_tgts = nc;
	}
	s->tgts[s->n_tgts++] = (tgt){node, role, count, score, 0, false};
}

static tgt *tgt_at(sched *s, const resi *r, uint32_t n)
{
	for (uint32_t k = 0; k < r->tgt_n; k++)
		if (s->tgts[r->tgt_off + k].node == n)
			return &s->tgts[r->tgt_off + k];
	return NULL;
}

static bool role_matches(vg_rrole want, uint8_t role)
{
	switch (want) {
	case VG_RROLE_PROMOTED:
		return role == VG_IROLE_PROMOTED;
	case VG_RROLE_UNPROMOTED:
		return role == VG_IROLE_UNPROMOTED;
	default:
		return true;
	}
}

/* apply colocation c against the placed resource `other` (its primary, or in a cycle
 * its dependent) to row */
static void apply_coloc_to(sched *s, const colc *c, int *row, uint32_t other, vg_rrole role)
{
	const resi *p = &s->res[other];
	s->stamp++;
	for (uint32_t k = 0; k < p->tgt_n; k++) {
		const tgt *t = &s->tgts[p->tgt_off + k];
		if (role_matches(role, t->role))
			s->mark[t->node] = s->stamp;
	}
	for (size_t n = 0; n < s->N; n++) {
		bool in = s->mark[n] == s->stamp;
		if (c->score >= POS_INF) {
			if (!in)
				row[n] = NEG_INF;
		} else if (c->score <= NEG_INF) {
			if (in)
				row[n] = NEG_INF;
		} else if (in) {
			row[n] = sadd(row[n], c->score);
		}
	}
}

static void apply_coloc(sched *s, const colc *c, int *row)
{
	if (!s->res[c->prim].placed)
		return; /* a colocation cycle: applied the other way round (below) */
	apply_coloc_to(s, c, row, c->prim, c->prim_role);
}

typedef struct {
	int score;
	uint32_t node, slot, load;
	bool active;
} cand;

static int cmp_cand(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->active != y->active)
		return x->active ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->load != y->load)
		return x->load < y->load ? -1 : 1;
	return x->node < y->node ? -1 : (x->node > y->node);
}

static int cmp_tgt_node(const void *a, const void *b)
{
	const tgt *x = a, *y = b;
	return x->node < y->node ? -1 : (x->node > y->node);
}

static int promo_attr(const resi *r, const nodei *n)
{
	char key[300];
	snprintf(key, sizeof(key), "master-%s", r->cfg->name);
	const char *v = n->cond ? vg_node_cond_attr(n->cond, key) : NULL;
	if (!v)
		return 0;
	if (!strcmp(v, "inf") || !strcmp(v, "+inf") || !strcmp(v, "INFINITY"))
		return POS_INF;
	if (!strcmp(v, "-inf") || !strcmp(v, "-INFINITY"))
		return NEG_INF;
	long x = strtol(v, NULL, 10);
	if (x <= NEG_INF)
		return NEG_INF;
	if (x >= POS_INF)
		return POS_INF;
	return (int)x;
}

static void choose_promoted(sched *s, uint32_t r)
{
	resi *ri = &s->res[r];
	if (!ri->pmax || !ri->tgt_n)
		return;
	/* pinned instances that are (or may be, when failed) promoted use up slots */
	uint32_t slots = ri->pmax;
	for (uint32_t k = 0; k < ri->tgt_n; k++) {
		const tgt *t = &s->tgts[ri->tgt_off + k];
		const cell *c = cell_at(s, ri, t->node);
		if (t->pinned && c && (c->state == VG_INST_PROMOTED || c->state == VG_INST_FAILED))
			slots = slots ? slots - 1 : 0;
	}
	int *ps = s->tmp;
	for (size_t n = 0; n < s->N; n++)
		ps[n] = NEG_INF;
	for (uint32_t k = 0; k < ri->tgt_n; k++) {
		if (s->tgts[ri->tgt_off + k].pinned)
			continue;
		uint32_t n = s->tgts[ri->tgt_off + k].node;
		ps[n] = promo_attr(ri, &s->nodes[n]);
		if (ps[n] > NEG_INF) {
			const cell *c = cell_at(s, ri, n);
			if (c && c->state == VG_INST_PROMOTED && c->counted)
				ps[n] = sadd(ps[n], ri->stick);
		}
	}
	/* locations with role promoted (only where an instance goes) */
	int *loc = zalloc(s, s->N, sizeof(int));
	if (!loc)
		return;
	add_locations(s, r, loc, true);
	for (size_t n = 0; n < s->N; n++)
		if (ps[n] > NEG_INF)
			ps[n] = sadd(ps[n], loc[n]);
	/* colocations of our promoted role with placed primaries */
	for (uint32_t k = s->cin_off[r]; k < s->cin_off[r + 1]; k++) {
		const colc *c = &s->cols[s->cin_idx[k]];
		if (c->dep_role != VG_RROLE_PROMOTED)
			continue;
		apply_coloc(s, c, ps);
	}
	/* dependents that want to be with our promoted instance */
	for (uint32_t k = s->cout_off[r]; k < s->cout_off[r + 1]; k++) {
		const colc *c = &s->cols[s->cout_idx[k]];
		if (c->prim_role != VG_RROLE_PROMOTED || c->score <= 0 || s->res[c->dep].clone)
			continue;
		const int *drow = s->score + (size_t)s->row_of[c->dep] * s->N;
		for (size_t n = 0; n < s->N; n++) {
			if (ps[n] <= NEG_INF)
				continue;
			int v = scale(drow[n], c->score);
			if (v <= NEG_INF)
				v = NEG_INF + 2; /* a preference, not a ban */
			ps[n] = sadd(ps[n], v);
			if (ps[n] <= NEG_INF)
				ps[n] = NEG_INF + 1;
		}
	}
	free(loc);
	cand *cs = zalloc(s, ri->tgt_n, sizeof(cand));
	if (!cs)
		return;
	size_t m = 0;
	for (uint32_t k = 0; k < ri->tgt_n; k++) {
		uint32_t n = s->tgts[ri->tgt_off + k].node;
		if (ps[n] <= NEG_INF || s->tgts[ri->tgt_off + k].pinned)
			continue;
		const cell *c = cell_at(s, ri, n);
		cs[m++] = (cand){ps[n], n, 0, 0, c && c->state == VG_INST_PROMOTED};
	}
	qsort(cs, m, sizeof(cand), cmp_cand);
	for (size_t i = 0; i < m && i < slots; i++) {
		tgt *t = tgt_at(s, ri, cs[i].node);
		t->role = VG_IROLE_PROMOTED;
		t->pscore = cs[i].score;
	}
	free(cs);
}

static void assign(sched *s, uint32_t r)
{
	resi *ri = &s->res[r];
	ri->tgt_off = (uint32_t)s->n_tgts;
	uint8_t base_role = ri->promotable ? VG_IROLE_UNPROMOTED : VG_IROLE_STARTED;
	if (s->frozen) { /* keep what runs (at most max of it), start nothing */
		uint32_t kept = 0, promo = 0;
		for (uint32_t k = 0; k < ri->cell_n && kept < ri->max; k++) {
			const cell *c = &s->cells[ri->cell_off + k];
			if (!c->counted)
				continue;
			uint32_t cnt = c->count < ri->max - kept ? c->count : ri->max - kept;
			bool p = c->state == VG_INST_PROMOTED && promo < ri->pmax;
			promo += p;
			push_tgt(s, c->node, p ? VG_IROLE_PROMOTED : base_role, cnt, 0);
			kept += cnt;
		}
		ri->tgt_n = (uint32_t)(s->n_tgts - ri->tgt_off);
		return;
	}
	if (ri->disabled || ri->onfail_stop || s->stopall) {
		ri->tgt_n = 0;
		return;
	}
	int *row = s->tmp;
	if (s->row_of[r] >= 0)
		memcpy(row, s->score + (size_t)s->row_of[r] * s->N, s->N * sizeof(int));
	else
		base_row(s, r, row);
	for (uint32_t k = s->cin_off[r]; k < s->cin_off[r + 1]; k++) {
		const colc *c = &s->cols[s->cin_idx[k]];
		if (ri->promotable && c->dep_role == VG_RROLE_PROMOTED)
			continue; /* decides promotion, not placement */
		apply_coloc(s, c, row);
	}
	/* colocation cycles: dependents placed before us bind us the same way */
	for (uint32_t k = s->cout_off[r]; k < s->cout_off[r + 1]; k++) {
		const colc *c = &s->cols[s->cout_idx[k]];
		if (s->res[c->dep].placed && c->dep != r)
			apply_coloc_to(s, c, row, c->dep, c->dep_role);
	}
	/* pinned: unmanaged (maintenance) or blocked instances stay where they are */
	uint32_t pinned = 0, pinned_promo = 0;
	for (uint32_t k = 0; k < ri->cell_n; k++) {
		const cell *c = &s->cells[ri->cell_off + k];
		bool blocked = c->state == VG_INST_FAILED && ri->cfg->on_fail == VG_ON_FAIL_BLOCK &&
			       s->nodes[c->node].manage;
		if (!c->counted || !(s->nodes[c->node].maint || blocked))
			continue;
		if (pinned >= ri->max)
			break;
		uint32_t cnt = c->count < ri->max - pinned ? c->count : ri->max - pinned;
		bool promo = c->state == VG_INST_PROMOTED && pinned_promo < ri->pmax;
		pinned_promo += promo;
		push_tgt(s, c->node, promo ? VG_IROLE_PROMOTED : base_role, cnt, row[c->node]);
		if (!s->oom)
			s->tgts[s->n_tgts - 1].pinned = true;
		pinned += cnt;
		row[c->node] = NEG_INF;
	}
	if (!ri->clone) {
		if (!pinned) {
			int best = -1;
			bool best_cur = false;
			for (size_t n = 0; n < s->N; n++) {
				if (row[n] <= NEG_INF)
					continue;
				const cell *c = cell_at(s, ri, (uint32_t)n);
				bool cur = c && c->counted && c->state != VG_INST_FAILED;
				if (best < 0 || row[n] > row[best] ||
				    (row[n] == row[best] &&
				     ((cur && !best_cur) ||
				      (cur == best_cur &&
				       s->nodes[n].load < s->nodes[best].load)))) {
					best = (int)n;
					best_cur = cur;
				}
			}
			if (best >= 0) {
				push_tgt(s, (uint32_t)best, base_role, 1, row[best]);
				s->nodes[best].load++;
			}
		}
	} else if (pinned < ri->max) {
		uint32_t want = ri->max - pinned;
		uint32_t slots = ri->mpn < want ? ri->mpn : want;
		size_t nc = 0;
		cand *cs = zalloc(s, s->N * slots, sizeof(cand));
		if (!cs)
			return;
		for (size_t n = 0; n < s->N; n++) {
			if (row[n] <= NEG_INF)
				continue;
			const cell *c = cell_at(s, ri, (uint32_t)n);
			uint32_t healthy =
			    c && c->counted && c->state != VG_INST_FAILED ? c->count : 0;
			for (uint32_t j = 0; j < slots; j++)
				cs[nc++] = (cand){j < healthy ? sadd(row[n], ri->stick) : row[n],
						  (uint32_t)n, j, s->nodes[n].load, j < healthy};
		}
		if (want >= 8 || want * 4 >= nc) {
			qsort(cs, nc, sizeof(cand), cmp_cand);
		} else { /* few instances out of many candidates: select the best ones */
			for (size_t i = 0; i < want; i++) {
				size_t best = i;
				for (size_t j = i + 1; j < nc; j++)
					if (cmp_cand(&cs[j], &cs[best]) < 0)
						best = j;
				cand t = cs[i];
				cs[i] = cs[best];
				cs[best] = t;
			}
		}
		for (size_t i = 0; i < nc && i < want; i++) {
			tgt *t = NULL;
			for (uint32_t k = ri->tgt_off; k < s->n_tgts; k++)
				if (s->tgts[k].node == cs[i].node)
					t = &s->tgts[k];
			if (t)
				t->count++;
			else
				push_tgt(s, cs[i].node, base_role, 1, cs[i].score);
			s->nodes[cs[i].node].load++;
		}
		free(cs);
	}
	ri->tgt_n = (uint32_t)(s->n_tgts - ri->tgt_off);
	if (ri->tgt_n > 1)
		qsort(s->tgts + ri->tgt_off, ri->tgt_n, sizeof(tgt), cmp_tgt_node);
	if (ri->promotable)
		choose_promoted(s, r);
}

static bool has_promoted_tgt(const sched *s, const resi *r)
{
	for (uint32_t k = 0; k < r->tgt_n; k++)
		if (s->tgts[r->tgt_off + k].role == VG_IROLE_PROMOTED)
			return true;
	return false;
}

/* keep only the pinned targets of r; true when something was dropped */
static bool cut_targets(sched *s, resi *r)
{
	uint32_t kept = 0;
	for (uint32_t k = 0; k < r->tgt_n; k++)
		if (s->tgts[r->tgt_off + k].pinned)
			s->tgts[r->tgt_off + kept++] = s->tgts[r->tgt_off + k];
	bool dropped = kept != r->tgt_n;
	r->tgt_n = kept;
	return dropped;
}

/* no target, or only failed instances left alone (unmanaged or on_fail block) */
static bool will_not_run(sched *s, const resi *r)
{
	for (uint32_t k = 0; k < r->tgt_n; k++) {
		const tgt *t = &s->tgts[r->tgt_off + k];
		const cell *c = t->pinned ? cell_at(s, r, t->node) : NULL;
		if (!c || c->state != VG_INST_FAILED)
			return false;
	}
	return true;
}

/* a mandatory `then` cannot run when its `first` has no place (nor can what is colocated
 * with it at inf): drop their targets so the placement says what will really run */
static void prune_unrunnable(sched *s)
{
	/* each resource is cut at most once: R initial entries + at most R pushes */
	uint32_t *work = zalloc(s, 2 * s->R + 1, sizeof(uint32_t));
	if (!work)
		return;
	size_t nw = 0;
	for (size_t r = s->R; r-- > 0;)
		work[nw++] = (uint32_t)r;
	while (nw) {
		uint32_t f = work[--nw];
		const resi *fi = &s->res[f];
		bool none = will_not_run(s, fi), nopromo = !has_promoted_tgt(s, fi);
		if (!nopromo)
			continue;
		for (uint32_t k = s->oout_off[f]; k < s->oout_off[f + 1]; k++) {
			const ordc *o = &s->ords[s->oout_idx[k]];
			resi *ti = &s->res[o->then];
			if (o->optional || (!o->first_promote && !none) ||
			    (o->first_promote && !fi->promotable) || !cut_targets(s, ti))
				continue;
			ti->cut_by = (int)f;
			work[nw++] = o->then;
		}
		for (uint32_t k = s->cout_off[f]; k < s->cout_off[f + 1]; k++) {
			const colc *c = &s->cols[s->cout_idx[k]];
			resi *di = &s->res[c->dep];
			bool cut = c->prim_role == VG_RROLE_PROMOTED ? fi->promotable : none;
			if (c->score < POS_INF || !cut || c->dep_role == VG_RROLE_PROMOTED ||
			    !cut_targets(s, di))
				continue;
			di->cut_by = (int)f;
			work[nw++] = c->dep;
		}
	}
	free(work);
}

/* ---- state flags and order-driven stops ----------------------------------- */

static void compute_flags(sched *s, uint32_t r)
{
	resi *ri = &s->res[r];
	bool keep_any = false, drop_any = false, promo_keep = false, promo_any = false;
	bool healthy_at_tgt = false;
	uint32_t active_nodes = 0, managed_nodes = 0;
	for (uint32_t k = 0; k < ri->cell_n; k++) {
		const cell *c = &s->cells[ri->cell_off + k];
		if (!c->counted)
			continue;
		active_nodes++;
		const tgt *t = tgt_at(s, ri, c->node);
		if (!t && (s->nodes[c->node].maint ||
			   (c->state == VG_INST_FAILED && ri->cfg->on_fail == VG_ON_FAIL_BLOCK)))
			continue; /* an unmanaged or blocked extra copy: nothing to do about it */
		managed_nodes++;
		bool healthy = c->state != VG_INST_FAILED;
		if (healthy && t && c->count <= t->count)
			keep_any = healthy_at_tgt = true;
		else
			drop_any = true;
		if (c->state == VG_INST_PROMOTED || c->state == VG_INST_FAILED) {
			promo_any = true;
			if (healthy && t && t->role == VG_IROLE_PROMOTED)
				promo_keep = true;
		}
	}
	ri->multi = !ri->clone && active_nodes > 1;
	if (ri->clone) {
		ri->up_s = keep_any && !ri->must_stop;
		ri->down_s = ri->active && (!keep_any || ri->must_stop);
	} else {
		ri->up_s = healthy_at_tgt && managed_nodes == 1 && !ri->must_stop;
		ri->down_s = ri->active && (drop_any || ri->must_stop);
	}
	ri->up_p = promo_keep && !ri->must_stop;
	ri->down_p = promo_any && (!promo_keep || ri->must_stop);
}

static void order_stops(sched *s)
{
	/* R initial entries + at most R pushes (must_stop turns on once) */
	uint32_t *work = zalloc(s, 2 * s->R + 1, sizeof(uint32_t));
	if (!work)
		return;
	size_t nw = 0;
	for (size_t r = 0; r < s->R; r++)
		work[nw++] = (uint32_t)r;
	/* process as a stack; a resource is pushed again only when must_stop turns on */
	while (nw) {
		uint32_t f = work[--nw];
		const resi *fi = &s->res[f];
		for (uint32_t k = s->oout_off[f]; k < s->oout_off[f + 1]; k++) {
			const ordc *o = &s->ords[s->oout_idx[k]];
			resi *ti = &s->res[o->then];
			if (o->optional || ti->must_stop || !ti->waitable)
				continue;
			bool up = o->first_promote ? fi->up_p : fi->up_s;
			bool down = o->first_promote ? fi->down_p : fi->down_s;
			if (up && !down)
				continue;
			ti->must_stop = true;
			ti->must_stop_by = f;
			compute_flags(s, o->then);
			work[nw++] = o->then;
		}
	}
	free(work);
}

/* ---- actions -------------------------------------------------------------- */

static void emit(sched *s, vg_action_kind kind, int r, uint32_t n, vg_inst_role role,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void emit(sched *s, vg_action_kind kind, int r, uint32_t n, vg_inst_role role,
		 const char *fmt, ...)
{
	if (s->n_acts == s->cap_acts) {
		size_t nc = s->cap_acts ? s->cap_acts * 2 : 64;
		vg_action *a = vg_realloc(s->acts, nc * sizeof(vg_action));
		if (a)
			s->acts = a;
		uint32_t *ar = vg_realloc(s->act_r, nc * sizeof(uint32_t));
		if (ar)
			s->act_r = ar;
		uint32_t *an = vg_realloc(s->act_n, nc * sizeof(uint32_t));
		if (an)
			s->act_n = an;
		if (!a || !ar || !an) {
			s->oom = true;
			return;
		}
		s->cap_acts = nc;
	}
	s->act_r[s->n_acts] = r >= 0 ? (uint32_t)r : 0;
	s->act_n[s->n_acts] = n;
	vg_action *a = &s->acts[s->n_acts++];
	a->kind = kind;
	a->resource = r >= 0 ? s->res[r].cfg->name : NULL;
	a->node = s->nodes[n].name;
	a->role = role;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
}

/* may r stop/demote now? (mandatory orders: `then` stops before `first`) */
static bool stop_blocked(sched *s, uint32_t r, bool demote)
{
	const resi *ri = &s->res[r];
	for (uint32_t k = s->oout_off[r]; k < s->oout_off[r + 1]; k++) {
		const ordc *o = &s->ords[s->oout_idx[k]];
		if (o->optional || !s->res[o->then].waitable)
			continue;
		if (demote && !o->first_promote)
			continue;
		bool down = o->first_promote ? ri->down_p : ri->down_s;
		if (down)
			return true;
	}
	return false;
}

/* may r start (or promote) now, as far as orders go? */
static bool order_allows(sched *s, uint32_t r, bool promote)
{
	for (uint32_t k = s->oin_off[r]; k < s->oin_off[r + 1]; k++) {
		const ordc *o = &s->ords[s->oin_idx[k]];
		if (o->then_promote != promote)
			continue;
		const resi *fi = &s->res[o->first];
		bool up = o->first_promote ? fi->up_p : fi->up_s;
		if (up)
			continue;
		if (o->optional && will_not_run(s, fi))
			continue; /* optional: only waits for a start that will happen */
		return false;
	}
	return true;
}

static const char *stop_reason(sched *s, uint32_t r, const cell *c, char *buf, size_t len)
{
	const resi *ri = &s->res[r];
	const nodei *n = &s->nodes[c->node];
	if (c->state == VG_INST_FAILED)
		snprintf(buf, len, "failed on %s (failcount %u)", n->name, c->fc);
	else if (s->stopall)
		snprintf(buf, len, "no quorum");
	else if (ri->disabled)
		snprintf(buf, len, "disabled");
	else if (ri->onfail_stop)
		snprintf(buf, len, "on_fail stop after a failure");
	else if (ri->cut_by >= 0 && !tgt_at(s, ri, c->node))
		snprintf(buf, len, "cannot run without %s", s->res[ri->cut_by].cfg->name);
	else if (ri->must_stop)
		snprintf(buf, len, "%s must stop first (order %s then %s)", ri->cfg->name,
			 s->res[ri->must_stop_by].cfg->name, ri->cfg->name);
	else if (c->banned)
		snprintf(buf, len, "banned from %s (failcount %u, migration_threshold %u)", n->name,
			 c->fc, ri->cfg->migration_threshold);
	else if (n->state == VG_NODE_STANDBY || n->onfail_standby)
		snprintf(buf, len, "node %s is in standby", n->name);
	else if (!ri->tgt_n)
		snprintf(buf, len, "cannot run anywhere");
	else if (ri->multi && tgt_at(s, ri, c->node) == NULL && !ri->clone)
		snprintf(buf, len, "active on several nodes; keeping %s",
			 s->nodes[s->tgts[ri->tgt_off].node].name);
	else if (!ri->clone)
		snprintf(buf, len, "moving to %s", s->nodes[s->tgts[ri->tgt_off].node].name);
	else
		snprintf(buf, len, "instance not placed on %s", n->name);
	return buf;
}

static void plan_resource(sched *s, uint32_t r)
{
	resi *ri = &s->res[r];
	char buf[120];
	/* probes */
	uint32_t k = 0;
	for (size_t n = 0; n < s->N; n++) {
		const nodei *ni = &s->nodes[n];
		while (k < ri->cell_n && s->cells[ri->cell_off + k].node < n)
			k++;
		const cell *c = k < ri->cell_n && s->cells[ri->cell_off + k].node == n
				    ? &s->cells[ri->cell_off + k]
				    : NULL;
		if (!ni->manage || ni->maint)
			continue;
		if ((c && c->state == VG_INST_UNKNOWN) || (!c && !ni->probed)) {
			ri->n_unknown++;
			emit(s, VG_ACT_PROBE, (int)r, (uint32_t)n, VG_IROLE_NONE,
			     "state on %s unknown", ni->name);
		}
	}
	if (s->frozen)
		return;
	/* stops, demotes, promotes of what runs */
	for (k = 0; k < ri->cell_n; k++) {
		const cell *c = &s->cells[ri->cell_off + k];
		const nodei *ni = &s->nodes[c->node];
		if (!c->counted || !ni->manage || ni->maint)
			continue;
		if (c->state == VG_INST_FAILED && ri->cfg->on_fail == VG_ON_FAIL_BLOCK)
			continue;
		const tgt *t = tgt_at(s, ri, c->node);
		uint32_t tc = t ? t->count : 0;
		if (ri->must_stop)
			tc = 0;
		if (c->state == VG_INST_FAILED) {
			if (!stop_blocked(s, r, false))
				emit(s, VG_ACT_STOP, (int)r, c->node, VG_IROLE_STOPPED, "%s",
				     stop_reason(s, r, c, buf, sizeof(buf)));
			continue;
		}
		if (c->count > tc) {
			if (c->state == VG_INST_PROMOTED && tc == 0) {
				if (!stop_blocked(s, r, true))
					emit(s, VG_ACT_DEMOTE, (int)r, c->node, VG_IROLE_UNPROMOTED,
					     "demote before stop: %s",
					     stop_reason(s, r, c, buf, sizeof(buf)));
				continue;
			}
			if (stop_blocked(s, r, false))
				continue;
			for (uint32_t i = tc; i < c->count; i++)
				emit(s, VG_ACT_STOP, (int)r, c->node, VG_IROLE_STOPPED, "%s",
				     stop_reason(s, r, c, buf, sizeof(buf)));
			continue;
		}
		if (c->state == VG_INST_PROMOTED && t->role != VG_IROLE_PROMOTED) {
			if (!stop_blocked(s, r, true))
				emit(s, VG_ACT_DEMOTE, (int)r, c->node, VG_IROLE_UNPROMOTED,
				     "promoted instance moves elsewhere");
			continue;
		}
		if (c->state != VG_INST_PROMOTED && t->role == VG_IROLE_PROMOTED) {
			if (ri->n_unknown || ri->must_stop || ri->promoted >= ri->pmax ||
			    !order_allows(s, r, true))
				continue;
			emit(s, VG_ACT_PROMOTE, (int)r, c->node, VG_IROLE_PROMOTED,
			     "promotion score %d on %s is among the best %u", t->pscore, ni->name,
			     ri->pmax);
			ri->promoted++;
		}
	}
	/* starts */
	if (ri->n_unknown || ri->must_stop || !order_allows(s, r, false))
		return;
	for (k = 0; k < ri->tgt_n; k++) {
		const tgt *t = &s->tgts[ri->tgt_off + k];
		const cell *c = cell_at(s, ri, t->node);
		uint32_t have = c && c->counted ? c->count : 0;
		if (c && c->state == VG_INST_UNKNOWN)
			continue;
		const nodei *ni = &s->nodes[t->node];
		if (!ni->manage || ni->maint)
			continue;
		while (have < t->count) {
			if (ri->active >= ri->max)
				return; /* a must-run-once instance is still active elsewhere */
			uint8_t role = ri->promotable ? VG_IROLE_UNPROMOTED : VG_IROLE_STARTED;
			const cell *lost = NULL;
			for (uint32_t x = 0; x < ri->cell_n && !ri->clone; x++) {
				const cell *o = &s->cells[ri->cell_off + x];
				if (is_active_state(o->state) && s->nodes[o->node].gone)
					lost = o;
			}
			if (c && c->fc && !c->banned)
				emit(s, VG_ACT_START, (int)r, t->node, role,
				     "restart on %s after failure (failcount %u)", ni->name, c->fc);
			else if (lost)
				emit(s, VG_ACT_START, (int)r, t->node, role,
				     "recover from %s (%s) on %s (score %d)",
				     s->nodes[lost->node].name,
				     vg_node_state_name(s->nodes[lost->node].state), ni->name,
				     t->score);
			else
				emit(s, VG_ACT_START, (int)r, t->node, role,
				     "placed on %s (score %d)", ni->name, t->score);
			ri->active++;
			have++;
		}
	}
}

typedef struct {
	uint32_t kind, r, n, seq;
} sortact;

static int cmp_act(const void *x, const void *y)
{
	const sortact *a = x, *b = y;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->r != b->r)
		return a->r < b->r ? -1 : 1;
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static void plan_fences(sched *s)
{
	if (s->frozen || s->stopall)
		return;
	for (size_t n = 0; n < s->N; n++) {
		const nodei *ni = &s->nodes[n];
		if (!ni->fence || (ni->cond && ni->cond->fence_pending))
			continue;
		if (ni->onfail_fence)
			emit(s, VG_ACT_FENCE, -1, (uint32_t)n, VG_IROLE_NONE,
			     "a resource with on_fail fence failed on %s", ni->name);
		else
			emit(s, VG_ACT_FENCE, -1, (uint32_t)n, VG_IROLE_NONE, "node %s is unclean",
			     ni->name);
	}
}

static void sched_free(sched *s)
{
	free(s->nodes);
	free(s->res);
	vg_strmap_free(&s->nmap);
	vg_strmap_free(&s->rmap);
	free(s->cells);
	free(s->score);
	free(s->row_of);
	free(s->tgts);
	free(s->locs);
	free(s->loc_off);
	free(s->loc_idx);
	free(s->cols);
	free(s->cin_off);
	free(s->cin_idx);
	free(s->cout_off);
	free(s->cout_idx);
	free(s->ords);
	free(s->oin_off);
	free(s->oin_idx);
	free(s->oout_off);
	free(s->oout_idx);
	free(s->topo);
	free(s->tmp);
	free(s->mark);
	free(s->acts);
	free(s->act_r);
	free(s->act_n);
}

static int build_plan(sched *s, vg_plan *out)
{
	/* sort actions: fence, probe, demote, stop, start, promote; by resource, node */
	sortact *sa = zalloc(s, s->n_acts, sizeof(sortact));
	out->placement = zalloc(s, s->R, sizeof(vg_placement));
	size_t ninst = 0;
	for (size_t i = 0; i < s->n_tgts; i++)
		ninst += s->tgts[i].count;
	out->target_pool = zalloc(s, ninst, sizeof(vg_target));
	if (s->oom) {
		free(sa);
		return -1;
	}
	for (size_t i = 0; i < s->n_acts; i++) {
		sa[i].kind = (uint32_t)s->acts[i].kind;
		sa[i].r = s->act_r[i];
		sa[i].n = s->act_n[i];
		sa[i].seq = (uint32_t)i;
	}
	qsort(sa, s->n_acts, sizeof(sortact), cmp_act);
	/* permute in place (no second copy of the actions): position i takes sa[i].seq */
	for (size_t i = 0; i < s->n_acts; i++) {
		if (sa[i].seq == UINT32_MAX || sa[i].seq == i)
			continue;
		vg_action tmp = s->acts[i];
		size_t j = i;
		while (sa[j].seq != i) {
			size_t from = sa[j].seq;
			s->acts[j] = s->acts[from];
			sa[j].seq = UINT32_MAX;
			j = from;
		}
		s->acts[j] = tmp;
		sa[j].seq = UINT32_MAX;
	}
	out->actions = s->acts; /* handed over to the plan */
	out->n_actions = s->n_acts;
	s->acts = NULL;
	free(sa);
	size_t pos = 0;
	for (size_t r = 0; r < s->R; r++) {
		const resi *ri = &s->res[r];
		vg_placement *p = &out->placement[r];
		size_t start = pos;
		p->resource = ri->cfg->name;
		p->targets = out->target_pool + pos;
		for (uint32_t k = 0; k < ri->tgt_n; k++) {
			const tgt *t = &s->tgts[ri->tgt_off + k];
			for (uint32_t c = 0; c < t->count; c++) {
				out->target_pool[pos].node = s->nodes[t->node].name;
				out->target_pool[pos].role =
				    c == 0 ? (vg_inst_role)t->role
					   : (t->role == VG_IROLE_PROMOTED ? VG_IROLE_UNPROMOTED
									   : (vg_inst_role)t->role);
				pos++;
			}
		}
		p->n_targets = pos - start;
	}
	out->n_placement = s->R;
	return 0;
}

int vg_schedule(const vg_config *cfg, const vg_cluster_state *st, vg_plan *out)
{
	sched s;
	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	s.cfg = cfg;
	s.st = st;
	int rc = -1;
	if (index_nodes(&s) || index_resources(&s))
		goto done;
	s.tmp = zalloc(&s, s.N, sizeof(int));
	s.mark = zalloc(&s, s.N, sizeof(uint32_t));
	if (s.oom)
		goto done;
	if (!st->quorate) {
		if (cfg->no_quorum == VG_NO_QUORUM_FREEZE)
			s.frozen = true;
		else
			s.stopall = true;
	}
	index_cells(&s);
	if (s.oom)
		goto done;
	classify_nodes(&s);
	build_constraints(&s);
	if (s.oom)
		goto done;
	topo_sort(&s);
	if (s.oom)
		goto done;
	static_scores(&s);
	if (s.oom)
		goto done;
	for (size_t i = 0; i < s.R; i++) {
		assign(&s, s.topo[i]);
		s.res[s.topo[i]].placed = true;
	}
	if (s.oom)
		goto done;
	prune_unrunnable(&s);
	for (size_t r = 0; r < s.R; r++)
		compute_flags(&s, (uint32_t)r);
	order_stops(&s);
	plan_fences(&s);
	for (size_t r = 0; r < s.R; r++)
		plan_resource(&s, (uint32_t)r);
	if (s.oom)
		goto done;
	rc = build_plan(&s, out);
done:
	if (rc)
		vg_plan_free(out);
	sched_free(&s);
	return rc;
}

void vg_plan_free(vg_plan *p)
{
	if (!p)
		return;
	free(p->actions);
	free(p->placement);
	free(p->target_pool);
	memset(p, 0, sizeof(*p));
}

/* ---- replay --------------------------------------------------------------- */

typedef struct {
	const vg_cluster_state *st;
	size_t *ix; /* records sorted by (resource, node) */
	size_t n;   /* records present when the index was built */
} inst_index;

static int cmp_rn(const vg_inst_cond *a, const char *r, const char *n)
{
	int c = strcmp(a->resource, r);
	return c ? c : strcmp(a->node, n);
}

static vg_inst_cond *inst_lookup(inst_index *x, vg_cluster_state *st, const char *r, const char *n)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_rn(&st->insts[x->ix[mid]], r, n);
		if (!c)
			return &st->insts[x->ix[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* not indexed: added during this replay. A plan touches a pair in consecutive
	 * actions (sorted by kind, resource, node), so only the last one added can match */
	if (st->n_insts > x->n && !cmp_rn(&st->insts[st->n_insts - 1], r, n))
		return &st->insts[st->n_insts - 1];
	return vg_cluster_state_inst_add(st, r, n);
}

/* qsort has no context argument: sort (resource, node, index) triples instead */
typedef struct {
	const char *r, *n;
	size_t k;
} rn_ref;

static int cmp_rn_ref(const void *a, const void *b)
{
	const rn_ref *x = a, *y = b;
	int c = strcmp(x->r, y->r);
	return c ? c : strcmp(x->n, y->n);
}

void vg_plan_apply(const vg_config *cfg, const vg_plan *p, vg_cluster_state *st)
{
	inst_index x = {st, NULL, 0};
	rn_ref *refs = vg_malloc(sizeof(*refs) * (st->n_insts + 1));
	x.ix = vg_malloc(sizeof(size_t) * (st->n_insts + 1));
	if (refs && x.ix) {
		for (size_t k = 0; k < st->n_insts; k++)
			refs[k] = (rn_ref){st->insts[k].resource, st->insts[k].node, k};
		qsort(refs, st->n_insts, sizeof(*refs), cmp_rn_ref);
		for (size_t k = 0; k < st->n_insts; k++)
			x.ix[k] = refs[k].k;
		x.n = st->n_insts;
	}
	free(refs);
	/* promotable resources, by sorted name */
	vg_strmap prom;
	vg_strmap_init(&prom, cfg->n_resources);
	bool have_prom = true;
	for (size_t i = 0; have_prom && i < cfg->n_resources; i++)
		if (cfg->resources[i].clone.enabled && cfg->resources[i].clone.promotable)
			vg_strmap_put(&prom, cfg->resources[i].name, 1);
	for (size_t i = 0; i < p->n_actions; i++) {
		const vg_action *a = &p->actions[i];
		if (a->kind == VG_ACT_FENCE) {
			vg_node_cond *n = vg_cluster_state_node(st, a->node);
			if (!n)
				continue;
			n->state = VG_NODE_FENCED;
			n->fence_pending = false;
			for (size_t k = 0; k < st->n_insts; k++)
				if (!strcmp(st->insts[k].node, a->node)) {
					st->insts[k].state = VG_INST_STOPPED;
					st->insts[k].count = 0;
				}
			continue;
		}
		vg_inst_cond *ic = inst_lookup(&x, st, a->resource, a->node);
		switch (a->kind) {
		case VG_ACT_PROBE:
			if (ic->state == VG_INST_UNKNOWN)
				ic->state = VG_INST_STOPPED;
			break;
		case VG_ACT_START:
			if (!is_active_state(ic->state) || ic->state == VG_INST_FAILED)
				ic->count = 0;
			ic->count++;
			if (ic->state != VG_INST_PROMOTED)
				ic->state = have_prom && vg_strmap_get(&prom, a->resource) >= 0
						? VG_INST_UNPROMOTED
						: VG_INST_RUNNING;
			break;
		case VG_ACT_STOP:
			if (ic->count > 1 && ic->state != VG_INST_FAILED) {
				ic->count--;
			} else {
				ic->count = 0;
				ic->state = VG_INST_STOPPED;
			}
			break;
		case VG_ACT_PROMOTE:
			ic->state = VG_INST_PROMOTED;
			break;
		case VG_ACT_DEMOTE:
			ic->state = VG_INST_UNPROMOTED;
			break;
		default:
			break;
		}
	}
	vg_strmap_free(&prom);
	free(x.ix);
}

const char *vg_action_kind_name(vg_action_kind k)
{
	static const char *const names[] = {"fence", "probe", "demote", "stop", "start", "promote"};
	return (unsigned)k < 6 ? names[k] : "?";
}

const char *vg_inst_role_name(vg_inst_role r)
{
	static const char *const names[] = {NULL, "stopped", "started", "unpromoted", "promoted"};
	return (unsigned)r < 5 ? names[r] : NULL;
}
