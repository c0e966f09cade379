/* ocf.c - the OCF 1.1 resource-agent contract (see ocf.h).
 *
 * Owns: exit-code meaning, the environment of an action, meta-data parsing (libxml2) and
 * the list of installed agents. Must not: run anything (src/node runs agents, also for their
 * meta-data: metadata.c).
 */
#include "ocf.h"
#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

vg_outcome vg_ocf_outcome(vg_op_kind action, int rc)
{
	switch (rc) {
	case VG_OCF_SUCCESS:
		return VG_OUTCOME_OK;
	case VG_OCF_NOT_RUNNING:
		/* For monitor a clean stop; for stop it means "already stopped", i.e. success. */
		if (action == VG_OP_MONITOR)
			return VG_OUTCOME_NOT_RUNNING;
		if (action == VG_OP_STOP)
			return VG_OUTCOME_OK;
		return VG_OUTCOME_FAILED;
	case VG_OCF_RUNNING_PROMOTED:
		return action == VG_OP_MONITOR ? VG_OUTCOME_PROMOTED : VG_OUTCOME_FAILED;
	case VG_OCF_FAILED_PROMOTED:
		return VG_OUTCOME_FAILED_PROMOTED;
	case VG_OCF_DEGRADED:
		return action == VG_OP_MONITOR ? VG_OUTCOME_OK : VG_OUTCOME_FAILED;
	case VG_OCF_DEGRADED_PROMOTED:
		return action == VG_OP_MONITOR ? VG_OUTCOME_PROMOTED : VG_OUTCOME_FAILED;
	case VG_OCF_ERR_UNIMPLEMENTED:
		/* An unimplemented notify/promote is harmless for notify only. */
		return action == VG_OP_NOTIFY ? VG_OUTCOME_OK : VG_OUTCOME_HARD;
	case VG_OCF_ERR_PERM:
	case VG_OCF_ERR_INSTALLED:
		return VG_OUTCOME_HARD;
	case VG_OCF_ERR_ARGS:
	case VG_OCF_ERR_CONFIGURED:
		return VG_OUTCOME_FATAL;
	default:
		return VG_OUTCOME_FAILED;
	}
}

const char *vg_ocf_exit_name(int rc)
{
	switch (rc) {
	case 0:
		return "OCF_SUCCESS";
	case 1:
		return "OCF_ERR_GENERIC";
	case 2:
		return "OCF_ERR_ARGS";
	case 3:
		return "OCF_ERR_UNIMPLEMENTED";
	case 4:
		return "OCF_ERR_PERM";
	case 5:
		return "OCF_ERR_INSTALLED";
	case 6:
		return "OCF_ERR_CONFIGURED";
	case 7:
		return "OCF_NOT_RUNNING";
	case 8:
		return "OCF_RUNNING_PROMOTED";
	case 9:
		return "OCF_FAILED_PROMOTED";
	case 190:
		return "OCF_DEGRADED";
	case 191:
		return "OCF_DEGRADED_PROMOTED";
	default:
		return "unknown";
	}
}

const char *vg_outcome_name(vg_outcome o)
{
	static const char *const names[] = {"ok",	   "not running",     "promoted",
					    "failed",	   "failed promoted", "hard error",
					    "fatal error", "timeout"};
	return o <= VG_OUTCOME_TIMEOUT ? names[o] : "?";
}

const char *vg_ocf_root(const char *root)
{
	if (root && *root)
		return root;
	const char *e = getenv("OCF_ROOT");
	return e && *e ? e : "/usr/lib/ocf";
}

int vg_ocf_agent_path(const char *root, const char *provider, const char *agent, char *buf,
		      size_t len)
{
	if (!provider || !agent || strchr(provider, '/') || strchr(agent, '/') ||
	    !strcmp(agent, "..") || !strcmp(provider, ".."))
		return -1;
	int n = snprintf(buf, len, "%s/resource.d/%s/%s", vg_ocf_root(root), provider, agent);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return access(buf, X_OK) == 0 ? 0 : -1;
}

/* ---- environment ---------------------------------------------------------- */

typedef struct {
	char **v;
	size_t n, cap;
} envbuf;

