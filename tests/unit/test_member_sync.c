/* Unit tests: the member protocol after a membership change (member_sync.h): the sync point
 * once every member's summary is in (the first of each), a malformed summary counted as an
 * empty state, the source sending its state and recording what a diverged (or unverifiable)
 * member loses, 'R' messages held after the sync point and applied in order on top of the
 * state, and in step once at the picked state. The members are real vg_msync with real
 * states; their summaries go through the member message codec, as over the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "member_msg.h"
#include "member_sync.h"
#include "repstate.h"

enum { MAX_REC = 16 };

/* One member: its protocol, its state and what came out through vg_msync_io. */
typedef struct {
	uint32_t id;
	vg_msync *ms;
	vg_repstate *rs;
	int seq;       /* orders the calls below */
	char *summary; /* the last summary sent, encoded */
	size_t n_summaries;
	int n_state, state_at;
	int fail_state; /* send_state's answer */
	struct {
		uint32_t who;
		char kind[32];
		char text[VG_REPSTATE_TEXT_MAX];
		int at;
	} lost[MAX_REC];
	size_t n_lost;
	int n_synced, synced_at;
	struct {
		uint32_t from;
		char *data;
		void *tag;
		bool synced; /* vg_msync_synced when it was handed back */
		int at;
	} held[MAX_REC];
	size_t n_held;
	void *dropped[MAX_REC];
	size_t n_dropped;
} member;

static void io_send_summary(void *arg, const vg_member_msg *m)
{
	member *p = arg;
	assert_int_equal(m->kind, VG_MM_SUMMARY);
	free(p->summary);
	p->summary = vg_mm_encode(m, NULL);
	assert_non_null(p->summary);
	p->n_summaries++;
}

static int io_send_state(void *arg)
{
	member *p = arg;
	p->n_state++;
	p->state_at = ++p->seq;
	return p->fail_state;
}

static void io_record_lost(void *arg, uint32_t who, const char *kind, const char *text)
{
	member *p = arg;
	assert_true(p->n_lost < MAX_REC);
	p->lost[p->n_lost].who = who;
	snprintf(p->lost[p->n_lost].kind, sizeof p->lost[0].kind, "%s", kind);
	snprintf(p->lost[p->n_lost].text, sizeof p->lost[0].text, "%s", text);
	p->lost[p->n_lost++].at = ++p->seq;
}

static void io_synced(void *arg)
{
	member *p = arg;
	assert_true(vg_msync_synced(p->ms));
	p->n_synced++;
	p->synced_at = ++p->seq;
}

static void io_apply_held(void *arg, uint32_t from, const char *data, size_t len, void *tag)
{
	member *p = arg;
	assert_true(p->n_held < MAX_REC);
	assert_int_equal(strlen(data), len); /* a NUL-terminated copy */
	p->held[p->n_held].from = from;
	p->held[p->n_held].data = strdup(data);
	p->held[p->n_held].tag = tag;
	p->held[p->n_held].synced = vg_msync_synced(p->ms);
	p->held[p->n_held++].at = ++p->seq;
}

static void io_drop_held(void *arg, void *tag)
{
	member *p = arg;
	assert_true(p->n_dropped < MAX_REC);
	p->dropped[p->n_dropped++] = tag;
}

static const char *io_node_name(void *arg, uint32_t id)
{
	(void)arg;
	static const char *const names[] = {"n1", "n2", "n3", "n4"};
	return id >= 1 && id <= 4 ? names[id - 1] : NULL;
}

static const vg_msync_io io = {.send_summary = io_send_summary,
			       .send_state = io_send_state,
			       .record_lost = io_record_lost,
			       .synced = io_synced,
			       .apply_held = io_apply_held,
			       .drop_held = io_drop_held,
			       .node_name = io_node_name};

static void member_init(member *p, uint32_t id)
{
	memset(p, 0, sizeof *p);
	p->id = id;
	p->ms = vg_msync_new(&io, p);
	p->rs = vg_repstate_new();
	assert_non_null(p->rs);
}

static void member_fini(member *p)
{
	vg_msync_free(p->ms);
	vg_repstate_free(p->rs);
	free(p->summary);
	for (size_t i = 0; i < p->n_held; i++)
		free(p->held[i].data);
}

