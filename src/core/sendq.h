/* sendq.h - the ordered queue of messages Corosync asked to send again later (TRY_AGAIN).
 *
 * Owns: the messages, in the order they were given, each with the membership view it was
 * made in when it counts only there (reports, actions, summaries, heartbeats): such a message
 * is dropped, not sent, when the view changed before Corosync took it. The others (replicated
 * changes, operator requests, goodbye) go out as they are.
 * Must not: talk to Corosync (corosync_membership.c sends what vg_sendq_head gives), or read a clock.
 */
#ifndef VIGIL_SENDQ_H
#define VIGIL_SENDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vg_sendq_msg {
	struct vg_sendq_msg *next;
	bool view_bound;
	uint64_t view;
	size_t len;
	unsigned char data[];
} vg_sendq_msg;

typedef struct {
	vg_sendq_msg *head, *tail;
	size_t len, max;
} vg_sendq;

void vg_sendq_init(vg_sendq *q, size_t max);
/* Append a copy; -1 when full. */
int vg_sendq_push(vg_sendq *q, const void *data, size_t len, bool view_bound, uint64_t view);
/* The next message to send in `view`, dropping (and counting in *dropped) those bound to
 * another view; NULL when empty. */
const vg_sendq_msg *vg_sendq_head(vg_sendq *q, uint64_t view, size_t *dropped);
/* Remove the head (sent, or refused for good). */
void vg_sendq_pop(vg_sendq *q);
void vg_sendq_clear(vg_sendq *q);

#endif
