/* vigild.c - the daemon: arguments, start-up, the loop, signals, control commands.
 *
 * Owns: main's context (the one place with process-wide state), the order of start-up and
 * shutdown, and handing control commands to the cluster (cluster.c: standalone is a cluster
 * of one). Must not: hold resource logic (supervisor.c), placement (scheduler.c) or
 * configuration rules (config.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "cluster.h"
#include "commands.h"
#include "config.h"
#include "control.h"
#include "file.h"
#include "http.h"
#include "metrics.h"
#include "log.h"
#include "metadata.h"
#include "repstate.h"
#include "store.h"
#include "mem.h"

typedef struct {
	uv_loop_t loop;
	vg_log_config log;
	vg_config *config;
	vg_md_cache *agents;   /* the agents' meta-data, read before a configuration is loaded */
	vg_md_req *agents_req; /* start-up: until it is ready, cl does not exist */
	const char *config_path;
	bool cluster_mode;
	vg_cluster *cl; /* the node: a cluster member, or a standalone cluster of one */
	vg_control *ctl;
	vg_http *http; /* NULL: the API could not be opened (logged) */
	uv_signal_t sigterm, sigint, sigpipe;
	const char *node;
	const char *data_dir;
	const char *socket_path;
	bool stopping;
	int exit_code;
} daemon_ctx;

static void usage(FILE *f)
{
	fprintf(f, "usage: vigild -c FILE -n NODE [--data-dir DIR] [--socket PATH] [--foreground]\n"
		   "              [--log-format text|json] [--log-level error|warn|info|debug]\n"
		   "defaults: --data-dir /var/lib/vigil, --socket /run/vigil/vigild.sock\n");
}

static void on_all_stopped(void *arg);

