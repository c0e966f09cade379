/* yamlpos.c - a libyaml pass over cluster.yaml: the line of every node by dotted path,
 * and the free-form maps (`params`) that the libcyaml schema ignores.
 *
 * Owns: the parsed libyaml document and the path index. Must not: interpret the
 * configuration (that is config.c) or know the schema (config_schema.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlpos.h"
#include "mem.h"

#define YPOS_MAX_DEPTH 64
#define YPOS_PATH_MAX  1024

typedef struct {
	char *path;
	int line;
	yaml_node_t *node;
} ypos_entry;

struct vg_ypos {
	yaml_document_t doc;
	ypos_entry *e;
	size_t n, cap;
	unsigned char *seen; /* per document node: already indexed (an alias if seen twice) */
};

typedef struct {
	vg_ypos *y;
	char path[YPOS_PATH_MAX];
	int err_line;
	const char *err;
} ypos_walk;

static int add_entry(vg_ypos *y, const char *path, int line, yaml_node_t *node)
{
	if (y->n == y->cap) {
		size_t cap = y->cap ? y->cap * 2 : 64;
		ypos_entry *e = vg_realloc(y->e, cap * sizeof(*e));
		if (!e)
			return -1;
		y->e = e;
		y->cap = cap;
	}
	char *p = vg_strdup(path);
	if (!p)
		return -1;
	y->e[y->n++] = (ypos_entry){.path = p, .line = line, .node = node};
	return 0;
}

int vg_ypos_node_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

const char *vg_ypos_scalar(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int walk(ypos_walk *w, yaml_node_t *n, int line, int depth);

/* Append a path component to w->path; returns the old length (to restore), -1 if too long. */
static int path_push(ypos_walk *w, const char *key, long index)
{
	size_t old = strlen(w->path);
	size_t room = sizeof(w->path) - old;
	int r;
	if (key)
		r = snprintf(w->path + old, room, "%s%s", old ? "." : "", key);
	else
		r = snprintf(w->path + old, room, "[%ld]", index);
	if (r < 0 || (size_t)r >= room) {
		w->path[old] = '\0';
		return -1;
	}
	return (int)old;
}

static int walk_child(ypos_walk *w, const char *key, long index, yaml_node_t *n, int line,
		      int depth)
{
	int old = path_push(w, key, index);
	if (old < 0) {
		w->err_line = line;
		w->err = "key path too long";
		return -1;
	}
	int r = walk(w, n, line, depth + 1);
	w->path[old] = '\0';
	return r;
}

static int walk_mapping(ypos_walk *w, yaml_node_t *n, int depth)
{
	yaml_document_t *d = &w->y->doc;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		yaml_node_t *v = yaml_document_get_node(d, p->value);
		const char *ks = vg_ypos_scalar(k);
		if (walk_child(w, ks ? ks : "?", 0, v, vg_ypos_node_line(k), depth) < 0)
			return -1;
	}
	return 0;
}

static int walk_sequence(ypos_walk *w, yaml_node_t *n, int depth)
{
	yaml_document_t *d = &w->y->doc;
	long i = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *v = yaml_document_get_node(d, *it);
		if (walk_child(w, NULL, i, v, vg_ypos_node_line(v), depth) < 0)
			return -1;
	}
	return 0;
}

static int walk(ypos_walk *w, yaml_node_t *n, int line, int depth)
{
	size_t idx = (size_t)(n - w->y->doc.nodes.start);
	if (w->y->seen[idx] || depth > YPOS_MAX_DEPTH) {
		w->err_line = line;
		w->err = depth > YPOS_MAX_DEPTH ? "nesting too deep"
						: "anchors and aliases are not supported";
		return -1;
	}
	w->y->seen[idx] = 1;
	if (add_entry(w->y, w->path, line, n) < 0) {
		w->err = "out of memory";
		return -1;
	}
	if (n->type == YAML_MAPPING_NODE)
		return walk_mapping(w, n, depth);
	if (n->type == YAML_SEQUENCE_NODE)
		return walk_sequence(w, n, depth);
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const ypos_entry *)a)->path, ((const ypos_entry *)b)->path);
}

static void syntax_error(yaml_parser_t *p, int *err_line, char *err, size_t errlen)
{
	*err_line = (int)p->problem_mark.line + 1;
	snprintf(err, errlen, "YAML syntax error: %s%s%s", p->problem ? p->problem : "?",
		 p->context ? " " : "", p->context ? p->context : "");
}

/* The file holds one document: anything after it is an error. Returns 1 when fine. */
static int no_second_doc(yaml_parser_t *p, int *err_line, char *err, size_t errlen)
{
	yaml_document_t next;
	if (!yaml_parser_load(p, &next)) {
		syntax_error(p, err_line, err, errlen);
		return 0;
	}
	yaml_node_t *root = yaml_document_get_root_node(&next);
	if (root) {
		*err_line = vg_ypos_node_line(root);
		snprintf(err, errlen, "only one YAML document is allowed");
	}
	yaml_document_delete(&next);
	return root ? 0 : 1;
}