/* A change applied to s (an event: version +1, a new history id). */
static void change(vg_repstate *s, const char *text)
{
	vg_repmsg m = {.kind = VG_REPMSG_EVENT,
		       .time_ms = 1,
		       .event_kind = "test",
		       .text = (char *)text,
		       .standby = -1,
		       .maintenance = -1};
	char err[256];
	assert_int_equal(vg_repstate_apply(s, &m, true, err, sizeof err), 0);
}

static void changes(vg_repstate *s, const char *prefix, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char t[64];
		snprintf(t, sizeof t, "%s%u", prefix, i);
		change(s, t);
	}
}

static char *encode_r(const vg_repmsg *m, size_t *len)
{
	char *s = vg_repmsg_encode(m, len);
	assert_non_null(s);
	return s;
}

static char *event_r(const char *text, size_t *len)
{
	vg_repmsg m = {.kind = VG_REPMSG_EVENT,
		       .time_ms = 2,
		       .event_kind = "test",
		       .text = (char *)text,
		       .standby = -1,
		       .maintenance = -1};
	return encode_r(&m, len);
}

static char *state_r(const vg_repstate *s, size_t *len)
{
	vg_repmsg m = {.kind = VG_REPMSG_STATE_SYNC,
		       .state = (vg_repstate *)s,
		       .standby = -1,
		       .maintenance = -1};
	return encode_r(&m, len);
}

/* Every member starts the view [ids] and sends its summary (prev: 1). */
static void view(member *ps, size_t n)
{
	uint32_t ids[8];
	for (size_t i = 0; i < n; i++)
		ids[i] = ps[i].id;
	for (size_t i = 0; i < n; i++) {
		vg_msync_view(ps[i].ms, ps[i].id, ids, n);
		vg_msync_send_summary(ps[i].ms, ps[i].rs, 7, 1);
	}
}

/* The summary text delivered to p from node id `from`, decoded as cluster.c does. */
static void deliver_text(member *p, uint32_t from, const char *text)
{
	char err[256];
	vg_member_msg *m = vg_mm_decode(text, strlen(text), err, sizeof err);
	if (!m)
		fail_msg("decode %s: %s", text, err);
	assert_int_equal(m->kind, VG_MM_SUMMARY);
	vg_msync_summary(p->ms, from, m, p->rs);
	vg_mm_free(m);
}

/* Summary of ps[k] delivered to every member, in agreed order. */
static void deliver(member *ps, size_t n, size_t k)
{
	assert_non_null(ps[k].summary);
	for (size_t i = 0; i < n; i++)
		deliver_text(&ps[i], ps[k].id, ps[k].summary);
}

/* The state_sync of src delivered to p (not held), applied, and told to the module. */
static void deliver_state(member *p, const vg_repstate *src, uint32_t from)
{
	size_t len;
	char *s = state_r(src, &len);
	assert_false(vg_msync_r(p->ms, from, s, len, NULL));
	char err[256];
	vg_repmsg *m = vg_repmsg_decode(s, len, err, sizeof err);
	assert_non_null(m);
	vg_repstate_apply(p->rs, m, true, err, sizeof err);
	vg_repmsg_free(m);
	vg_msync_applied(p->ms, true, p->rs);
	free(s);
}

/* ---- tests -------------------------------------------------------------------------------- */

/* Two members, node ids 1 and 2. */
static void pair_init(member ps[2])
{
	member_init(&ps[0], 1);
	member_init(&ps[1], 2);
}

static void pair_fini(member ps[2])
{
	member_fini(&ps[0]);
	member_fini(&ps[1]);
}

/* A new view of both, and each one's summary delivered to both, in agreed order. */
static void new_view_summaries_in(member ps[2])
{
	view(ps, 2);
	deliver(ps, 2, 0);
	deliver(ps, 2, 1);
}

