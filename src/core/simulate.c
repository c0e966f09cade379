/* simulate.c - `vigil simulate`: the scheduler run offline, with what-if events.
 *
 * Owns: parsing the command's arguments, loading the config and the saved state
 * (`vigil status --json` form), applying the events, and replaying plans as if every
 * action succeeded until nothing is left to do; printing the steps and the result.
 * Must not: contact a daemon, or decide anything itself (scheduler.c decides).
 */
#include "simulate.h"
#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_state.h"
#include "config.h"
#include "file.h"
#include "scheduler.h"

#define MAX_STEPS	50
#define MAX_EVENTS	64
#define STATE_MAX_BYTES (64u << 20)

typedef enum { EV_DOWN, EV_UP, EV_FAIL, EV_STANDBY } ev_kind;

typedef struct {
	ev_kind kind;
	const char *arg;
} event;

typedef struct {
	const char *config;
	const char *state;
	bool json;
	event ev[MAX_EVENTS];
	size_t n_ev;
} sim_args;

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil simulate --config FILE [--state FILE] [--node-down NODE] "
		   "[--node-up NODE]\n"
		   "                      [--fail RESOURCE@NODE] [--standby NODE] [--json]\n"
		   "  --state FILE       saved `vigil status --json` (default: all nodes online, "
		   "nothing running)\n"
		   "  --node-down NODE   the node is lost as in a crash (unclean until fenced)\n"
		   "  --node-up NODE     the node comes (back) online, running nothing yet\n"
		   "  --fail R@NODE      resource R fails on NODE (failcount + 1)\n"
		   "  --standby NODE     put NODE in standby\n"
		   "Every action is assumed to succeed; steps are replayed until nothing is left "
		   "to do.\n");
}

static int parse_args(int argc, char **argv, sim_args *a, FILE *err)
{
	static const struct {
		const char *name;
		int ev; /* -1: not an event */
	} opts[] = {{"--config", -1},	  {"--state", -2},     {"--node-down", EV_DOWN},
		    {"--node-up", EV_UP}, {"--fail", EV_FAIL}, {"--standby", EV_STANDBY}};
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--json")) {
			a->json = true;
			continue;
		}
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return 1;
		size_t k, n = sizeof(opts) / sizeof(opts[0]);
		const char *val = NULL;
		for (k = 0; k < n; k++) {
			size_t l = strlen(opts[k].name);
			if (!strncmp(arg, opts[k].name, l) && (arg[l] == 0 || arg[l] == '=')) {
				if (arg[l] == '=')
					val = arg + l + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				break;
			}
		}
		if (k == n) {
			fprintf(err, "vigil simulate: unknown argument \"%s\"\n", arg);
			return -1;
		}
		if (!val || !*val) {
			fprintf(err, "vigil simulate: %s needs a value\n", opts[k].name);
			return -1;
		}
		if (opts[k].ev == -1) {
			a->config = val;
		} else if (opts[k].ev == -2) {
			a->state = val;
		} else {
			if (a->n_ev == MAX_EVENTS) {
				fprintf(err, "vigil simulate: too many events (at most %d)\n",
					MAX_EVENTS);
				return -1;
			}
			a->ev[a->n_ev++] = (event){(ev_kind)opts[k].ev, val};
		}
	}
	if (!a->config) {
		fprintf(err, "vigil simulate: --config is required\n");
		return -1;
	}
	return 0;
}

static char *read_file(const char *path, size_t *len, FILE *err)
{
	char why[256];
	char *buf = vg_file_read(path, STATE_MAX_BYTES, len, why, sizeof(why));
	if (!buf)
		fprintf(err, "vigil simulate: %s: %s\n", path, why);
	return buf;
}

static uint64_t wall_ms(void)
{
	return vg_clock_wall_ms();
}

