/* corosync_conf.c - `vigil corosync-conf`: the corosync.conf and authkey of a server node.
 *
 * Owns: turning a validated vg_config into the text Corosync 3 reads (knet transport, crypto,
 * node list, token timeout, votequorum options), the rules by which Corosync refuses a token
 * value, and the derivation of Corosync's authkey from the cluster key file.
 * Must not: start or talk to Corosync, touch the network, or change the configuration; the
 * only file it writes is the authkey the operator names with --authkey.
 */
#include "corosync_conf.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* Corosync 3.1.7's totemconfig.c: token_retransmit = (int)(token / (retransmits + 0.2)) must be
 * at least MINIMUM_TIMEOUT = 3 * (1000 / HZ) = 30 ms; the derived hold, join and consensus
 * timeouts then satisfy their own minimums. */
#define CS_RETRANSMITS_BEFORE_LOSS 4
#define CS_MINIMUM_TIMEOUT_MS	   30
#define CS_HZ			   100
/* Corosync with knet refuses node ids of 65536 and above. */
#define CS_KNET_MAX_NODEID 65535u
/* knet heartbeat: see issue 4 (inside totem.interface, where Corosync reads them). */
#define KNET_PING_INTERVAL_MS 200
#define KNET_PING_TIMEOUT_MS  500

#define KEY_MIN_BYTES	  32
#define KEY_MAX_BYTES	  (1024 * 1024)
#define AUTHKEY_MAX_BYTES (64 * 1024)
static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = {'c', 'o', 'r', 'o', 's', 'y', 'n', 'c'};

enum { EXIT_OK = 0, EXIT_IO = 1, EXIT_USAGE = 2 };

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return VG_COROSYNC_EINVAL;
}

int vg_corosync_check_token(uint32_t token_ms, char *err, size_t errlen)
{
	int retransmit = (int)(token_ms / (CS_RETRANSMITS_BEFORE_LOSS + 0.2));
	if (retransmit < CS_MINIMUM_TIMEOUT_MS)
		return fail(err, errlen,
			    "%ums is below Corosync's minimum token of %ums (it derives "
			    "token_retransmit = token / %.1f = %dms and refuses less than %dms)",
			    token_ms, VG_COROSYNC_TOKEN_MIN_MS, CS_RETRANSMITS_BEFORE_LOSS + 0.2,
			    retransmit, CS_MINIMUM_TIMEOUT_MS);
	if (token_ms > VG_COROSYNC_TOKEN_MAX_MS)
		return fail(err, errlen, "%ums is above the largest token vigil allows (%ums)",
			    token_ms, VG_COROSYNC_TOKEN_MAX_MS);
	return 0;
}

uint32_t vg_corosync_hold_ms(uint32_t token_ms)
{
	int retransmit = (int)(token_ms / (CS_RETRANSMITS_BEFORE_LOSS + 0.2));
	int hold = (int)(retransmit * 0.8 - 1000 / CS_HZ); /* Corosync's default */
	if (hold < 1)
		hold = 1;
	return (uint32_t)hold < VG_COROSYNC_HOLD_MAX_MS ? (uint32_t)hold : VG_COROSYNC_HOLD_MAX_MS;
}

/* Values go into corosync.conf unquoted, up to the end of the line: allow only characters of
 * names, IPv4/IPv6 addresses (with a %scope) and host names. */
static bool conf_safe(const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		return false;
	for (const char *p = s; *p; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' ||
			  ch == ':' || ch == '%';
		if (!ok)
			return false;
	}
	return true;
}

static int validate(const vg_config *c, const char *node, char *err, size_t errlen)
{
	const vg_node *self = NULL;
	size_t servers = vg_config_servers(c);
	for (size_t i = 0; i < c->n_nodes; i++)
		if (node && c->nodes[i].name && !strcmp(c->nodes[i].name, node))
			self = &c->nodes[i];
	if (!node || !self)
		return fail(err, errlen, "nodes: no node named '%s'", node ? node : "");
	if (self->role != VG_ROLE_SERVER)
		return fail(err, errlen,
			    "nodes: '%s' is an agent node, not a server: it runs no Corosync",
			    node);
	if (servers < 2)
		return fail(err, errlen,
			    "standalone: no Corosync needed (the cluster has %zu server node; "
			    "Corosync runs with 2 or more)",
			    servers);
	char why[256];
	if (vg_corosync_check_token(c->token_ms, why, sizeof(why)))
		return fail(err, errlen, "cluster.token: %s", why);
	if (!conf_safe(c->name))
		return fail(err, errlen,
			    "cluster.name: '%s' cannot be a Corosync cluster_name (use letters, "
			    "digits, '.', '-', '_')",
			    c->name ? c->name : "");
	if (c->qnetd.host && !conf_safe(c->qnetd.host))
		return fail(err, errlen,
			    "cluster.qnetd.host: needs an IP address or host name, got '%s'",
			    c->qnetd.host);
	for (size_t i = 0; i < c->n_nodes; i++) {
		const vg_node *n = &c->nodes[i];
		if (n->role != VG_ROLE_SERVER)
			continue;
		if (!conf_safe(n->name))
			return fail(err, errlen, "nodes[%zu].name: '%s' is not a usable node name",
				    i, n->name ? n->name : "");
		if (!conf_safe(n->address))
			return fail(err, errlen,
				    "nodes[%zu].address: node '%s' needs an IP address or host "
				    "name, got '%s'",
				    i, n->name, n->address ? n->address : "");
		if (n->id < 1 || n->id > CS_KNET_MAX_NODEID)
			return fail(
			    err, errlen,
			    "nodes[%zu].id: %u: Corosync with knet needs node ids from 1 to "
			    "%u",
			    i, n->id, CS_KNET_MAX_NODEID);
	}
	return 0;
}