/* The summary says what the state is: epoch, version, history id and ring, and prev. */
static void test_summary_sent_describes_the_state(void **st)
{
	(void)st;
	member p;
	member_init(&p, 2);
	changes(p.rs, "a", 3);
	uint32_t ids[] = {1, 2};
	vg_msync_view(p.ms, 2, ids, 2);
	vg_msync_send_summary(p.ms, p.rs, 42, 3);
	assert_int_equal(p.n_summaries, 1);
	vg_member_msg *m = vg_mm_decode(p.summary, strlen(p.summary), NULL, 0);
	assert_non_null(m);
	assert_int_equal(m->ring, 42);
	assert_int_equal(m->epoch, p.rs->epoch);
	assert_int_equal(m->version, 3);
	assert_true(vg_hid_equal(&m->history, &p.rs->hist.id));
	assert_int_equal(json_array_size(m->recent), 3);
	assert_int_equal(m->prev, 3);
	vg_mm_free(m);
	member_fini(&p);
}

/* No sync point (nothing decided, nobody in step, nothing held) until the last member's
 * summary is in; a summary from a node outside the view does not stand in for one. */
static void test_sync_point_only_when_every_summary_is_in(void **st)
{
	(void)st;
	member ps[3];
	for (size_t i = 0; i < 3; i++)
		member_init(&ps[i], (uint32_t)i + 1);
	view(ps, 3);
	deliver(ps, 3, 0);
	deliver(ps, 3, 1);
	member stranger;
	member_init(&stranger, 4);
	vg_msync_view(stranger.ms, 4, (uint32_t[]){4}, 1);
	vg_msync_send_summary(stranger.ms, stranger.rs, 7, 1);
	for (size_t i = 0; i < 3; i++)
		deliver_text(&ps[i], 4, stranger.summary);
	for (size_t i = 0; i < 3; i++) {
		assert_false(vg_msync_at_sync_point(ps[i].ms));
		assert_false(vg_msync_synced(ps[i].ms));
		assert_int_equal(ps[i].n_synced, 0);
		/* before the sync point nothing is held */
		size_t len;
		char *r = event_r("early", &len);
		assert_false(vg_msync_r(ps[i].ms, 1, r, len, NULL));
		free(r);
	}
	deliver(ps, 3, 2);
	for (size_t i = 0; i < 3; i++) {
		assert_true(vg_msync_at_sync_point(ps[i].ms));
		/* all at the same (empty) state: in step at once, nobody sends its state */
		assert_true(vg_msync_synced(ps[i].ms));
		assert_int_equal(ps[i].n_synced, 1);
		assert_int_equal(ps[i].n_state, 0);
		assert_int_equal(ps[i].n_lost, 0);
	}
	member_fini(&stranger);
	for (size_t i = 0; i < 3; i++)
		member_fini(&ps[i]);
}

/* Only the first summary of each member since the view counts, and none after the sync
 * point: a later, more advanced one from the same member changes nothing. */
static void test_first_summary_of_each_member_counts(void **st)
{
	(void)st;
	member ps[2];
	pair_init(ps);
	changes(ps[1].rs, "b", 2);
	view(ps, 2);
	char *first = strdup(ps[0].summary);
	/* n1 (empty) then, again, a summary of version 9 */
	member later;
	member_init(&later, 1);
	changes(later.rs, "l", 9);
	vg_msync_view(later.ms, 1, (uint32_t[]){1, 2}, 2);
	vg_msync_send_summary(later.ms, later.rs, 7, 1);
	for (size_t i = 0; i < 2; i++) {
		deliver_text(&ps[i], 1, first);
		deliver_text(&ps[i], 1, later.summary);
		assert_false(vg_msync_at_sync_point(ps[i].ms));
	}
	deliver(ps, 2, 1);
	/* the source is n2 (version 2), not n1's second summary (version 9) */
	assert_int_equal(ps[1].n_state, 1);
	assert_true(vg_msync_synced(ps[1].ms));
	assert_int_equal(ps[0].n_state, 0);
	assert_false(vg_msync_synced(ps[0].ms));
	/* after the sync point a summary counts for nothing */
	deliver_text(&ps[0], 1, later.summary);
	assert_int_equal(ps[0].n_state, 0);
	assert_false(vg_msync_synced(ps[0].ms));
	deliver_state(&ps[0], ps[1].rs, 2);
	assert_true(vg_msync_synced(ps[0].ms));
	free(first);
	member_fini(&later);
	pair_fini(ps);
}

