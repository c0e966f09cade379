/* fuzz_state.c - libFuzzer harness for vg_repstate_decode (src/repstate.h): the decoder of the
 * state file DIR/state.json that vigild loads at start, and of the state a state_sync carries.
 *
 * Each input is one file's bytes. Invariants: a rejected input has a reason; an accepted one
 * has the shape the decoder promises (tables strictly sorted, bounded events), its encoding
 * decodes again and re-encodes to the same bytes (canonical), and a state_sync message carrying
 * it encodes, decodes and applies to an empty state, giving that same encoding; and every kind
 * of change a cluster makes next (a commit on top of it, node flags, a fencing, failcounts, an
 * event) is either rejected with the state unchanged or leaves a state that saves and loads.
 *
 * Must not: keep state between inputs, or touch files (vg_repstate_load only adds reading).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_repstate.h"
#include "repstate.h"

/* The changes tried on a loaded state (config_commit's base_version is set to its version). */
static const vg_repmsg changes[] = {
    {.kind = VG_REPMSG_CONFIG_COMMIT,
     .yaml = "cluster:\n  name: next\n",
     .standby = -1,
     .maintenance = -1},
    {.kind = VG_REPMSG_NODE_ADMIN, .node = "n1", .standby = 1, .maintenance = -1},
    {.kind = VG_REPMSG_NODE_ADMIN, .node = "n2", .standby = 0, .maintenance = 0},
    {.kind = VG_REPMSG_FENCE_RECORD,
     .node = "n3",
     .time_ms = 5000,
     .by = "pdu",
     .method = "off",
     .standby = -1,
     .maintenance = -1},
    {.kind = VG_REPMSG_FAILCOUNT_SET,
     .resource = "web",
     .node = "n1",
     .count = 3,
     .time_ms = 6000,
     .standby = -1,
     .maintenance = -1},
    {.kind = VG_REPMSG_FAILCOUNT_CLEAR, .resource = "web", .standby = -1, .maintenance = -1},
    {.kind = VG_REPMSG_EVENT,
     .time_ms = 7000,
     .event_kind = "test",
     .text = "a change",
     .standby = -1,
     .maintenance = -1},
};

static void check_changes(const char *canon, size_t len)
{
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		vg_repstate *s = vg_repstate_decode(canon, len, NULL, 0);
		FUZZ_CHECK(s);
		vg_repmsg m = changes[i];
		m.base_version = s->version;
		fuzz_apply_checked(s, &m, true);
		vg_repstate_free(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	vg_repstate *s = vg_repstate_decode((const char *)data, size, err, sizeof err);
	if (!s) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	size_t len;
	char *canon = fuzz_check_state_roundtrip(s, &len);

	/* The same state as the payload of a state_sync message. */
	vg_repmsg out = {.kind = VG_REPMSG_STATE_SYNC, .state = s};
	size_t mlen;
	char *mtext = vg_repmsg_encode(&out, &mlen);
	FUZZ_CHECK(mtext);
	vg_repmsg *in = vg_repmsg_decode(mtext, mlen, err, sizeof err);
	FUZZ_CHECK(in && in->kind == VG_REPMSG_STATE_SYNC && in->state);
	vg_repstate *r = vg_repstate_new();
	FUZZ_CHECK(r);
	FUZZ_CHECK(vg_repstate_apply(r, in, false, err, sizeof err) == 0);
	size_t rlen;
	char *rtext = vg_repstate_encode(r, &rlen);
	FUZZ_CHECK(rtext && rlen == len && memcmp(rtext, canon, len) == 0);

	check_changes(canon, len);

	free(rtext);
	vg_repstate_free(r);
	vg_repmsg_free(in);
	free(mtext);
	free(canon);
	vg_repstate_free(s);
	return 0;
}