static void env_add(envbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void env_add(envbuf *e, const char *fmt, ...)
{
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 32;
		e->v = vg_realloc(e->v, e->cap * sizeof *e->v);
	}
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&e->v[e->n], fmt, ap) < 0)
		abort();
	va_end(ap);
	e->n++;
	e->v[e->n] = NULL;
}

char **vg_ocf_env(const char *root, const vg_resource *r, vg_op_kind action, uint64_t timeout_ms,
		  uint64_t interval_ms, const char *node_name)
{
	envbuf e = {0};
	const char *path = getenv("PATH");
	env_add(&e, "PATH=%s", path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	env_add(&e, "OCF_ROOT=%s", vg_ocf_root(root));
	env_add(&e, "OCF_RA_VERSION_MAJOR=1");
	env_add(&e, "OCF_RA_VERSION_MINOR=1");
	env_add(&e, "OCF_RESOURCE_INSTANCE=%s", r->name);
	if (r->agent)
		env_add(&e, "OCF_RESOURCE_TYPE=%s", r->agent);
	if (r->provider)
		env_add(&e, "OCF_RESOURCE_PROVIDER=%s", r->provider);
	for (size_t i = 0; i < r->n_params; i++)
		env_add(&e, "OCF_RESKEY_%s=%s", r->params[i].key, r->params[i].value);
	env_add(&e, "OCF_RESKEY_CRM_meta_timeout=%llu", (unsigned long long)timeout_ms);
	env_add(&e, "OCF_RESKEY_CRM_meta_interval=%llu", (unsigned long long)interval_ms);
	env_add(&e, "OCF_RESKEY_CRM_meta_name=%s", vg_op_name(action));
	if (node_name) {
		env_add(&e, "OCF_RESKEY_CRM_meta_on_node=%s", node_name);
		env_add(&e, "HA_NODENAME=%s", node_name);
	}
	if (r->clone.enabled) {
		env_add(&e, "OCF_RESKEY_CRM_meta_clone_max=%u", r->clone.max);
		env_add(&e, "OCF_RESKEY_CRM_meta_clone_node_max=%u", r->clone.max_per_node);
		if (r->clone.promotable) {
			env_add(&e, "OCF_RESKEY_CRM_meta_promoted_max=%u", r->clone.promoted_max);
			env_add(&e, "OCF_RESKEY_CRM_meta_master_max=%u", r->clone.promoted_max);
			env_add(&e, "OCF_RESKEY_CRM_meta_promoted_node_max=1");
			env_add(&e, "OCF_RESKEY_CRM_meta_master_node_max=1");
		}
	}
	/* Agents log through ocf-shellfuncs; send it to stderr, which the executor captures. */
	env_add(&e, "HA_LOGFACILITY=none");
	env_add(&e, "HA_debug=0");
	return e.v;
}

void vg_env_free(char **env)
{
	if (!env)
		return;
	for (char **p = env; *p; p++)
		free(*p);
	free(env);
}

/* ---- meta-data ------------------------------------------------------------ */

static char *xml_text_of(xmlNodePtr parent, const char *child)
{
	for (xmlNodePtr n = parent->children; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST child)) {
			xmlChar *t = xmlNodeGetContent(n);
			char *s = vg_strdup(t ? (const char *)t : "");
			xmlFree(t);
			return s;
		}
	}
	return NULL;
}

static char *xml_attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	if (!v)
		return NULL;
	char *s = vg_strdup((const char *)v);
	xmlFree(v);
	return s;
}

static bool xml_attr_true(xmlNodePtr n, const char *name)
{
	char *v = xml_attr(n, name);
	bool t = v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"));
	free(v);
	return t;
}

static uint64_t xml_attr_duration(xmlNodePtr n, const char *name)
{
	char *v = xml_attr(n, name);
	uint64_t ms = 0;
	if (v && vg_parse_duration_ms(v, &ms) != 0) {
		/* Meta-data often says "20s" but also "20" (seconds) or "0". */
		char *end;
		unsigned long long s = strtoull(v, &end, 10);
		ms = *end == '\0' ? s * 1000 : 0;
	}
	free(v);
	return ms;
}

