/* vip.c - add, remove and query virtual IP addresses over rtnetlink (libmnl).
 *
 * Owns: address parsing, the NETLINK_ROUTE requests (RTM_GETADDR/NEWADDR/DELADDR/GETLINK)
 * and the choice of interface for a VIP given without one.
 * Must not: fork (`ip` is never run), block longer than the socket's 1 s receive timeout,
 * keep state between calls, or announce addresses (garp.c does that).
 */
#include "vip.h"
#include "errbuf.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>

#define NL_BUF_SIZE    32768
#define NL_TIMEOUT_SEC 1

typedef struct {
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
} nl_ctx;

/* One address as the kernel reported it. */
typedef struct {
	unsigned int ifindex;
	unsigned int prefixlen;
	uint8_t addr[16];
} addr_entry;

typedef struct {
	int family;
	addr_entry *items;
	size_t count;
	size_t cap;
	bool oom;
} addr_list;

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* ---- parsing -------------------------------------------------------------- */

int vg_vip_parse(const char *cidr, vg_vip_addr *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t hlen;

	memset(out, 0, sizeof *out);
	if (!cidr || !*cidr) {
		vg_seterr(err, errlen, "empty address");
		return -1;
	}
	slash = strchr(cidr, '/');
	hlen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	if (hlen == 0 || hlen >= sizeof host) {
		vg_seterr(err, errlen, "invalid address '%s'", cidr);
		return -1;
	}
	memcpy(host, cidr, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		out->prefixlen = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefixlen = 128;
	} else {
		vg_seterr(err, errlen, "invalid address '%s': '%s' is not an IPv4 or IPv6 address",
			  cidr, host);
		return -1;
	}
	if (slash) {
		const char *p = slash + 1;
		unsigned int max = out->prefixlen, v = 0;
		if (!*p) {
			vg_seterr(err, errlen, "invalid address '%s': missing prefix length", cidr);
			return -1;
		}
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || v > max) {
				v = max + 1;
				break;
			}
			v = v * 10 + (unsigned int)(*p - '0');
		}
		if (v > max) {
			vg_seterr(err, errlen, "invalid address '%s': prefix length must be 0..%u",
				  cidr, max);
			return -1;
		}
		out->prefixlen = v;
	}
	return 0;
}

char *vg_vip_format(const vg_vip_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (!inet_ntop(a->family, a->addr, host, sizeof host))
		snprintf(host, sizeof host, "?");
	snprintf(buf, len, "%s/%u", host, a->prefixlen);
	return buf;
}

/* Do A and B agree in their first PLEN bits? */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned int plen)
{
	unsigned int full = plen / 8, rest = plen % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* ---- netlink plumbing ----------------------------------------------------- */

static int nl_open(nl_ctx *c, char *err, size_t errlen)
{
	struct timeval tv = {.tv_sec = NL_TIMEOUT_SEC, .tv_usec = 0};

	c->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!c->nl) {
		vg_seterr(err, errlen, "netlink socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		vg_seterr(err, errlen, "netlink socket setup: %s", strerror(errno));
		mnl_socket_close(c->nl);
		c->nl = NULL;
		return -1;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (unsigned int)time(NULL);
	return 0;
}

static void nl_close(nl_ctx *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
}

/* Send NLH and read answers until the ACK, NLMSG_DONE or an error.
 * Returns 0, or a negative errno (-ETIMEDOUT when the kernel did not answer in time). */
static int nl_talk(nl_ctx *c, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char *buf = vg_malloc(NL_BUF_SIZE);
	int ret;

	if (!buf)
		return -ENOMEM;
	nlh->nlmsg_seq = ++c->seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(c->nl, buf, NL_BUF_SIZE);
		if (n < 0) {
			ret = (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
			break;
		}
		errno = 0;
		int r = mnl_cb_run(buf, (size_t)n, c->seq, c->portid, cb, data);
		if (r == MNL_CB_ERROR) {
			ret = errno ? -errno : -EPROTO;
			break;
		}
		if (r == MNL_CB_STOP) {
			ret = 0;
			break;
		}
	}
out:
	free(buf);
	return ret;
}

static const char *nl_strerror(int neg_errno)
{
	if (neg_errno == -ETIMEDOUT)
		return "no answer from the kernel within 1 s";
	return strerror(-neg_errno);
}

/* ---- address dump --------------------------------------------------------- */

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);
	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	addr_list *l = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	const struct nlattr *a;
	size_t alen = addr_len(l->family);

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != l->family)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof *ifa, addr_attr_cb, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) < alen)
		return MNL_CB_OK;
	if (l->count == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		addr_entry *n = vg_realloc(l->items, ncap * sizeof *n);
		if (!n) {
			l->oom = true;
			return MNL_CB_OK;
		}
		l->items = n;
		l->cap = ncap;
	}
	addr_entry *e = &l->items[l->count++];
	memset(e, 0, sizeof *e);
	e->ifindex = ifa->ifa_index;
	e->prefixlen = ifa->ifa_prefixlen;
	memcpy(e->addr, mnl_attr_get_payload(a), alen);
	return MNL_CB_OK;
}

