/* vip.h - virtual IP addresses managed by netlink (the native `vip` resource).
 *
 * Every call is synchronous but bounded: one NETLINK_ROUTE socket per call, a 1 s receive
 * timeout, and the kernel's ACK awaited for every request. No `ip` command is forked.
 */
#ifndef VIGIL_VIP_H
#define VIGIL_VIP_H

#include <stddef.h>
#include <stdint.h>

/* ---- types ---------------------------------------------------------------- */

/* A parsed "10.0.0.100/24" or "fd00::100/64" (no prefix: /32 or /128). */
typedef struct {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
	unsigned int prefixlen;
} vg_vip_addr;

/* What announcing an address needs to know about its interface. */
typedef struct {
	unsigned int ifindex;
	unsigned short hwtype; /* ARPHRD_* */
	unsigned int flags;    /* IFF_* */
	uint8_t mac[32];
	size_t mac_len; /* 6 on Ethernet; 0 when the link has no address */
} vg_vip_ifinfo;

/* ---- functions ------------------------------------------------------------ */

/* Parse CIDR into out. Returns 0, or -1 with a message naming CIDR in err. */
int vg_vip_parse(const char *cidr, vg_vip_addr *out, char *err, size_t errlen);

/* "10.0.0.100/24"; buf should hold at least 64 bytes. Returns buf. */
char *vg_vip_format(const vg_vip_addr *a, char *buf, size_t len);

/* Add CIDR to IFNAME. IFNAME NULL: the interface that already has an address in the same
 * subnet. Idempotent: already present (on IFNAME, or anywhere when IFNAME is NULL) is
 * success. IPv6 addresses are added with IFA_F_NODAD, usable at once.
 * Returns 0, or -1 with a message naming the interface and the address in err. */
int vg_vip_add(const char *ifname, const char *cidr, char *err, size_t errlen);

/* Remove CIDR's address from IFNAME (NULL: from whichever interface holds it).
 * Absent is success. Returns 0 or -1 with err filled. */
int vg_vip_del(const char *ifname, const char *cidr, char *err, size_t errlen);

/* Is CIDR's address (any prefix length) on IFNAME (NULL: on any interface)?
 * Returns 1, 0, or -1 with err filled. */
int vg_vip_present(const char *ifname, const char *cidr, char *err, size_t errlen);

/* Name of the interface that holds CIDR's address (ifname must hold IF_NAMESIZE bytes).
 * Returns 1 found, 0 not present, -1 error. */
int vg_vip_locate(const char *cidr, char *ifname, char *err, size_t errlen);

/* ifindex, link type, flags and hardware address of IFNAME. Returns 0 or -1. */
int vg_vip_ifinfo_get(const char *ifname, vg_vip_ifinfo *out, char *err, size_t errlen);

#endif
