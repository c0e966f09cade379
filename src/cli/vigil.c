/* vigil.c - the command-line tool: parses a command, asks the local vigild, prints.
 *
 * Owns: the CLI grammar, `--json` output, and the exit codes (0 ok, 1 operation failed,
 * 2 usage or validation error, 3 cluster unreachable or without quorum). Commands that
 * need no daemon (keygen, agents, simulate) run here. Must not: hold cluster logic.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli_output.h"
#include "commands.h"
#include "config.h"
#include "config_diff.h"
#include "control.h"
#include "corosync_conf.h"
#include "file.h"
#include "metadata.h"
#include "ocf.h"
#include "simulate.h"
#include "mem.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };
/* A command's name on the control socket (the one table: commands.h). */
#define CMD(id) (vg_cmd_get(id)->name)

enum { CALL_TIMEOUT_MS = 30000, FENCE_TIMEOUT_MS = 300000, KEY_BYTES = 64 };
/* The control socket takes requests of up to 2 MiB (control.c); keep room for the framing. */
enum { MAX_REQUEST = 2 * 1024 * 1024 - 1024 };

typedef struct {
	const char *socket;
	bool json;
	bool off;	/* --off (node maintenance) */
	bool api_token; /* --api-token (keygen) */
	int argc;
	char **argv;	      /* the command's words, without options */
	vg_agent_info agents; /* meta-data, fetched when a command needs it (synchronously) */
} cli;

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vigil [-s SOCKET] COMMAND [--json]\n"
	    "  status [--watch]                      cluster, nodes and resources\n"
	    "  resource list                         resources and where they run\n"
	    "  resource show|restart|cleanup NAME    one resource\n"
	    "  node list                             nodes, their state and why\n"
	    "  node standby|unstandby NODE           move resources off NODE, or let them back\n"
	    "  node maintenance NODE [--off]         leave NODE's resources alone (--off: manage)\n"
	    "  node fence NODE                       power NODE off with its fence devices\n"
	    "  node confirm-down NODE                tell the cluster NODE is certainly off\n"
	    "  events                                the cluster's recent events\n"
	    "  apply FILE                            validate FILE and commit it; prints the diff\n"
	    "  config apply FILE                     the same as apply FILE\n"
	    "  config show                           the committed configuration (YAML)\n"
	    "  config diff FILE                      what apply FILE would change (\"no changes\"\n"
	    "                                        when equal; exit 0 either way)\n"
	    "  agents list                           installed OCF resource agents\n"
	    "  agents show ocf:PROVIDER:AGENT        an agent's parameters and actions\n"
	    "  simulate --config FILE [--state FILE] [--node-down N] [--node-up N]\n"
	    "           [--fail RESOURCE@NODE] [--standby N]\n"
	    "  corosync-conf -c FILE -n NODE         the corosync.conf of NODE\n"
	    "  keygen FILE                           create the cluster key\n"
	    "  keygen --api-token FILE               create the HTTP API's bearer token\n"
	    "  version\n"
	    "The socket is -s PATH, $VIGIL_SOCKET, or /run/vigil/vigild.sock.\n"
	    "Exit codes: 0 ok, 1 operation failed, 2 usage or validation error,\n"
	    "            3 cluster unreachable or without quorum.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vigil: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see vigil --help)\n");
	return EXIT_USAGE;
}

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s ? s : "null");
	free(s);
}

/* Ask the daemon; on success *result is the reply's result (owned by the caller). The exit
 * code follows the reply's code (1 failed, 2 bad request, 3 no quorum); no reply is 3. */
static int call_timeout(const cli *c, const char *cmd, json_t *args, int timeout_ms,
			json_t **result)
{
	char err[512];
	json_t *resp = vg_control_call(c->socket, cmd, args, timeout_ms, err, sizeof err);
	json_decref(args);
	if (!resp) {
		fprintf(stderr, "vigil: %s\n", err);
		return EXIT_UNREACHABLE;
	}
	int code = (int)json_integer_value(json_object_get(resp, "code"));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		if (e && !strncmp(e, "unknown command", 15))
			fprintf(stderr,
				"vigil: the vigild at %s does not know '%s' (%s): it runs an older "
				"version or without cluster support\n",
				c->socket, cmd, e);
		else
			fprintf(stderr, "vigil: %s\n", e ? e : "failed");
		json_decref(resp);
		return code >= 1 && code <= 3 ? code : EXIT_FAILED;
	}
	if (result) {
		*result = json_incref(json_object_get(resp, "result"));
		if (!*result)
			*result = json_null();
	}
	json_decref(resp);
	return EXIT_OK;
}

