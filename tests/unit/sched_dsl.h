/* sched_dsl.h - a tiny text language for scheduler test scenarios (tests only).
 *
 * Owns: building a vg_config and a vg_cluster_state from a few lines of text, and
 * formatting plans and placements as short strings to compare. Must not: be used
 * outside the tests. Everything it allocates is released by tc_free / state free.
 *
 * Config lines:  nodes N...            | prim R [opts] | clone R max=M [mpn=K] [prom]
 *   [pmax=P] [opts] (opts: stick= thr= ft=MS onfail=restart|stop|block|fence|standby
 *   req=quorum|fencing class=vip|process|ocf disabled) | group G R... |
 *   loc R N SCORE [promoted] | rule R ATTR OP VALUE SCORE | col R W SCORE [role=promoted]
 *   [with=promoted|unpromoted] | ord F T [fa=promote] [ta=promote] [optional] |
 *   cluster [stick=N] [noquorum=freeze]
 * State lines:  node N STATE [unprobed] [pending] [selfstop] | run R N [promoted|
 *   unpromoted] [count=K] | fail R N [fc=K] [t=MS] | fc R N K [t=MS] | unknown R N |
 *   attr N KEY VALUE | noquorum | now MS
 */
#ifndef VIGIL_TEST_SCHED_DSL_H
#define VIGIL_TEST_SCHED_DSL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_state.h"
#include "config.h"
#include "scheduler.h"

#define TC_MAXN 128
#define TC_MAXR 512
#define TC_MAXG 64
#define TC_MAXC 512

typedef struct {
	vg_config c;
	vg_node nodes[TC_MAXN];
	vg_resource res[TC_MAXR];
	vg_group groups[TC_MAXG];
	char *members[TC_MAXG][16];
	vg_constraint cons[TC_MAXC];
	char *strs[4096];
	size_t n_strs;
} tcfg;

static inline char *tc_str(tcfg *t, const char *s)
{
	char *d = strdup(s);
	if (!d || t->n_strs >= 4096)
		abort();
	t->strs[t->n_strs++] = d;
	return d;
}

static inline void tc_free(tcfg *t)
{
	for (size_t i = 0; i < t->n_strs; i++)
		free(t->strs[i]);
	free(t);
}

static inline int tc_score(const char *s)
{
	if (!strcmp(s, "inf") || !strcmp(s, "+inf"))
		return VG_SCORE_INF;
	if (!strcmp(s, "-inf"))
		return -VG_SCORE_INF;
	return atoi(s);
}

static inline vg_rrole tc_role(const char *s)
{
	if (!strcmp(s, "promoted"))
		return VG_RROLE_PROMOTED;
	if (!strcmp(s, "unpromoted"))
		return VG_RROLE_UNPROMOTED;
	if (!strcmp(s, "started"))
		return VG_RROLE_STARTED;
	return VG_RROLE_ANY;
}

static inline vg_resource *tc_add_res(tcfg *t, const char *name)
{
	vg_resource *r = &t->res[t->c.n_resources++];
	memset(r, 0, sizeof(*r));
	r->name = tc_str(t, name);
	r->type = tc_str(t, "ocf:heartbeat:Dummy");
	r->cls = VG_CLASS_OCF;
	r->requires = VG_REQUIRES_FENCING;
	r->migration_threshold = 1000000;
	r->on_fail = VG_ON_FAIL_RESTART;
	return r;
}

static inline void tc_res_opt(tcfg *t, vg_resource *r, const char *o)
{
	const char *v = strchr(o, '=');
	v = v ? v + 1 : "";
	if (!strncmp(o, "stick=", 6)) {
		r->has_stickiness = true;
		r->stickiness = tc_score(v);
	} else if (!strncmp(o, "thr=", 4)) {
		r->migration_threshold = (uint32_t)atoi(v);
	} else if (!strncmp(o, "ft=", 3)) {
		r->failure_timeout_ms = strtoull(v, NULL, 10);
	} else if (!strncmp(o, "onfail=", 7)) {
		static const char *const n[] = {"restart", "stop", "block", "fence", "standby"};
		for (int i = 0; i < 5; i++)
			if (!strcmp(v, n[i]))
				r->on_fail = (vg_on_fail)i;
	} else if (!strncmp(o, "req=", 4)) {
		r->requires = !strcmp(v, "quorum") ? VG_REQUIRES_QUORUM : VG_REQUIRES_FENCING;
	} else if (!strncmp(o, "class=", 6)) {
		if (!strcmp(v, "vip")) {
			r->cls = VG_CLASS_VIP;
			r->requires = VG_REQUIRES_QUORUM;
			r->type = tc_str(t, "vip");
		} else if (!strcmp(v, "process")) {
			r->cls = VG_CLASS_PROCESS;
			r->requires = VG_REQUIRES_QUORUM;
			r->type = tc_str(t, "process");
		}
	} else if (!strcmp(o, "disabled")) {
		r->disabled = true;
	} else if (!strncmp(o, "max=", 4)) {
		r->clone.max = (uint32_t)atoi(v);
	} else if (!strncmp(o, "mpn=", 4)) {
		r->clone.max_per_node = (uint32_t)atoi(v);
	} else if (!strcmp(o, "prom")) {
		r->clone.promotable = true;
		r->requires = VG_REQUIRES_FENCING;
	} else if (!strncmp(o, "pmax=", 5)) {
		r->clone.promoted_max = (uint32_t)atoi(v);
	}
}