static int addr_dump(nl_ctx *c, int family, addr_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (unsigned char)family;
	memset(l, 0, sizeof *l);
	l->family = family;
	int r = nl_talk(c, nlh, addr_msg_cb, l);
	if (r == 0 && l->oom)
		r = -ENOMEM;
	return r;
}

/* Index of the first entry holding ADDR (on IFINDEX unless 0), or -1. */
static long addr_find(const addr_list *l, const vg_vip_addr *a, unsigned int ifindex)
{
	for (size_t i = 0; i < l->count; i++) {
		if (ifindex && l->items[i].ifindex != ifindex)
			continue;
		if (memcmp(l->items[i].addr, a->addr, addr_len(a->family)) == 0)
			return (long)i;
	}
	return -1;
}

static int addr_request(nl_ctx *c, int type, unsigned int ifindex, const vg_vip_addr *a,
			unsigned int prefixlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen = addr_len(a->family);

	memset(buf, 0, sizeof buf); /* attribute padding goes to the kernel too */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (unsigned char)a->family;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_index = ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (a->family == AF_INET && a->addr[0] == 127)
		ifa->ifa_scope = RT_SCOPE_HOST;
	mnl_attr_put(nlh, IFA_LOCAL, alen, a->addr);
	if (a->family == AF_INET6 || type == RTM_NEWADDR)
		mnl_attr_put(nlh, IFA_ADDRESS, alen, a->addr);
	if (a->family == AF_INET6 && type == RTM_NEWADDR) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return nl_talk(c, nlh, NULL, NULL);
}

/* Resolve IFNAME (may be NULL: *idx = 0). */
static int resolve_ifname(const char *ifname, unsigned int *idx, const char *cidr, char *err,
			  size_t errlen)
{
	*idx = 0;
	if (!ifname)
		return 0;
	*idx = if_nametoindex(ifname);
	if (*idx == 0) {
		vg_seterr(err, errlen, "interface %s (for %s) not found", ifname, cidr);
		return -1;
	}
	return 0;
}

/* Common start of every call: parse, resolve, open, dump. */
static int prepare(const char *ifname, const char *cidr, vg_vip_addr *a, unsigned int *idx,
		   nl_ctx *c, addr_list *l, char *err, size_t errlen)
{
	char perr[160];

	c->nl = NULL;
	memset(l, 0, sizeof *l);
	if (vg_vip_parse(cidr, a, perr, sizeof perr) < 0) {
		vg_seterr(err, errlen, "%s", perr);
		return -1;
	}
	if (resolve_ifname(ifname, idx, cidr, err, errlen) < 0)
		return -1;
	if (nl_open(c, err, errlen) < 0)
		return -1;
	int r = addr_dump(c, a->family, l);
	if (r < 0) {
		vg_seterr(err, errlen, "listing addresses (for %s): %s", cidr, nl_strerror(r));
		nl_close(c);
		free(l->items);
		memset(l, 0, sizeof *l);
		return -1;
	}
	return 0;
}

static void finish(nl_ctx *c, addr_list *l)
{
	nl_close(c);
	free(l->items);
}

/* ---- public calls --------------------------------------------------------- */