int vg_corosync_conf(const vg_config *c, const char *node, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!c)
		return fail(err, errlen, "no configuration");
	int rc = validate(c, node, err, errlen);
	if (rc)
		return rc;

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return fail(err, errlen, "out of memory");
	fprintf(f,
		"# corosync.conf of node %s in cluster %s, made by `vigil corosync-conf`.\n"
		"# Every server's file is the same but for the line above. Regenerate it from\n"
		"# the cluster's YAML instead of editing it.\n\n",
		node, c->name);
	fprintf(f,
		"totem {\n"
		"\tversion: 2\n"
		"\tcluster_name: %s\n"
		"\ttransport: knet\n"
		"\ttoken: %u\n"
		"\ttoken_coefficient: 0\n"
		"\thold: %u\n"
		"\tcrypto_cipher: aes256\n"
		"\tcrypto_hash: sha256\n"
		"\tinterface {\n"
		"\t\tlinknumber: 0\n"
		"\t\tknet_ping_interval: %d\n"
		"\t\tknet_ping_timeout: %d\n"
		"\t}\n"
		"}\n\n",
		c->name, c->token_ms, vg_corosync_hold_ms(c->token_ms), KNET_PING_INTERVAL_MS,
		KNET_PING_TIMEOUT_MS);
	fputs("nodelist {\n", f);
	for (size_t i = 0; i < c->n_nodes; i++) {
		const vg_node *n = &c->nodes[i];
		if (n->role != VG_ROLE_SERVER)
			continue;
		fprintf(f,
			"\tnode {\n"
			"\t\tring0_addr: %s\n"
			"\t\tname: %s\n"
			"\t\tnodeid: %u\n"
			"\t}\n",
			n->address, n->name, n->id);
	}
	fputs("}\n\n", f);
	fputs("quorum {\n\tprovider: corosync_votequorum\n", f);
	const vg_qnetd *q = &c->qnetd;
	if (q->host) {
		/* the arbiter decides an even split; two_node would give both halves quorum */
		fputs("\tdevice {\n\t\tmodel: net\n", f);
		if (q->algorithm == VG_QNETD_FFSPLIT)
			fputs("\t\tvotes: 1\n", f); /* ffsplit needs one vote; lms the default */
		fprintf(f,
			"\t\tnet {\n"
			"\t\t\thost: %s\n"
			"\t\t\tport: %u\n"
			"\t\t\talgorithm: %s\n"
			"\t\t\ttls: %s\n",
			q->host, q->port, vg_qnetd_algorithm_name(q->algorithm),
			vg_qnetd_tls_name(q->tls));
		if (q->tie_breaker_id)
			fprintf(f, "\t\t\ttie_breaker: %u\n", q->tie_breaker_id);
		else
			fprintf(f, "\t\t\ttie_breaker: %s\n",
				q->tie_breaker_highest ? "highest" : "lowest");
		fputs("\t\t}\n\t}\n", f);
	} else if (vg_config_two_node(c)) {
		fputs("\ttwo_node: 1\n", f);
	}
	fputs("}\n\n", f);
	fputs("logging {\n"
	      "\tto_stderr: yes\n"
	      "\tto_logfile: no\n"
	      "\tto_syslog: yes\n"
	      "\tsyslog_facility: daemon\n"
	      "\ttimestamp: on\n"
	      "}\n",
	      f);
	if (ferror(f) || fclose(f) != 0) {
		free(buf);
		return fail(err, errlen, "out of memory");
	}
	*out = buf;
	return 0;
}

