/* corosync_match.c - does a running Corosync's nodelist match the configuration's servers?
 *
 * Owns: comparing the nodelist and cluster_name the local Corosync runs with (read from cmap by
 * corosync_membership.c) with the servers of a vg_config: the same node ids (those the configuration's
 * loader gave or derived, which `vigil corosync-conf` writes) at the same addresses, no node
 * Corosync has that the configuration does not, the same cluster name; and the message that
 * names the first differences.
 * Must not: talk to Corosync, read files or log; it is pure (vigild refuses to run on a
 * mismatch, cluster.c decides that).
 */
#include "corosync_match.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
	char *buf;
	size_t len, pos;
	int count; /* differences found (named or not) */
} diffs;

__attribute__((format(printf, 2, 3))) static void add(diffs *d, const char *fmt, ...)
{
	if (d->count++ >= VG_COROSYNC_MATCH_MAX_NAMED || !d->buf || d->pos + 1 >= d->len)
		return;
	if (d->pos) {
		int k = snprintf(d->buf + d->pos, d->len - d->pos, "; ");
		d->pos += (size_t)k;
		if (d->pos >= d->len) {
			d->pos = d->len - 1;
			return;
		}
	}
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(d->buf + d->pos, d->len - d->pos, fmt, ap);
	va_end(ap);
	d->pos = k < 0 ? d->pos : d->pos + (size_t)k;
	if (d->pos >= d->len)
		d->pos = d->len - 1;
}

/* Two addresses are the same when both are IP addresses of one family with the same value,
 * or otherwise the same text ignoring case (host names). */
static bool same_addr(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1)
		return !memcmp(x, y, 4);
	if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1)
		return !memcmp(x, y, 16);
	return !strcasecmp(a, b);
}

static const char *shown(const char *addr)
{
	return addr && *addr ? addr : "(no ring0_addr)";
}

static const vg_corosync_node *by_id(const vg_corosync_node *nodes, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].nodeid == id)
			return &nodes[i];
	return NULL;
}

static const vg_node *cfg_by_id(const vg_config *c, uint32_t id)
{
	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i].id == id)
			return &c->nodes[i];
	return NULL;
}

/* The first of Corosync's nodes at addr. */
static const vg_corosync_node *by_addr(const vg_corosync_node *nodes, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (same_addr(nodes[i].addr, addr))
			return &nodes[i];
	return NULL;
}

/* Is there a server of c at addr whose node id Corosync's nodelist does not have? */
static bool missing_server_at(const vg_config *c, const vg_corosync_node *nodes, size_t n,
			      const char *addr)
{
	for (size_t i = 0; i < c->n_nodes; i++) {
		const vg_node *s = &c->nodes[i];
		if (s->role == VG_ROLE_SERVER && !by_id(nodes, n, s->id) && s->address &&
		    same_addr(s->address, addr))
			return true;
	}
	return false;
}

int vg_corosync_match(const vg_config *c, const char *cluster_name, const vg_corosync_node *nodes,
		      size_t n, char *err, size_t errlen)
{
	diffs d = {.buf = err, .len = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (!c) {
		add(&d, "no configuration");
		return -1;
	}
	if (cluster_name && c->name && strcmp(cluster_name, c->name))
		add(&d,
		    "Corosync's cluster_name is '%s' but the configuration's cluster.name is '%s'",
		    cluster_name, c->name);

	for (size_t i = 0; i < c->n_nodes; i++) {
		const vg_node *s = &c->nodes[i];
		if (s->role != VG_ROLE_SERVER)
			continue;
		const char *addr = s->address ? s->address : "";
		const vg_corosync_node *k = by_id(nodes, n, s->id);
		if (k) {
			if (!same_addr(k->addr, addr))
				add(&d,
				    "%s is node id %u at %s in the configuration but node id %u is "
				    "at %s in Corosync",
				    s->name, s->id, addr, k->nodeid, shown(k->addr));
			continue;
		}
		const vg_corosync_node *o = by_addr(nodes, n, addr);
		if (o && o->nodeid)
			add(&d,
			    "%s is node id %u at %s in the configuration but %s is node id %u in "
			    "Corosync",
			    s->name, s->id, addr, addr, o->nodeid);
		else if (o)
			add(&d,
			    "%s is node id %u at %s in the configuration but %s has no nodeid in "
			    "Corosync",
			    s->name, s->id, addr, addr);
		else
			add(&d, "%s (node id %u, %s) is not in Corosync's nodelist", s->name, s->id,
			    addr);
	}

	for (size_t i = 0; i < n; i++) {
		const vg_corosync_node *k = &nodes[i];
		const vg_node *s = cfg_by_id(c, k->nodeid);
		if (s && s->role == VG_ROLE_SERVER)
			continue;		/* compared above */
		if (by_id(nodes, i, k->nodeid)) /* a second entry of one id: Corosync's concern */
			continue;
		if (missing_server_at(c, nodes, n, k->addr))
			continue; /* named above, as a server with another node id */
		char what[2 * VG_COROSYNC_STR_MAX + 8];
		if (k->name[0])
			snprintf(what, sizeof what, "%s, %s", k->name, shown(k->addr));
		else
			snprintf(what, sizeof what, "%s", shown(k->addr));
		if (!k->nodeid)
			add(&d, "Corosync's nodelist has a node (%s) without a nodeid", what);
		else if (s)
			add(&d,
			    "Corosync's nodelist has node id %u (%s), which is agent node %s in "
			    "the "
			    "configuration (agents run no Corosync)",
			    k->nodeid, what, s->name);
		else
			add(&d,
			    "Corosync's nodelist has node id %u (%s) that the configuration does "
			    "not "
			    "have",
			    k->nodeid, what);
	}

	if (d.count > VG_COROSYNC_MATCH_MAX_NAMED) {
		int more = d.count - VG_COROSYNC_MATCH_MAX_NAMED;
		d.count = 0; /* let add() write the tail */
		add(&d, "and %d more difference%s", more, more == 1 ? "" : "s");
	}
	return d.count ? -1 : 0;
}
