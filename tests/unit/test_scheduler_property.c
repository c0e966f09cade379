/* test_scheduler_property.c - random configurations and conditions against the invariants.
 *
 * Owns: generating (with a fixed seed) thousands of small clusters and checking, for each
 * plan and for every round replayed to a fixed point: no -inf location or colocation is
 * violated by the placement; nothing that must run once is placed on two nodes or started
 * while it is active somewhere; output does not depend on input order; and a settled cluster
 * runs exactly its placement and gets no actions. Must not: use a clock or unseeded randomness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sched_dsl.h"

typedef struct {
	uint64_t s;
} rng;

static uint32_t rnd(rng *r, uint32_t n)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return n ? (uint32_t)(r->s % n) : 0;
}

#define CAT(...) (o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__))

static const char *const scores[] = {"-inf", "-100", "10", "50", "200", "inf"};

static void gen_config(rng *g, char *buf, size_t len, int *nn, int *nr)
{
	size_t o = 0;
	int n = 2 + (int)rnd(g, 4), r = 2 + (int)rnd(g, 7);
	*nn = n;
	*nr = r;
	CAT("nodes");
	for (int i = 1; i <= n; i++)
		CAT(" n%d", i);
	CAT("\n");
	if (rnd(g, 3) == 0)
		CAT("cluster stick=%d%s\n", (int)rnd(g, 300), rnd(g, 4) ? "" : " noquorum=freeze");
	int grouped[16] = {0};
	for (int i = 0; i < r; i++) {
		uint32_t kind = rnd(g, 6);
		if (kind == 0)
			CAT("clone r%d max=%d mpn=%d", i, 1 + (int)rnd(g, (uint32_t)n + 1),
			    1 + (int)rnd(g, 2));
		else if (kind == 1)
			CAT("clone r%d max=%d prom pmax=%d", i, 1 + (int)rnd(g, (uint32_t)n),
			    1 + (int)rnd(g, 2));
		else {
			CAT("prim r%d", i);
			if (kind == 2)
				CAT(" class=vip");
			grouped[i] = 1;
		}
		if (rnd(g, 3) == 0)
			CAT(" stick=%d", (int)rnd(g, 300));
		if (rnd(g, 3) == 0)
			CAT(" thr=%d", (int)rnd(g, 3));
		if (rnd(g, 3) == 0)
			CAT(" ft=%d", 1000 * (int)rnd(g, 100));
		if (rnd(g, 5) == 0) {
			static const char *const of[] = {"stop", "block", "fence", "standby"};
			CAT(" onfail=%s", of[rnd(g, 4)]);
		}
		if (rnd(g, 12) == 0)
			CAT(" disabled");
		CAT("\n");
	}
	/* one group of consecutive primitives, sometimes */
	if (rnd(g, 2) == 0) {
		int a = (int)rnd(g, (uint32_t)r);
		int cnt = 0;
		for (int i = a; i < r && grouped[i] && cnt < 3; i++)
			cnt++;
		if (cnt >= 2) {
			CAT("group g");
			for (int i = a; i < a + cnt; i++)
				CAT(" r%d", i);
			CAT("\n");
		}
	}
	int nc = (int)rnd(g, 6);
	for (int k = 0; k < nc; k++) {
		int a = (int)rnd(g, (uint32_t)r), b = (int)rnd(g, (uint32_t)r);
		switch (rnd(g, 4)) {
		case 0:
			CAT("loc r%d n%d %s%s\n", a, 1 + (int)rnd(g, (uint32_t)n),
			    scores[rnd(g, 6)], rnd(g, 5) ? "" : " promoted");
			break;
		case 1:
			CAT("rule r%d zone %s z%d %s\n", a, rnd(g, 2) ? "eq" : "ne", (int)rnd(g, 2),
			    scores[rnd(g, 6)]);
			break;
		case 2:
			if (a > b) /* no colocation cycles (resolved greedily, not checked) */
				CAT("col r%d r%d %s%s\n", a, b, scores[rnd(g, 6)],
				    rnd(g, 4) ? "" : " with=promoted");
			break;
		default:
			if (a != b) /* cycles allowed: the scheduler drops the closing order */
				CAT("ord r%d r%d%s\n", a, b, rnd(g, 4) ? "" : " optional");
			break;
		}
	}
}

