/* member_sync.c - a member getting in step after a membership change (see member_sync.h).
 *
 * Owns the view's summaries, its sync point, the picked state and the held 'R' messages.
 * Must not: do I/O or read a clock (vg_msync_io does the sending and the applying).
 */
#include "member_sync.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "history.h"
#include "log.h"

/* A member's summary as delivered; s.recent points into ring (owned). */
typedef struct {
	vg_repstate_summary s;
	vg_hist_entry *ring;
} summary;

typedef struct {
	uint32_t from;
	char *data;
	size_t len;
	void *tag;
} held_msg;

struct vg_msync {
	vg_msync_io io;
	void *arg;
	uint32_t self;
	uint32_t *members;
	size_t n_members;
	summary *sums;
	size_t n_sums;
	bool sync_point; /* every summary of this view delivered */
	bool synced;
	uint64_t max_epoch, max_version; /* the picked state */
	vg_hid max_id;
	held_msg *held; /* 'R' messages kept after the sync point until the state arrives */
	size_t n_held;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = vg_realloc(p, n ? n : 1);
	return q;
}

vg_msync *vg_msync_new(const vg_msync_io *io, void *arg)
{
	vg_msync *s = vg_calloc(1, sizeof *s);
	s->io = *io;
	s->arg = arg;
	return s;
}

static void sums_clear(vg_msync *s)
{
	for (size_t i = 0; i < s->n_sums; i++)
		free(s->sums[i].ring);
	s->n_sums = 0;
}

static void held_clear(vg_msync *s)
{
	for (size_t i = 0; i < s->n_held; i++) {
		free(s->held[i].data);
		if (s->io.drop_held)
			s->io.drop_held(s->arg, s->held[i].tag);
	}
	s->n_held = 0;
}

void vg_msync_free(vg_msync *s)
{
	if (!s)
		return;
	sums_clear(s);
	free(s->sums);
	held_clear(s);
	free(s->held);
	free(s->members);
	free(s);
}

void vg_msync_view(vg_msync *s, uint32_t self, const uint32_t *members, size_t n)
{
	s->self = self;
	free(s->members);
	s->members = vg_calloc(n, sizeof *members);
	if (n)
		memcpy(s->members, members, n * sizeof *members);
	s->n_members = n;
	sums_clear(s);
	s->sync_point = false;
	s->synced = false;
	held_clear(s);
}

void vg_msync_send_summary(vg_msync *s, const vg_repstate *rs, uint64_t ring, size_t prev)
{
	vg_member_msg m = {.kind = VG_MM_SUMMARY,
			   .ring = ring,
			   .epoch = rs->epoch,
			   .version = rs->version,
			   .history = rs->hist.id,
			   .recent = vg_history_ring_json(rs->hist.ring, rs->hist.n),
			   .prev = prev};
	s->io.send_summary(s->arg, &m);
	json_decref(m.recent);
}

static const char *name_of(const vg_msync *s, uint32_t id)
{
	return s->io.node_name ? s->io.node_name(s->arg, id) : NULL;
}

/* A delivered summary (decoded, so well-formed) into *out; a summary without a history has
 * the zero id and no ring, and is compared by counts. -1 when its ring cannot be read
 * (out->ring may then still need freeing). */
static int summary_parse(const vg_member_msg *m, uint32_t from, summary *out)
{
	*out = (summary){0};
	out->s.nodeid = from;
	out->s.epoch = m->epoch;
	out->s.version = m->version;
	out->s.id = m->history;
	out->s.prev_members = (uint32_t)m->prev; /* at most VG_MM_PREV_MAX */
	if (m->recent) {
		out->ring = vg_calloc(VG_HIST_RING, sizeof *out->ring);
		int n = out->ring ? vg_history_ring_parse(m->recent, out->ring, NULL, 0) : -1;
		if (n < 0) {
			free(out->ring);
			out->ring = NULL;
			return -1;
		}
		out->s.recent = out->ring;
		out->s.n_recent = (size_t)n;
	}
	return 0;
}

/* What a member loses at a merge, for the records (made by the source). */
typedef struct {
	uint32_t who;
	const char *kind; /* history_diverged or history_unverified */
	char text[VG_REPSTATE_TEXT_MAX];
} lost_report;

/* The sync point: compare every member's history with the one picked, log what a diverged
 * member loses (the source also records it). Returns whether any member is not exactly at
 * the picked state; *me_behind for this member. */
static bool judge_histories(vg_msync *s, size_t src, bool *me_behind, lost_report *lost,
			    size_t *n_lost)
{
	const vg_repstate_summary *ss = &s->sums[src].s;
	const char *sname = name_of(s, ss->nodeid);
	bool behind_any = false;
	*me_behind = true;
	*n_lost = 0;
	for (size_t i = 0; i < s->n_sums; i++) {
		const vg_repstate_summary *m = &s->sums[i].s;
		uint64_t fork;
		bool known;
		vg_hist_rel rel = vg_history_relation(ss, m, &fork, &known);
		const char *nm = name_of(s, m->nodeid);
		if (m->nodeid == s->self)
			*me_behind = rel != VG_HIST_SAME;
		behind_any = behind_any || rel != VG_HIST_SAME;
		if (rel == VG_HIST_UNVERIFIED && !vg_hid_is_zero(&m->id)) {
			/* recorded too: had it committed apart, that is lost unseen by a check */
			lost[*n_lost].who = m->nodeid;
			lost[*n_lost].kind = "history_unverified";
			char *t = lost[(*n_lost)++].text;
			snprintf(t, VG_REPSTATE_TEXT_MAX,
				 "%s (epoch %llu, version %llu) is further behind %s (epoch %llu, "
				 "version %llu) than its recent history reaches: its state is "
				 "replaced without a history check",
				 nm ? nm : "?", (unsigned long long)m->epoch,
				 (unsigned long long)m->version, sname ? sname : "?",
				 (unsigned long long)ss->epoch, (unsigned long long)ss->version);
			vg_warn("%s", t);
		}
		if (rel != VG_HIST_DIVERGED)
			continue;
		lost[*n_lost].who = m->nodeid;
		lost[*n_lost].kind = "history_diverged";
		char *t = lost[(*n_lost)++].text;
		vg_history_lost_text(ss, sname ? sname : "?", m, nm ? nm : "?", fork, known, t,
				     VG_REPSTATE_TEXT_MAX);
		vg_error("diverged cluster history: %s", t);
	}
	return behind_any;
}

