/* garp.h - announce a virtual IP to the LAN after it was added.
 *
 * IPv4: a gratuitous ARP request and a gratuitous ARP reply (sender = target = VIP,
 * broadcast). IPv6: an unsolicited neighbour advertisement (override flag, target = VIP,
 * to ff02::1, hop limit 255, target link-layer address option, source = VIP).
 * Send once immediately; repeat with a uv timer (VG_GARP_COUNT times in all, every
 * VG_GARP_INTERVAL_MS) so the daemon's loop is never blocked.
 */
#ifndef VIGIL_GARP_H
#define VIGIL_GARP_H

#include <stddef.h>

/* ---- types ---------------------------------------------------------------- */

#define VG_GARP_COUNT	    3
#define VG_GARP_INTERVAL_MS 200

/* ---- functions ------------------------------------------------------------ */

/* Announce CIDR's address once on IFNAME (NULL: the interface that holds it).
 * Returns 0 when sent, 1 when the interface does not use ARP/ND (loopback, NOARP, no
 * link-layer address) and nothing was sent, -1 with err naming interface and address. */
int vg_garp_send_once(const char *ifname, const char *cidr, char *err, size_t errlen);

#endif
