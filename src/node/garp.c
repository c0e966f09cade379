/* garp.c - gratuitous ARP and unsolicited neighbour advertisements for a VIP.
 *
 * Owns: building and sending one round of announcements (AF_PACKET for ARP, a raw ICMPv6
 * socket bound to the interface for NA). Every socket is opened and closed per call.
 * Must not: add or remove addresses (vip.c does), sleep or loop for repeats (the caller
 * repeats with a uv timer), or keep state between calls.
 */
#include "garp.h"
#include "errbuf.h"
#include "vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ARP for Ethernet/IPv4, as on the wire after the link header. */
struct garp_arp {
	uint16_t htype;
	uint16_t ptype;
	uint8_t hlen;
	uint8_t plen;
	uint16_t op;
	uint8_t sha[6];
	uint8_t spa[4];
	uint8_t tha[6];
	uint8_t tpa[4];
} __attribute__((packed));

/* Neighbour advertisement with one target link-layer address option (Ethernet). */
struct garp_na {
	struct nd_neighbor_advert na;
	uint8_t opt_type;
	uint8_t opt_len; /* units of 8 bytes */
	uint8_t mac[6];
} __attribute__((packed));

static int send_arp(const char *ifname, const char *cidr, const vg_vip_addr *a,
		    const vg_vip_ifinfo *info, char *err, size_t errlen)
{
	struct sockaddr_ll sll;
	struct garp_arp pkt;
	int fd, ret = 0;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0) {
		vg_seterr(err, errlen, "gratuitous ARP for %s on %s: packet socket: %s", cidr,
			  ifname, strerror(errno));
		return -1;
	}
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = (int)info->ifindex;
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);

	memset(&pkt, 0, sizeof pkt);
	pkt.htype = htons(ARPHRD_ETHER);
	pkt.ptype = htons(ETH_P_IP);
	pkt.hlen = 6;
	pkt.plen = 4;
	memcpy(pkt.sha, info->mac, 6);
	memcpy(pkt.spa, a->addr, 4);
	memcpy(pkt.tpa, a->addr, 4);

	/* Request: target hardware address zero (RFC 5227 announcement). */
	pkt.op = htons(ARPOP_REQUEST);
	if (sendto(fd, &pkt, sizeof pkt, 0, (struct sockaddr *)&sll, sizeof sll) < 0)
		ret = -1;
	/* Reply: for the hosts that only update their caches from replies. */
	pkt.op = htons(ARPOP_REPLY);
	memset(pkt.tha, 0xff, 6);
	if (ret == 0 && sendto(fd, &pkt, sizeof pkt, 0, (struct sockaddr *)&sll, sizeof sll) < 0)
		ret = -1;
	if (ret < 0)
		vg_seterr(err, errlen, "gratuitous ARP for %s on %s: %s", cidr, ifname,
			  strerror(errno));
	close(fd);
	return ret;
}

static int send_na(const char *ifname, const char *cidr, const vg_vip_addr *a,
		   const vg_vip_ifinfo *info, char *err, size_t errlen)
{
	struct sockaddr_in6 src, dst;
	struct garp_na pkt;
	int hops = 255, fd;
	const char *what;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0) {
		what = "raw ICMPv6 socket";
		goto fail;
	}
	what = "binding to the interface";
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0)
		goto fail;
	what = "setting the hop limit";
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) < 0)
		goto fail;
	int mif = (int)info->ifindex;
	what = "choosing the multicast interface";
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &mif, sizeof mif) < 0)
		goto fail;

	memset(&src, 0, sizeof src);
	src.sin6_family = AF_INET6;
	memcpy(&src.sin6_addr, a->addr, 16);
	if (IN6_IS_ADDR_LINKLOCAL(&src.sin6_addr))
		src.sin6_scope_id = info->ifindex;
	what = "binding to the address (is it on the interface?)";
	if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
		goto fail;

	memset(&pkt, 0, sizeof pkt);
	pkt.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	pkt.na.nd_na_code = 0;
	pkt.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	memcpy(&pkt.na.nd_na_target, a->addr, 16);
	pkt.opt_type = ND_OPT_TARGET_LINKADDR;
	pkt.opt_len = 1;
	memcpy(pkt.mac, info->mac, 6);

	memset(&dst, 0, sizeof dst);
	dst.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	dst.sin6_scope_id = info->ifindex;
	what = "sending";
	/* The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets. */
	if (sendto(fd, &pkt, sizeof pkt, 0, (struct sockaddr *)&dst, sizeof dst) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	vg_seterr(err, errlen, "neighbour advertisement for %s on %s: %s: %s", cidr, ifname, what,
		  strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int vg_garp_send_once(const char *ifname, const char *cidr, char *err, size_t errlen)
{
	char name[IF_NAMESIZE];
	char perr[256];
	vg_vip_addr a;
	vg_vip_ifinfo info;

	if (vg_vip_parse(cidr, &a, perr, sizeof perr) < 0) {
		vg_seterr(err, errlen, "%s", perr);
		return -1;
	}
	if (!ifname) {
		int r = vg_vip_locate(cidr, name, perr, sizeof perr);
		if (r < 0) {
			vg_seterr(err, errlen, "%s", perr);
			return -1;
		}
		if (r == 0) {
			vg_seterr(err, errlen, "cannot announce %s: no interface holds it", cidr);
			return -1;
		}
		ifname = name;
	}
	if (vg_vip_ifinfo_get(ifname, &info, perr, sizeof perr) < 0) {
		vg_seterr(err, errlen, "cannot announce %s: %s", cidr, perr);
		return -1;
	}
	if (info.hwtype != ARPHRD_ETHER || info.mac_len != 6 || (info.flags & IFF_NOARP))
		return 1;
	if (!(info.flags & IFF_UP)) {
		vg_seterr(err, errlen, "cannot announce %s: interface %s is down", cidr, ifname);
		return -1;
	}
	if (a.family == AF_INET)
		return send_arp(ifname, cidr, &a, &info, err, errlen);
	return send_na(ifname, cidr, &a, &info, err, errlen);
}
