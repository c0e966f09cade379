/* membership.h - the group this server is a member of: its membership, quorum and
 * agreed-order messages, and the nodelist it runs with, behind one interface with two
 * backends, so that one cluster.c, one coordinator and one scheduler drive both modes:
 *   corosync_membership.c  the local Corosync's CPG group (libcpg, libquorum, libcmap) on the
 *                          libuv loop; the calls that wait for Corosync's answer (connecting,
 *                          leaving) are made by threads of its own, so a hung Corosync
 *                          (SIGSTOP) never stalls the loop;
 *   loopback_membership.c  a standalone server: a cluster of one, always quorate, its own
 *                          messages delivered back to it in the order sent.
 * Every backend keeps the contract below: no callback runs inside a call of this interface
 * (each comes from the loop), and none after vg_membership_free.
 * Must not: decide anything about resources; it only reports membership and quorum and
 * carries messages.
 */
#ifndef VIGIL_MEMBERSHIP_H
#define VIGIL_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "corosync_match.h" /* vg_corosync_node */

typedef struct vg_membership vg_membership;

typedef struct {
	/* The CPG group's members (node ids, ascending) and votequorum's quorate flag, given once
	 * both are known for a ring; ring_id is the totem ring's sequence number. */
	void (*on_change)(void *arg, const uint32_t *members, size_t n, bool quorate,
			  uint64_t ring_id);
	/* A message multicast to the group, in agreed order (the same order on every member). */
	void (*on_message)(void *arg, uint32_t from_nodeid, const void *data, size_t len);
	/* A new totem ring (the nodes whose Corosync is in it), as soon as Corosync says so:
	 * before on_change, which waits until quorum and the group agree on it. */
	void (*on_ring)(void *arg, const uint32_t *members, size_t n, uint64_t ring_id);
	/* Connected to the local Corosync (and joined the group), or lost it. */
	void (*on_connection)(void *arg, bool connected);
} vg_membership_cbs;

/* A backend: the functions below, for one kind of membership (the contracts are theirs). */
typedef struct {
	int (*send)(vg_membership *m, const void *data, size_t len);
	int (*send_view)(vg_membership *m, const void *data, size_t len);
	int (*watch)(vg_membership *m, uint64_t period_ms);
	uint64_t (*answered_at)(const vg_membership *m);
	size_t (*ring_members)(const vg_membership *m, uint32_t *out, size_t max);
	uint32_t (*local_nodeid)(const vg_membership *m);
	bool (*nodelist_known)(const vg_membership *m);
	size_t (*nodelist)(const vg_membership *m, vg_corosync_node *out, size_t max);
	const char *(*cluster_name)(const vg_membership *m);
	uint32_t (*hold_ms)(const vg_membership *m);
	void (*free)(vg_membership *m);
} vg_membership_ops;

/* What every backend's membership starts with. */
struct vg_membership {
	const vg_membership_ops *ops;
};

/* Start connecting to the local Corosync and joining `group` (retried every 500 ms while
 * Corosync is not there; an attempt that Corosync does not answer waits, off the loop, until
 * it does); the first attempt is started from the loop, and its outcome comes back through
 * it, so no callback runs before this returns. cbs is copied; any callback may be NULL. NULL
 * on bad arguments. */
vg_membership *vg_membership_corosync_new(uv_loop_t *loop, const char *group,
					  const vg_membership_cbs *cbs, void *arg);
/* A cluster of one, for a standalone server: on the loop, after this returns, on_connection
 * (connected), on_ring and on_change ({nodeid}, quorate, ring 1) are called once each; every
 * message sent is delivered back (on_message from nodeid, whole, in the order sent) from the
 * loop, never inside the send. It has no nodelist; it always answers (answered_at is the time
 * of the call); hold_ms is 0. NULL on bad arguments. */
vg_membership *vg_membership_loopback_new(uv_loop_t *loop, uint32_t nodeid,
					  const vg_membership_cbs *cbs, void *arg);
/* Multicast data to the group in agreed order (framed, and in pieces when large: frag.h). Returns 0
 * when sent or queued (Corosync asked to try again; the queue is retried from a timer in order), -1
 * when not connected, the queue is full or Corosync refused. Queued messages are dropped if the
 * connection is lost. */
int vg_membership_send(vg_membership *m, const void *data, size_t len);
/* The same for a message that counts only in the current view (reports, actions, summaries,
 * heartbeats): if it has to be queued and the view changes before Corosync takes it, it is
 * dropped instead of sent in the new view. */
int vg_membership_send_view(vg_membership *m, const void *data, size_t len);
/* Start asking the local Corosync, from a thread of its own, every period_ms whether it
 * answers; vg_membership_answered_at() is the monotonic ms (uv_hrtime) at which the last
 * request it answered was made, 0 before any. A hung Corosync answers nothing. */
int vg_membership_watch_corosync(vg_membership *m, uint64_t period_ms);
uint64_t vg_membership_answered_at(const vg_membership *m);
/* The totem ring's members (node ids, Corosync up there; vigild may not be) as of the last
 * on_change; returns how many (at most max are copied). */
size_t vg_membership_ring_members(const vg_membership *m, uint32_t *out, size_t max);
/* This node's Corosync node id, 0 while not connected. */
uint32_t vg_membership_local_nodeid(const vg_membership *m);
/* The running Corosync's nodelist and totem.cluster_name, read from cmap each time the
 * connection is made (before on_connection). vg_membership_nodelist_known() is false while not
 * connected or when reading them failed (logged): then nothing is known of them. The nodelist
 * call returns how many nodes (at most max are copied, in cmap's order), 0 when not known.
 * The cluster name is NULL when not known or when Corosync has none. */
bool vg_membership_nodelist_known(const vg_membership *m);
size_t vg_membership_nodelist(const vg_membership *m, vg_corosync_node *out, size_t max);
const char *vg_membership_cluster_name(const vg_membership *m);
/* The totem hold the running Corosync uses (runtime.config.totem.hold, read with the nodelist):
 * how long an idle token stays at the ring's representative, which bounds how far apart the
 * two sides of a cut see the new membership. 0 when not known. */
uint32_t vg_membership_hold_ms(const vg_membership *m);
/* Leave, finalize and release. The memory is released by the loop's close callbacks: run
 * the loop (uv_run) after this before closing it; it runs until Corosync answered the leave,
 * at most 2 s (a hung Corosync is not waited for longer). No callback is called after this. */
void vg_membership_free(vg_membership *m);

#endif