/* The cluster cannot run here (a Corosync that does not match the file): stop and exit 1. */
static void on_fatal(void *arg)
{
	daemon_ctx *d = arg;
	d->exit_code = 1;
	if (d->stopping)
		return;
	d->stopping = true;
	vg_cluster_shutdown(d->cl, on_all_stopped, d);
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* ---- control commands ------------------------------------------------------ */

/* While the agents' meta-data is read (before the cluster exists): only what a starting
 * vigild answers (commands.h), with the mode it is starting in. */
static void starting_ping(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
			  vg_control_reply *r)
{
	daemon_ctx *d = ctx;
	(void)cmd, (void)target, (void)args;
	r->result = json_pack("{s:s, s:b}", "node", d->node, "starting", 1);
}

static const vg_cmd_handlers starting_standalone = {
    .mode = "a standalone node (one server: no cluster to change)",
    .fn = {[VG_CMD_PING] = starting_ping}};
static const vg_cmd_handlers starting_cluster = {.mode = "a cluster node",
						 .fn = {[VG_CMD_PING] = starting_ping}};

static void handle(void *arg, const char *cmd, json_t *args, vg_control_reply *r)
{
	daemon_ctx *d = arg;
	if (d->cl)
		vg_cluster_handle(d->cl, cmd, args, r);
	else
		vg_cmd_dispatch(d->cluster_mode ? &starting_cluster : &starting_standalone, d, true,
				cmd, args, r);
}

/* ---- lifecycle ---------------------------------------------------------------- */

/* GET /metrics: the status (the one producer's) with the configuration in use, as text; NULL
 * while starting (nothing runs yet). */
static char *metrics_text(void *arg)
{
	daemon_ctx *d = arg;
	if (!d->cl)
		return NULL;
	json_t *args = json_object();
	vg_control_reply r = {0};
	handle(d, vg_cmd_get(VG_CMD_STATUS)->name, args, &r);
	json_decref(args);
	char *text = r.code == 0 && r.result && !r.deferred_
			 ? vg_metrics_text(r.result, vg_cluster_config(d->cl))
			 : NULL;
	json_decref(r.result);
	return text;
}

/* The HTTP API (http.h) on api.listen, answered by the same handler as the control socket.
 * One that cannot be opened is logged and the node runs without it: its resources matter
 * more than the API. Without a usable token every write is refused; a TLS pair that cannot
 * be read leaves the API off rather than serving it in clear. */
static void open_api(daemon_ctx *d)
{
	const vg_config *c = d->config;
	char err[512], why[256];
	char *token = NULL, *cert = NULL, *key = NULL;
	if (c->api.token_file && !(token = vg_http_read_token(c->api.token_file, err, sizeof err)))
		vg_error("HTTP API: %s: every write is refused", err);
	if (c->api.tls_cert) {
		const char *bad = c->api.tls_cert;
		cert = vg_file_read(c->api.tls_cert, 1u << 20, NULL, why, sizeof why);
		if (cert) {
			bad = c->api.tls_key;
			key = vg_file_read(c->api.tls_key, 1u << 20, NULL, why, sizeof why);
		}
		if (!cert || !key) {
			vg_error("HTTP API off: %s: %s", bad, why);
			goto out;
		}
	}
	vg_http_opts o = {.listen = c->api.listen,
			  .token = token,
			  .tls_cert_pem = cert,
			  .tls_key_pem = key,
			  .handler = handle,
			  .metrics = metrics_text,
			  .arg = d};
	d->http = vg_http_open(&d->loop, &o, err, sizeof err);
	if (!d->http)
		vg_error("HTTP API off: %s", err);
	else
		vg_info("HTTP API on %s (%s)%s", c->api.listen, cert ? "HTTPS" : "HTTP",
			token ? "" : "; no token: writes are refused");
out:
	if (token)
		sodium_memzero(token, strlen(token));
	if (key)
		sodium_memzero(key, strlen(key));
	free(token);
	free(cert);
	free(key);
}

/* Load FILE with what agents says; on errors report them (to the log or stderr), NULL. */
static vg_config *load_config(const char *file, const vg_agent_info *agents, bool log)
{
	vg_config_errors errs = {0};
	vg_config *c = vg_config_load(file, agents, &errs);
	if (c)
		return c;
	/* Before the loop they go to stderr; once it runs (perhaps detached), to the log. */
	for (size_t i = 0; i < errs.count; i++) {
		char line[1024];
		vg_config_error_format(&errs.items[i], line, sizeof line);
		if (log)
			vg_error("%s", line);
		else
			fprintf(stderr, "%s\n", line);
	}
	if (log)
		vg_error("%s: %zu error(s); nothing was started", file, errs.count);
	else
		fprintf(stderr, "vigild: %s: %zu error(s); nothing was started\n", file,
			errs.count);
	vg_config_errors_free(&errs);
	return NULL;
}

/* A full check, agents run at once (only where nothing is being served). 0: no error. */
static int report_errors_sync(const char *file)
{
	vg_md_cache *md = vg_md_cache_new_sync(NULL, 0);
	vg_agent_info ai = vg_md_cache_info(md);
	vg_config *c = load_config(file, &ai, false);
	int rc = c ? 0 : -1;
	vg_md_cache_free(md);
	vg_config_free(c);
	return rc;
}

/* Standalone or not, the node is a cluster member (cluster.h): over Corosync, or a cluster of
 * one, so that one coordinator and one scheduler decide for both. */
static void start_node(daemon_ctx *d)
{
	char err[512];
	vg_cluster_opts co = {.loop = &d->loop,
			      .node = d->node,
			      .data_dir = d->data_dir,
			      .config_path = d->config_path,
			      .file_config = d->config,
			      .agents = d->agents,
			      .on_fatal = on_fatal,
			      .fatal_arg = d,
			      .standalone = !d->cluster_mode};
	if (d->cluster_mode)
		vg_info("vigild %s: node %s, cluster mode over Corosync, socket %s", VIGIL_VERSION,
			d->node, d->socket_path);
	else
		vg_info("vigild %s: node %s, cluster %s (standalone), %zu resources, socket %s",
			VIGIL_VERSION, d->node, d->config->name, d->config->n_resources,
			d->socket_path);
	d->config = NULL; /* the cluster owns it */
	d->cl = vg_cluster_new(&co, err, sizeof err);
	if (!d->cl) {
		vg_error("%s", err);
		vg_config_free(co.file_config);
		d->exit_code = 1;
		d->stopping = true;
		on_all_stopped(d);
		return;
	}
	vg_cluster_start(d->cl);
}

/* Start-up: every agent's meta-data is in the cache; load the file again with every check. */
static void on_agents_ready(void *arg)
{
	daemon_ctx *d = arg;
	d->agents_req = NULL;
	vg_agent_info ai = vg_md_cache_info(d->agents);
	vg_config_free(d->config);
	d->config = load_config(d->config_path, &ai, true);
	if (d->config && !vg_config_node(d->config, d->node)) {
		vg_error("%s: node '%s' is not in the nodes list", d->config_path, d->node);
		vg_config_free(d->config);
		d->config = NULL;
	}
	if (!d->config) {
		d->exit_code = 2;
		d->stopping = true;
		on_all_stopped(d);
		return;
	}
	start_node(d);
}

static void on_handle_close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_all_stopped(void *arg)
{
	daemon_ctx *d = arg;
	vg_info(d->cl ? "all resources stopped; exiting" : "exiting");
	vg_md_req_cancel(d->agents_req);
	d->agents_req = NULL;
	vg_cluster_free(d->cl); /* answers requests still waiting before the socket closes */
	d->cl = NULL;
	vg_http_close(d->http);
	d->http = NULL;
	vg_control_close(d->ctl);
	d->ctl = NULL;
	vg_md_cache_free(d->agents);
	d->agents = NULL;
	uv_signal_stop(&d->sigterm);
	uv_signal_stop(&d->sigint);
	uv_signal_stop(&d->sigpipe);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigpipe, NULL);
}

