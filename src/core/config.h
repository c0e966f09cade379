/* config.h - the cluster configuration model (what cluster.yaml says).
 *
 * Owns: the in-memory types of a validated configuration and the calls that load,
 * validate and free it. A vg_config returned by vg_config_load() is complete and
 * consistent; nothing else in vigil re-validates it.
 * Must not: start anything, touch the network, or know about runtime state.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strmap.h"

/* ---- types ---------------------------------------------------------------- */

/* Scores: integers, saturating at +/- VG_SCORE_INF (Pacemaker's INFINITY). */
#define VG_SCORE_INF 1000000

typedef enum { VG_ROLE_SERVER, VG_ROLE_AGENT } vg_node_role;

typedef enum {
	VG_CLASS_OCF,
	VG_CLASS_LSB,
	VG_CLASS_SYSTEMD,
	VG_CLASS_VIP,	  /* native: address by netlink + GARP/NA */
	VG_CLASS_PROCESS, /* native: supervised command */
} vg_rclass;

typedef enum {
	VG_ON_FAIL_RESTART,
	VG_ON_FAIL_STOP,
	VG_ON_FAIL_BLOCK,
	VG_ON_FAIL_FENCE,
	VG_ON_FAIL_STANDBY,
} vg_on_fail;

typedef enum { VG_REQUIRES_QUORUM, VG_REQUIRES_FENCING } vg_requires;

typedef enum { VG_NO_QUORUM_STOP, VG_NO_QUORUM_FREEZE } vg_no_quorum;

/* Operations a resource may have; index into vg_resource.ops. */
typedef enum {
	VG_OP_START,
	VG_OP_STOP,
	VG_OP_MONITOR,
	VG_OP_PROMOTE,
	VG_OP_DEMOTE,
	VG_OP_NOTIFY,
	VG_OP_COUNT
} vg_op_kind;

typedef struct {
	char *key;
	char *value;
} vg_param;

typedef struct {
	uint64_t timeout_ms;  /* always set (defaults filled in by the loader) */
	uint64_t interval_ms; /* monitor only; 0 = no recurring monitor */
	bool configured;      /* present in the file */
} vg_op;

typedef enum { VG_CHECK_NONE, VG_CHECK_TCP, VG_CHECK_HTTP } vg_check_kind;

/* A native health check used as the resource's monitor instead of the agent's. */
typedef struct {
	vg_check_kind kind;
	char *host;    /* default 127.0.0.1 */
	uint16_t port; /* required */
	char *path;    /* http: default "/" */
	int expect;    /* http: expected status, default 200 (0 = any 2xx/3xx) */
} vg_check;

typedef struct {
	bool enabled;	       /* resource is a clone */
	uint32_t max;	       /* default: number of nodes */
	uint32_t max_per_node; /* default 1 */
	bool promotable;
	uint32_t promoted_max; /* default 1 */
} vg_clone;

typedef struct {
	char *name;
	char *type; /* as written: "ocf:heartbeat:Dummy", "vip", ... */
	vg_rclass cls;
	char *provider; /* ocf only */
	char *agent;	/* ocf: agent; lsb/systemd: script/unit; native: NULL */
	vg_param *params;
	size_t n_params;
	vg_op ops[VG_OP_COUNT];
	vg_check check;
	vg_clone clone;
	vg_requires requires;
	bool has_stickiness;
	int stickiness;
	uint32_t migration_threshold; /* 0 = never move away (default 1000000) */
	uint64_t failure_timeout_ms;  /* 0 = never expire */
	vg_on_fail on_fail;
	bool disabled; /* target state stopped */
	int line;      /* line in the file where the resource starts */
	/* Only in a configuration loaded for one node (vg_config_load_local): why the resource
	 * cannot run on that node (its OCF agent is not installed there, or its meta-data
	 * cannot be read there), in the words of the load's vg_agent_info; NULL: it can. */
	char *unrunnable;
} vg_resource;

typedef struct {
	char *name;
	char *address;
	vg_node_role role;
	uint32_t id; /* 1-based, in file order unless given */
	int line;
} vg_node;

/* What an alert is sent for (Pacemaker's alert kinds); a mask of these. */
typedef enum {
	VG_ALERT_NODE = 1,
	VG_ALERT_FENCING = 2,
	VG_ALERT_RESOURCE = 4,
	VG_ALERT_ATTRIBUTE = 8,
	VG_ALERT_ALL = 15
} vg_alert_kind;

/* alerts[]: a script run with Pacemaker's alert environment (alert.h). */
typedef struct {
	char *name;
	char *path; /* absolute */
	uint64_t timeout_ms;
	char **recipients; /* each run once per recipient; none: once, with an empty one */
	size_t n_recipients;
	unsigned kinds; /* vg_alert_kind mask; all when not given */
	bool enabled;
	int line;
} vg_alert;

