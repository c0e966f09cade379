/* lease.h - this server's lease, and which messages count in the current membership view.
 *
 * Owns: the rule by which a server may keep running what it runs: it holds a lease renewed by
 * its own heartbeat coming back through Corosync, in agreed order, in a view it believes
 * quorate; the lease runs out cluster.lease after the heartbeat that renewed it was sent (the
 * quorate side counts from the last message it delivered from the node, later than that
 * send, see coordinator.h). A lease that ran out means: halt (stop everything, start nothing,
 * stop feeding the watchdog), except while the local Corosync keeps answering requests: then
 * it is alive and forming a new membership (no heartbeat is delivered anywhere until it has
 * one), and that membership stops this node if it holds no majority (the quorate side allows
 * for that moment, the loss seen on its side + the skew). A Corosync that hangs (SIGSTOP) or
 * dies answers nothing: the node halts one lease after its last heartbeat came back.
 * Also the view rules of messages (issue 8 item 6): an action counts only in the ring it was
 * sent in and only from the coordinator of the current view; a report (and the acks in it)
 * only in the ring it was sent in.
 * Must not: do I/O or read a clock; time comes in as arguments (monotonic ms).
 */
#ifndef VIGIL_LEASE_H
#define VIGIL_LEASE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
	uint64_t lease_ms;
	uint64_t until;	      /* held while now < until; 0: never held */
	uint64_t answered_at; /* the local Corosync last answered a request; 0: never */
	bool halted;	      /* it ran out: the node halted and waits to resume */
} vg_lease;

void vg_lease_init(vg_lease *l, uint64_t lease_ms);
/* This server's own heartbeat, sent at sent_ms, was delivered back to it; quorate_view: in
 * a view it believes quorate (its ring holds a majority of the servers). Only then does it
 * renew the lease (to sent_ms + lease). */
void vg_lease_delivered(vg_lease *l, uint64_t sent_ms, bool quorate_view);
/* The local Corosync answered a request that was made at asked_ms. */
void vg_lease_answered(vg_lease *l, uint64_t asked_ms);
/* The lease is held at now. */
bool vg_lease_held(const vg_lease *l, uint64_t now);
/* Whether the node must halt at now: the lease ran out and the local Corosync has not
 * answered within a lease. Sets halted when it must; halted stays set until vg_lease_resume.
 * Before the lease was first held (start-up) the start-up rules decide: false. */
bool vg_lease_check(vg_lease *l, uint64_t now);
/* After a halt: the node may resume when the lease is held again and it is a synced member;
 * true (and halted cleared) when it may. */
bool vg_lease_resume(vg_lease *l, uint64_t now, bool synced_member);
/* Milliseconds from now until vg_lease_check may next change its answer (at least 1). */
uint64_t vg_lease_next_check(const vg_lease *l, uint64_t now);

/* An action sent in ring msg_ring by `from`: taken on only in that ring and from the current
 * view's coordinator (leader: NULL without one). */
bool vg_view_accepts_action(uint64_t ring, const char *leader, uint64_t msg_ring, const char *from);
/* A report (with its acks) sent in ring msg_ring counts only in that ring. */
bool vg_view_accepts_report(uint64_t ring, uint64_t msg_ring);

#endif