static int call(const cli *c, const char *cmd, json_t *args, json_t **result)
{
	return call_timeout(c, cmd, args, CALL_TIMEOUT_MS, result);
}

static int cmd_status(const cli *c, bool watch)
{
	for (;;) {
		json_t *st = NULL;
		int rc = call(c, CMD(VG_CMD_STATUS), NULL, &st);
		if (rc != EXIT_OK)
			return rc;
		if (watch)
			printf("\033[H\033[2J");
		if (c->json)
			print_json(st);
		else
			vg_print_status(stdout, st);
		json_decref(st);
		if (!watch)
			return EXIT_OK;
		fflush(stdout);
		sleep(1);
	}
}

static int cmd_resource(const cli *c)
{
	if (c->argc < 2)
		return usage_error("resource needs a subcommand: %s", "list|show|restart|cleanup");
	const char *sub = c->argv[1];
	if (!strcmp(sub, "list")) {
		json_t *st = NULL;
		int rc = call(c, CMD(VG_CMD_STATUS), NULL, &st);
		if (rc == EXIT_OK) {
			if (c->json)
				print_json(json_object_get(st, "resources"));
			else
				vg_print_resource_list(stdout, st);
		}
		json_decref(st);
		return rc;
	}
	if (strcmp(sub, "show") && strcmp(sub, "restart") && strcmp(sub, "cleanup"))
		return usage_error("unknown resource subcommand '%s'", sub);
	if (c->argc != 3)
		return usage_error("resource %s needs exactly one resource NAME", sub);
	const char *cmd = CMD(!strcmp(sub, "show")	? VG_CMD_RESOURCE_SHOW
			      : !strcmp(sub, "restart") ? VG_CMD_RESOURCE_RESTART
							: VG_CMD_RESOURCE_CLEANUP);
	json_t *res = NULL;
	int rc = call(c, cmd, json_pack("{s:s}", "name", c->argv[2]), &res);
	if (rc == EXIT_OK) {
		if (!strcmp(sub, "show"))
			c->json ? print_json(res) : vg_print_resource(stdout, res);
		else if (c->json)
			print_json(json_pack("{s:b, s:s, s:s}", "ok", 1, "action", sub, "resource",
					     c->argv[2]));
		else
			printf("%s: %s requested\n", c->argv[2], sub);
	}
	json_decref(res);
	return rc;
}

static int cmd_agents(const cli *c)
{
	if (c->argc >= 2 && !strcmp(c->argv[1], "list") && c->argc == 2) {
		char **list = NULL;
		int n = vg_ocf_list(NULL, &list);
		if (n < 0) {
			fprintf(stderr, "vigil: cannot read %s/resource.d\n", vg_ocf_root(NULL));
			return EXIT_FAILED;
		}
		json_t *arr = json_array();
		for (int i = 0; i < n; i++) {
			if (c->json)
				json_array_append_new(arr, json_string(list[i]));
			else
				printf("%s\n", list[i]);
			free(list[i]);
		}
		free(list);
		if (c->json)
			print_json(arr);
		json_decref(arr);
		return EXIT_OK;
	}
	if (c->argc != 3 || strcmp(c->argv[1], "show"))
		return usage_error("usage: vigil agents list | vigil agents show %s",
				   "ocf:PROVIDER:AGENT");
	const char *type = c->argv[2];
	char provider[256], agent[256];
	if (sscanf(type, "ocf:%255[^:]:%255s", provider, agent) != 2)
		return usage_error("'%s' is not an agent type of the form ocf:PROVIDER:AGENT",
				   type);
	const vg_ocf_metadata *m = NULL;
	char err[512] = "";
	vg_agent_answer a = c->agents.metadata(c->agents.arg, provider, agent, &m, err, sizeof err);
	if (a != VG_AGENT_OK) {
		if (a == VG_AGENT_NOT_INSTALLED)
			fprintf(stderr, "vigil: OCF agent %s is not installed %s\n", type, err);
		else
			fprintf(stderr, "vigil: cannot read the meta-data of %s: %s\n", type, err);
		return EXIT_FAILED;
	}
	const vg_ocf_metadata md = *m;
	if (c->json) {
		json_t *params = json_array(), *actions = json_array();
		for (size_t i = 0; i < md.n_params; i++) {
			const vg_ocf_param *p = &md.params[i];
			json_array_append_new(params,
					      json_pack("{s:s, s:b, s:b, s:s?, s:s?, s:s?}", "name",
							p->name, "required", p->required, "unique",
							p->unique, "type", p->type, "default",
							p->def, "shortdesc", p->shortdesc));
		}
		for (size_t i = 0; i < md.n_actions; i++)
			json_array_append_new(
			    actions, json_pack("{s:s, s:I, s:I, s:s?}", "name", md.actions[i].name,
					       "timeout_ms", (json_int_t)md.actions[i].timeout_ms,
					       "interval_ms", (json_int_t)md.actions[i].interval_ms,
					       "role", md.actions[i].role));
		json_t *o =
		    json_pack("{s:s, s:s?, s:s?, s:o, s:o}", "name", type, "version", md.version,
			      "shortdesc", md.shortdesc, "parameters", params, "actions", actions);
		print_json(o);
		json_decref(o);
	} else {
		vg_print_agent(stdout, type, &md);
	}
	return EXIT_OK;
}