static void gen_state(rng *g, int n, int r, char *buf, size_t len)
{
	size_t o = 0;
	static const char *const st[] = {"online",  "online", "online",	 "online",     "offline",
					 "unclean", "fenced", "standby", "maintenance"};
	for (int i = 1; i <= n; i++) {
		const char *s = st[rnd(g, 9)];
		CAT("node n%d %s%s%s\n", i, s, rnd(g, 6) ? "" : " unprobed",
		    !strcmp(s, "unclean") && rnd(g, 2) ? " selfstop" : "");
		CAT("attr n%d zone z%d\n", i, (int)rnd(g, 2));
		for (int k = 0; k < r; k++)
			if (rnd(g, 4) == 0)
				CAT("attr n%d master-r%d %d\n", i, k, (int)rnd(g, 20) - 2);
	}
	if (rnd(g, 8) == 0)
		CAT("noquorum\n");
	for (int k = 0; k < r; k++)
		for (int i = 1; i <= n; i++) {
			switch (rnd(g, 10)) {
			case 0:
			case 1:
				CAT("run r%d n%d%s\n", k, i, rnd(g, 3) ? "" : " promoted");
				break;
			case 2:
				CAT("fail r%d n%d fc=%d t=%d\n", k, i, 1 + (int)rnd(g, 3),
				    990000 + 1000 * (int)rnd(g, 10));
				break;
			case 3:
				CAT("fc r%d n%d %d t=%d\n", k, i, 1 + (int)rnd(g, 3),
				    900000 + 1000 * (int)rnd(g, 100));
				break;
			case 4:
				if (rnd(g, 3) == 0)
					CAT("unknown r%d n%d\n", k, i);
				break;
			default:
				break;
			}
		}
}

static const vg_resource *res_of(const vg_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_resources; i++)
		if (!strcmp(c->resources[i].name, name))
			return &c->resources[i];
	return NULL;
}

static const vg_placement *pl_of(const vg_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n_placement; i++)
		if (!strcmp(p->placement[i].resource, name))
			return &p->placement[i];
	return NULL;
}

static bool has_target(const vg_placement *pl, const char *node, bool promoted)
{
	for (size_t k = 0; k < pl->n_targets; k++)
		if (!strcmp(pl->targets[k].node, node) &&
		    (!promoted || pl->targets[k].role == VG_IROLE_PROMOTED))
			return true;
	return false;
}

static bool node_gone(const vg_cluster_state *st, const char *node)
{
	for (size_t i = 0; i < st->n_nodes; i++)
		if (!strcmp(st->nodes[i].name, node))
			return st->nodes[i].state == VG_NODE_OFFLINE ||
			       st->nodes[i].state == VG_NODE_FENCED;
	return true;
}

