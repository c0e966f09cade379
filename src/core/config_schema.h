/* config_schema.h - private: the libcyaml schema of cluster.yaml, the intermediate
 * structs libcyaml loads into, and the schema checker that reports every structural error.
 */
#ifndef VIGIL_CONFIG_SCHEMA_H
#define VIGIL_CONFIG_SCHEMA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <cyaml/cyaml.h>

#include "config.h"
#include "yamlpos.h"

/* ---- intermediate types (what libcyaml fills in; all strings as written) ---- */

typedef struct {
	char *host;
	int port;
	char *algorithm;
	char *tls;
	char *tie_breaker;
} vg_y_qnetd;

typedef struct {
	char *name;
	char *key_file;
	char *token;
	char *no_quorum;
	char *stickiness;
	char *http_address;
	char *fence_delay;
	char *quorum_loss_delay;
	char *lease;
	char *halt_grace;
	char *watchdog;
	char *watchdog_timeout;
	vg_y_qnetd *qnetd;
} vg_y_cluster;

typedef struct {
	char *name;
	char *address;
	char *role;
	uint32_t id;
} vg_y_node;

typedef struct {
	char *name;
	char *agent;
	char **targets;
	unsigned n_targets;
	int level;
	char *timeout;
} vg_y_fence;

typedef struct {
	char *interval;
	char *timeout;
} vg_y_op;

typedef struct {
	vg_y_op *op[VG_OP_COUNT]; /* indexed by vg_op_kind; NULL when absent */
} vg_y_ops;

typedef struct {
	char *type;
	char *host;
	int port;
	char *path;
	int expect;
} vg_y_check;

typedef struct {
	uint32_t max;
	uint32_t max_per_node;
	bool promotable;
	uint32_t promoted_max;
} vg_y_clone;

typedef struct {
	char *name;
	char *type;
	vg_y_ops *ops;
	vg_y_check *check;
	vg_y_clone *clone;
	char *requires;
	char *stickiness;
	uint32_t migration_threshold;
	char *failure_timeout;
	char *on_fail;
	bool disabled;
} vg_y_resource;

typedef struct {
	char *name;
	char **members;
	unsigned n_members;
} vg_y_group;

typedef struct {
	char *attribute;
	char *op;
	char *value;
} vg_y_rule;

typedef struct {
	char *resource;
	char *node;
	vg_y_rule *rule;
	char *score;
	char *role;
} vg_y_location;

typedef struct {
	char *resource;
	char *with;
	char *score;
	char *role;
	char *with_role;
} vg_y_colocate;

typedef struct {
	char *first;
	char *then;
	char *first_action;
	char *then_action;
	char *kind;
} vg_y_order;

typedef struct {
	vg_y_location *location;
	vg_y_colocate *colocate;
	vg_y_order *order;
} vg_y_constraint;

typedef struct {
	char *name;
	char *path;
	char *timeout;
	char **recipients;
	unsigned n_recipients;
	char **kinds;
	unsigned n_kinds;
	bool enabled;
} vg_y_alert;

typedef struct {
	char *listen;
	char *token_file;
	char *tls_cert;
	char *tls_key;
} vg_y_api;

typedef struct {
	vg_y_cluster *cluster;
	vg_y_api *api;
	vg_y_node *nodes;
	unsigned n_nodes;
	vg_y_fence *fence_devices;
	unsigned n_fence_devices;
	vg_y_resource *resources;
	unsigned n_resources;
	vg_y_group *groups;
	unsigned n_groups;
	vg_y_constraint *constraints;
	unsigned n_constraints;
	vg_y_alert *alerts;
	unsigned n_alerts;
} vg_y_root;

/* ---- functions ------------------------------------------------------------ */

/* Error sink shared by the loader's modules (defined in config.c). */
typedef struct {
	const char *file;
	vg_config_errors *errs;
} vg_cfg_sink;

void vg_cfg_err(vg_cfg_sink *s, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The top-level schema value (a pointer to vg_y_root). */
const cyaml_schema_value_t *vg_config_schema(void);

/* Check the parsed document against the schema; report every unknown key, wrong type,
 * and missing required field. Returns the number of errors added. */
size_t vg_schema_check(const vg_ypos *y, vg_cfg_sink *s);

#endif