/* ---- authkey -------------------------------------------------------------- */

static int io_fail(char *err, size_t errlen, const char *what, const char *path)
{
	int e = errno;
	if (err && errlen)
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
	return VG_COROSYNC_EIO;
}

static int key_mode_ok(const char *key_file, mode_t mode, char *err, size_t errlen)
{
	bool g = mode & (S_IRGRP | S_IWGRP), o = mode & (S_IROTH | S_IWOTH);
	if (!g && !o)
		return 0;
	const char *who = g && o ? "group and other" : g ? "group" : "other";
	const char *how = (mode & (S_IRGRP | S_IROTH)) ? "readable" : "writable";
	return fail(err, errlen,
		    "key file %s has mode %04o: %s by %s; it must be private to its owner "
		    "(chmod 0400)",
		    key_file, (unsigned)(mode & 07777), how, who);
}

int vg_corosync_authkey(const char *key_file, unsigned char *out, size_t len, char *err,
			size_t errlen)
{
	if (!key_file || !*key_file)
		return fail(err, errlen, "no key file (cluster.key_file is not set)");
	if (len < 16 || len > AUTHKEY_MAX_BYTES)
		return fail(err, errlen, "authkey length %zu out of range", len);
	if (sodium_init() < 0)
		return fail(err, errlen, "libsodium failed to initialise");
	int fd = open(key_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_fail(err, errlen, "cannot open key file", key_file);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = io_fail(err, errlen, "cannot stat key file", key_file);
		close(fd);
		return rc;
	}
	int rc = 0;
	if (!S_ISREG(st.st_mode))
		rc = fail(err, errlen, "key file %s is not a regular file", key_file);
	else
		rc = key_mode_ok(key_file, st.st_mode, err, errlen);
	if (rc) {
		close(fd);
		return rc;
	}

	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, crypto_kdf_KEYBYTES);
	unsigned char chunk[4096];
	size_t total = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = io_fail(err, errlen, "cannot read key file", key_file);
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > KEY_MAX_BYTES) {
			rc = fail(err, errlen, "key file %s is larger than %d bytes: not a key",
				  key_file, KEY_MAX_BYTES);
			break;
		}
		crypto_generichash_update(&h, chunk, (unsigned long long)n);
	}
	close(fd);
	if (!rc && total < KEY_MIN_BYTES)
		rc = fail(err, errlen,
			  "key file %s has %zu bytes; a cluster key has at least %d (make one with "
			  "`vigil keygen`)",
			  key_file, total, KEY_MIN_BYTES);
	unsigned char master[crypto_kdf_KEYBYTES];
	crypto_generichash_final(&h, master, sizeof(master));
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(chunk, sizeof(chunk));
	if (rc) {
		sodium_memzero(master, sizeof(master));
		return rc;
	}

	unsigned char sub[crypto_kdf_BYTES_MAX];
	for (size_t off = 0, id = 0; off < len; off += sizeof(sub), id++) {
		crypto_kdf_derive_from_key(sub, sizeof(sub), (uint64_t)id, KDF_CONTEXT, master);
		size_t n = len - off < sizeof(sub) ? len - off : sizeof(sub);
		memcpy(out + off, sub, n);
	}
	sodium_memzero(sub, sizeof(sub));
	sodium_memzero(master, sizeof(master));
	return 0;
}

/* Write key to path atomically (temporary file in the same directory, fsync, rename), mode
 * 0400. */
static int write_key(const char *path, const unsigned char *key, size_t len, char *err,
		     size_t errlen)
{
	size_t plen = strlen(path);
	char *tmp = vg_malloc(plen + 16);
	if (!tmp)
		return fail(err, errlen, "out of memory");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int rc = io_fail(err, errlen, "cannot create a temporary file beside", path);
		free(tmp);
		return rc;
	}
	size_t done = 0;
	int rc = 0;
	if (fchmod(fd, 0400) != 0)
		rc = io_fail(err, errlen, "cannot chmod", tmp);
	while (!rc && done < len) {
		ssize_t n = write(fd, key + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			rc = io_fail(err, errlen, "cannot write", tmp);
			break;
		}
		done += (size_t)n;
	}
	if (!rc && fsync(fd) != 0)
		rc = io_fail(err, errlen, "cannot fsync", tmp);
	if (close(fd) != 0 && !rc)
		rc = io_fail(err, errlen, "cannot close", tmp);
	if (!rc && rename(tmp, path) != 0)
		rc = io_fail(err, errlen, "cannot rename the new key over", path);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* ---- the command ---------------------------------------------------------- */

