/* fuzz_member.c - libFuzzer harness for vg_mm_decode (src/core/member_msg.h): the decoder of the
 * member ('C') messages every server takes from Corosync: reports, actions, summaries,
 * goodbyes, heartbeats and the operator's fence, cleanup and restart requests.
 *
 * Each input is one message's bytes (after the 'C' tag). Invariants: a rejected message has a
 * reason; an accepted one has every field cluster.c reads without a check (the node of an
 * action or fence, the resource of an action, cleanup or restart, the resource states of a
 * report or goodbye, a watchdog's timeout 1..VG_MM_WD_MAX_S), encodes, and that encoding
 * decodes to the same message, field by field, which encodes to the same bytes (canonical:
 * the report cluster.c compares with the last one sent is the same text for the same report).
 *
 * Must not: keep state between inputs.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "member_msg.h"

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool json_eq(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b));
}

/* a and b are the same message, field by field. */
static void check_msg_equal(const vg_member_msg *a, const vg_member_msg *b)
{
	FUZZ_CHECK(a->kind == b->kind && a->ring == b->ring && a->probed == b->probed &&
		   a->leaving == b->leaving && a->ack == b->ack && a->op == b->op &&
		   a->id == b->id && a->epoch == b->epoch && a->version == b->version &&
		   a->prev == b->prev && a->t == b->t && a->wd.timeout_s == b->wd.timeout_s);
	FUZZ_CHECK(str_eq(a->node, b->node) && str_eq(a->resource, b->resource) &&
		   str_eq(a->stale, b->stale) && str_eq(a->wd.dev, b->wd.dev));
	FUZZ_CHECK(json_eq(a->resources, b->resources) && json_eq(a->seen, b->seen) &&
		   json_eq(a->unrunnable, b->unrunnable) && json_eq(a->recent, b->recent));
	FUZZ_CHECK(!memcmp(&a->history, &b->history, sizeof a->history));
}

/* What cluster.c's handlers count on once a message is decoded. */
static void check_complete(const vg_member_msg *m)
{
	FUZZ_CHECK(vg_mm_kind_name(m->kind) != NULL);
	switch (m->kind) {
	case VG_MM_ACTION:
		FUZZ_CHECK(m->node && m->resource && vg_op_name(m->op));
		break;
	case VG_MM_FENCE:
		FUZZ_CHECK(m->node);
		break;
	case VG_MM_CLEANUP:
	case VG_MM_RESTART:
		FUZZ_CHECK(m->resource);
		break;
	case VG_MM_REPORT:
	case VG_MM_BYE:
		FUZZ_CHECK(json_is_object(m->resources));
		break;
	default:
		break;
	}
	FUZZ_CHECK(!m->wd.dev || (m->wd.timeout_s >= 1 && m->wd.timeout_s <= VG_MM_WD_MAX_S));
	FUZZ_CHECK(!m->seen || json_is_object(m->seen));
	FUZZ_CHECK(!m->unrunnable || json_is_object(m->unrunnable));
	FUZZ_CHECK(m->prev <= VG_MM_PREV_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	vg_member_msg *m = vg_mm_decode(data, size, err, sizeof err);
	if (!m) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	check_complete(m);

	/* Canonical: encode, decode, encode gives the same bytes. */
	size_t l1, l2;
	char *e1 = vg_mm_encode(m, &l1);
	if (!e1)
		fprintf(stderr, "an accepted %s message does not encode\n",
			vg_mm_kind_name(m->kind));
	FUZZ_CHECK(e1 && strlen(e1) == l1);
	vg_member_msg *m2 = vg_mm_decode(e1, l1, err, sizeof err);
	if (!m2)
		fprintf(stderr, "re-decode failed: %s\n", err);
	FUZZ_CHECK(m2);
	check_msg_equal(m, m2);
	char *e2 = vg_mm_encode(m2, &l2);
	FUZZ_CHECK(e2 && l1 == l2 && memcmp(e1, e2, l1) == 0);
	free(e2);
	vg_mm_free(m2);
	free(e1);
	vg_mm_free(m);
	return 0;
}
