/* membership.c - the calls of membership.h, passed to the backend a membership was made by.
 *
 * Owns: nothing but the dispatch. Must not: hold behaviour of its own; what a call does is
 * its backend's (corosync_membership.c, loopback_membership.c).
 */
#include "membership.h"

int vg_membership_send(vg_membership *m, const void *data, size_t len)
{
	return m->ops->send(m, data, len);
}

int vg_membership_send_view(vg_membership *m, const void *data, size_t len)
{
	return m->ops->send_view(m, data, len);
}

int vg_membership_watch_corosync(vg_membership *m, uint64_t period_ms)
{
	return m ? m->ops->watch(m, period_ms) : -1;
}

uint64_t vg_membership_answered_at(const vg_membership *m)
{
	return m ? m->ops->answered_at(m) : 0;
}

size_t vg_membership_ring_members(const vg_membership *m, uint32_t *out, size_t max)
{
	return m->ops->ring_members(m, out, max);
}

uint32_t vg_membership_local_nodeid(const vg_membership *m)
{
	return m ? m->ops->local_nodeid(m) : 0;
}

bool vg_membership_nodelist_known(const vg_membership *m)
{
	return m && m->ops->nodelist_known(m);
}

size_t vg_membership_nodelist(const vg_membership *m, vg_corosync_node *out, size_t max)
{
	return m ? m->ops->nodelist(m, out, max) : 0;
}

const char *vg_membership_cluster_name(const vg_membership *m)
{
	return m ? m->ops->cluster_name(m) : NULL;
}

uint32_t vg_membership_hold_ms(const vg_membership *m)
{
	return m ? m->ops->hold_ms(m) : 0;
}

void vg_membership_free(vg_membership *m)
{
	if (m)
		m->ops->free(m);
}
