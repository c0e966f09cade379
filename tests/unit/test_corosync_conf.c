/* test_corosync_conf.c - unit tests of `vigil corosync-conf` (src/core/corosync_conf.c): the text
 * for two and three servers, the refusals, the authkey derivation and its key-file checks, the
 * command's exit codes, and the real Corosync 3.1.7 (`corosync -t`, run in private mount and
 * network namespaces with the generated files over /etc/corosync) accepting what we generate and
 * rejecting the tokens we refuse. Needs root (unshare) and /usr/sbin/corosync.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "corosync_conf.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct {
	char dir[64];
	vg_node nodes[4];
	vg_config c;
} fixture;

/* n servers (n1..nN at 10.0.0.1..N, ids 1..N) and one agent c1. */
static void make_cluster(fixture *f, size_t servers, uint32_t token)
{
	static char *names[] = {"n1", "n2", "n3"};
	static char *addrs[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
	memset(&f->c, 0, sizeof(f->c));
	for (size_t i = 0; i < servers; i++)
		f->nodes[i] = (vg_node){.name = names[i],
					.address = addrs[i],
					.role = VG_ROLE_SERVER,
					.id = (uint32_t)i + 1};
	f->nodes[servers] =
	    (vg_node){.name = "c1", .address = "10.0.0.50", .role = VG_ROLE_AGENT, .id = 10};
	f->c.name = "demo";
	f->c.token_ms = token;
	f->c.nodes = f->nodes;
	f->c.n_nodes = servers + 1;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/vg-corosync-test-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

static char *conf_ok(const vg_config *c, const char *node)
{
	char *text = NULL;
	char err[512] = "";
	int rc = vg_corosync_conf(c, node, &text, err, sizeof(err));
	if (rc)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(text);
	return text;
}

static void conf_fails(const vg_config *c, const char *node, const char *needle)
{
	char *text = (char *)1;
	char err[512] = "";
	assert_int_equal(vg_corosync_conf(c, node, &text, err, sizeof(err)), VG_COROSYNC_EINVAL);
	assert_null(text);
	if (!strstr(err, needle))
		print_error("error '%s' lacks '%s'\n", err, needle);
	assert_non_null(strstr(err, needle));
}

/* The body of the first "NAME {" block at depth `indent` tabs, as a new string. */
static char *block(const char *text, const char *name, int indent)
{
	char open[64], close[16];
	snprintf(open, sizeof(open), "%.*s%s {\n", indent, "\t\t\t\t", name);
	snprintf(close, sizeof(close), "\n%.*s}\n", indent, "\t\t\t\t");
	const char *a = strstr(text, open);
	assert_non_null(a);
	/* the opening must start a line */
	assert_true(a == text || a[-1] == '\n');
	a += strlen(open);
	const char *b = strstr(a - 1, close);
	assert_non_null(b);
	return strndup(a, (size_t)(b - a) + 1);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	unlink(path);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void key_file(const fixture *f, const char *name, unsigned char fill, size_t len,
		     mode_t mode, char *path, size_t plen)
{
	unsigned char buf[128];
	assert_true(len <= sizeof(buf));
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(fill + i * 7);
	snprintf(path, plen, "%s/%s", f->dir, name);
	write_file(path, buf, len, mode);
}

/* Run the real `corosync -t` on conf (as /etc/corosync/corosync.conf, with authkey beside it)
 * in private mount and network namespaces where lo holds local_addr. Returns its exit status;
 * its output is kept in DIR/corosync-t.log and printed when print_log is set. */
static int corosync_test(const fixture *f, const char *conf, const char *local_addr, bool print_log)
{
	char etc[128], path[192], key_path[192], cmd[1024];
	snprintf(etc, sizeof(etc), "%s/etc-corosync", f->dir);
	mkdir(etc, 0755);
	snprintf(path, sizeof(path), "%s/corosync.conf", etc);
	write_file(path, conf, strlen(conf), 0644);
	unsigned char key[VG_COROSYNC_AUTHKEY_BYTES];
	char kf[192], err[256];
	key_file(f, "cluster.key", 3, 64, 0400, kf, sizeof(kf));
	assert_int_equal(vg_corosync_authkey(kf, key, sizeof(key), err, sizeof(err)), 0);
	snprintf(key_path, sizeof(key_path), "%s/authkey", etc);
	write_file(key_path, key, sizeof(key), 0400);
	snprintf(cmd, sizeof(cmd),
		 "unshare -m -n /bin/sh -c 'mount --make-rprivate / && "
		 "mount --bind %s /etc/corosync && ip link set lo up && "
		 "ip addr add %s/24 dev lo && exec timeout 20 /usr/sbin/corosync -t' "
		 ">%s/corosync-t.log 2>&1",
		 etc, local_addr, f->dir);
	int st = system(cmd);
	assert_true(WIFEXITED(st));
	if (print_log) {
		snprintf(cmd, sizeof(cmd), "cat %s/corosync-t.log >&2", f->dir);
		assert_int_equal(system(cmd), 0);
	}
	return WEXITSTATUS(st);
}

static char *replace(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	assert_non_null(p);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	return out;
}

/* ---- generated text ------------------------------------------------------- */

static void test_three_servers(void **state)
{
	fixture *f = *state;
	make_cluster(f, 3, 500);
	char *text = conf_ok(&f->c, "n2");

	char *totem = block(text, "totem", 0);
	assert_int_equal(strncmp(totem, "\tversion: 2\n", 12), 0);
	assert_non_null(strstr(totem, "\tcluster_name: demo\n"));
	assert_non_null(strstr(totem, "\ttransport: knet\n"));
	assert_non_null(strstr(totem, "\ttoken: 500\n"));
	assert_non_null(strstr(totem, "\ttoken_coefficient: 0\n"));
	assert_non_null(strstr(totem, "\thold: 20\n")); /* Corosync's own would be 85 */
	assert_non_null(strstr(totem, "\tcrypto_cipher: aes256\n"));
	assert_non_null(strstr(totem, "\tcrypto_hash: sha256\n"));
	/* the knet heartbeat lives inside the interface block, not at the top of totem */
	char *iface = block(totem, "interface", 1);
	assert_non_null(strstr(iface, "\t\tlinknumber: 0\n"));
	assert_non_null(strstr(iface, "\t\tknet_ping_interval: 200\n"));
	assert_non_null(strstr(iface, "\t\tknet_ping_timeout: 500\n"));
	assert_int_equal(count(text, "knet_ping"), 2);

	char *nodelist = block(text, "nodelist", 0);
	assert_int_equal(count(nodelist, "\tnode {\n"), 3);
	assert_non_null(
	    strstr(nodelist, "\t\tring0_addr: 10.0.0.1\n\t\tname: n1\n\t\tnodeid: 1\n"));
	assert_non_null(
	    strstr(nodelist, "\t\tring0_addr: 10.0.0.2\n\t\tname: n2\n\t\tnodeid: 2\n"));
	assert_non_null(
	    strstr(nodelist, "\t\tring0_addr: 10.0.0.3\n\t\tname: n3\n\t\tnodeid: 3\n"));
	assert_null(strstr(text, "c1")); /* agents are no Corosync members */
	assert_null(strstr(text, "10.0.0.50"));

	char *quorum = block(text, "quorum", 0);
	assert_non_null(strstr(quorum, "\tprovider: corosync_votequorum\n"));
	assert_null(strstr(text, "two_node"));

	char *logging = block(text, "logging", 0);
	assert_non_null(strstr(logging, "\tto_logfile: no\n"));
	assert_non_null(strstr(logging, "\tto_stderr: yes\n"));

	/* every server gets the same file but for the comment naming it */
	char *t1 = conf_ok(&f->c, "n1");
	assert_string_equal(strstr(t1, "totem {"), strstr(text, "totem {"));
	free(t1);
	free(logging);
	free(quorum);
	free(nodelist);
	free(iface);
	free(totem);
	free(text);
}

static void test_two_servers_and_ids(void **state)
{
	fixture *f = *state;
	make_cluster(f, 2, 200);
	f->nodes[0].id = 7;
	f->nodes[1].id = 65535;
	f->nodes[1].address = "fd00::2";
	char *text = conf_ok(&f->c, "n1");
	char *quorum = block(text, "quorum", 0);
	assert_non_null(strstr(quorum, "\tprovider: corosync_votequorum\n\ttwo_node: 1\n"));
	assert_non_null(strstr(text, "\ttoken: 200\n"));
	assert_non_null(strstr(text, "\t\tring0_addr: 10.0.0.1\n\t\tname: n1\n\t\tnodeid: 7\n"));
	assert_non_null(strstr(text, "\t\tring0_addr: fd00::2\n\t\tname: n2\n\t\tnodeid: 65535\n"));
	assert_int_equal(count(text, "\tnode {\n"), 2);
	free(quorum);
	free(text);
}

/* A qnetd arbiter: quorum.device (model net) instead of two_node; ffsplit with one vote,
 * lms with the default; the tie breaker a node id; and the real Corosync takes the file. */
static void test_qnetd(void **state)
{
	fixture *f = *state;
	make_cluster(f, 2, 500);
	f->c.qnetd = (vg_qnetd){.host = "10.0.0.9", .port = 5403};
	char *text = conf_ok(&f->c, "n1");
	char *quorum = block(text, "quorum", 0);
	assert_null(strstr(quorum, "two_node"));
	assert_non_null(strstr(quorum, "\tprovider: corosync_votequorum\n"
				       "\tdevice {\n\t\tmodel: net\n\t\tvotes: 1\n"
				       "\t\tnet {\n\t\t\thost: 10.0.0.9\n\t\t\tport: 5403\n"
				       "\t\t\talgorithm: ffsplit\n\t\t\ttls: on\n"
				       "\t\t\ttie_breaker: lowest\n\t\t}\n\t}\n"));
	assert_int_equal(corosync_test(f, text, "10.0.0.1", false), 0);
	free(quorum);
	free(text);

	make_cluster(f, 3, 500);
	f->c.qnetd = (vg_qnetd){.host = "qnetd.example",
				.port = 6000,
				.algorithm = VG_QNETD_LMS,
				.tls = VG_QNETD_TLS_REQUIRED,
				.tie_breaker_id = 2};
	text = conf_ok(&f->c, "n3");
	quorum = block(text, "quorum", 0);
	assert_null(strstr(quorum, "votes:"));
	assert_non_null(strstr(quorum, "\t\t\thost: qnetd.example\n\t\t\tport: 6000\n"
				       "\t\t\talgorithm: lms\n\t\t\ttls: required\n"
				       "\t\t\ttie_breaker: 2\n"));
	assert_int_equal(corosync_test(f, text, "10.0.0.3", false), 0);
	free(quorum);
	free(text);

	f->c.qnetd.tie_breaker_id = 0;
	f->c.qnetd.tie_breaker_highest = true;
	text = conf_ok(&f->c, "n3");
	assert_non_null(strstr(text, "\t\t\ttie_breaker: highest\n"));
	free(text);

	f->c.qnetd.host = "10.0.0.9\n}\n";
	conf_fails(&f->c, "n1", "cluster.qnetd.host");
}

static void test_refusals(void **state)
{
	fixture *f = *state;
	make_cluster(f, 3, 500);
	conf_fails(&f->c, "n9", "no node named 'n9'");
	conf_fails(&f->c, NULL, "no node named");
	conf_fails(&f->c, "c1", "'c1' is an agent node, not a server");

	make_cluster(f, 1, 500);
	conf_fails(&f->c, "n1", "standalone: no Corosync needed");

	uint32_t bad[] = {0, 30, 100, 120, 125, VG_COROSYNC_TOKEN_MAX_MS + 1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_cluster(f, 3, bad[i]);
		conf_fails(&f->c, "n1", "cluster.token: ");
	}
	make_cluster(f, 3, 120);
	conf_fails(&f->c, "n1", "120ms is below Corosync's minimum token of 126ms");

	make_cluster(f, 3, 500);
	f->nodes[2].id = 65536;
	conf_fails(&f->c, "n1", "nodes[2].id: 65536");
	make_cluster(f, 3, 500);
	f->nodes[1].address = "10.0.0.2\n}\nquorum {";
	conf_fails(&f->c, "n1", "nodes[1].address");
	make_cluster(f, 3, 500);
	f->nodes[1].address = NULL;
	conf_fails(&f->c, "n1", "nodes[1].address");
	make_cluster(f, 3, 500);
	f->c.name = "two words";
	conf_fails(&f->c, "n1", "cluster.name");
}

static void test_token_rule(void **state)
{
	(void)state;
	char err[256];
	/* hold: Corosync's (int)(token_retransmit * 0.8 - 10), at most 20 */
	assert_int_equal(vg_corosync_hold_ms(126), 14); /* 30 * 0.8 - 10 */
	assert_int_equal(vg_corosync_hold_ms(150), 18); /* 35 * 0.8 - 10 */
	assert_int_equal(vg_corosync_hold_ms(200), 20); /* 47 * 0.8 - 10 = 27 */
	assert_int_equal(vg_corosync_hold_ms(500), 20);
	/* token_retransmit = (int)(token / 4.2) must be >= 30 */
	assert_int_equal(vg_corosync_check_token(125, err, sizeof(err)), VG_COROSYNC_EINVAL);
	assert_non_null(strstr(err, "= 29ms"));
	assert_int_equal(vg_corosync_check_token(126, err, sizeof(err)), 0);
	assert_int_equal(vg_corosync_check_token(127, err, sizeof(err)), 0);
	assert_int_equal(vg_corosync_check_token(200, err, sizeof(err)), 0);
	assert_int_equal(vg_corosync_check_token(500, err, sizeof(err)), 0);
	assert_int_equal(vg_corosync_check_token(VG_COROSYNC_TOKEN_MAX_MS, err, sizeof(err)), 0);
	assert_int_equal(vg_corosync_check_token(100, err, sizeof(err)), VG_COROSYNC_EINVAL);
	assert_int_equal(vg_corosync_check_token(120, err, sizeof(err)), VG_COROSYNC_EINVAL);
	assert_int_equal(vg_corosync_check_token(UINT32_MAX, err, sizeof(err)), VG_COROSYNC_EINVAL);
}

/* ---- the real Corosync ------------------------------------------------------ */

static void test_corosync_accepts(void **state)
{
	fixture *f = *state;
	uint32_t tokens[] = {126, 200, 500, 3000};
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		make_cluster(f, 3, tokens[i]);
		char *text = conf_ok(&f->c, "n3");
		int rc = corosync_test(f, text, "10.0.0.3", false);
		if (rc != 0) {
			print_error("corosync -t refused token %u:\n", tokens[i]);
			corosync_test(f, text, "10.0.0.3", true);
		}
		assert_int_equal(rc, 0);
		free(text);
	}
	make_cluster(f, 2, 500);
	char *text = conf_ok(&f->c, "n1");
	assert_int_equal(corosync_test(f, text, "10.0.0.1", false), 0);
	/* and the check itself is real: a file naming no local address is refused */
	assert_int_not_equal(corosync_test(f, text, "10.0.0.77", false), 0);
	free(text);
}

static void test_corosync_rejects_refused_tokens(void **state)
{
	fixture *f = *state;
	const char *bad[] = {"100", "120", "125"};
	make_cluster(f, 3, 126);
	char *text = conf_ok(&f->c, "n1");
	assert_int_equal(corosync_test(f, text, "10.0.0.1", false), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char tok[32];
		snprintf(tok, sizeof(tok), "\ttoken: %s\n", bad[i]);
		char *t = replace(text, "\ttoken: 126\n", tok);
		assert_int_not_equal(corosync_test(f, t, "10.0.0.1", false), 0);
		char log[192];
		snprintf(log, sizeof(log), "%s/corosync-t.log", f->dir);
		FILE *lf = fopen(log, "r");
		assert_non_null(lf);
		char buf[4096];
		size_t n = fread(buf, 1, sizeof(buf) - 1, lf);
		buf[n] = 0;
		fclose(lf);
		assert_non_null(strstr(buf, "token"));
		free(t);
	}
	free(text);
}

/* ---- authkey ---------------------------------------------------------------- */

static void test_authkey_deterministic(void **state)
{
	fixture *f = *state;
	char k1[192], k1b[192], k2[192], err[256];
	key_file(f, "k1", 1, 64, 0400, k1, sizeof(k1));
	key_file(f, "k1b", 1, 64, 0600, k1b, sizeof(k1b));
	key_file(f, "k2", 2, 64, 0400, k2, sizeof(k2));
	unsigned char a[VG_COROSYNC_AUTHKEY_BYTES], b[VG_COROSYNC_AUTHKEY_BYTES],
	    c[VG_COROSYNC_AUTHKEY_BYTES];
	assert_int_equal(vg_corosync_authkey(k1, a, sizeof(a), err, sizeof(err)), 0);
	assert_int_equal(vg_corosync_authkey(k1b, b, sizeof(b), err, sizeof(err)), 0);
	assert_memory_equal(a, b, sizeof(a)); /* same key bytes: same authkey on every node */
	assert_int_equal(vg_corosync_authkey(k2, c, sizeof(c), err, sizeof(err)), 0);
	assert_memory_not_equal(a, c, sizeof(a));
	/* not the key file itself, and not a repeated block */
	assert_memory_not_equal(a, a + 64, 64);
	assert_memory_not_equal(a + 64, a + 128, 64);
	unsigned char zero[VG_COROSYNC_AUTHKEY_BYTES] = {0};
	assert_memory_not_equal(a, zero, sizeof(a));
	/* a shorter derivation is a prefix of the longer one */
	unsigned char p[100];
	assert_int_equal(vg_corosync_authkey(k1, p, sizeof(p), err, sizeof(err)), 0);
	assert_memory_equal(a, p, sizeof(p));
	/* a key of exactly 32 bytes is accepted */
	char k32[192];
	key_file(f, "k32", 9, 32, 0400, k32, sizeof(k32));
	assert_int_equal(vg_corosync_authkey(k32, c, sizeof(c), err, sizeof(err)), 0);
}

static void authkey_refused(const char *path, int want, const char *needle)
{
	unsigned char k[VG_COROSYNC_AUTHKEY_BYTES];
	char err[512] = "";
	assert_int_equal(vg_corosync_authkey(path, k, sizeof(k), err, sizeof(err)), want);
	if (!strstr(err, needle))
		print_error("error '%s' lacks '%s'\n", err, needle);
	assert_non_null(strstr(err, needle));
}

static void test_authkey_bad_files(void **state)
{
	fixture *f = *state;
	char p[192];
	key_file(f, "short", 1, 31, 0400, p, sizeof(p));
	authkey_refused(p, VG_COROSYNC_EINVAL, "has 31 bytes");
	key_file(f, "g", 1, 64, 0440, p, sizeof(p));
	authkey_refused(p, VG_COROSYNC_EINVAL, "readable by group;");
	key_file(f, "o", 1, 64, 0604, p, sizeof(p));
	authkey_refused(p, VG_COROSYNC_EINVAL, "readable by other;");
	key_file(f, "go", 1, 64, 0644, p, sizeof(p));
	authkey_refused(p, VG_COROSYNC_EINVAL, "mode 0644: readable by group and other");
	key_file(f, "gw", 1, 64, 0620, p, sizeof(p));
	authkey_refused(p, VG_COROSYNC_EINVAL, "writable by group");
	snprintf(p, sizeof(p), "%s/missing", f->dir);
	authkey_refused(p, VG_COROSYNC_EIO, "No such file or directory");
	authkey_refused(f->dir, VG_COROSYNC_EINVAL, "not a regular file");
	authkey_refused(NULL, VG_COROSYNC_EINVAL, "cluster.key_file is not set");
}

/* ---- the command ------------------------------------------------------------ */

typedef struct {
	char *out, *err;
	size_t outlen, errlen;
	int rc;
} run_result;

static run_result run_main(int argc, char **argv)
{
	run_result r = {0};
	FILE *o = open_memstream(&r.out, &r.outlen);
	FILE *e = open_memstream(&r.err, &r.errlen);
	assert_non_null(o);
	assert_non_null(e);
	r.rc = vg_corosync_conf_main(argc, argv, NULL, o, e); /* no OCF resources */
	fclose(o);
	fclose(e);
	return r;
}

static void run_free(run_result *r)
{
	free(r->out);
	free(r->err);
}

static void write_yaml(const fixture *f, const char *name, const char *key, const char *token,
		       int servers, char *path, size_t plen)
{
	char y[1024];
	int n = snprintf(y, sizeof(y), "cluster:\n  name: demo\n");
	if (key)
		n += snprintf(y + n, sizeof(y) - (size_t)n, "  key_file: %s\n", key);
	if (token)
		n += snprintf(y + n, sizeof(y) - (size_t)n, "  token: %s\n", token);
	n += snprintf(y + n, sizeof(y) - (size_t)n, "nodes:\n");
	for (int i = 1; i <= servers; i++)
		n += snprintf(y + n, sizeof(y) - (size_t)n,
			      "  - {name: n%d, address: 10.0.0.%d, role: server}\n", i, i);
	snprintf(y + n, sizeof(y) - (size_t)n, "  - {name: c1, address: 10.0.0.50, role: agent}\n");
	snprintf(path, plen, "%s/%s", f->dir, name);
	write_file(path, y, strlen(y), 0644);
}

static void test_main(void **state)
{
	fixture *f = *state;
	char key[192], yaml[192], out_key[192];
	key_file(f, "cluster.key", 5, 64, 0400, key, sizeof(key));
	write_yaml(f, "cluster.yaml", key, "200ms", 3, yaml, sizeof(yaml));
	snprintf(out_key, sizeof(out_key), "%s/authkey", f->dir);

	char *argv1[] = {"corosync-conf", "-c", yaml, "-n", "n2", "--authkey", out_key};
	run_result r = run_main(7, argv1);
	if (r.rc)
		print_error("%s", r.err);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "\ttoken: 200\n"));
	assert_non_null(strstr(r.out, "\t\tname: n3\n"));
	assert_null(strstr(r.out, "two_node"));
	struct stat st;
	assert_int_equal(stat(out_key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_size, VG_COROSYNC_AUTHKEY_BYTES);
	unsigned char want[VG_COROSYNC_AUTHKEY_BYTES], got[VG_COROSYNC_AUTHKEY_BYTES];
	char err[256];
	assert_int_equal(vg_corosync_authkey(key, want, sizeof(want), err, sizeof(err)), 0);
	FILE *kf = fopen(out_key, "rb");
	assert_non_null(kf);
	assert_int_equal(fread(got, 1, sizeof(got), kf), sizeof(got));
	fclose(kf);
	assert_memory_equal(want, got, sizeof(want));
	run_free(&r);

	/* again over the existing 0400 file; and the --authkey=FILE / long forms */
	char akopt[256];
	snprintf(akopt, sizeof(akopt), "--authkey=%s", out_key);
	char *argv2[] = {"corosync-conf", "--config", yaml, "--node=n1", akopt};
	r = run_main(5, argv2);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	run_free(&r);

	/* usage errors */
	char *argv3[] = {"corosync-conf", "-c", yaml};
	r = run_main(3, argv3);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "-n NODE is required"));
	run_free(&r);
	char *argv4[] = {"corosync-conf", "-c", yaml, "-n", "n1", "--bogus"};
	r = run_main(6, argv4);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "unexpected argument '--bogus'"));
	run_free(&r);
	char *argv4b[] = {"corosync-conf", "-c", yaml, "-n"};
	r = run_main(4, argv4b);
	assert_int_equal(r.rc, 2);
	run_free(&r);

	/* validation errors name the file and what is wrong */
	char *argv5[] = {"corosync-conf", "-c", yaml, "-n", "c1"};
	r = run_main(5, argv5);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, yaml));
	assert_non_null(strstr(r.err, "agent node"));
	assert_string_equal(r.out, "");
	run_free(&r);

	char yaml_tok[192];
	write_yaml(f, "tok.yaml", key, "120ms", 3, yaml_tok, sizeof(yaml_tok));
	char *argv6[] = {"corosync-conf", "-c", yaml_tok, "-n", "n1"};
	r = run_main(5, argv6);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "cluster.token: 120ms"));
	run_free(&r);

	char yaml_one[192];
	write_yaml(f, "one.yaml", key, NULL, 1, yaml_one, sizeof(yaml_one));
	char *argv7[] = {"corosync-conf", "-c", yaml_one, "-n", "n1"};
	r = run_main(5, argv7);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "standalone: no Corosync needed"));
	run_free(&r);

	/* default token (500ms), two servers, no key_file: conf fine, --authkey refused */
	char yaml_two[192];
	write_yaml(f, "two.yaml", NULL, NULL, 2, yaml_two, sizeof(yaml_two));
	char *argv8[] = {"corosync-conf", "-c", yaml_two, "-n", "n1"};
	r = run_main(5, argv8);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "\ttoken: 500\n"));
	assert_non_null(strstr(r.out, "\ttwo_node: 1\n"));
	run_free(&r);
	char *argv9[] = {"corosync-conf", "-c", yaml_two, "-n", "n1", "--authkey", out_key};
	r = run_main(7, argv9);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "cluster.key_file: not set"));
	run_free(&r);

	/* I/O errors: 1 */
	char missing[192], yaml_nokey[192];
	snprintf(missing, sizeof(missing), "%s/nope.yaml", f->dir);
	char *argv10[] = {"corosync-conf", "-c", missing, "-n", "n1"};
	r = run_main(5, argv10);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, missing));
	run_free(&r);
	char nokey[192];
	snprintf(nokey, sizeof(nokey), "%s/no-such-key", f->dir);
	write_yaml(f, "nokey.yaml", nokey, NULL, 3, yaml_nokey, sizeof(yaml_nokey));
	char *argv11[] = {"corosync-conf", "-c", yaml_nokey, "-n", "n1", "--authkey", out_key};
	r = run_main(7, argv11);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "cluster.key_file: cannot open key file"));
	run_free(&r);
	char baddir[192];
	snprintf(baddir, sizeof(baddir), "%s/no/such/dir/authkey", f->dir);
	char *argv12[] = {"corosync-conf", "-c", yaml, "-n", "n1", "--authkey", baddir};
	r = run_main(7, argv12);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "--authkey: "));
	run_free(&r);

	/* a refused key file: 2 */
	char open_key[192], yaml_open[192];
	key_file(f, "open.key", 5, 64, 0644, open_key, sizeof(open_key));
	write_yaml(f, "open.yaml", open_key, NULL, 3, yaml_open, sizeof(yaml_open));
	char *argv13[] = {"corosync-conf", "-c", yaml_open, "-n", "n1", "--authkey", out_key};
	r = run_main(7, argv13);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "readable by group and other"));
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_three_servers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_servers_and_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_qnetd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test(test_token_rule),
	    cmocka_unit_test_setup_teardown(test_corosync_accepts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corosync_rejects_refused_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authkey_deterministic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authkey_bad_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_main, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
