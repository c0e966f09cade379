/* metadata.c - the meta-data of this node's OCF agents (see metadata.h).
 *
 * Owns: the cache entries (one per provider:agent, with the agent file's mtime and size when
 * it was run, the parsed answer or why there is none), the `meta-data` runs (vg_child), the
 * requests waiting for them, and the private loop of a sync cache. Must not: parse XML
 * (ocf.c), judge a configuration (config.c), or wait on the daemon's loop.
 */
#include "metadata.h"
#include "mem.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "child.h"
#include "log.h"
#include "ocf.h"

typedef struct {
	char *provider, *agent;
	vg_agent_answer answer; /* VG_AGENT_UNKNOWN until the first run ends */
	vg_ocf_metadata md;	/* when VG_AGENT_OK */
	char err[512];
	/* the agent file as it was when the answer was read */
	bool keyed;
	struct timespec mtime;
	off_t size;
	/* a run under way */
	vg_child *child;
	struct timespec run_mtime;
	off_t run_size;
	struct vg_md_cache *cache;
} entry;

struct vg_md_req {
	vg_md_cache *cache;
	entry **wait; /* entries whose run this request waits for; NULL once ended */
	size_t n_wait, pending;
	vg_md_ready_cb cb;
	void *arg;
	uv_timer_t timer; /* calls cb from the loop */
	vg_md_req *next;
};

struct vg_md_cache {
	uv_loop_t *loop;
	uv_loop_t own_loop; /* a sync cache's */
	bool sync;
	char *ocf_root;
	uint64_t timeout_ms;
	entry **e;
	size_t n;
	vg_md_req *reqs;
	uint64_t runs;
	int busy; /* children running + request timers not yet closed */
	bool freeing;
};

static void cache_release(vg_md_cache *c);

/* ---- entries -------------------------------------------------------------- */

static entry *find(vg_md_cache *c, const char *provider, const char *agent)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i]->provider, provider) && !strcmp(c->e[i]->agent, agent))
			return c->e[i];
	return NULL;
}

static entry *find_or_add(vg_md_cache *c, const char *provider, const char *agent)
{
	entry *e = find(c, provider, agent);
	if (e)
		return e;
	e = vg_calloc(1, sizeof *e);
	c->e = vg_realloc(c->e, (c->n + 1) * sizeof *c->e);
	e->provider = vg_strdup(provider);
	e->agent = vg_strdup(agent);
	e->answer = VG_AGENT_UNKNOWN;
	e->cache = c;
	c->e[c->n++] = e;
	return e;
}

static void set_answer(entry *e, vg_agent_answer a)
{
	if (e->answer == VG_AGENT_OK)
		vg_ocf_metadata_free(&e->md);
	e->answer = a;
}

static void entry_free(entry *e)
{
	set_answer(e, VG_AGENT_UNKNOWN);
	free(e->provider);
	free(e->agent);
	free(e);
}

/* ---- requests ------------------------------------------------------------- */

static void on_req_closed(uv_handle_t *h)
{
	vg_md_req *r = h->data;
	vg_md_cache *c = r->cache;
	free(r->wait);
	free(r);
	c->busy--;
	cache_release(c);
}

static void req_unlink(vg_md_req *r)
{
	for (vg_md_req **p = &r->cache->reqs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			return;
		}
	}
}

static void req_end(vg_md_req *r)
{
	req_unlink(r);
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, on_req_closed);
}

static void on_req_ready(uv_timer_t *t)
{
	vg_md_req *r = t->data;
	vg_md_ready_cb cb = r->cb;
	void *arg = r->arg;
	req_end(r);
	cb(arg);
}

static void req_check(vg_md_req *r)
{
	if (r->pending == 0)
		uv_timer_start(&r->timer, on_req_ready, 0, 0);
}

/* The run of e ended: every request waiting for it waits for one less. */
static void entry_done(vg_md_cache *c, entry *e)
{
	for (vg_md_req *r = c->reqs; r; r = r->next) {
		for (size_t i = 0; i < r->n_wait; i++) {
			if (r->wait[i] == e) {
				r->wait[i] = NULL;
				r->pending--;
				req_check(r);
			}
		}
	}
}

/* ---- runs ----------------------------------------------------------------- */