typedef struct {
	char *name;
	char *agent;
	vg_param *params;
	size_t n_params;
	char **targets;
	size_t n_targets;
	int level;
	uint64_t timeout_ms;
	int line;
} vg_fence_device;

typedef struct {
	char *name;
	char **members;
	size_t n_members;
	int line;
} vg_group;

typedef enum { VG_CONS_LOCATION, VG_CONS_COLOCATE, VG_CONS_ORDER } vg_cons_kind;

typedef enum { VG_RROLE_ANY, VG_RROLE_STARTED, VG_RROLE_PROMOTED, VG_RROLE_UNPROMOTED } vg_rrole;

typedef enum {
	VG_RULE_OP_EQ,
	VG_RULE_OP_NE,
	VG_RULE_OP_DEFINED,
	VG_RULE_OP_NOT_DEFINED,
	VG_RULE_OP_GT,
	VG_RULE_OP_LT,
	VG_RULE_OP_GTE,
	VG_RULE_OP_LTE
} vg_rule_op;

/* location: {resource, node, score} or {resource, rule: {attribute, op, value}, score} */
typedef struct {
	char *resource;
	char *node; /* NULL when a rule is used */
	char *rule_attribute;
	vg_rule_op rule_op;
	char *rule_value;
	int score;
	vg_rrole role;
} vg_location;

typedef struct {
	char *resource;
	char *with;
	int score;
	vg_rrole role;	    /* role of `resource` */
	vg_rrole with_role; /* role of `with` */
} vg_colocation;

typedef struct {
	char *first;
	char *then;
	vg_op_kind first_action; /* default start */
	vg_op_kind then_action;	 /* default start */
	bool optional;		 /* kind: optional (default mandatory) */
} vg_order;

typedef struct {
	vg_cons_kind kind;
	union {
		vg_location location;
		vg_colocation colocate;
		vg_order order;
	} u;
	int line;
} vg_constraint;

typedef enum { VG_QNETD_FFSPLIT, VG_QNETD_LMS } vg_qnetd_algorithm;
typedef enum { VG_QNETD_TLS_ON, VG_QNETD_TLS_OFF, VG_QNETD_TLS_REQUIRED } vg_qnetd_tls;

/* A corosync-qnetd arbiter (cluster.qnetd): each server's corosync-qdevice asks it which
 * partition gets its vote. */
typedef struct {
	char *host;		      /* NULL: no qnetd */
	uint16_t port;		      /* default 5403 */
	vg_qnetd_algorithm algorithm; /* default ffsplit */
	vg_qnetd_tls tls;	      /* default on (as Corosync's) */
	/* a fallback between equal partitions: "lowest", "highest" or a server's node id */
	uint32_t tie_breaker_id; /* 0: see tie_breaker_highest */
	bool tie_breaker_highest;
} vg_qnetd;

typedef struct {
	char *name;
	char *key_file;
	uint32_t token_ms;	/* default 500 */
	vg_no_quorum no_quorum; /* default stop */
	int stickiness;		/* default 0 */
	char *http_address;	/* default 127.0.0.1:7480 */
	char *source;		/* file the config came from */
	/* two_node partitions: the node that ran fewer resources waits this long before it
	 * fences the other, so the two do not fence each other at once (default 0) */
	uint64_t fence_delay_ms;
	/* an extra margin (default 0) the quorate side adds before it counts a lost node's
	 * `requires: quorum` resources as stopped by the lost side (the lease and stop bounds
	 * decide; see coordinator.h) */
	uint64_t quorum_loss_delay_ms;
	/* how long a server keeps running its resources without seeing its own heartbeat come
	 * back through Corosync in a quorate view (default: the token timeout) */
	uint64_t lease_ms;
	/* on a halt (quorum or lease lost), how long a `process` gets after SIGTERM before its
	 * process group is killed (default 250 ms); see stop_bound.h */
	uint64_t halt_grace_ms;
	/* self-fencing: a watchdog device (NULL: none) fed while this node is safe (quorate,
	 * or everything stopped); the others count a lost node as fenced once
	 * vg_watchdog_deadline_ms(watchdog_timeout) has passed */
	char *watchdog;
	uint32_t watchdog_timeout_s; /* default 10 */
	vg_qnetd qnetd;
	/* the HTTP API (api: in the file; http.h): where it listens (default
	 * cluster.http_address), the bearer token's file (NULL: every write is refused), and a
	 * PEM certificate and key for HTTPS (both or neither) */
	struct {
		char *listen;
		char *token_file;
		char *tls_cert;
		char *tls_key;
	} api;

	vg_node *nodes;
	size_t n_nodes;
	vg_fence_device *fence_devices;
	size_t n_fence_devices;
	vg_alert *alerts;
	size_t n_alerts;
	vg_resource *resources;
	size_t n_resources;
	vg_group *groups;
	size_t n_groups;
	vg_constraint *constraints;
	size_t n_constraints;
	/* private to config.c: resources by name, made by the loader (a configuration built
	 * by hand has none and is searched instead) */
	vg_strmap resource_index;
} vg_config;