int vg_vip_add(const char *ifname, const char *cidr, char *err, size_t errlen)
{
	vg_vip_addr a;
	unsigned int idx;
	nl_ctx c;
	addr_list l;
	char name[IF_NAMESIZE] = "?";
	int ret = -1;

	if (prepare(ifname, cidr, &a, &idx, &c, &l, err, errlen) < 0)
		return -1;
	if (addr_find(&l, &a, idx) >= 0) {
		ret = 0; /* already there */
		goto out;
	}
	if (!idx) {
		/* The interface with an address in the same subnet (the shorter prefix
		 * of the two decides, so a /32 VIP joins an existing /24). */
		for (size_t i = 0; i < l.count && !idx; i++) {
			unsigned int plen =
			    l.items[i].prefixlen < a.prefixlen ? l.items[i].prefixlen : a.prefixlen;
			if (plen > 0 && prefix_equal(l.items[i].addr, a.addr, plen))
				idx = l.items[i].ifindex;
		}
		if (!idx) {
			vg_seterr(err, errlen,
				  "no interface has an address in the subnet of %s; "
				  "give the interface explicitly",
				  cidr);
			goto out;
		}
	}
	if (!if_indextoname(idx, name))
		snprintf(name, sizeof name, "#%u", idx);
	int r = addr_request(&c, RTM_NEWADDR, idx, &a, a.prefixlen);
	if (r < 0 && r != -EEXIST) {
		vg_seterr(err, errlen, "adding %s to interface %s: %s", cidr, name, nl_strerror(r));
		goto out;
	}
	ret = 0;
out:
	finish(&c, &l);
	return ret;
}

int vg_vip_del(const char *ifname, const char *cidr, char *err, size_t errlen)
{
	vg_vip_addr a;
	unsigned int idx;
	nl_ctx c;
	addr_list l;
	int ret = 0;

	if (prepare(ifname, cidr, &a, &idx, &c, &l, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < l.count; i++) {
		const addr_entry *e = &l.items[i];
		if ((idx && e->ifindex != idx) || memcmp(e->addr, a.addr, addr_len(a.family)))
			continue;
		int r = addr_request(&c, RTM_DELADDR, e->ifindex, &a, e->prefixlen);
		if (r < 0 && r != -EADDRNOTAVAIL && r != -ENODEV && r != -ENOENT) {
			char name[IF_NAMESIZE] = "?";
			if (!if_indextoname(e->ifindex, name))
				snprintf(name, sizeof name, "#%u", e->ifindex);
			vg_seterr(err, errlen, "removing %s from interface %s: %s", cidr, name,
				  nl_strerror(r));
			ret = -1;
			break;
		}
	}
	finish(&c, &l);
	return ret;
}

int vg_vip_present(const char *ifname, const char *cidr, char *err, size_t errlen)
{
	vg_vip_addr a;
	unsigned int idx;
	nl_ctx c;
	addr_list l;

	if (prepare(ifname, cidr, &a, &idx, &c, &l, err, errlen) < 0)
		return -1;
	int ret = addr_find(&l, &a, idx) >= 0 ? 1 : 0;
	finish(&c, &l);
	return ret;
}

int vg_vip_locate(const char *cidr, char *ifname, char *err, size_t errlen)
{
	vg_vip_addr a;
	unsigned int idx;
	nl_ctx c;
	addr_list l;

	ifname[0] = '\0';
	if (prepare(NULL, cidr, &a, &idx, &c, &l, err, errlen) < 0)
		return -1;
	long i = addr_find(&l, &a, 0);
	int ret = 0;
	if (i >= 0) {
		if (if_indextoname(l.items[i].ifindex, ifname)) {
			ret = 1;
		} else {
			vg_seterr(err, errlen, "interface #%u holding %s: %s", l.items[i].ifindex,
				  cidr, strerror(errno));
			ret = -1;
		}
	}
	finish(&c, &l);
	return ret;
}

/* ---- link info ------------------------------------------------------------ */

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	vg_vip_ifinfo *out = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof *ifi, link_attr_cb, tb);
	out->ifindex = (unsigned int)ifi->ifi_index;
	out->hwtype = ifi->ifi_type;
	out->flags = ifi->ifi_flags;
	if (tb[IFLA_ADDRESS]) {
		size_t n = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);
		if (n > sizeof out->mac)
			n = sizeof out->mac;
		memcpy(out->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), n);
		out->mac_len = n;
	}
	return MNL_CB_OK;
}

int vg_vip_ifinfo_get(const char *ifname, vg_vip_ifinfo *out, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	nl_ctx c;

	memset(out, 0, sizeof *out);
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		vg_seterr(err, errlen, "invalid interface name '%s'", ifname ? ifname : "");
		return -1;
	}
	if (nl_open(&c, err, errlen) < 0)
		return -1;
	memset(buf, 0, sizeof buf); /* attribute padding goes to the kernel too */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	int r = nl_talk(&c, nlh, link_msg_cb, out);
	nl_close(&c);
	if (r == 0 && out->ifindex == 0)
		r = -ENODEV;
	if (r < 0) {
		vg_seterr(err, errlen, "interface %s: %s", ifname,
			  r == -ENODEV ? "not found" : nl_strerror(r));
		return -1;
	}
	return 0;
}