static void on_run_done(void *arg, const vg_child_result *res)
{
	entry *e = arg;
	vg_md_cache *c = e->cache;
	e->child = NULL;
	c->busy--;
	if (c->freeing) {
		cache_release(c);
		return;
	}
	vg_agent_answer a = VG_AGENT_FAILED;
	vg_ocf_metadata md;
	char err[512] = "";
	if (res->error) {
		snprintf(err, sizeof err, "%s", res->why ? res->why : "cannot run it");
	} else if (res->timed_out) {
		snprintf(err, sizeof err, "meta-data timed out after %llu ms",
			 (unsigned long long)c->timeout_ms);
	} else if (res->sig || res->status != 0) {
		snprintf(err, sizeof err, "meta-data failed (%s %d)", res->sig ? "signal" : "exit",
			 res->sig ? res->sig : (int)res->status);
	} else if (res->output_cut) {
		snprintf(err, sizeof err, "meta-data is larger than %d bytes", VG_MD_OUTPUT_MAX);
	} else if (vg_ocf_metadata_parse(res->output, res->output_len, &md, err, sizeof err) == 0) {
		a = VG_AGENT_OK;
	}
	set_answer(e, a);
	if (a == VG_AGENT_OK) {
		e->md = md;
		e->err[0] = '\0';
		vg_debug("meta-data of ocf:%s:%s read in %llu ms", e->provider, e->agent,
			 (unsigned long long)(res->duration_us / 1000));
	} else {
		snprintf(e->err, sizeof e->err, "%s", err);
		if (!c->sync)
			vg_warn("cannot read the meta-data of ocf:%s:%s: %s", e->provider, e->agent,
				err);
	}
	e->keyed = true;
	e->mtime = e->run_mtime;
	e->size = e->run_size;
	entry_done(c, e);
}

static void run_start(vg_md_cache *c, entry *e, const char *path, const struct stat *st)
{
	vg_resource r = {.name = (char *)"meta-data", .provider = e->provider, .agent = e->agent};
	char **env = vg_ocf_env(c->ocf_root, &r, VG_OP_MONITOR, c->timeout_ms, 0, NULL);
	char *args[] = {(char *)path, (char *)"meta-data", NULL};
	vg_child_opts o = {.file = path,
			   .args = args,
			   .env = env,
			   .timeout_ms = c->timeout_ms,
			   .output_max = VG_MD_OUTPUT_MAX,
			   .stdout_only = true};
	e->run_mtime = st->st_mtim;
	e->run_size = st->st_size;
	e->child = vg_child_run(c->loop, &o, on_run_done, e);
	vg_env_free(env);
	if (!e->child)
		abort();
	c->runs++;
	c->busy++;
}

/* Bring e up to date with the agent file; true when a run is (now) under way. */
static bool refresh(vg_md_cache *c, entry *e)
{
	if (e->child)
		return true;
	char path[4096];
	struct stat st;
	if (vg_ocf_agent_path(c->ocf_root, e->provider, e->agent, path, sizeof path) != 0 ||
	    stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		set_answer(e, VG_AGENT_NOT_INSTALLED);
		snprintf(e->err, sizeof e->err, "under %s", vg_ocf_root(c->ocf_root));
		e->keyed = false;
		return false;
	}
	bool same = e->keyed && e->size == st.st_size && e->mtime.tv_sec == st.st_mtim.tv_sec &&
		    e->mtime.tv_nsec == st.st_mtim.tv_nsec;
	if (same && e->answer == VG_AGENT_OK)
		return false;
	run_start(c, e, path, &st);
	return true;
}

static vg_md_req *req_new(vg_md_cache *c, vg_md_ready_cb cb, void *arg)
{
	vg_md_req *r = vg_calloc(1, sizeof *r);
	r->cache = c;
	r->cb = cb;
	r->arg = arg;
	uv_timer_init(c->loop, &r->timer);
	r->timer.data = r;
	c->busy++;
	r->next = c->reqs;
	c->reqs = r;
	return r;
}

/* r waits for e's run, if one is (now) under way. */
static void req_add(vg_md_req *r, entry *e)
{
	if (!refresh(r->cache, e))
		return;
	for (size_t i = 0; i < r->n_wait; i++)
		if (r->wait[i] == e)
			return;
	r->wait = vg_realloc(r->wait, (r->n_wait + 1) * sizeof *r->wait);
	r->wait[r->n_wait++] = e;
	r->pending++;
}