/* the invariants one plan must keep */
static void check_plan(const char *ctx, const vg_config *c, const vg_cluster_state *st,
		       const vg_plan *p)
{
	for (size_t i = 0; i < p->n_placement; i++) {
		const vg_placement *pl = &p->placement[i];
		const vg_resource *r = res_of(c, pl->resource);
		if (!r->clone.enabled && pl->n_targets > 1) {
			print_error("%s: %s placed on %zu nodes\n", ctx, r->name, pl->n_targets);
			fail();
		}
		size_t promoted = 0;
		for (size_t k = 0; k < pl->n_targets; k++)
			promoted += pl->targets[k].role == VG_IROLE_PROMOTED;
		if (promoted > (r->clone.promotable ? r->clone.promoted_max : 0)) {
			print_error("%s: %s promoted on %zu nodes\n", ctx, r->name, promoted);
			fail();
		}
	}
	bool frozen = !st->quorate && c->no_quorum == VG_NO_QUORUM_FREEZE;
	for (size_t i = 0; i < c->n_constraints && !frozen; i++) {
		const vg_constraint *k = &c->constraints[i];
		if (k->kind == VG_CONS_LOCATION && k->u.location.node &&
		    k->u.location.score <= -VG_SCORE_INF && k->u.location.role == VG_RROLE_ANY) {
			const vg_placement *pl = pl_of(p, k->u.location.resource);
			/* an unmanaged (maintenance) or blocked instance may stay */
			const vg_node_cond *nd = NULL;
			for (size_t x = 0; x < st->n_nodes; x++)
				if (!strcmp(st->nodes[x].name, k->u.location.node))
					nd = &st->nodes[x];
			if (pl && nd && nd->state != VG_NODE_MAINTENANCE &&
			    res_of(c, pl->resource)->on_fail != VG_ON_FAIL_BLOCK &&
			    has_target(pl, k->u.location.node, false)) {
				print_error("%s: %s placed on banned %s\n", ctx, pl->resource,
					    k->u.location.node);
				fail();
			}
		}
		if (k->kind == VG_CONS_COLOCATE && k->u.colocate.role == VG_RROLE_ANY &&
		    (k->u.colocate.score >= VG_SCORE_INF || k->u.colocate.score <= -VG_SCORE_INF)) {
			const vg_placement *d = pl_of(p, k->u.colocate.resource);
			const vg_placement *w = pl_of(p, k->u.colocate.with);
			bool promo = k->u.colocate.with_role == VG_RROLE_PROMOTED;
			if (!d || !w || (promo && !res_of(c, w->resource)->clone.promotable))
				continue; /* a role the primary never has: nothing to check */
			const vg_resource *dr = res_of(c, d->resource);
			bool pinned = dr->on_fail == VG_ON_FAIL_BLOCK;
			for (size_t x = 0; x < st->n_nodes; x++)
				pinned |= st->nodes[x].state == VG_NODE_MAINTENANCE;
			for (size_t t = 0; t < d->n_targets && !pinned; t++) {
				bool with = has_target(w, d->targets[t].node, promo);
				if (k->u.colocate.score > 0 && !with) {
					print_error("%s: %s on %s without %s\n", ctx, d->resource,
						    d->targets[t].node, w->resource);
					fail();
				}
				if (k->u.colocate.score < 0 && with) {
					print_error("%s: %s on %s with %s\n", ctx, d->resource,
						    d->targets[t].node, w->resource);
					fail();
				}
			}
		}
	}
	/* never start something that must run once while it is active anywhere */
	for (size_t a = 0; a < p->n_actions; a++) {
		const vg_action *ac = &p->actions[a];
		if (ac->kind != VG_ACT_START && ac->kind != VG_ACT_PROMOTE)
			continue;
		assert_true(st->quorate);
		const vg_resource *r = res_of(c, ac->resource);
		bool once =
		    ac->kind == VG_ACT_PROMOTE ? r->clone.promoted_max == 1 : !r->clone.enabled;
		if (!once)
			continue;
		for (size_t i = 0; i < st->n_insts; i++) {
			const vg_inst_cond *ic = &st->insts[i];
			if (strcmp(ic->resource, r->name) || node_gone(st, ic->node))
				continue;
			bool active = ac->kind == VG_ACT_PROMOTE ? ic->state == VG_INST_PROMOTED ||
								       ic->state == VG_INST_FAILED
								 : ic->state >= VG_INST_RUNNING;
			const vg_node_cond *nd =
			    vg_cluster_state_node((vg_cluster_state *)st, ic->node);
			if (nd->state == VG_NODE_UNCLEAN && nd->self_stopped &&
			    r->requires == VG_REQUIRES_QUORUM)
				active = false;
			if (active) {
				print_error("%s: %s %s on %s while active on %s\n", ctx,
					    vg_action_kind_name(ac->kind), r->name, ac->node,
					    ic->node);
				fail();
			}
		}
	}
}

static void plan_str(const vg_plan *p, char *buf, size_t len)
{
	size_t o = 0;
	tc_fmt_placement(p, buf, len);
	o = strlen(buf);
	for (size_t i = 0; i < p->n_actions && o < len; i++)
		CAT("\n%s %s %s %d %s", vg_action_kind_name(p->actions[i].kind),
		    p->actions[i].resource ? p->actions[i].resource : "-", p->actions[i].node,
		    (int)p->actions[i].role, p->actions[i].reason);
}

/* the same condition with records and nodes in reverse order */
static vg_cluster_state *reversed(const vg_cluster_state *st)
{
	vg_cluster_state *r = vg_cluster_state_dup(st);
	for (size_t i = 0; i < r->n_insts / 2; i++) {
		vg_inst_cond t = r->insts[i];
		r->insts[i] = r->insts[r->n_insts - 1 - i];
		r->insts[r->n_insts - 1 - i] = t;
	}
	for (size_t i = 0; i < r->n_nodes / 2; i++) {
		vg_node_cond t = r->nodes[i];
		r->nodes[i] = r->nodes[r->n_nodes - 1 - i];
		r->nodes[r->n_nodes - 1 - i] = t;
	}
	return r;
}

