/* fuzz_repmsg.c - libFuzzer harness for vg_repmsg_decode (src/repstate.h): the decoder of the
 * replicated ('R') messages every server takes from Corosync and applies in agreed order.
 *
 * Each input is one message's bytes. Invariants: a rejected message has a reason; an accepted
 * one encodes, and that encoding decodes to the same message, field by field, which encodes to
 * the same bytes (canonical, so every replica sees one message the same way). Applied (with and
 * without quorum) to an empty and to a populated state, it is either rejected and changes nothing,
 * or leaves a state whose encoding decodes and re-encodes to the same bytes (a replica never saves
 * a state it cannot load again); a state_sync is always taken by an empty state.
 *
 * Must not: keep state between inputs.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_repstate.h"
#include "repstate.h"

/* A state with something in every table (as test_repstate's sequence). */
static const char *const populate[] = {
    "{\"kind\":\"config_commit\",\"yaml\":\"cluster:\\n  name: demo\\n\",\"base_version\":0}",
    "{\"kind\":\"node_admin\",\"node\":\"n2\",\"standby\":true}",
    "{\"kind\":\"fence_record\",\"node\":\"n3\",\"time_ms\":1000,\"by\":\"ipmi\",\"method\":"
    "\"off\"}",
    "{\"kind\":\"failcount_set\",\"resource\":\"web\",\"node\":\"n2\",\"count\":2,"
    "\"last_failure_ms\":1500}",
    "{\"kind\":\"event\",\"time_ms\":2000,\"event_kind\":\"fence\",\"text\":\"n3 fenced\"}",
};

static vg_repstate *populated(void)
{
	vg_repstate *s = vg_repstate_new();
	FUZZ_CHECK(s);
	for (size_t i = 0; i < sizeof populate / sizeof populate[0]; i++) {
		vg_repmsg *m = vg_repmsg_decode(populate[i], strlen(populate[i]), NULL, 0);
		FUZZ_CHECK(m && vg_repstate_apply(s, m, true, NULL, 0) == 0);
		vg_repmsg_free(m);
	}
	return s;
}

/* a and b are the same message, field by field. */
static void check_msg_equal(const vg_repmsg *a, const vg_repmsg *b)
{
	FUZZ_CHECK(a->kind == b->kind && a->base_version == b->base_version &&
		   a->standby == b->standby && a->maintenance == b->maintenance &&
		   a->time_ms == b->time_ms && a->count == b->count);
	FUZZ_CHECK(fuzz_streq(a->yaml, b->yaml) && fuzz_streq(a->node, b->node) &&
		   fuzz_streq(a->by, b->by) && fuzz_streq(a->method, b->method) &&
		   fuzz_streq(a->resource, b->resource) &&
		   fuzz_streq(a->event_kind, b->event_kind) && fuzz_streq(a->text, b->text));
	FUZZ_CHECK(!a->state == !b->state);
	if (a->state)
		fuzz_check_state_equal(a->state, b->state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	vg_repmsg *m = vg_repmsg_decode(data, size, err, sizeof err);
	if (!m) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(m->kind != VG_REPMSG_STATE_SYNC || m->state);

	/* Canonical: encode, decode, encode gives the same bytes. */
	size_t l1, l2;
	char *e1 = vg_repmsg_encode(m, &l1);
	FUZZ_CHECK(e1 && strlen(e1) == l1);
	vg_repmsg *m2 = vg_repmsg_decode(e1, l1, err, sizeof err);
	if (!m2)
		fprintf(stderr, "re-decode failed: %s\n", err);
	FUZZ_CHECK(m2);
	check_msg_equal(m, m2);
	char *e2 = vg_repmsg_encode(m2, &l2);
	FUZZ_CHECK(e2 && l1 == l2 && memcmp(e1, e2, l1) == 0);
	free(e2);
	vg_repmsg_free(m2);
	free(e1);

	/* Applied to an empty state and to a populated one, with and without quorum. */
	for (int quorate = 0; quorate <= 1; quorate++) {
		vg_repstate *empty = vg_repstate_new();
		FUZZ_CHECK(empty);
		int rc = fuzz_apply_checked(empty, m, quorate);
		if (m->kind == VG_REPMSG_STATE_SYNC ||
		    (quorate && (m->kind != VG_REPMSG_CONFIG_COMMIT || m->base_version == 0)))
			FUZZ_CHECK(rc == 0);
		vg_repstate_free(empty);

		vg_repstate *full = populated();
		fuzz_apply_checked(full, m, quorate);
		vg_repstate_free(full);
	}
	vg_repmsg_free(m);
	return 0;
}
