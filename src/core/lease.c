/* lease.c - this server's lease and the view rules of messages (see lease.h).
 * Must not: do I/O or read a clock.
 */
#include "lease.h"

#include <string.h>

void vg_lease_init(vg_lease *l, uint64_t lease_ms)
{
	memset(l, 0, sizeof *l);
	l->lease_ms = lease_ms;
}

void vg_lease_delivered(vg_lease *l, uint64_t sent_ms, bool quorate_view)
{
	if (quorate_view && sent_ms + l->lease_ms > l->until)
		l->until = sent_ms + l->lease_ms;
}

void vg_lease_answered(vg_lease *l, uint64_t asked_ms)
{
	if (asked_ms > l->answered_at)
		l->answered_at = asked_ms;
}

bool vg_lease_held(const vg_lease *l, uint64_t now)
{
	return now < l->until;
}

static bool answering(const vg_lease *l, uint64_t now)
{
	return l->answered_at && now < l->answered_at + l->lease_ms;
}

bool vg_lease_check(vg_lease *l, uint64_t now)
{
	if (l->until && !vg_lease_held(l, now) && !answering(l, now))
		l->halted = true;
	return l->halted;
}

bool vg_lease_resume(vg_lease *l, uint64_t now, bool synced_member)
{
	if (l->halted && vg_lease_held(l, now) && synced_member)
		l->halted = false;
	return !l->halted;
}

uint64_t vg_lease_next_check(const vg_lease *l, uint64_t now)
{
	uint64_t at = l->until;
	if (l->answered_at && l->answered_at + l->lease_ms > at)
		at = l->answered_at + l->lease_ms;
	return at > now ? at - now : 1;
}

bool vg_view_accepts_action(uint64_t ring, const char *leader, uint64_t msg_ring, const char *from)
{
	return msg_ring == ring && leader && from && !strcmp(leader, from);
}

bool vg_view_accepts_report(uint64_t ring, uint64_t msg_ring)
{
	return msg_ring == ring;
}