static void parse_params(xmlNodePtr params, vg_ocf_metadata *md)
{
	for (xmlNodePtr p = params->children; p; p = p->next) {
		if (p->type != XML_ELEMENT_NODE || xmlStrcmp(p->name, BAD_CAST "parameter"))
			continue;
		md->params = vg_realloc(md->params, (md->n_params + 1) * sizeof *md->params);
		vg_ocf_param *q = &md->params[md->n_params++];
		memset(q, 0, sizeof *q);
		q->name = xml_attr(p, "name");
		if (!q->name)
			q->name = vg_strdup("");
		q->required = xml_attr_true(p, "required");
		q->unique = xml_attr_true(p, "unique");
		q->shortdesc = xml_text_of(p, "shortdesc");
		for (xmlNodePtr c = p->children; c; c = c->next) {
			if (c->type == XML_ELEMENT_NODE &&
			    !xmlStrcmp(c->name, BAD_CAST "content")) {
				q->type = xml_attr(c, "type");
				q->def = xml_attr(c, "default");
			}
		}
	}
}

static void parse_actions(xmlNodePtr actions, vg_ocf_metadata *md)
{
	for (xmlNodePtr a = actions->children; a; a = a->next) {
		if (a->type != XML_ELEMENT_NODE || xmlStrcmp(a->name, BAD_CAST "action"))
			continue;
		md->actions = vg_realloc(md->actions, (md->n_actions + 1) * sizeof *md->actions);
		vg_ocf_action *q = &md->actions[md->n_actions++];
		q->name = xml_attr(a, "name");
		if (!q->name)
			q->name = vg_strdup("");
		q->timeout_ms = xml_attr_duration(a, "timeout");
		q->interval_ms = xml_attr_duration(a, "interval");
		q->role = xml_attr(a, "role");
	}
}

int vg_ocf_metadata_parse(const char *xml, size_t len, vg_ocf_metadata *md, char *err,
			  size_t errlen)
{
	memset(md, 0, sizeof *md);
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "meta-data.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		snprintf(err, errlen, "meta-data is not well-formed XML");
		return -1;
	}
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!root || xmlStrcmp(root->name, BAD_CAST "resource-agent")) {
		snprintf(err, errlen, "meta-data has no <resource-agent> root element");
		xmlFreeDoc(doc);
		return -1;
	}
	md->name = xml_attr(root, "name");
	md->version = xml_attr(root, "version");
	md->shortdesc = xml_text_of(root, "shortdesc");
	md->longdesc = xml_text_of(root, "longdesc");
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!xmlStrcmp(n->name, BAD_CAST "parameters"))
			parse_params(n, md);
		else if (!xmlStrcmp(n->name, BAD_CAST "actions"))
			parse_actions(n, md);
	}
	xmlFreeDoc(doc);
	return 0;
}

void vg_ocf_metadata_free(vg_ocf_metadata *md)
{
	for (size_t i = 0; i < md->n_params; i++) {
		free(md->params[i].name);
		free(md->params[i].type);
		free(md->params[i].def);
		free(md->params[i].shortdesc);
	}
	for (size_t i = 0; i < md->n_actions; i++) {
		free(md->actions[i].name);
		free(md->actions[i].role);
	}
	free(md->params);
	free(md->actions);
	free(md->name);
	free(md->version);
	free(md->shortdesc);
	free(md->longdesc);
	memset(md, 0, sizeof *md);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vg_ocf_list(const char *root, char ***out)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/resource.d", vg_ocf_root(root));
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	char **list = NULL;
	size_t n = 0;
	struct dirent *pe;
	while ((pe = readdir(d))) {
		if (pe->d_name[0] == '.')
			continue;
		char pdir[4096 + 256];
		snprintf(pdir, sizeof pdir, "%s/%s", dir, pe->d_name);
		DIR *pd = opendir(pdir);
		if (!pd)
			continue;
		struct dirent *ae;
		while ((ae = readdir(pd))) {
			if (ae->d_name[0] == '.')
				continue;
			char apath[4096 + 512];
			snprintf(apath, sizeof apath, "%s/%s", pdir, ae->d_name);
			struct stat st;
			if (stat(apath, &st) != 0 || !S_ISREG(st.st_mode) || access(apath, X_OK))
				continue;
			list = vg_realloc(list, (n + 1) * sizeof *list);
			if (asprintf(&list[n], "ocf:%s:%s", pe->d_name, ae->d_name) < 0)
				abort();
			n++;
		}
		closedir(pd);
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof *list, cmp_str);
	*out = list;
	return (int)n;
}