static int parse_doc(vg_ypos *y, const char *buf, size_t len, int *err_line, char *err,
		     size_t errlen)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	int ok = yaml_parser_load(&p, &y->doc);
	if (ok)
		ok = no_second_doc(&p, err_line, err, errlen);
	else
		syntax_error(&p, err_line, err, errlen);
	yaml_parser_delete(&p);
	if (!ok)
		yaml_document_delete(&y->doc);
	return ok ? 0 : -1;
}

vg_ypos *vg_ypos_parse(const char *buf, size_t len, int *err_line, char *err, size_t errlen)
{
	*err_line = 0;
	vg_ypos *y = vg_calloc(1, sizeof(*y));
	if (!y) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_doc(y, buf, len, err_line, err, errlen) < 0) {
		free(y);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&y->doc);
	if (!root)
		return y;
	y->seen = vg_calloc((size_t)(y->doc.nodes.top - y->doc.nodes.start), 1);
	ypos_walk *w = vg_calloc(1, sizeof(*w));
	int r = -1;
	if (y->seen && w) {
		w->y = y;
		r = walk(w, root, vg_ypos_node_line(root), 0);
		if (r < 0) {
			*err_line = w->err_line;
			snprintf(err, errlen, "%s", w->err ? w->err : "out of memory");
		}
	} else {
		snprintf(err, errlen, "out of memory");
	}
	free(w);
	if (r < 0) {
		vg_ypos_free(y);
		return NULL;
	}
	qsort(y->e, y->n, sizeof(*y->e), entry_cmp);
	return y;
}

void vg_ypos_free(vg_ypos *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->n; i++)
		free(y->e[i].path);
	free(y->e);
	free(y->seen);
	yaml_document_delete(&y->doc);
	free(y);
}

yaml_document_t *vg_ypos_doc(const vg_ypos *y)
{
	return (yaml_document_t *)&y->doc;
}

yaml_node_t *vg_ypos_root(const vg_ypos *y)
{
	return yaml_document_get_root_node(vg_ypos_doc(y));
}

static const ypos_entry *find(const vg_ypos *y, const char *path)
{
	ypos_entry key = {.path = (char *)path};
	return y->n ? bsearch(&key, y->e, y->n, sizeof(*y->e), entry_cmp) : NULL;
}

yaml_node_t *vg_ypos_node(const vg_ypos *y, const char *path)
{
	const ypos_entry *e = find(y, path);
	return e ? e->node : NULL;
}

int vg_ypos_line(const vg_ypos *y, const char *path)
{
	const ypos_entry *e = find(y, path);
	return e ? e->line : 0;
}

bool vg_ypos_has(const vg_ypos *y, const char *path)
{
	return find(y, path) != NULL;
}

int vg_ypos_line_near(const vg_ypos *y, const char *path)
{
	char buf[YPOS_PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		int line = vg_ypos_line(y, buf);
		if (line > 0 || !buf[0])
			return line;
		char *dot = strrchr(buf, '.');
		char *br = strrchr(buf, '[');
		char *cut = dot > br ? dot : br;
		if (!cut)
			cut = buf;
		*cut = '\0';
	}
}

static int param_add(vg_param **params, size_t *n, const char *k, const char *v)
{
	vg_param *p = vg_realloc(*params, (*n + 1) * sizeof(*p));
	if (!p)
		return -1;
	*params = p;
	p[*n].key = vg_strdup(k);
	p[*n].value = vg_strdup(v);
	(*n)++;
	return p[*n - 1].key && p[*n - 1].value ? 0 : -1;
}

static bool is_null_scalar(const yaml_node_t *n)
{
	const char *s = vg_ypos_scalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null"));
}

int vg_ypos_params(const vg_ypos *y, const char *path, vg_param **params, size_t *n, char *bad_path,
		   size_t bad_len, int *bad_line)
{
	*params = NULL;
	*n = 0;
	yaml_node_t *m = vg_ypos_node(y, path);
	if (!m || is_null_scalar(m))
		return 0;
	snprintf(bad_path, bad_len, "%s", path);
	*bad_line = vg_ypos_line(y, path);
	if (m->type != YAML_MAPPING_NODE)
		return -1;
	yaml_document_t *d = vg_ypos_doc(y);
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		const char *ks = vg_ypos_scalar(k);
		const char *vs = vg_ypos_scalar(yaml_document_get_node(d, p->value));
		if (!ks || !vs) {
			snprintf(bad_path, bad_len, "%s.%s", path, ks ? ks : "?");
			*bad_line = vg_ypos_node_line(k);
			return -1;
		}
		if (param_add(params, n, ks, vs) < 0)
			return -1;
	}
	return 0;
}
