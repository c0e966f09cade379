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
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli_output.h"
#include "config.h"
#include "control.h"
#include "corosync_conf.h"
#include "ocf.h"
#include "simulate.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };
enum { CALL_TIMEOUT_MS = 30000, KEY_BYTES = 64 };

typedef struct {
	const char *socket;
	bool json;
	int argc;
	char **argv; /* the command's words, without options */
} cli;

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil [-s SOCKET] COMMAND [--json]\n"
		   "  status [--watch]                      cluster, nodes and resources\n"
		   "  resource list                         resources and where they run\n"
		   "  resource show|restart|cleanup NAME    one resource\n"
		   "  agents list                           installed OCF resource agents\n"
		   "  agents show ocf:PROVIDER:AGENT        an agent's parameters and actions\n"
		   "  simulate --config FILE [--state FILE] [--node-down N] [--node-up N]\n"
		   "           [--fail RESOURCE@NODE] [--standby N]\n"
		   "  keygen FILE                           create the cluster key\n"
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

/* Ask the daemon; on success *result is the reply's result (owned by the caller). */
static int call(const cli *c, const char *cmd, json_t *args, json_t **result)
{
	char err[512];
	json_t *resp = vg_control_call(c->socket, cmd, args, CALL_TIMEOUT_MS, err, sizeof err);
	json_decref(args);
	if (!resp) {
		fprintf(stderr, "vigil: %s\n", err);
		return EXIT_UNREACHABLE;
	}
	int code = (int)json_integer_value(json_object_get(resp, "code"));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
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

static int cmd_status(const cli *c, bool watch)
{
	for (;;) {
		json_t *st = NULL;
		int rc = call(c, "status", NULL, &st);
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
		int rc = call(c, "status", NULL, &st);
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
	char cmd[64];
	snprintf(cmd, sizeof cmd, "resource.%s", sub);
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
	vg_ocf_metadata md;
	char err[512];
	if (vg_ocf_metadata_get(NULL, provider, agent, 10000, &md, err, sizeof err) != 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return EXIT_FAILED;
	}
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
	vg_ocf_metadata_free(&md);
	return EXIT_OK;
}

static int cmd_keygen(const cli *c)
{
	if (c->argc != 2)
		return usage_error("usage: vigil keygen %s", "FILE");
	if (sodium_init() < 0) {
		fprintf(stderr, "vigil: libsodium failed to initialise\n");
		return EXIT_FAILED;
	}
	const char *path = c->argv[1];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	if (fd < 0) {
		fprintf(stderr, "vigil: cannot create %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return EXIT_FAILED;
	}
	unsigned char key[KEY_BYTES];
	randombytes_buf(key, sizeof key);
	ssize_t w = write(fd, key, sizeof key);
	sodium_memzero(key, sizeof key);
	if (w != (ssize_t)sizeof key || fsync(fd) != 0 || close(fd) != 0) {
		fprintf(stderr, "vigil: cannot write %s: %s\n", path, strerror(errno));
		unlink(path);
		return EXIT_FAILED;
	}
	if (!c->json)
		printf("wrote a %d-byte cluster key to %s\n", KEY_BYTES, path);
	else
		printf("{\"key_file\": \"%s\", \"bytes\": %d}\n", path, KEY_BYTES);
	return EXIT_OK;
}

static const char *const cluster_commands[] = {"node", "events", "availability", "config", "apply"};

int main(int argc, char **argv)
{
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
	/* Commands with options of their own get the raw words. */
	if (!strcmp(argv[i], "corosync-conf"))
		return vg_corosync_conf_main(argc - i, argv + i, stdout, stderr);
	if (!strcmp(argv[i], "simulate"))
		return vg_simulate_main(argc - i, argv + i, stdout, stderr);

	/* The command's words; --json and --watch may stand anywhere after the command. */
	bool watch = false;
	char **words = calloc((size_t)(argc - i + 1), sizeof *words);
	for (int k = i; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			c.json = true;
		else if (!strcmp(argv[k], "--watch"))
			watch = true;
		else if (argv[k][0] == '-' && argv[k][1]) {
			int rc = usage_error("unknown option '%s'", argv[k]);
			free(words);
			return rc;
		} else
			words[c.argc++] = argv[k];
	}
	c.argv = words;
	const char *cmd = words[0];
	int rc;
	if (watch && strcmp(cmd, "status"))
		rc = usage_error("--watch goes with %s only", "status");
	else if (!strcmp(cmd, "status"))
		rc =
		    c.argc == 1 ? cmd_status(&c, watch) : usage_error("status takes no %s", "NAME");
	else if (!strcmp(cmd, "resource"))
		rc = cmd_resource(&c);
	else if (!strcmp(cmd, "agents"))
		rc = cmd_agents(&c);
	else if (!strcmp(cmd, "keygen"))
		rc = cmd_keygen(&c);
	else if (!strcmp(cmd, "version")) {
		printf("vigil %s\n", VIGIL_VERSION);
		rc = EXIT_OK;
	} else {
		rc = -1;
		for (size_t k = 0; k < sizeof cluster_commands / sizeof *cluster_commands; k++)
			if (!strcmp(cmd, cluster_commands[k])) {
				fprintf(stderr,
					"vigil: '%s' needs cluster mode, which this version does "
					"not have yet\n",
					cmd);
				rc = EXIT_FAILED;
			}
		if (rc < 0)
			rc = usage_error("unknown command '%s'", cmd);
	}
	free(words);
	return rc;
}