/* The cluster key: KEY_BYTES random bytes. With --api-token: the HTTP API's bearer token,
 * the same randomness written as one line of hex (what http.h reads). Never overwrites. */
static int cmd_keygen(const cli *c)
{
	if (c->argc != 2)
		return usage_error("usage: vigil keygen %s", "[--api-token] FILE");
	if (sodium_init() < 0) {
		fprintf(stderr, "vigil: libsodium failed to initialise\n");
		return EXIT_FAILED;
	}
	const char *path = c->argv[1];
	const char *what = c->api_token ? "an API token" : "a key";
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	if (fd < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "vigil: cannot create %s: %s (refusing to overwrite %s)\n",
				path, strerror(errno), what);
		else
			fprintf(stderr, "vigil: cannot create %s: %s\n", path, strerror(errno));
		return EXIT_FAILED;
	}
	unsigned char key[KEY_BYTES];
	char hex[2 * KEY_BYTES + 2];
	randombytes_buf(key, sizeof key);
	sodium_bin2hex(hex, sizeof hex, key, sizeof key);
	size_t n = c->api_token ? strlen(hex) + 1 : sizeof key;
	if (c->api_token)
		hex[n - 1] = '\n';
	ssize_t w = write(fd, c->api_token ? (const void *)hex : (const void *)key, n);
	sodium_memzero(key, sizeof key);
	sodium_memzero(hex, sizeof hex);
	if (w != (ssize_t)n || fsync(fd) != 0 || close(fd) != 0) {
		fprintf(stderr, "vigil: cannot write %s: %s\n", path, strerror(errno));
		unlink(path);
		return EXIT_FAILED;
	}
	if (c->api_token && !c->json)
		printf("wrote an API token to %s (api: {token_file: %s})\n", path, path);
	else if (c->api_token)
		printf("{\"token_file\": \"%s\", \"bytes\": %d}\n", path, KEY_BYTES);
	else if (!c->json)
		printf("wrote a %d-byte cluster key to %s\n", KEY_BYTES, path);
	else
		printf("{\"key_file\": \"%s\", \"bytes\": %d}\n", path, KEY_BYTES);
	return EXIT_OK;
}

/* ---- configuration ---------------------------------------------------------------- */

/* Load and validate FILE here, before anything is sent; errors go to stderr as
 * FILE:LINE: FIELD: MESSAGE. Returns NULL after printing them. */
static vg_config *load_file(const cli *c, const char *file)
{
	vg_config_errors errs = {0};
	vg_config *cfg = vg_config_load(file, &c->agents, &errs);
	for (size_t i = 0; i < errs.count; i++) {
		char buf[1024];
		vg_config_error_format(&errs.items[i], buf, sizeof buf);
		fprintf(stderr, "%s\n", buf);
	}
	if (!cfg && errs.count == 0)
		fprintf(stderr, "vigil: %s: cannot load\n", file);
	else if (!cfg)
		fprintf(stderr, "vigil: %s: %zu error%s; nothing changed\n", file, errs.count,
			errs.count == 1 ? "" : "s");
	vg_config_errors_free(&errs);
	return cfg;
}