/* A summary whose recent history cannot be read still counts (else the sync point never
 * comes), as an empty, unknown state: a lower member is then the source. */
static void test_malformed_summary_counts_as_empty(void **st)
{
	(void)st;
	member ps[2];
	pair_init(ps);
	changes(ps[0].rs, "a", 9);
	changes(ps[1].rs, "b", 2);
	view(ps, 2);
	/* n1's summary as it would be, but with a ring its parser refuses */
	vg_member_msg bad = {.kind = VG_MM_SUMMARY,
			     .ring = 7,
			     .epoch = ps[0].rs->epoch,
			     .version = ps[0].rs->version,
			     .history = ps[0].rs->hist.id,
			     .recent = json_loads("[[5, \"x\", \"event\"]]", 0, NULL),
			     .prev = 1};
	assert_non_null(bad.recent);
	for (size_t i = 0; i < 2; i++) {
		vg_msync_summary(ps[i].ms, 1, &bad, ps[i].rs);
		assert_false(vg_msync_at_sync_point(ps[i].ms));
	}
	json_decref(bad.recent);
	deliver(ps, 2, 1);
	for (size_t i = 0; i < 2; i++)
		assert_true(vg_msync_at_sync_point(ps[i].ms));
	/* n2 (version 2) is the source: n1 counted as version 0, and behind */
	assert_int_equal(ps[1].n_state, 1);
	assert_true(vg_msync_synced(ps[1].ms));
	assert_int_equal(ps[0].n_state, 0);
	assert_false(vg_msync_synced(ps[0].ms));
	/* an empty, unknown history is not reported as lost */
	assert_int_equal(ps[1].n_lost, 0);
	pair_fini(ps);
}

/* The member picked (highest epoch, then version) sends its state when anyone is behind and
 * is in step at once; the others wait for it. A failed send is only logged. */
static void test_source_picked_sends_state(void **st)
{
	(void)st;
	member ps[3];
	for (size_t i = 0; i < 3; i++)
		member_init(&ps[i], (uint32_t)i + 1);
	changes(ps[0].rs, "x", 2);
	/* n2 and n3 share n1's history and are further along: n3 the furthest */
	changes(ps[1].rs, "x", 3);
	changes(ps[2].rs, "x", 4);
	ps[2].fail_state = -1;
	view(ps, 3);
	for (size_t k = 0; k < 3; k++)
		deliver(ps, 3, k);
	assert_int_equal(ps[2].n_state, 1);
	assert_true(vg_msync_synced(ps[2].ms));
	assert_int_equal(ps[2].n_synced, 1);
	assert_int_equal(ps[2].n_lost, 0); /* behind on the same history: nothing lost */
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(ps[i].n_state, 0);
		assert_false(vg_msync_synced(ps[i].ms));
		assert_int_equal(ps[i].n_synced, 0);
	}
	for (size_t i = 0; i < 2; i++) {
		deliver_state(&ps[i], ps[2].rs, 3);
		assert_true(vg_msync_synced(ps[i].ms));
		assert_int_equal(ps[i].n_synced, 1);
	}
	for (size_t i = 0; i < 3; i++)
		member_fini(&ps[i]);
}

/* Two halves that committed apart: the source (the longer history) sends its state, then
 * records what the other loses, naming its changes; the other is behind, records nothing. */
static void test_diverged_history_reported(void **st)
{
	(void)st;
	member ps[2];
	pair_init(ps);
	changes(ps[0].rs, "common", 2);
	changes(ps[1].rs, "common", 2);
	changes(ps[0].rs, "only-n1-", 1);
	changes(ps[1].rs, "only-n2-", 3);
	new_view_summaries_in(ps);
	member *src = &ps[1], *other = &ps[0];
	assert_int_equal(src->n_state, 1);
	assert_int_equal(src->n_lost, 1);
	assert_int_equal(src->lost[0].who, 1);
	assert_string_equal(src->lost[0].kind, "history_diverged");
	assert_non_null(strstr(src->lost[0].text, "n1"));
	assert_non_null(strstr(src->lost[0].text, "n2"));
	assert_non_null(strstr(src->lost[0].text, "version 3"));
	assert_true(src->state_at < src->lost[0].at); /* recorded after the state */
	assert_true(src->lost[0].at < src->synced_at);
	assert_int_equal(other->n_lost, 0);
	assert_int_equal(other->n_state, 0);
	assert_false(vg_msync_synced(other->ms));
	/* the source's state replaces the diverged one and puts it in step */
	deliver_state(other, src->rs, 2);
	assert_true(vg_msync_synced(other->ms));
	pair_fini(ps);
}

