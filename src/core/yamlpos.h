/* yamlpos.h - private: a libyaml pass over cluster.yaml that records the line of every
 * node by its dotted path ("resources[2].ops.monitor.timeout") and gives access to the
 * nodes libcyaml cannot model (free-form `params` maps).
 */
#ifndef VIGIL_YAMLPOS_H
#define VIGIL_YAMLPOS_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "config.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_ypos vg_ypos;

/* ---- functions ------------------------------------------------------------ */

/* Parse buf. Returns NULL on a syntax error (line and message filled in; line 0 when
 * unknown) or when the input uses anchors/aliases. An empty document gives a vg_ypos
 * whose root is NULL. */
vg_ypos *vg_ypos_parse(const char *buf, size_t len, int *err_line, char *err, size_t errlen);
void vg_ypos_free(vg_ypos *y);

yaml_document_t *vg_ypos_doc(const vg_ypos *y);
yaml_node_t *vg_ypos_root(const vg_ypos *y);

/* The node at path, or NULL. */
yaml_node_t *vg_ypos_node(const vg_ypos *y, const char *path);
/* Line (1-based) of the node at path; for a mapping value, the line of its key. 0 if absent. */
int vg_ypos_line(const vg_ypos *y, const char *path);
/* Line of path, or of its nearest present ancestor (for errors about missing fields). */
int vg_ypos_line_near(const vg_ypos *y, const char *path);
bool vg_ypos_has(const vg_ypos *y, const char *path);

/* Line of a node (1-based). */
int vg_ypos_node_line(const yaml_node_t *n);

/* The scalar text of a node, or NULL when it is not a scalar. */
const char *vg_ypos_scalar(const yaml_node_t *n);

/* Copy the free-form map at path (scalar keys -> scalar values, as written) into params.
 * Absent path: 0 params, returns 0. Returns -1 when the node is not such a map (bad_path
 * names the offending node, bad_line its line). */
int vg_ypos_params(const vg_ypos *y, const char *path, vg_param **params, size_t *n, char *bad_path,
		   size_t bad_len, int *bad_line);

#endif
