/* fuzz_repstate.h - the check fuzz_repmsg.c and fuzz_state.c share: a replicated state encodes,
 * its encoding decodes, and the decoded state encodes to the very same bytes (the encoding is
 * canonical, and it is what DIR/state.json and a state_sync carry). Also the shape the decoder
 * promises: tables strictly sorted by key, at most VG_REPSTATE_EVENTS_MAX events.
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

/* Encode s, decode that, encode again: both encodings must be equal. Returns the encoding
 * (malloc'd) for the caller to compare further, *len its length. */
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
	FUZZ_CHECK(s2->epoch == s->epoch && s2->version == s->version);
	char *e2 = vg_repstate_encode(s2, &l2);
	FUZZ_CHECK(e2 && l1 == l2 && memcmp(e1, e2, l1) == 0);
	free(e2);
	vg_repstate_free(s2);
	if (len)
		*len = l1;
	return e1;
}

#endif
