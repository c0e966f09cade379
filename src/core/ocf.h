/* ocf.h - the OCF 1.1 resource-agent contract: exit codes, environment, meta-data.
 *
 * Owns: how vigil talks to an OCF agent (what an exit code means, which environment an
 * action gets, what the agent's meta-data says). Must not: run anything asynchronously or
 * keep state; the executor runs agents, this module only describes them.
 */
#ifndef VIGIL_OCF_H
#define VIGIL_OCF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ---- types ---------------------------------------------------------------- */

enum {
	VG_OCF_SUCCESS = 0,
	VG_OCF_ERR_GENERIC = 1,
	VG_OCF_ERR_ARGS = 2,
	VG_OCF_ERR_UNIMPLEMENTED = 3,
	VG_OCF_ERR_PERM = 4,
	VG_OCF_ERR_INSTALLED = 5,
	VG_OCF_ERR_CONFIGURED = 6,
	VG_OCF_NOT_RUNNING = 7,
	VG_OCF_RUNNING_PROMOTED = 8,
	VG_OCF_FAILED_PROMOTED = 9,
	VG_OCF_DEGRADED = 190,
	VG_OCF_DEGRADED_PROMOTED = 191,
};

/* What an operation's outcome means for the resource, independent of the action. */
typedef enum {
	VG_OUTCOME_OK,		/* action succeeded; for monitor: running */
	VG_OUTCOME_NOT_RUNNING, /* monitor/probe: cleanly stopped */
	VG_OUTCOME_PROMOTED,	/* monitor: running in the promoted role */
	VG_OUTCOME_FAILED,	/* soft failure: recoverable on this node (restart) */
	VG_OUTCOME_FAILED_PROMOTED,
	VG_OUTCOME_HARD,    /* this node cannot run it (not installed, perms): move away */
	VG_OUTCOME_FATAL,   /* misconfigured: cannot run anywhere */
	VG_OUTCOME_TIMEOUT, /* operation timed out (counts as failed) */
} vg_outcome;

typedef struct {
	char *name;
	bool required;
	bool unique;
	char *type; /* "string", "integer", "boolean", ... */
	char *def;  /* default, or NULL */
	char *shortdesc;
} vg_ocf_param;

typedef struct {
	char *name; /* "start", "monitor", ... */
	uint64_t timeout_ms;
	uint64_t interval_ms;
	char *role; /* or NULL */
} vg_ocf_action;

typedef struct vg_ocf_metadata {
	char *name;
	char *version;
	char *shortdesc;
	char *longdesc;
	vg_ocf_param *params;
	size_t n_params;
	vg_ocf_action *actions;
	size_t n_actions;
} vg_ocf_metadata;

/* ---- functions ------------------------------------------------------------ */

/* Map an agent's exit code for `action` (a probe is a monitor with interval 0). */
vg_outcome vg_ocf_outcome(vg_op_kind action, int exit_code);
const char *vg_ocf_exit_name(int exit_code);
const char *vg_outcome_name(vg_outcome o);

/* $OCF_ROOT or /usr/lib/ocf when root is NULL. */
const char *vg_ocf_root(const char *root);

/* Path of the agent program into buf; 0 ok, -1 when it does not exist / is not executable. */
int vg_ocf_agent_path(const char *root, const char *provider, const char *agent, char *buf,
		      size_t len);

/* Build the environment for an action as a NULL-terminated array of "K=V" strings
 * (caller frees with vg_env_free). Includes PATH, OCF_ROOT, OCF_RA_VERSION_MAJOR/MINOR,
 * OCF_RESOURCE_INSTANCE, OCF_RESOURCE_TYPE, OCF_RESOURCE_PROVIDER, OCF_RESKEY_<param>,
 * OCF_RESKEY_CRM_meta_timeout / _interval (ms), OCF_RESKEY_CRM_meta_on_node, and the
 * clone meta variables when the resource is a clone. */
char **vg_ocf_env(const char *root, const vg_resource *r, vg_op_kind action, uint64_t timeout_ms,
		  uint64_t interval_ms, const char *node_name);
void vg_env_free(char **env);

/* Parse meta-data XML text (the output of `AGENT meta-data`, which src/node/metadata.c runs).
 * 0 ok, -1 on malformed XML (err filled). */
int vg_ocf_metadata_parse(const char *xml, size_t len, vg_ocf_metadata *md, char *err,
			  size_t errlen);
void vg_ocf_metadata_free(vg_ocf_metadata *md);

/* List installed agents as "ocf:PROVIDER:AGENT" strings, sorted (caller frees each and
 * the array). Returns the count, or -1. */
int vg_ocf_list(const char *root, char ***out);

#endif