#define TC_TOK 32

static inline int tc_split(char *line, char **tok)
{
	int n = 0;
	char *save = NULL;
	for (char *p = strtok_r(line, " \t", &save); p && n < TC_TOK;
	     p = strtok_r(NULL, " \t", &save))
		tok[n++] = p;
	return n;
}

static inline tcfg *tc_build(const char *text)
{
	tcfg *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->c.name = tc_str(t, "test");
	t->c.nodes = t->nodes;
	t->c.resources = t->res;
	t->c.groups = t->groups;
	t->c.constraints = t->cons;
	t->c.token_ms = 500;
	char *copy = strdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[TC_TOK];
		int n = tc_split(line, tok);
		if (!n)
			continue;
		if (!strcmp(tok[0], "nodes")) {
			for (int i = 1; i < n; i++) {
				vg_node *nd = &t->nodes[t->c.n_nodes++];
				nd->name = tc_str(t, tok[i]);
				nd->id = (uint32_t)t->c.n_nodes;
				nd->role = VG_ROLE_SERVER;
			}
		} else if (!strcmp(tok[0], "prim") || !strcmp(tok[0], "clone")) {
			vg_resource *r = tc_add_res(t, tok[1]);
			if (tok[0][0] == 'c') {
				r->clone.enabled = true;
				r->clone.max = (uint32_t)t->c.n_nodes;
				r->clone.max_per_node = 1;
				r->clone.promoted_max = 1;
				r->requires = VG_REQUIRES_QUORUM;
			}
			for (int i = 2; i < n; i++)
				tc_res_opt(t, r, tok[i]);
		} else if (!strcmp(tok[0], "group")) {
			vg_group *g = &t->groups[t->c.n_groups];
			g->name = tc_str(t, tok[1]);
			g->members = t->members[t->c.n_groups];
			for (int i = 2; i < n; i++)
				g->members[g->n_members++] = tc_str(t, tok[i]);
			t->c.n_groups++;
		} else if (!strcmp(tok[0], "loc") || !strcmp(tok[0], "rule")) {
			vg_constraint *k = &t->cons[t->c.n_constraints++];
			k->kind = VG_CONS_LOCATION;
			vg_location *l = &k->u.location;
			l->resource = tc_str(t, tok[1]);
			if (tok[0][0] == 'l') {
				l->node = tc_str(t, tok[2]);
				l->score = tc_score(tok[3]);
				if (n > 4)
					l->role = tc_role(tok[4]);
			} else {
				static const char *const ops[] = {
				    "eq", "ne", "defined", "undefined", "gt", "lt", "gte", "lte"};
				l->rule_attribute = tc_str(t, tok[2]);
				for (int i = 0; i < 8; i++)
					if (!strcmp(tok[3], ops[i]))
						l->rule_op = (vg_rule_op)i;
				l->rule_value = tc_str(t, tok[4]);
				l->score = tc_score(tok[5]);
			}
		} else if (!strcmp(tok[0], "col")) {
			vg_constraint *k = &t->cons[t->c.n_constraints++];
			k->kind = VG_CONS_COLOCATE;
			vg_colocation *c = &k->u.colocate;
			c->resource = tc_str(t, tok[1]);
			c->with = tc_str(t, tok[2]);
			c->score = tc_score(tok[3]);
			for (int i = 4; i < n; i++) {
				if (!strncmp(tok[i], "role=", 5))
					c->role = tc_role(tok[i] + 5);
				else if (!strncmp(tok[i], "with=", 5))
					c->with_role = tc_role(tok[i] + 5);
			}
		} else if (!strcmp(tok[0], "ord")) {
			vg_constraint *k = &t->cons[t->c.n_constraints++];
			k->kind = VG_CONS_ORDER;
			vg_order *o = &k->u.order;
			o->first = tc_str(t, tok[1]);
			o->then = tc_str(t, tok[2]);
			o->first_action = VG_OP_START;
			o->then_action = VG_OP_START;
			for (int i = 3; i < n; i++) {
				if (!strcmp(tok[i], "fa=promote"))
					o->first_action = VG_OP_PROMOTE;
				else if (!strcmp(tok[i], "ta=promote"))
					o->then_action = VG_OP_PROMOTE;
				else if (!strcmp(tok[i], "optional"))
					o->optional = true;
			}
		} else if (!strcmp(tok[0], "cluster")) {
			for (int i = 1; i < n; i++) {
				if (!strncmp(tok[i], "stick=", 6))
					t->c.stickiness = tc_score(tok[i] + 6);
				else if (!strcmp(tok[i], "noquorum=freeze"))
					t->c.no_quorum = VG_NO_QUORUM_FREEZE;
			}
		} else {
			fprintf(stderr, "bad config line: %s\n", tok[0]);
			abort();
		}
	}
	free(copy);
	return t;
}

