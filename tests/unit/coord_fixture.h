/* coord_fixture.h - a coordinator driven without a network, for the unit tests: an I/O that
 * records what it is asked to do, a configuration, a replicated state fed through the real
 * codec, reports and membership changes as one-liners. Time is an argument everywhere.
 * Owns: nothing beyond the fixture's own memory (fx_free). Must not: reach for libuv,
 * Corosync or a clock. (Header-only: static functions, one copy per test program.)
 */
#ifndef VIGIL_COORD_FIXTURE_H
#define VIGIL_COORD_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator.h"
#include "repstate.h"

/* Unused parts are marked so: not every test uses all of it. */
/* ---- a recording I/O ---------------------------------------------------------- */

typedef struct {
	char log[4096]; /* "start vip n2; fence n1; " ... */
	uint64_t last_id;
	uint64_t rearm_ms;
} rec;

static __attribute__((unused)) void r_send(void *arg, const char *node, const char *res,
					   vg_op_kind op, uint64_t id)
{
	rec *r = arg;
	size_t l = strlen(r->log);
	snprintf(r->log + l, sizeof r->log - l, "%s %s %s; ", vg_op_name(op), res, node);
	r->last_id = id;
}

static __attribute__((unused)) void r_fence(void *arg, const char *node)
{
	rec *r = arg;
	size_t l = strlen(r->log);
	snprintf(r->log + l, sizeof r->log - l, "fence %s; ", node);
}

static __attribute__((unused)) void r_rearm(void *arg, uint64_t ms)
{
	rec *r = arg;
	r->rearm_ms = ms;
}

static const vg_coord_io fx_io = {r_send, r_fence, r_rearm};

/* ---- fixtures -------------------------------------------------------------------- */

static __attribute__((unused)) vg_config *fx_load(const char *yaml)
{
	vg_config_errors errs = {0};
	vg_config *c = vg_config_load_buffer("test.yaml", yaml, strlen(yaml), NULL, &errs);
	if (!c) {
		char line[512];
		vg_config_error_format(&errs.items[0], line, sizeof line);
		fail_msg("config: %s", line);
	}
	vg_config_errors_free(&errs);
	return c;
}

typedef struct {
	vg_config *cfg;
	vg_coord *co;
	vg_repstate *rs;
	rec rec;
	uint32_t wd_s; /* fx_report_ack: the watchdog timeout reports say was armed, 0: none */
} fx;

/* A coordinator on `local`, in step, with an empty replicated state. */
static __attribute__((unused)) void fx_init(fx *f, const char *yaml, const char *local)
{
	memset(f, 0, sizeof *f);
	f->cfg = fx_load(yaml);
	f->co = vg_coord_new(local, &fx_io, &f->rec);
	vg_coord_set_config(f->co, f->cfg);
	vg_coord_set_synced(f->co, true);
	f->rs = vg_repstate_new();
}

static __attribute__((unused)) void fx_free(fx *f)
{
	vg_coord_free(f->co);
	vg_config_free(f->cfg);
	vg_repstate_free(f->rs);
}

/* "vip=running,db=stopped" as {"vip": "running", "db": "stopped"} (a new reference). */
static __attribute__((unused)) json_t *fx_states(const char *states)
{
	json_t *res = json_object();
	char buf[256];
	snprintf(buf, sizeof buf, "%s", states);
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		char *eq = strchr(tok, '=');
		*eq = '\0';
		json_object_set_new(res, tok, json_string(eq + 1));
	}
	return res;
}

/* A report of node in ring: its resources' states, the watchdog it armed (0: none) and what
 * it knows of lost nodes (JSON text or NULL). */
static __attribute__((unused)) void fx_report(fx *f, const char *node, uint64_t ring,
					      const char *states, uint32_t watchdog_s,
					      const char *seen)
{
	json_t *res = fx_states(states);
	json_t *sn = seen ? json_loads(seen, 0, NULL) : NULL;
	vg_node_report r = {.ring = ring,
			    .probed = true,
			    .resources = res,
			    .watchdog = watchdog_s ? "/dev/watchdog0" : NULL,
			    .watchdog_s = watchdog_s,
			    .seen = sn};
	vg_coord_report(f->co, node, &r);
	json_decref(res);
	json_decref(sn);
}

/* A report of node in ring with the highest action id it took (ack), the watchdog f->wd_s. */
static __attribute__((unused)) void fx_report_ack(fx *f, const char *node, uint64_t ring,
						  const char *states, uint64_t ack)
{
	json_t *res = fx_states(states);
	vg_node_report r = {.ring = ring,
			    .probed = true,
			    .ack = ack,
			    .resources = res,
			    .watchdog = f->wd_s ? "/dev/watchdog" : NULL,
			    .watchdog_s = f->wd_s};
	vg_coord_report(f->co, node, &r);
	json_decref(res);
}

/* A membership of ids, every one's Corosync in the ring too. */
static __attribute__((unused)) void fx_members(fx *f, const uint32_t *ids, size_t n, bool quorate,
					       uint64_t ring, uint64_t now)
{
	vg_coord_membership(f->co, ids, n, ids, n, quorate, ring, now, 1000000 + now);
}

static __attribute__((unused)) void fx_run(fx *f, uint64_t now)
{
	f->rec.log[0] = '\0';
	f->rec.rearm_ms = 0;
	vg_coord_run(f->co, f->rs, now, 1000000 + now);
}

/* Apply one replicated change (JSON of the message codec) with quorum. */
static __attribute__((unused)) void fx_apply(fx *f, const char *json)
{
	char err[256];
	vg_repmsg *m = vg_repmsg_decode(json, strlen(json), err, sizeof err);
	if (!m)
		fail_msg("message: %s", err);
	if (vg_repstate_apply(f->rs, m, true, err, sizeof err) != 0)
		fail_msg("apply: %s", err);
	vg_repmsg_free(m);
}

/* A fencing record of node whose recorder's wall clock said time_ms. */
static __attribute__((unused)) void fx_fence_record(fx *f, const char *node, uint64_t time_ms,
						    const char *method)
{
	char json[256];
	snprintf(json, sizeof json,
		 "{\"kind\":\"fence_record\",\"node\":\"%s\",\"time_ms\":%llu,\"by\":\"pdu\","
		 "\"method\":\"%s\"}",
		 node, (unsigned long long)time_ms, method);
	fx_apply(f, json);
}

/* Some other replicated change (moves the version on). */
static __attribute__((unused)) void fx_event(fx *f)
{
	fx_apply(f, "{\"kind\":\"event\",\"time_ms\":1,\"event_kind\":\"x\",\"text\":\"y\"}");
}

/* The state shown for node in `vigil status --json`. */
static __attribute__((unused)) const char *fx_node_state(fx *f, const char *node, uint64_t now,
							 char *buf, size_t len)
{
	json_t *s = vg_coord_status(f->co, f->rs, now, 1000000 + now);
	size_t i;
	json_t *n;
	buf[0] = '\0';
	json_array_foreach(json_object_get(s, "nodes"), i, n)
	{
		if (!strcmp(json_string_value(json_object_get(n, "name")), node)) {
			snprintf(buf, len, "%s", json_string_value(json_object_get(n, "state")));
			const char *reason = json_string_value(json_object_get(n, "reason"));
			if (reason)
				snprintf(buf + strlen(buf), len - strlen(buf), ": %s", reason);
		}
	}
	json_decref(s);
	return buf;
}

#endif
