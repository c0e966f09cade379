/* sendq.c - the queue of messages waiting for Corosync (see sendq.h). Must not: talk to
 * Corosync or read a clock.
 */
#include "sendq.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

void vg_sendq_init(vg_sendq *q, size_t max)
{
	memset(q, 0, sizeof *q);
	q->max = max;
}

int vg_sendq_push(vg_sendq *q, const void *data, size_t len, bool view_bound, uint64_t view)
{
	if (q->len >= q->max)
		return -1;
	vg_sendq_msg *m = vg_malloc(sizeof *m + len);
	m->next = NULL;
	m->view_bound = view_bound;
	m->view = view;
	m->len = len;
	if (len)
		memcpy(m->data, data, len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->len++;
	return 0;
}

const vg_sendq_msg *vg_sendq_head(vg_sendq *q, uint64_t view, size_t *dropped)
{
	while (q->head && q->head->view_bound && q->head->view != view) {
		vg_sendq_pop(q);
		if (dropped)
			(*dropped)++;
	}
	return q->head;
}

void vg_sendq_pop(vg_sendq *q)
{
	vg_sendq_msg *m = q->head;
	if (!m)
		return;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	free(m);
}

void vg_sendq_clear(vg_sendq *q)
{
	while (q->head)
		vg_sendq_pop(q);
}