static void set_synced(vg_msync *s)
{
	s->synced = true;
	s->io.synced(s->arg);
}

void vg_msync_summary(vg_msync *s, uint32_t from, const vg_member_msg *o, const vg_repstate *rs)
{
	if (s->sync_point)
		return; /* the first summary of each member since the change counts */
	for (size_t i = 0; i < s->n_sums; i++)
		if (s->sums[i].s.nodeid == from)
			return;
	summary got;
	if (summary_parse(o, from, &got) < 0) {
		/* still counted (or the sync point never comes), as an empty, unknown history */
		vg_warn("a malformed summary from node id %u: taken as an empty state", from);
		free(got.ring);
		got = (summary){.s = {.nodeid = from}};
	}
	s->sums = xrealloc(s->sums, (s->n_sums + 1) * sizeof *s->sums);
	s->sums[s->n_sums++] = got;
	for (size_t k = 0; k < s->n_members; k++) {
		bool have = false;
		for (size_t i = 0; i < s->n_sums; i++)
			have = have || s->sums[i].s.nodeid == s->members[k];
		if (!have)
			return;
	}
	/* the sync point: the same moment in the agreed order on every member */
	s->sync_point = true;
	vg_repstate_summary *ss = vg_calloc(s->n_sums, sizeof *ss);
	for (size_t i = 0; i < s->n_sums; i++)
		ss[i] = s->sums[i].s;
	size_t src = vg_repstate_pick_source(ss, s->n_sums);
	free(ss);
	s->max_epoch = s->sums[src].s.epoch;
	s->max_version = s->sums[src].s.version;
	s->max_id = s->sums[src].s.id;
	bool me_behind;
	size_t n_lost;
	lost_report *lost = vg_calloc(s->n_sums, sizeof *lost);
	bool behind_any = judge_histories(s, src, &me_behind, lost, &n_lost);
	if (behind_any && s->sums[src].s.nodeid == s->self) {
		vg_info("sending the cluster state (epoch %llu, version %llu) to members behind",
			(unsigned long long)rs->epoch, (unsigned long long)rs->version);
		if (s->io.send_state(s->arg) != 0)
			vg_error("cannot send the cluster state");
		/* after the state, so the record is part of the history everyone continues */
		for (size_t i = 0; i < n_lost; i++)
			s->io.record_lost(s->arg, lost[i].who, lost[i].kind, lost[i].text);
	}
	free(lost);
	if (!me_behind)
		set_synced(s);
	else
		vg_info("this node's state is behind (epoch %llu, version %llu): waiting for "
			"the cluster's",
			(unsigned long long)rs->epoch, (unsigned long long)rs->version);
}

bool vg_msync_is_state_sync(const char *data, size_t len)
{
	json_t *o = json_loadb(data, len, 0, NULL);
	const char *k = json_string_value(json_object_get(o, "kind"));
	bool yes = k && !strcmp(k, "state_sync");
	json_decref(o);
	return yes;
}

bool vg_msync_r(vg_msync *s, uint32_t from, const char *data, size_t len, void *tag)
{
	if (s->synced || !s->sync_point || vg_msync_is_state_sync(data, len))
		return false;
	/* behind: keep it for after the state arrives (the owner's own are answered then) */
	s->held = xrealloc(s->held, (s->n_held + 1) * sizeof *s->held);
	char *copy = vg_calloc(len + 1, 1);
	memcpy(copy, data, len);
	s->held[s->n_held++] = (held_msg){from, copy, len, tag};
	return true;
}

void vg_msync_applied(vg_msync *s, bool was_state, const vg_repstate *rs)
{
	if (!was_state || s->synced || !s->sync_point)
		return;
	if (!(rs->epoch > s->max_epoch ||
	      (rs->epoch == s->max_epoch && rs->version > s->max_version) ||
	      (rs->epoch == s->max_epoch && rs->version == s->max_version &&
	       vg_hid_equal(&rs->hist.id, &s->max_id))))
		return;
	set_synced(s);
	/* what was delivered after the sync point, on top of the state received */
	held_msg *h = s->held;
	size_t n = s->n_held;
	s->held = NULL;
	s->n_held = 0;
	for (size_t i = 0; i < n; i++) {
		s->io.apply_held(s->arg, h[i].from, h[i].data, h[i].len, h[i].tag);
		free(h[i].data);
	}
	free(h);
}

void vg_msync_disconnected(vg_msync *s)
{
	s->synced = false;
}

bool vg_msync_synced(const vg_msync *s)
{
	return s->synced;
}

bool vg_msync_at_sync_point(const vg_msync *s)
{
	return s->sync_point;
}

size_t vg_msync_held(const vg_msync *s)
{
	return s->n_held;
}