/* The whole text of FILE (NUL-terminated, *len without it), or NULL with a message. */
static char *read_text(const char *file, size_t *len)
{
	char err[256];
	char *buf = vg_file_read(file, MAX_REQUEST, len, err, sizeof err);
	if (!buf)
		fprintf(stderr, "vigil: %s: %s\n", file, err);
	return buf;
}

static int cmd_apply(const cli *c, const char *file)
{
	vg_config *cfg = load_file(c, file);
	if (!cfg)
		return EXIT_USAGE;
	vg_config_free(cfg);
	size_t len = 0;
	char *text = read_text(file, &len);
	if (!text)
		return EXIT_USAGE;
	json_t *yaml = json_stringn(text, len);
	free(text);
	if (!yaml) {
		fprintf(stderr, "vigil: %s is not valid UTF-8 text\n", file);
		return EXIT_USAGE;
	}
	json_t *args = json_pack("{s:o, s:s}", "yaml", yaml, "file", file);
	if (!args) {
		fprintf(stderr, "vigil: the file name %s is not valid UTF-8\n", file);
		return EXIT_USAGE;
	}
	char *wire = json_dumps(args, JSON_COMPACT);
	size_t wire_len = wire ? strlen(wire) : 0;
	free(wire);
	if (wire_len == 0 || wire_len > MAX_REQUEST) {
		fprintf(stderr,
			"vigil: %s is too large to send (the daemon takes %d KiB at most)\n", file,
			MAX_REQUEST / 1024);
		json_decref(args);
		return EXIT_USAGE;
	}
	json_t *res = NULL;
	int rc = call(c, CMD(VG_CMD_APPLY), args, &res);
	if (rc == EXIT_OK) {
		const char *diff = json_string_value(json_object_get(res, "diff"));
		if (c->json)
			print_json(res);
		else if (diff && *diff)
			printf("%s%s", diff, diff[strlen(diff) - 1] == '\n' ? "" : "\n");
		else
			printf("no changes\n");
	}
	json_decref(res);
	return rc;
}

/* The committed configuration: *out is config.show's result ({yaml, epoch, version}). */
static int get_committed(const cli *c, json_t **out)
{
	*out = NULL;
	int rc = call(c, CMD(VG_CMD_CONFIG_SHOW), NULL, out);
	if (rc == EXIT_OK && !json_is_object(*out)) {
		fprintf(stderr, "vigil: vigild sent no configuration\n");
		json_decref(*out);
		*out = NULL;
		rc = EXIT_FAILED;
	}
	return rc;
}

static int cmd_config_show(const cli *c)
{
	json_t *res = NULL;
	int rc = get_committed(c, &res);
	if (rc != EXIT_OK)
		return rc;
	const char *yaml = json_string_value(json_object_get(res, "yaml"));
	if (c->json) {
		print_json(res);
	} else if (!yaml) {
		fprintf(stderr, "vigil: no configuration has been committed yet\n");
		rc = EXIT_FAILED;
	} else {
		size_t n = strlen(yaml);
		printf("%s%s", yaml, n && yaml[n - 1] != '\n' ? "\n" : "");
	}
	json_decref(res);
	return rc;
}

/* `config diff FILE`: from the committed configuration to FILE, i.e. what `apply FILE`
 * would change. Computed here; exit 0 whether or not there are differences. */
static int cmd_config_diff(const cli *c, const char *file)
{
	vg_config *next = load_file(c, file);
	if (!next)
		return EXIT_USAGE;
	json_t *res = NULL;
	int rc = get_committed(c, &res);
	if (rc != EXIT_OK) {
		vg_config_free(next);
		return rc;
	}
	const char *yaml = json_string_value(json_object_get(res, "yaml"));
	vg_config *cur = NULL;
	if (yaml) {
		vg_config_errors errs = {0};
		cur = vg_config_load_buffer("committed configuration", yaml, strlen(yaml),
					    &c->agents, &errs);
		for (size_t i = 0; !cur && i < errs.count; i++) {
			char buf[1024];
			vg_config_error_format(&errs.items[i], buf, sizeof buf);
			fprintf(stderr, "%s\n", buf);
		}
		vg_config_errors_free(&errs);
		if (!cur) {
			fprintf(stderr, "vigil: the committed configuration does not load here\n");
			json_decref(res);
			vg_config_free(next);
			return EXIT_FAILED;
		}
	}
	char *diff = vg_config_diff(cur, next);
	if (!diff) {
		fprintf(stderr, "vigil: out of memory\n");
		rc = EXIT_FAILED;
	} else if (c->json) {
		json_t *o = json_pack("{s:s, s:b, s:O?, s:O?}", "diff", diff, "changed", *diff != 0,
				      "epoch", json_object_get(res, "epoch"), "version",
				      json_object_get(res, "version"));
		print_json(o);
		json_decref(o);
	} else {
		printf("%s", *diff ? diff : "no changes\n");
	}
	free(diff);
	vg_config_free(cur);
	vg_config_free(next);
	json_decref(res);
	return rc;
}