/* Further behind than the source's recent history reaches: the state is replaced without a
 * history check, and that is recorded too (history_unverified). */
static void test_unverifiable_history_reported(void **st)
{
	(void)st;
	member ps[2];
	pair_init(ps);
	changes(ps[0].rs, "c", 1);
	changes(ps[1].rs, "c", 1);
	changes(ps[1].rs, "more", VG_HIST_RING + 10);
	new_view_summaries_in(ps);
	assert_int_equal(ps[1].n_state, 1);
	assert_int_equal(ps[1].n_lost, 1);
	assert_int_equal(ps[1].lost[0].who, 1);
	assert_string_equal(ps[1].lost[0].kind, "history_unverified");
	assert_non_null(strstr(ps[1].lost[0].text, "n1 (epoch 0, version 1) is further behind n2"));
	assert_int_equal(ps[0].n_lost, 0);
	pair_fini(ps);
}

/* A member behind holds the 'R' messages delivered after the sync point (not the state
 * itself); once the state is applied it is in step first, then gets them back in the order
 * delivered, with their tags; after that nothing is held. */
static void test_held_messages_applied_after_the_state_in_order(void **st)
{
	(void)st;
	member ps[2];
	pair_init(ps);
	changes(ps[1].rs, "s", 2);
	new_view_summaries_in(ps);
	member *p = &ps[0];
	assert_false(vg_msync_synced(p->ms));
	int tags[3];
	const char *texts[] = {"first", "second", "third"};
	char *r[3];
	size_t len[3];
	for (size_t i = 0; i < 3; i++) {
		r[i] = event_r(texts[i], &len[i]);
		assert_true(vg_msync_r(p->ms, (uint32_t)(i % 2) + 1, r[i], len[i], &tags[i]));
		assert_int_equal(vg_msync_held(p->ms), i + 1);
	}
	assert_int_equal(p->n_held, 0);
	/* a change applied meanwhile is no state_sync: still held, nothing handed back */
	vg_msync_applied(p->ms, false, p->rs);
	assert_int_equal(p->n_held, 0);
	deliver_state(p, ps[1].rs, 2);
	assert_int_equal(p->n_synced, 1);
	assert_int_equal(p->n_held, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(p->held[i].from, (uint32_t)(i % 2) + 1);
		assert_string_equal(p->held[i].data, r[i]);
		assert_ptr_equal(p->held[i].tag, &tags[i]);
		assert_true(p->held[i].synced);
		assert_true(p->held[i].at > p->synced_at);
	}
	assert_int_equal(vg_msync_held(p->ms), 0);
	assert_int_equal(p->n_dropped, 0);
	/* in step: applied at once from now on */
	assert_false(vg_msync_r(p->ms, 2, r[0], len[0], NULL));
	for (size_t i = 0; i < 3; i++)
		free(r[i]);
	pair_fini(ps);
}

/* A new view drops what the last one held (its tags given back) and starts afresh; so does
 * freeing. Losing Corosync ends being in step but keeps the view's sync point. */