/* in a settled cluster every placed instance runs where it is placed, in its role */
static void check_settled(const char *ctx, const vg_config *c, const vg_cluster_state *st,
			  const vg_plan *p)
{
	if (!st->quorate)
		return;
	for (size_t i = 0; i < p->n_placement; i++) {
		const vg_placement *pl = &p->placement[i];
		for (size_t k = 0; k < pl->n_targets; k++) {
			const vg_inst_cond *ic = vg_cluster_state_inst(
			    (vg_cluster_state *)st, pl->resource, pl->targets[k].node);
			bool ok = ic && ic->state >= VG_INST_RUNNING;
			if (ok && pl->targets[k].role == VG_IROLE_PROMOTED)
				ok = ic->state == VG_INST_PROMOTED;
			if (ic && ic->state == VG_INST_FAILED)
				ok = res_of(c, pl->resource)->on_fail == VG_ON_FAIL_BLOCK;
			const vg_node_cond *nd =
			    vg_cluster_state_node((vg_cluster_state *)st, pl->targets[k].node);
			if (nd->state == VG_NODE_MAINTENANCE)
				ok = true; /* unmanaged: whatever it is doing */
			if (!ok) {
				print_error("%s: settled but %s not running on %s\n", ctx,
					    pl->resource, pl->targets[k].node);
				fail();
			}
		}
	}
}

static void test_random(void **unused)
{
	(void)unused;
	const char *env = getenv("VIGIL_PROPERTY_CASES");
	int cases = env ? atoi(env) : 3000;
	const char *show = getenv("VIGIL_PROPERTY_SHOW");
	rng g = {0x5eed1234abcdULL};
	static char cfgtxt[8192], sttxt[16384], a[16384], b[16384], ctx[32768];
	int unsettled = 0;
	for (int i = 0; i < cases; i++) {
		int nn, nr;
		gen_config(&g, cfgtxt, sizeof(cfgtxt), &nn, &nr);
		gen_state(&g, nn, nr, sttxt, sizeof(sttxt));
		if (show && atoi(show) == i) { /* debugging aid: print one case's input */
			printf("%s\n--\n%s", cfgtxt, sttxt);
			return;
		}
		tcfg *t = tc_build(cfgtxt);
		vg_cluster_state *st = tc_state(&t->c, sttxt);
		snprintf(ctx, sizeof(ctx), "case %d\n%s\n--\n%s\n", i, cfgtxt, sttxt);
		vg_plan p;
		assert_int_equal(vg_schedule(&t->c, st, &p), 0);
		check_plan(ctx, &t->c, st, &p);
		/* determinism: twice, and with the input in another order */
		vg_plan q;
		vg_cluster_state *rev = reversed(st);
		assert_int_equal(vg_schedule(&t->c, rev, &q), 0);
		plan_str(&p, a, sizeof(a));
		plan_str(&q, b, sizeof(b));
		if (strcmp(a, b))
			print_error("%s\n%s\n%s\n", ctx, cfgtxt, sttxt);
		assert_string_equal(a, b);
		vg_plan_free(&q);
		vg_cluster_state_free(rev);
		/* replay to a fixed point, checking every round */
		int rounds = 0;
		while (p.n_actions && rounds < 40) {
			vg_plan_apply(&t->c, &p, st);
			vg_plan_free(&p);
			assert_int_equal(vg_schedule(&t->c, st, &p), 0);
			snprintf(ctx, sizeof(ctx), "case %d round %d\n%s\n--\n%s\n", i, rounds,
				 cfgtxt, sttxt);
			check_plan(ctx, &t->c, st, &p);
			rounds++;
		}
		if (p.n_actions) {
			print_error("case %d did not settle\n%s\n%s\n", i, cfgtxt, sttxt);
			plan_str(&p, a, sizeof(a));
			print_error("%s\n", a);
			unsettled++;
		} else {
			check_settled(ctx, &t->c, st, &p);
			/* settled: planning again changes nothing */
			assert_int_equal(vg_schedule(&t->c, st, &q), 0);
			assert_int_equal(q.n_actions, 0);
			vg_plan_free(&q);
		}
		vg_plan_free(&p);
		vg_cluster_state_free(st);
		tc_free(t);
	}
	assert_int_equal(unsettled, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_random)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