/* Validation errors: each names file, line and field. */
typedef struct {
	char *file;
	int line;    /* 0 when unknown */
	char *field; /* dotted path, e.g. "resources[2].ops.monitor.timeout" */
	char *message;
} vg_config_error;

typedef struct {
	vg_config_error *items;
	size_t count;
} vg_config_errors;

/* ---- functions ------------------------------------------------------------ */

/* What the loader knows of OCF agents: it asks, it never looks at files or runs anything.
 * Outside the core, src/node/metadata.h gives one that runs the agent synchronously (for the
 * CLI) and a cache the daemon fills asynchronously before it loads. */
typedef enum {
	VG_AGENT_OK,		/* *md: its meta-data, valid until the load returns */
	VG_AGENT_NOT_INSTALLED, /* no such agent on this node (err: where it was looked for) */
	VG_AGENT_FAILED,	/* installed, but its meta-data could not be read (err: why) */
	VG_AGENT_UNKNOWN,	/* not known (not fetched): the checks that need it are skipped */
} vg_agent_answer;

struct vg_ocf_metadata;

typedef struct {
	/* The meta-data of ocf:provider:agent. err (errlen bytes) is filled for
	 * VG_AGENT_NOT_INSTALLED and VG_AGENT_FAILED. */
	vg_agent_answer (*metadata)(void *arg, const char *provider, const char *agent,
				    const struct vg_ocf_metadata **md, char *err, size_t errlen);
	void *arg;
} vg_agent_info;

/* Load and completely validate FILE. On success returns a config and leaves
 * errs empty; on failure returns NULL and fills errs (caller frees with
 * vg_config_errors_free). agents answers what an OCF resource needs (installed here, its
 * required parameters); NULL: every agent is VG_AGENT_UNKNOWN (only the structure is checked,
 * and nothing is logged: the first look of a caller that fetches meta-data, then loads again). */
vg_config *vg_config_load(const char *file, const vg_agent_info *agents, vg_config_errors *errs);

/* The same from an in-memory buffer; `name` is used in error messages. */
vg_config *vg_config_load_buffer(const char *name, const char *yaml, size_t len,
				 const vg_agent_info *agents, vg_config_errors *errs);

/* A configuration the cluster has committed (vg_config_load_buffer validated it on the node
 * that applied it), loaded on this node: what agents answers VG_AGENT_NOT_INSTALLED or
 * VG_AGENT_FAILED for is no error here; that resource's `unrunnable` says why instead (and
 * its agent's required parameters are not checked). Any other error fails the load as in
 * vg_config_load_buffer (the text does not parse, or is invalid for every node). */
vg_config *vg_config_load_local(const char *name, const char *yaml, size_t len,
				const vg_agent_info *agents, vg_config_errors *errs);

/* Every OCF agent the text's resources name, each once, in file order: fn(arg, provider,
 * agent). Whatever else is wrong with the text is not reported (the load that follows does);
 * a text whose structure does not parse names none.
 * This is how a caller learns which agents' meta-data to fetch before it loads. */
void vg_config_agents(const char *yaml, size_t len,
		      void (*fn)(void *arg, const char *provider, const char *agent), void *arg);

void vg_config_free(vg_config *c);
void vg_config_errors_free(vg_config_errors *e);

/* Format one error as "FILE:LINE: FIELD: MESSAGE" into buf. */
void vg_config_error_format(const vg_config_error *e, char *buf, size_t len);

/* Lookups (NULL when absent). */
const vg_resource *vg_config_resource(const vg_config *c, const char *name);
const vg_node *vg_config_node(const vg_config *c, const char *name);
const vg_group *vg_config_group_of(const vg_config *c, const char *resource);
/* How many nodes have role server (Corosync members). */
size_t vg_config_servers(const vg_config *c);
/* Whether Corosync runs two_node: exactly two servers and no qnetd arbiter (vigil corosync-conf
 * writes it so; both halves of a partition then keep quorum). */
bool vg_config_two_node(const vg_config *c);
const char *vg_resource_param(const vg_resource *r, const char *key);

/* Parsers shared with the CLI and simulate: return 0 on success, -1 on bad input. */
int vg_parse_duration_ms(const char *s, uint64_t *out_ms); /* "500ms" "10s" "5m" "1h" */
int vg_parse_score(const char *s, int *out);		   /* "100" "inf" "-inf" "+inf" */
const char *vg_op_name(vg_op_kind k);
int vg_op_from_name(const char *s, vg_op_kind *out);
const char *vg_class_name(vg_rclass c);
/* "ffsplit", "lms"; "on", "off", "required" (as corosync.conf spells them) */
const char *vg_qnetd_algorithm_name(vg_qnetd_algorithm a);
const char *vg_qnetd_tls_name(vg_qnetd_tls t);

/* Saturating score addition. */
int vg_score_add(int a, int b);

#endif