static void test_new_view_drops_held_messages(void **st)
{
	(void)st;
	member ps[2];
	pair_init(ps);
	changes(ps[1].rs, "s", 2);
	new_view_summaries_in(ps);
	int t1, t2;
	size_t len;
	char *r = event_r("x", &len);
	assert_true(vg_msync_r(ps[0].ms, 2, r, len, &t1));
	view(ps, 2);
	assert_int_equal(ps[0].n_dropped, 1);
	assert_ptr_equal(ps[0].dropped[0], &t1);
	assert_int_equal(vg_msync_held(ps[0].ms), 0);
	assert_false(vg_msync_at_sync_point(ps[0].ms));
	assert_false(vg_msync_synced(ps[1].ms));
	deliver(ps, 2, 0);
	deliver(ps, 2, 1);
	assert_true(vg_msync_synced(ps[1].ms));
	vg_msync_disconnected(ps[1].ms);
	assert_false(vg_msync_synced(ps[1].ms));
	assert_true(vg_msync_at_sync_point(ps[1].ms));
	assert_true(vg_msync_r(ps[0].ms, 2, r, len, &t2));
	free(r);
	vg_msync_free(ps[0].ms);
	ps[0].ms = NULL;
	assert_int_equal(ps[0].n_dropped, 2);
	assert_ptr_equal(ps[0].dropped[1], &t2);
	pair_fini(ps);
}

/* In step only through a state_sync that brings the member to the picked state (or past it):
 * an older state, or one of the picked counts on another history, does not. */
static void test_synced_when_at_picked_state(void **st)
{
	(void)st;
	member ps[2];
	pair_init(ps);
	changes(ps[1].rs, "s", 4);
	new_view_summaries_in(ps);
	member *p = &ps[0];
	/* not a state_sync */
	changes(p->rs, "s", 4); /* even at the picked state by its own changes */
	vg_msync_applied(p->ms, false, p->rs);
	assert_false(vg_msync_synced(p->ms));
	vg_repstate_free(p->rs);
	p->rs = vg_repstate_new();
	/* an older state */
	vg_repstate *old = vg_repstate_new();
	changes(old, "s", 3);
	deliver_state(p, old, 2);
	assert_int_equal(p->rs->version, 3);
	assert_false(vg_msync_synced(p->ms));
	/* the picked counts on another history */
	vg_repstate *other = vg_repstate_new();
	changes(other, "t", 4);
	vg_repstate_free(p->rs);
	p->rs = vg_repstate_new();
	deliver_state(p, other, 2);
	assert_int_equal(p->rs->version, 4);
	assert_false(vg_msync_synced(p->ms));
	/* past the picked state counts */
	vg_repstate *past = vg_repstate_new();
	changes(past, "t", 5);
	deliver_state(p, past, 2);
	assert_true(vg_msync_synced(p->ms));
	assert_int_equal(p->n_synced, 1);
	/* and exactly the picked state, for a member behind in a new view */
	vg_repstate_free(p->rs);
	p->rs = vg_repstate_new();
	new_view_summaries_in(ps);
	assert_false(vg_msync_synced(p->ms));
	deliver_state(p, ps[1].rs, 2);
	assert_true(vg_msync_synced(p->ms));
	assert_int_equal(p->n_synced, 2);
	vg_repstate_free(old);
	vg_repstate_free(other);
	vg_repstate_free(past);
	pair_fini(ps);
}

static void test_is_state_sync(void **st)
{
	(void)st;
	vg_repstate *s = vg_repstate_new();
	size_t len;
	char *a = state_r(s, &len);
	assert_true(vg_msync_is_state_sync(a, len));
	free(a);
	a = event_r("e", &len);
	assert_false(vg_msync_is_state_sync(a, len));
	free(a);
	assert_false(vg_msync_is_state_sync("{\"kind\":", 8));
	vg_repstate_free(s);
}

int main(void)
{
	static vg_log_config quiet = {.level = VG_LOG_ERROR};
	vg_log_init(&quiet);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_summary_sent_describes_the_state),
	    cmocka_unit_test(test_sync_point_only_when_every_summary_is_in),
	    cmocka_unit_test(test_first_summary_of_each_member_counts),
	    cmocka_unit_test(test_malformed_summary_counts_as_empty),
	    cmocka_unit_test(test_source_picked_sends_state),
	    cmocka_unit_test(test_diverged_history_reported),
	    cmocka_unit_test(test_unverifiable_history_reported),
	    cmocka_unit_test(test_held_messages_applied_after_the_state_in_order),
	    cmocka_unit_test(test_new_view_drops_held_messages),
	    cmocka_unit_test(test_synced_when_at_picked_state),
	    cmocka_unit_test(test_is_state_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