static int usage(FILE *err, const char *why)
{
	if (why)
		fprintf(err, "vigil corosync-conf: %s\n", why);
	fputs("usage: vigil corosync-conf -c CLUSTER.YAML -n NODE [--authkey FILE]\n"
	      "  prints the corosync.conf of server NODE; with --authkey also writes the\n"
	      "  Corosync authkey derived from cluster.key_file to FILE (mode 0400)\n",
	      err);
	return EXIT_USAGE;
}

/* Match "-x VALUE", "--long VALUE" or "--long=VALUE"; 1 matched, 0 not, -1 missing value. */
static int opt_value(int argc, char **argv, int *i, const char *shrt, const char *lng,
		     const char **val)
{
	const char *a = argv[*i];
	size_t ll = strlen(lng);
	if (!strncmp(a, lng, ll) && a[ll] == '=') {
		*val = a + ll + 1;
		return 1;
	}
	if ((shrt && !strcmp(a, shrt)) || !strcmp(a, lng)) {
		if (*i + 1 >= argc)
			return -1;
		*val = argv[++*i];
		return 1;
	}
	return 0;
}

static int load_config(const char *file, const vg_agent_info *agents, vg_config **out, FILE *err)
{
	vg_config_errors e;
	vg_config *c = vg_config_load(file, agents, &e);
	if (c) {
		vg_config_errors_free(&e);
		*out = c;
		return EXIT_OK;
	}
	bool io = e.count == 1 && e.items[0].field && !strcmp(e.items[0].field, "(file)");
	for (size_t i = 0; i < e.count; i++) {
		char buf[1024];
		vg_config_error_format(&e.items[i], buf, sizeof(buf));
		fprintf(err, "vigil corosync-conf: %s\n", buf);
	}
	if (e.count == 0)
		fprintf(err, "vigil corosync-conf: %s: cannot load the configuration\n", file);
	vg_config_errors_free(&e);
	return io ? EXIT_IO : EXIT_USAGE;
}

int vg_corosync_conf_main(int argc, char **argv, const vg_agent_info *agents, FILE *out, FILE *err)
{
	const char *cfg = NULL, *node = NULL, *authkey = NULL;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		int m;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(out, NULL);
			return EXIT_OK;
		}
		if ((m = opt_value(argc, argv, &i, "-c", "--config", &v)) != 0) {
			if (m < 0)
				return usage(err, "-c needs the cluster's YAML file");
			cfg = v;
		} else if ((m = opt_value(argc, argv, &i, "-n", "--node", &v)) != 0) {
			if (m < 0)
				return usage(err, "-n needs a node name");
			node = v;
		} else if ((m = opt_value(argc, argv, &i, NULL, "--authkey", &v)) != 0) {
			if (m < 0 || !*v)
				return usage(err, "--authkey needs a file to write");
			authkey = v;
		} else {
			char why[256];
			snprintf(why, sizeof(why), "unexpected argument '%s'", argv[i]);
			return usage(err, why);
		}
	}
	if (!cfg || !node)
		return usage(err, !cfg ? "-c CLUSTER.YAML is required" : "-n NODE is required");

	vg_config *c = NULL;
	int rc = load_config(cfg, agents, &c, err);
	if (rc)
		return rc;
	char msg[512];
	char *text = NULL;
	if (vg_corosync_conf(c, node, &text, msg, sizeof(msg))) {
		fprintf(err, "vigil corosync-conf: %s: %s\n", cfg, msg);
		vg_config_free(c);
		return EXIT_USAGE;
	}
	if (authkey) {
		unsigned char key[VG_COROSYNC_AUTHKEY_BYTES];
		if (!c->key_file || !*c->key_file) {
			fprintf(
			    err,
			    "vigil corosync-conf: %s: cluster.key_file: not set; make a key with "
			    "`vigil keygen FILE` and name it there\n",
			    cfg);
			rc = EXIT_USAGE;
		} else {
			int k =
			    vg_corosync_authkey(c->key_file, key, sizeof(key), msg, sizeof(msg));
			if (k)
				fprintf(err, "vigil corosync-conf: %s: cluster.key_file: %s\n", cfg,
					msg);
			else if ((k = write_key(authkey, key, sizeof(key), msg, sizeof(msg))))
				fprintf(err, "vigil corosync-conf: --authkey: %s\n", msg);
			sodium_memzero(key, sizeof(key));
			if (k)
				rc = k == VG_COROSYNC_EIO ? EXIT_IO : EXIT_USAGE;
		}
	}
	if (!rc && (fputs(text, out) == EOF || fflush(out) != 0)) {
		fprintf(err, "vigil corosync-conf: cannot write the configuration: %s\n",
			strerror(errno));
		rc = EXIT_IO;
	}
	free(text);
	vg_config_free(c);
	return rc;
}