/* apply one what-if event; -1 with a message when it names something unknown */
static int apply_event(const vg_config *cfg, vg_cluster_state *st, const event *e, FILE *err)
{
	static const char *const names[] = {"--node-down", "--node-up", "--fail", "--standby"};
	char node[256];
	const char *res = NULL;
	if (e->kind == EV_FAIL) {
		const char *at = strchr(e->arg, '@');
		if (!at || at == e->arg || !at[1] || (size_t)(at - e->arg) >= sizeof(node)) {
			fprintf(err, "vigil simulate: --fail %s: expected RESOURCE@NODE\n", e->arg);
			return -1;
		}
		memcpy(node, e->arg, (size_t)(at - e->arg));
		node[at - e->arg] = 0;
		if (!vg_config_resource(cfg, node)) {
			fprintf(err,
				"vigil simulate: --fail %s: no resource \"%s\" in the config\n",
				e->arg, node);
			return -1;
		}
		res = vg_config_resource(cfg, node)->name;
		snprintf(node, sizeof(node), "%s", at + 1);
	} else {
		snprintf(node, sizeof(node), "%s", e->arg);
	}
	vg_node_cond *n = vg_cluster_state_node(st, node);
	if (!n || !vg_config_node(cfg, node)) {
		fprintf(err, "vigil simulate: %s %s: no node \"%s\" in the config\n",
			names[e->kind], e->arg, node);
		return -1;
	}
	switch (e->kind) {
	case EV_DOWN:
		n->state = VG_NODE_UNCLEAN;
		n->fence_pending = false;
		break;
	case EV_UP:
		n->state = VG_NODE_ONLINE;
		n->probed = false; /* what it runs is learnt by probing */
		for (size_t i = 0; i < st->n_insts; i++)
			if (!strcmp(st->insts[i].node, node)) {
				st->insts[i].state = VG_INST_UNKNOWN;
				st->insts[i].count = 0;
			}
		break;
	case EV_STANDBY:
		n->state = VG_NODE_STANDBY;
		break;
	case EV_FAIL: {
		vg_inst_cond *ic = vg_cluster_state_inst_get(st, res, node);
		ic->state = VG_INST_FAILED;
		ic->count = 1;
		ic->failcount++;
		ic->last_failure_ms = st->now_ms;
		break;
	}
	}
	return 0;
}

static void print_action_text(FILE *out, const vg_action *a)
{
	if (a->kind == VG_ACT_FENCE) {
		fprintf(out, "  %-8s %-24s %s\n", "fence", a->node, a->reason);
		return;
	}
	char what[256];
	const char *role = vg_inst_role_name(a->role);
	if (role && a->kind != VG_ACT_STOP)
		snprintf(what, sizeof(what), "%s on %s (%s)", a->resource, a->node, role);
	else
		snprintf(what, sizeof(what), "%s on %s", a->resource, a->node);
	fprintf(out, "  %-8s %-24s %s\n", vg_action_kind_name(a->kind), what, a->reason);
}

static json_t *action_json(const vg_action *a, int step)
{
	json_t *o = json_object();
	const char *role = vg_inst_role_name(a->role);
	json_object_set_new(o, "action", json_string(vg_action_kind_name(a->kind)));
	json_object_set_new(o, "resource", a->resource ? json_string(a->resource) : json_null());
	json_object_set_new(o, "node", json_string(a->node));
	json_object_set_new(o, "role", role ? json_string(role) : json_null());
	json_object_set_new(o, "reason", json_string(a->reason));
	json_object_set_new(o, "step", json_integer(step));
	return o;
}

static void print_placement_text(FILE *out, json_t *pl)
{
	fprintf(out, "\nNodes:\n");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(pl, "nodes"), i, v)
	{
		fprintf(out, "  %-16s %s\n", json_string_value(json_object_get(v, "name")),
			json_string_value(json_object_get(v, "state")));
	}
	fprintf(out, "\nPlacement:\n  %-24s %-10s %s\n", "RESOURCE", "STATE", "INSTANCES");
	json_array_foreach(json_object_get(pl, "resources"), i, v)
	{
		char inst[1024];
		size_t o = 0, j;
		json_t *x;
		inst[0] = 0;
		json_array_foreach(json_object_get(v, "instances"), j, x)
		{
			const char *st = json_string_value(json_object_get(x, "state"));
			if (!strcmp(st, "stopped"))
				continue;
			const char *role = json_string_value(json_object_get(x, "role"));
			if (o < sizeof(inst))
				o += (size_t)snprintf(inst + o, sizeof(inst) - o, "%s%s%s%s%s",
						      o ? " " : "",
						      json_string_value(json_object_get(x, "node")),
						      strcmp(role, "started") ? "(" : "",
						      strcmp(role, "started") ? role : "",
						      strcmp(role, "started") ? ")" : "");
			if (strcmp(st, "running") && o < sizeof(inst))
				o += (size_t)snprintf(inst + o, sizeof(inst) - o, "[%s]", st);
		}
		fprintf(out, "  %-24s %-10s %s\n", json_string_value(json_object_get(v, "name")),
			json_string_value(json_object_get(v, "state")), o ? inst : "-");
	}
}