static int cmd_config(const cli *c)
{
	if (c->argc < 2)
		return usage_error("config needs a subcommand: %s", "show|apply FILE|diff FILE");
	const char *sub = c->argv[1];
	if (!strcmp(sub, "show"))
		return c->argc == 2 ? cmd_config_show(c)
				    : usage_error("config show takes no %s", "arguments");
	if (strcmp(sub, "apply") && strcmp(sub, "diff"))
		return usage_error("unknown config subcommand '%s' (show, apply FILE, diff FILE)",
				   sub);
	if (c->argc != 3)
		return usage_error("config %s needs exactly one FILE", sub);
	return !strcmp(sub, "apply") ? cmd_apply(c, c->argv[2]) : cmd_config_diff(c, c->argv[2]);
}

/* ---- nodes and events -------------------------------------------------------------- */

static int cmd_node_list(const cli *c)
{
	json_t *st = NULL;
	int rc = call(c, CMD(VG_CMD_STATUS), NULL, &st);
	if (rc == EXIT_OK) {
		if (c->json)
			print_json(json_object_get(st, "nodes"));
		else
			vg_print_node_list(stdout, st);
	}
	json_decref(st);
	return rc;
}

static int cmd_node(const cli *c)
{
	static const char *const subs = "list|standby|unstandby|maintenance|fence|confirm-down";
	if (c->argc < 2)
		return usage_error("node needs a subcommand: %s", subs);
	const char *sub = c->argv[1];
	if (c->off && strcmp(sub, "maintenance"))
		return usage_error("--off goes with %s only", "node maintenance");
	if (!strcmp(sub, "list"))
		return c->argc == 2 ? cmd_node_list(c)
				    : usage_error("node list takes no %s", "arguments");
	if (!strcmp(sub, "add") || !strcmp(sub, "remove")) {
		fprintf(stderr,
			"vigil: 'node %s' is not available yet: edit the nodes of cluster.yaml "
			"and run `vigil apply`\n",
			sub);
		return EXIT_FAILED;
	}
	static const struct {
		const char *sub;
		vg_cmd_id cmd;
		const char *done;
	} acts[] = {
	    {"standby", VG_CMD_NODE_STANDBY, "is now in standby"},
	    {"unstandby", VG_CMD_NODE_UNSTANDBY, "is no longer in standby"},
	    {"maintenance", VG_CMD_NODE_MAINTENANCE, "is now in maintenance"},
	    {"fence", VG_CMD_NODE_FENCE, "fenced"},
	    {"confirm-down", VG_CMD_NODE_CONFIRM_DOWN, "confirmed down"},
	};
	size_t a = 0;
	while (a < sizeof acts / sizeof *acts && strcmp(acts[a].sub, sub))
		a++;
	if (a == sizeof acts / sizeof *acts)
		return usage_error("unknown node subcommand '%s'", sub);
	if (c->argc != 3)
		return usage_error("node %s needs exactly one NODE", sub);
	const char *node = c->argv[2];
	json_t *args = json_pack("{s:s}", "node", node);
	if (!strcmp(sub, "maintenance"))
		json_object_set_new(args, "on", json_boolean(!c->off));
	json_t *res = NULL;
	int rc = call_timeout(c, CMD(acts[a].cmd), args,
			      !strcmp(sub, "fence") ? FENCE_TIMEOUT_MS : CALL_TIMEOUT_MS, &res);
	if (rc == EXIT_OK) {
		if (c->json) {
			json_t *o = json_pack("{s:b, s:s, s:s, s:O}", "ok", 1, "action", sub,
					      "node", node, "result", res);
			if (!strcmp(sub, "maintenance"))
				json_object_set_new(o, "on", json_boolean(!c->off));
			print_json(o);
			json_decref(o);
		} else {
			printf("node %s %s\n", node,
			       c->off ? "is no longer in maintenance" : acts[a].done);
		}
	}
	json_decref(res);
	return rc;
}