static inline vg_cluster_state *tc_state(const vg_config *c, const char *text)
{
	vg_cluster_state *s = vg_cluster_state_new(c);
	s->now_ms = 1000000;
	char *copy = strdup(text ? text : ""), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[TC_TOK];
		int n = tc_split(line, tok);
		if (!n)
			continue;
		if (!strcmp(tok[0], "node")) {
			vg_node_cond *nd = vg_cluster_state_node(s, tok[1]);
			if (vg_node_state_from_name(tok[2], &nd->state))
				abort();
			for (int i = 3; i < n; i++) {
				if (!strcmp(tok[i], "unprobed"))
					nd->probed = false;
				else if (!strcmp(tok[i], "pending"))
					nd->fence_pending = true;
				else if (!strcmp(tok[i], "selfstop"))
					nd->self_stopped = true;
			}
		} else if (!strcmp(tok[0], "run") || !strcmp(tok[0], "fail") ||
			   !strcmp(tok[0], "fc") || !strcmp(tok[0], "unknown")) {
			vg_inst_cond *ic = vg_cluster_state_inst_get(s, tok[1], tok[2]);
			int i = 3;
			if (tok[0][0] == 'r') {
				ic->state = VG_INST_RUNNING;
				ic->count = 1;
				const vg_resource *r = NULL;
				for (size_t k = 0; k < c->n_resources; k++)
					if (!strcmp(c->resources[k].name, tok[1]))
						r = &c->resources[k];
				if (r && r->clone.promotable)
					ic->state = VG_INST_UNPROMOTED;
			} else if (tok[0][0] == 'u') {
				ic->state = VG_INST_UNKNOWN;
			} else if (!strcmp(tok[0], "fail")) {
				ic->state = VG_INST_FAILED;
				ic->count = 1;
				ic->failcount = 1;
				ic->last_failure_ms = s->now_ms;
			} else {
				ic->failcount = (uint32_t)atoi(tok[3]);
				ic->last_failure_ms = s->now_ms;
				i = 4;
			}
			for (; i < n; i++) {
				if (!strcmp(tok[i], "promoted"))
					ic->state = VG_INST_PROMOTED;
				else if (!strcmp(tok[i], "unpromoted"))
					ic->state = VG_INST_UNPROMOTED;
				else if (!strncmp(tok[i], "count=", 6))
					ic->count = (uint32_t)atoi(tok[i] + 6);
				else if (!strncmp(tok[i], "fc=", 3))
					ic->failcount = (uint32_t)atoi(tok[i] + 3);
				else if (!strncmp(tok[i], "t=", 2))
					ic->last_failure_ms = strtoull(tok[i] + 2, NULL, 10);
			}
		} else if (!strcmp(tok[0], "attr")) {
			vg_node_cond_set_attr(vg_cluster_state_node(s, tok[1]), tok[2], tok[3]);
		} else if (!strcmp(tok[0], "noquorum")) {
			s->quorate = false;
		} else if (!strcmp(tok[0], "now")) {
			s->now_ms = strtoull(tok[1], NULL, 10);
		} else {
			fprintf(stderr, "bad state line: %s\n", tok[0]);
			abort();
		}
	}
	free(copy);
	return s;
}

/* "start web n1\nstop vip n2\nfence n3" (one line per action, plan order) */
static inline void tc_fmt_actions(const vg_plan *p, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < p->n_actions && o < len; i++) {
		const vg_action *a = &p->actions[i];
		if (a->resource)
			o += (size_t)snprintf(buf + o, len - o, "%s%s %s %s", i ? "\n" : "",
					      vg_action_kind_name(a->kind), a->resource, a->node);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%s %s", i ? "\n" : "",
					      vg_action_kind_name(a->kind), a->node);
	}
}

/* "db=n1*,n2 web=n1 x=-" (all resources by name; * marks promoted) */
static inline void tc_fmt_placement(const vg_plan *p, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < p->n_placement && o < len; i++) {
		const vg_placement *pl = &p->placement[i];
		o += (size_t)snprintf(buf + o, len - o, "%s%s=", i ? " " : "", pl->resource);
		if (!pl->n_targets && o < len)
			o += (size_t)snprintf(buf + o, len - o, "-");
		for (size_t k = 0; k < pl->n_targets && o < len; k++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s%s", k ? "," : "",
					      pl->targets[k].node,
					      pl->targets[k].role == VG_IROLE_PROMOTED ? "*" : "");
	}
}

#endif