int vg_simulate_main(int argc, char **argv, const vg_agent_info *agents, FILE *out, FILE *err)
{
	sim_args a;
	int rc = parse_args(argc, argv, &a, err);
	if (rc) {
		usage(rc > 0 ? out : err);
		return rc > 0 ? 0 : 2;
	}
	vg_config_errors errs = {0};
	vg_config *cfg = vg_config_load(a.config, agents, &errs);
	if (!cfg) {
		char line[1024];
		for (size_t i = 0; i < errs.count; i++) {
			vg_config_error_format(&errs.items[i], line, sizeof(line));
			fprintf(err, "vigil simulate: %s\n", line);
		}
		if (!errs.count)
			fprintf(err, "vigil simulate: %s: cannot load the configuration\n",
				a.config);
		vg_config_errors_free(&errs);
		return 2;
	}
	vg_config_errors_free(&errs);
	vg_cluster_state *st = NULL;
	if (a.state) {
		size_t len;
		char *buf = read_file(a.state, &len, err);
		if (!buf) {
			vg_config_free(cfg);
			return 2;
		}
		char msg[512];
		st = vg_cluster_state_parse(cfg, buf, len, wall_ms(), msg, sizeof(msg));
		free(buf);
		if (!st) {
			fprintf(err, "vigil simulate: %s: %s\n", a.state, msg);
			vg_config_free(cfg);
			return 2;
		}
	} else {
		st = vg_cluster_state_new(cfg);
		st->now_ms = wall_ms();
	}
	for (size_t i = 0; i < a.n_ev; i++) {
		if (apply_event(cfg, st, &a.ev[i], err)) {
			vg_cluster_state_free(st);
			vg_config_free(cfg);
			return 2;
		}
	}

	json_t *jactions = json_array();
	int step = 0;
	rc = 0;
	for (;;) {
		vg_plan p;
		if (vg_schedule(cfg, st, &p)) {
			fprintf(err, "vigil simulate: out of memory\n");
			rc = 1;
			break;
		}
		if (!p.n_actions) {
			vg_plan_free(&p);
			break;
		}
		if (++step > MAX_STEPS) {
			fprintf(err,
				"vigil simulate: the plan did not settle after %d steps "
				"(still %zu actions)\n",
				MAX_STEPS, p.n_actions);
			vg_plan_free(&p);
			rc = 1;
			break;
		}
		if (!a.json)
			fprintf(out, "Step %d:\n", step);
		for (size_t i = 0; i < p.n_actions; i++) {
			if (a.json)
				json_array_append_new(jactions, action_json(&p.actions[i], step));
			else
				print_action_text(out, &p.actions[i]);
		}
		vg_plan_apply(cfg, &p, st);
		vg_plan_free(&p);
	}
	json_t *placement = vg_cluster_state_to_jansson(cfg, st);
	if (a.json) {
		json_t *root = json_object();
		json_object_set_new(root, "actions", jactions);
		json_object_set_new(root, "placement", placement);
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			fprintf(out, "%s\n", s);
		free(s);
		json_decref(root);
	} else {
		if (!step)
			fprintf(out, "Nothing to do: the cluster is settled.\n");
		print_placement_text(out, placement);
		json_decref(placement);
		json_decref(jactions);
	}
	vg_cluster_state_free(st);
	vg_config_free(cfg);
	return rc;
}