static int cmd_events(const cli *c)
{
	if (c->argc != 1)
		return usage_error("events takes no %s", "arguments");
	json_t *res = NULL;
	int rc = call(c, CMD(VG_CMD_EVENTS), NULL, &res);
	if (rc == EXIT_OK) {
		if (c->json)
			print_json(res);
		else
			vg_print_events(stdout, json_object_get(res, "events"));
	}
	json_decref(res);
	return rc;
}

int main(int argc, char **argv)
{
	vg_mem_init();
	cli c = {.socket = getenv("VIGIL_SOCKET")};
	if (!c.socket || !*c.socket)
		c.socket = "/run/vigil/vigild.sock";
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) {
			if (i + 1 >= argc)
				return usage_error("%s needs a PATH", argv[i]);
			c.socket = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			c.json = true;
			i++;
		} else {
			return usage_error("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	vg_md_cache *md = vg_md_cache_new_sync(NULL, VG_MD_TIMEOUT_MS);
	c.agents = vg_md_cache_info(md);
	/* Commands with options of their own get the raw words. */
	if (!strcmp(argv[i], "corosync-conf") || !strcmp(argv[i], "simulate")) {
		int rc = !strcmp(argv[i], "simulate")
			     ? vg_simulate_main(argc - i, argv + i, &c.agents, stdout, stderr)
			     : vg_corosync_conf_main(argc - i, argv + i, &c.agents, stdout, stderr);
		vg_md_cache_free(md);
		return rc;
	}

	/* The command's words; --json and --watch may stand anywhere after the command. */
	bool watch = false;
	char **words = vg_calloc((size_t)(argc - i + 1), sizeof *words);
	for (int k = i; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			c.json = true;
		else if (!strcmp(argv[k], "--watch"))
			watch = true;
		else if (!strcmp(argv[k], "--off"))
			c.off = true;
		else if (!strcmp(argv[k], "--api-token"))
			c.api_token = true;
		else if (argv[k][0] == '-' && argv[k][1]) {
			int rc = usage_error("unknown option '%s'", argv[k]);
			free(words);
			vg_md_cache_free(md);
			return rc;
		} else
			words[c.argc++] = argv[k];
	}
	c.argv = words;
	const char *cmd = words[0];
	int rc;
	if (watch && strcmp(cmd, "status"))
		rc = usage_error("--watch goes with %s only", "status");
	else if (c.off && strcmp(cmd, "node"))
		rc = usage_error("--off goes with %s only", "node maintenance");
	else if (c.api_token && strcmp(cmd, "keygen"))
		rc = usage_error("--api-token goes with %s only", "keygen");
	else if (!strcmp(cmd, "status"))
		rc =
		    c.argc == 1 ? cmd_status(&c, watch) : usage_error("status takes no %s", "NAME");
	else if (!strcmp(cmd, "resource"))
		rc = cmd_resource(&c);
	else if (!strcmp(cmd, "agents"))
		rc = cmd_agents(&c);
	else if (!strcmp(cmd, "keygen"))
		rc = cmd_keygen(&c);
	else if (!strcmp(cmd, "node"))
		rc = cmd_node(&c);
	else if (!strcmp(cmd, "events"))
		rc = cmd_events(&c);
	else if (!strcmp(cmd, "config"))
		rc = cmd_config(&c);
	else if (!strcmp(cmd, "apply"))
		rc = c.argc == 2 ? cmd_apply(&c, c.argv[1])
				 : usage_error("apply needs exactly one %s", "FILE");
	else if (!strcmp(cmd, "availability")) {
		fprintf(stderr, "vigil: 'availability' is not available yet\n");
		rc = EXIT_FAILED;
	} else if (!strcmp(cmd, "version")) {
		printf("vigil %s\n", VIGIL_VERSION);
		rc = EXIT_OK;
	} else {
		rc = usage_error("unknown command '%s'", cmd);
	}
	free(words);
	vg_md_cache_free(md);
	return rc;
}
