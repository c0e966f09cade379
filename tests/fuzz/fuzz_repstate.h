/* fuzz_repstate.h - the checks fuzz_repmsg.c and fuzz_state.c share: a replicated state
 * encodes, its encoding decodes to the same state, field by field, which encodes to the very
 * same bytes (the encoding is canonical; it is DIR/state.json and a state_sync's payload); the
 * shape the decoder promises (tables strictly sorted by key, at most VG_REPSTATE_EVENTS_MAX
 * events); and applying a message either rejects it with the state unchanged or leaves a state
 * that round-trips.
 *
 * Must not: keep state between calls.
 */
#ifndef VIGIL_FUZZ_REPSTATE_H
#define VIGIL_FUZZ_REPSTATE_H

#include <string.h>

#include "fuzz.h"
#include "repstate.h"

static inline void fuzz_check_shape(const vg_repstate *s)
{
	FUZZ_CHECK(s->n_events <= VG_REPSTATE_EVENTS_MAX);
	for (size_t i = 0; i < s->n_nodes; i++) {
		FUZZ_CHECK(s->nodes[i].node && (s->nodes[i].standby || s->nodes[i].maintenance));
		FUZZ_CHECK(i == 0 || strcmp(s->nodes[i - 1].node, s->nodes[i].node) < 0);
	}
	for (size_t i = 0; i < s->n_fences; i++) {
		FUZZ_CHECK(s->fences[i].node && s->fences[i].by && s->fences[i].method);
		FUZZ_CHECK(i == 0 || strcmp(s->fences[i - 1].node, s->fences[i].node) < 0);
	}
	for (size_t i = 0; i < s->n_failcounts; i++) {
		const vg_rs_failcount *a = &s->failcounts[i > 0 ? i - 1 : 0],
				      *b = &s->failcounts[i];
		FUZZ_CHECK(b->resource && b->node);
		int c = strcmp(a->resource, b->resource);
		FUZZ_CHECK(i == 0 || c < 0 || (c == 0 && strcmp(a->node, b->node) < 0));
	}
	for (size_t i = 0; i < s->n_events; i++)
		FUZZ_CHECK(s->events[i].kind && s->events[i].text);
}

static inline int fuzz_streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* a and b hold the same state, field by field. */
static inline void fuzz_check_state_equal(const vg_repstate *a, const vg_repstate *b)
{
	FUZZ_CHECK(a->epoch == b->epoch && a->version == b->version);
	FUZZ_CHECK(fuzz_streq(a->config_yaml, b->config_yaml));
	FUZZ_CHECK(a->n_nodes == b->n_nodes && a->n_fences == b->n_fences &&
		   a->n_failcounts == b->n_failcounts && a->n_events == b->n_events);
	for (size_t i = 0; i < a->n_nodes; i++)
		FUZZ_CHECK(fuzz_streq(a->nodes[i].node, b->nodes[i].node) &&
			   a->nodes[i].standby == b->nodes[i].standby &&
			   a->nodes[i].maintenance == b->nodes[i].maintenance);
	for (size_t i = 0; i < a->n_fences; i++)
		FUZZ_CHECK(fuzz_streq(a->fences[i].node, b->fences[i].node) &&
			   a->fences[i].time_ms == b->fences[i].time_ms &&
			   fuzz_streq(a->fences[i].by, b->fences[i].by) &&
			   fuzz_streq(a->fences[i].method, b->fences[i].method));
	for (size_t i = 0; i < a->n_failcounts; i++)
		FUZZ_CHECK(fuzz_streq(a->failcounts[i].resource, b->failcounts[i].resource) &&
			   fuzz_streq(a->failcounts[i].node, b->failcounts[i].node) &&
			   a->failcounts[i].count == b->failcounts[i].count &&
			   a->failcounts[i].last_failure_ms == b->failcounts[i].last_failure_ms);
	for (size_t i = 0; i < a->n_events; i++)
		FUZZ_CHECK(a->events[i].time_ms == b->events[i].time_ms &&
			   fuzz_streq(a->events[i].kind, b->events[i].kind) &&
			   fuzz_streq(a->events[i].text, b->events[i].text));
}

/* Encode s, decode that: the same state, and encoding it again gives the same bytes. Returns the
 * encoding (malloc'd) for the caller to compare further, *len its length. */
static inline char *fuzz_check_state_roundtrip(const vg_repstate *s, size_t *len)
{
	char err[512] = "";
	size_t l1 = 0, l2 = 0;
	fuzz_check_shape(s);
	char *e1 = vg_repstate_encode(s, &l1);
	FUZZ_CHECK(e1 && strlen(e1) == l1);
	vg_repstate *s2 = vg_repstate_decode(e1, l1, err, sizeof err);
	if (!s2)
		fprintf(stderr, "re-decode failed: %s\n", err);
	FUZZ_CHECK(s2);
	fuzz_check_state_equal(s, s2);
	char *e2 = vg_repstate_encode(s2, &l2);
	FUZZ_CHECK(e2 && l1 == l2 && memcmp(e1, e2, l1) == 0);
	free(e2);
	vg_repstate_free(s2);
	if (len)
		*len = l1;
	return e1;
}

/* Apply m to s: a rejection has a reason and leaves s as it was; an acceptance needs quorum
 * (but for state_sync), adds one to the version (but for state_sync) and leaves a state that
 * round-trips. Returns the apply's result. */
static inline int fuzz_apply_checked(vg_repstate *s, const vg_repmsg *m, bool quorate)
{
	char err[512] = "";
	size_t before_len;
	char *before = fuzz_check_state_roundtrip(s, &before_len);
	uint64_t version = s->version;
	int rc = vg_repstate_apply(s, m, quorate, err, sizeof err);
	size_t after_len;
	char *after = fuzz_check_state_roundtrip(s, &after_len);
	if (rc != 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(before_len == after_len && memcmp(before, after, before_len) == 0);
	} else {
		FUZZ_CHECK(quorate || m->kind == VG_REPMSG_STATE_SYNC);
		FUZZ_CHECK(m->kind == VG_REPMSG_STATE_SYNC || s->version == version + 1);
	}
	free(before);
	free(after);
	return rc;
}

#endif
