/* class_vip.c - the native `vip` class (see rclass.h).
 *
 * Owns: an address's start (added by netlink, then announced: VG_GARP_COUNT gratuitous ARPs
 * or unsolicited neighbour advertisements, VG_GARP_INTERVAL_MS apart, on a timer), its stop
 * (removed: absent is stopped) and its monitor (present on its interface; or the native check
 * when the resource has one). Every operation's work is one bounded netlink exchange done
 * within the call, so that a halt removes every address before it returns; the answer still
 * comes from the loop (rclass.c). There is no promote, demote or notify. Must not: decide
 * anything, or fork.
 */
#include <stdio.h>
#include <stdlib.h>

#include "garp.h"
#include "log.h"
#include "rclass.h"
#include "vip.h"
#include "mem.h"

typedef struct {
	char ifname[64]; /* where the address went (for the announcements) */
	int garp_left;
	uv_timer_t garp;
} vip;

static void vip_init(vg_rinst *i)
{
	vip *v = vg_calloc(1, sizeof *v);
	i->priv = v;
	uv_timer_init(i->loop, &v->garp);
	v->garp.data = i;
}

static const char *address(const vg_rinst *i)
{
	return vg_resource_param(i->cfg, "address");
}

static const char *interface(const vg_rinst *i)
{
	return vg_resource_param(i->cfg, "interface"); /* NULL: by subnet */
}

static void on_garp(uv_timer_t *t)
{
	vg_rinst *i = t->data;
	vip *v = i->priv;
	char err[256];
	if (v->garp_left <= 0)
		return;
	if (vg_garp_send_once(v->ifname, address(i), err, sizeof err))
		vg_warn("%s: announcement failed: %s", i->cfg->name, err);
	if (--v->garp_left > 0)
		uv_timer_start(&v->garp, on_garp, VG_GARP_INTERVAL_MS, 0);
}

static void stop_announcing(vip *v)
{
	v->garp_left = 0;
	uv_timer_stop(&v->garp);
}

/* Probe and monitor: not there, or its interface gone, is not running (a monitor counts it
 * failed). */
static void vip_present(vg_rinst *i)
{
	char err[256] = "";
	int p = vg_vip_present(interface(i), address(i), err, sizeof err);
	if (p == 0)
		snprintf(err, sizeof err, "%s is not on %s", address(i),
			 interface(i) ? interface(i) : "any interface");
	if (p > 0) {
		vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
		return;
	}
	stop_announcing(i->priv);
	vg_rinst_done(i, VG_OUTCOME_NOT_RUNNING, 1, err);
}

static void vip_monitor(vg_rinst *i)
{
	if (i->cfg->check.kind != VG_CHECK_NONE)
		vg_rinst_monitor_check(i);
	else
		vip_present(i);
}

static void vip_start(vg_rinst *i)
{
	vip *v = i->priv;
	char err[256] = "";
	if (vg_vip_add(interface(i), address(i), err, sizeof err) != 0 ||
	    vg_vip_locate(address(i), v->ifname, err, sizeof err) != 1) {
		vg_rinst_done(i, VG_OUTCOME_FAILED, 1, err);
		return;
	}
	v->garp_left = VG_GARP_COUNT;
	on_garp(&v->garp); /* the first announcement goes out now */
	vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
}

static void vip_stop(vg_rinst *i)
{
	char err[256] = "";
	stop_announcing(i->priv);
	/* Absent (or its interface gone) is stopped. */
	if (vg_vip_present(interface(i), address(i), err, sizeof err) != 1 ||
	    vg_vip_del(interface(i), address(i), err, sizeof err) == 0)
		vg_rinst_done(i, VG_OUTCOME_OK, 0, NULL);
	else
		vg_rinst_done(i, VG_OUTCOME_FAILED, 1, err);
}

/* Nothing of a vip runs after its call but the announcements (and a check as monitor, which
 * rclass.c ends). */
static bool vip_abandon(vg_rinst *i)
{
	(void)i;
	return true;
}

static void on_garp_close(uv_handle_t *h)
{
	vg_rinst_unpend(h->data);
}

static void vip_close(vg_rinst *i)
{
	vip *v = i->priv;
	vg_rinst_pend(i);
	uv_close((uv_handle_t *)&v->garp, on_garp_close);
}

const vg_class_ops vg_class_vip = {
    .name = "vip",
    .stops_at_once = true,
    .init = vip_init,
    .probe = vip_present,
    .start = vip_start,
    .stop = vip_stop,
    .monitor = vip_monitor,
    .abandon = vip_abandon,
    .close = vip_close,
};