static void prepare_agent(void *arg, const char *provider, const char *agent)
{
	vg_md_req *r = arg;
	req_add(r, find_or_add(r->cache, provider, agent));
}

vg_md_req *vg_md_cache_prepare(vg_md_cache *c, const char *const *yamls, size_t n,
			       vg_md_ready_cb cb, void *arg)
{
	vg_md_req *r = req_new(c, cb, arg);
	for (size_t i = 0; i < n; i++)
		if (yamls[i])
			vg_config_agents(yamls[i], strlen(yamls[i]), prepare_agent, r);
	req_check(r);
	return r;
}

void vg_md_req_cancel(vg_md_req *r)
{
	if (r)
		req_end(r);
}

/* ---- the loader's view ---------------------------------------------------- */

static vg_agent_answer answer_of(const entry *e, const vg_ocf_metadata **md, char *err,
				 size_t errlen)
{
	if (e->answer == VG_AGENT_OK)
		*md = &e->md;
	else if (e->answer != VG_AGENT_UNKNOWN)
		snprintf(err, errlen, "%s", e->err);
	return e->answer;
}

static void on_sync_ready(void *arg)
{
	*(bool *)arg = true;
}

static vg_agent_answer info_metadata(void *arg, const char *provider, const char *agent,
				     const vg_ocf_metadata **md, char *err, size_t errlen)
{
	vg_md_cache *c = arg;
	entry *e = find(c, provider, agent);
	if (!e && c->sync) {
		bool done = false;
		vg_md_req *r = req_new(c, on_sync_ready, &done);
		e = find_or_add(c, provider, agent);
		req_add(r, e);
		req_check(r);
		while (!done)
			uv_run(c->loop, UV_RUN_ONCE);
	}
	return e ? answer_of(e, md, err, errlen) : VG_AGENT_UNKNOWN;
}

vg_agent_info vg_md_cache_info(vg_md_cache *c)
{
	return (vg_agent_info){info_metadata, c};
}

/* ---- lifecycle ------------------------------------------------------------ */

static vg_md_cache *cache_new(uv_loop_t *loop, const char *ocf_root, uint64_t timeout_ms)
{
	vg_md_cache *c = vg_calloc(1, sizeof *c);
	c->loop = loop;
	c->ocf_root = ocf_root ? vg_strdup(ocf_root) : NULL;
	c->timeout_ms = timeout_ms ? timeout_ms : VG_MD_TIMEOUT_MS;
	return c;
}

vg_md_cache *vg_md_cache_new(uv_loop_t *loop, const char *ocf_root, uint64_t timeout_ms)
{
	return cache_new(loop, ocf_root, timeout_ms);
}

vg_md_cache *vg_md_cache_new_sync(const char *ocf_root, uint64_t timeout_ms)
{
	vg_md_cache *c = cache_new(NULL, ocf_root, timeout_ms);
	c->sync = true;
	uv_loop_init(&c->own_loop);
	c->loop = &c->own_loop;
	return c;
}

uint64_t vg_md_cache_runs(const vg_md_cache *c)
{
	return c->runs;
}

/* The last step of vg_md_cache_free, once nothing of it is left on the loop. */
static void cache_release(vg_md_cache *c)
{
	if (!c->freeing || c->busy > 0)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_free(c->e[i]);
	free(c->e);
	free(c->ocf_root);
	c->e = NULL;
	c->n = 0;
	c->ocf_root = NULL;
	if (!c->sync)
		free(c);
}

void vg_md_cache_free(vg_md_cache *c)
{
	if (!c)
		return;
	while (c->reqs)
		req_end(c->reqs);
	for (size_t i = 0; i < c->n; i++)
		vg_child_cancel(c->e[i]->child);
	c->freeing = true;
	if (!c->sync) {
		cache_release(c);
		return;
	}
	while (c->busy > 0)
		uv_run(c->loop, UV_RUN_ONCE);
	cache_release(c);
	uv_run(c->loop, UV_RUN_DEFAULT);
	uv_loop_close(c->loop);
	free(c);
}
