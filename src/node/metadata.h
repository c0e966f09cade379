/* metadata.h - the meta-data of this node's OCF agents, for the config loader.
 *
 * Owns: running `AGENT meta-data` (with the child runner, stderr discarded, bounded by a
 * timeout and an output size), a cache of the parsed answers keyed by (provider, agent, the
 * agent file's mtime and size), and the config loader's view of it (a vg_agent_info). Two
 * ways to use it:
 *   - the daemon: vg_md_cache_new on its loop; before loading a text it calls
 *     vg_md_cache_prepare, which fetches what is missing or changed (all agents in
 *     parallel) and calls back; the load then reads the cache, which never runs anything;
 *   - the CLI (a short-lived program): vg_md_cache_new_sync, whose view fetches a missing
 *     agent at once and waits for it (on a private loop).
 * Must not: interpret meta-data (ocf.c parses it, config.c checks against it), or block the
 * daemon's loop.
 */
#ifndef VIGIL_METADATA_H
#define VIGIL_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"

/* ---- types ---------------------------------------------------------------- */

#define VG_MD_TIMEOUT_MS 5000	       /* default bound of one `meta-data` run */
#define VG_MD_OUTPUT_MAX (1024 * 1024) /* meta-data larger than this is an error */

typedef struct vg_md_cache vg_md_cache;
typedef struct vg_md_req vg_md_req;

typedef void (*vg_md_ready_cb)(void *arg);

/* ---- functions ------------------------------------------------------------ */

/* A cache on the daemon's loop. ocf_root NULL: $OCF_ROOT or /usr/lib/ocf; timeout_ms 0:
 * VG_MD_TIMEOUT_MS. */
vg_md_cache *vg_md_cache_new(uv_loop_t *loop, const char *ocf_root, uint64_t timeout_ms);
/* A cache for a program without a loop: its view runs a missing agent at once and waits. */
vg_md_cache *vg_md_cache_new_sync(const char *ocf_root, uint64_t timeout_ms);
/* Requests still waiting are dropped (their callbacks are not called); agents still running
 * are killed. On the daemon's loop the memory goes once they have ended (the loop must run). */
void vg_md_cache_free(vg_md_cache *c);

/* The loader's view: answers from the cache (an agent not fetched is VG_AGENT_UNKNOWN,
 * except in a sync cache, which fetches it). Valid while the cache lives. */
vg_agent_info vg_md_cache_info(vg_md_cache *c);

/* Make sure the cache holds the meta-data of every OCF agent the n texts use: an agent not
 * cached, whose file changed (mtime or size), or whose last run failed is run again (all in
 * parallel, each bounded by the timeout; an agent already running is waited for, not run
 * twice). cb is called exactly once, from the loop, never inside this call, unless the
 * request is cancelled first. The texts are used during this call only. Never NULL. */
vg_md_req *vg_md_cache_prepare(vg_md_cache *c, const char *const *yamls, size_t n,
			       vg_md_ready_cb cb, void *arg);
/* Drop a request whose callback has not run; the callback will not be called. */
void vg_md_req_cancel(vg_md_req *r);

/* How many `meta-data` runs this cache has started (for logs and tests). */
uint64_t vg_md_cache_runs(const vg_md_cache *c);

#endif