static void on_signal(uv_signal_t *h, int sig)
{
	daemon_ctx *d = h->data;
	if (sig == SIGPIPE)
		return;
	if (d->stopping) {
		vg_warn("signal %d again while stopping: still waiting for resources to stop", sig);
		return;
	}
	vg_info("signal %d: stopping", sig);
	d->stopping = true;
	if (!d->cl)
		on_all_stopped(d); /* still starting: nothing runs yet */
	else
		vg_cluster_shutdown(d->cl, on_all_stopped, d);
}

int main(int argc, char **argv)
{
	vg_mem_init();
	daemon_ctx d = {.data_dir = "/var/lib/vigil", .socket_path = "/run/vigil/vigild.sock"};
	d.log.level = VG_LOG_INFO;
	d.log.use_syslog = true;
	const char *config_path = NULL;
	bool foreground = false;
	static const struct option longopts[] = {
	    {"config", required_argument, 0, 'c'},
	    {"node", required_argument, 0, 'n'},
	    {"data-dir", required_argument, 0, 'd'},
	    {"socket", required_argument, 0, 's'},
	    {"foreground", no_argument, 0, 'f'},
	    {"log-format", required_argument, 0, 'L'},
	    {"log-level", required_argument, 0, 'l'},
	    {"version", no_argument, 0, 'V'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:n:d:s:fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			d.node = optarg;
			break;
		case 'd':
			d.data_dir = optarg;
			break;
		case 's':
			d.socket_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'L':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "vigild: --log-format must be text or json\n");
				return 2;
			}
			d.log.json = !strcmp(optarg, "json");
			break;
		case 'l': {
			static const char *const lv[] = {"error", "warn", "info", "debug"};
			size_t i = 0;
			while (i < 4 && strcmp(optarg, lv[i]))
				i++;
			if (i == 4) {
				fprintf(stderr, "vigild: unknown --log-level '%s'\n", optarg);
				return 2;
			}
			d.log.level = (vg_log_level)i;
			break;
		}
		case 'V':
			printf("vigild %s\n", VIGIL_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config_path || !d.node || optind != argc) {
		usage(stderr);
		return 2;
	}
	d.log.node = d.node;
	vg_log_init(&d.log);

	/* The structure now, before anything else; the agents' meta-data once the loop runs. */
	d.config = load_config(config_path, NULL, false);
	if (!d.config)
		return 2;
	const vg_node *self = vg_config_node(d.config, d.node);
	if (!self) {
		fprintf(stderr, "vigild: %s: node '%s' is not in the nodes list\n", config_path,
			d.node);
		vg_config_free(d.config);
		return 2;
	}
	size_t servers = vg_config_servers(d.config);
	if (self->role != VG_ROLE_SERVER) {
		fprintf(stderr,
			"vigild: %s: node '%s' has role agent: agent nodes are not available in "
			"this version\n",
			config_path, d.node);
		vg_config_free(d.config);
		return 1;
	}
	bool cluster_mode = servers > 1;
	if (mkdir_p(d.data_dir) != 0) {
		fprintf(stderr, "vigild: cannot create data directory %s: %s\n", d.data_dir,
			strerror(errno));
		vg_config_free(d.config);
		return 1;
	}
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "vigild: cannot detach: %s\n", strerror(errno));
		vg_config_free(d.config);
		return 1;
	}

	/* One vigild per data directory: two would both adopt and restart the same resources.
	 * The descriptor is close-on-exec so that no resource inherits the lock. */
	char lock_path[4096];
	snprintf(lock_path, sizeof lock_path, "%s/vigild.lock", d.data_dir);
	int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
		/* Not running here: nothing is served, so the file's every error (its agents'
		 * too) may be reported first, read at once. */
		if (report_errors_sync(config_path) != 0) {
			if (lock_fd >= 0)
				close(lock_fd);
			vg_config_free(d.config);
			return 2;
		}
		fprintf(stderr, "vigild: %s: %s\n", lock_path,
			lock_fd < 0 ? strerror(errno)
				    : "another vigild is running with this data directory");
		if (lock_fd >= 0)
			close(lock_fd);
		vg_config_free(d.config);
		return 1;
	}

	uv_loop_init(&d.loop);
	char err[512];
	d.ctl = vg_control_open(&d.loop, d.socket_path, handle, &d, err, sizeof err);
	if (!d.ctl) {
		vg_error("%s", err);
		uv_walk(&d.loop, on_handle_close_walk, NULL);
		uv_run(&d.loop, UV_RUN_DEFAULT);
		uv_loop_close(&d.loop);
		vg_config_free(d.config);
		close(lock_fd);
		return 1;
	}
	open_api(&d);
	uv_signal_t *sigs[] = {&d.sigterm, &d.sigint, &d.sigpipe};
	int signums[] = {SIGTERM, SIGINT, SIGPIPE};
	for (int i = 0; i < 3; i++) {
		uv_signal_init(&d.loop, sigs[i]);
		sigs[i]->data = &d;
		uv_signal_start(sigs[i], on_signal, signums[i]);
	}
	/* The agents' meta-data is read on the loop, the control socket answering meanwhile;
	 * then the file is loaded again, now with every check, and the node starts. */
	d.config_path = config_path;
	d.cluster_mode = cluster_mode;
	d.agents = vg_md_cache_new(&d.loop, NULL, 0);
	const char *texts[2] = {NULL, NULL};
	char *file_text = vg_file_read(config_path, VG_REPMSG_MAX, NULL, NULL, 0);
	texts[0] = file_text;
	vg_repstate *rs = NULL;
	if (cluster_mode && vg_store_load(d.data_dir, &rs, NULL, NULL, err, sizeof err) == 0)
		texts[1] = rs->config_yaml; /* the committed configuration it may follow */
	d.agents_req = vg_md_cache_prepare(d.agents, texts, 2, on_agents_ready, &d);
	free(file_text);
	vg_repstate_free(rs);
	vg_info("vigild %s: node %s: reading the meta-data of the agents of %s", VIGIL_VERSION,
		d.node, config_path);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_walk(&d.loop, on_handle_close_walk, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_loop_close(&d.loop);
	vg_config_free(d.config);
	close(lock_fd);
	return d.exit_code;
}
