/* Unit tests: native network pieces (vip.c, garp.c, check.c).
 *
 * Address parsing is table-driven. Health checks run on a real libuv loop against listeners
 * the test opens on loopback. VIP add/present/del and the announcements run as root in a
 * private network namespace (unshare(CLONE_NEWNET), restored with setns() after each test;
 * the namespace vanishes with its last reference) with a veth pair; the GARP and the
 * neighbour advertisement are captured on the peer end with an AF_PACKET socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "check.h"
#include "garp.h"
#include "vip.h"

/* ---- address parsing ------------------------------------------------------ */

static void test_parse_valid(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int family;
		unsigned int plen;
		const char *out;
	} t[] = {
	    {"10.0.0.100/24", AF_INET, 24, "10.0.0.100/24"},
	    {"10.0.0.100", AF_INET, 32, "10.0.0.100/32"},
	    {"0.0.0.0/0", AF_INET, 0, "0.0.0.0/0"},
	    {"192.168.1.1/32", AF_INET, 32, "192.168.1.1/32"},
	    {"fd00::100/64", AF_INET6, 64, "fd00::100/64"},
	    {"fd00::100", AF_INET6, 128, "fd00::100/128"},
	    {"FD00:0:0::1/128", AF_INET6, 128, "fd00::1/128"},
	    {"::ffff:10.0.0.1/96", AF_INET6, 96, "::ffff:10.0.0.1/96"},
	    {"fe80::1/10", AF_INET6, 10, "fe80::1/10"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		vg_vip_addr a;
		char err[128] = "", buf[64];
		assert_int_equal(vg_vip_parse(t[i].in, &a, err, sizeof err), 0);
		assert_int_equal(a.family, t[i].family);
		assert_int_equal(a.prefixlen, t[i].plen);
		assert_string_equal(vg_vip_format(&a, buf, sizeof buf), t[i].out);
	}
	vg_vip_addr a;
	assert_int_equal(vg_vip_parse("10.1.2.3/8", &a, NULL, 0), 0);
	static const uint8_t want[4] = {10, 1, 2, 3};
	assert_memory_equal(a.addr, want, 4);
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "/24",
	    "10.0.0.1/",
	    "10.0.0.1/33",
	    "10.0.0.256/24",
	    "10.0.0/24",
	    "10.0.0.1/2x",
	    "10.0.0.1/-1",
	    "abc",
	    "fd00::1/129",
	    "fd00:::1/64",
	    "10.0.0.1 /24",
	    "10.0.0.1/99999999999",
	    "eth0:10.0.0.1/24",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vg_vip_addr a;
		char err[160] = "";
		assert_int_equal(vg_vip_parse(bad[i], &a, err, sizeof err), -1);
		assert_true(err[0] != '\0');
		if (bad[i][0])
			assert_non_null(strstr(err, bad[i]));
	}
	char err[64];
	assert_int_equal(vg_vip_parse(NULL, &(vg_vip_addr){0}, err, sizeof err), -1);
}

/* ---- a small libuv server for the checks ---------------------------------- */

#define MAX_CLIENTS 4

typedef struct srv srv;

typedef struct {
	uv_tcp_t h;
	uv_write_t w;
	srv *s;
	bool open;
	bool answered;
	char req[1024];
	size_t req_len;
} client;

struct srv {
	uv_tcp_t listener;
	bool listening;
	int port;
	bool http;	      /* read the request and answer with `response` */
	const char *response; /* NULL: accept and never answer */
	client clients[MAX_CLIENTS];
	int n_clients;
	char last_request[1024];
};

static void client_closed(uv_handle_t *h)
{
	client *c = h->data;
	c->open = false;
}

static void client_alloc(uv_handle_t *h, size_t sug, uv_buf_t *buf)
{
	client *c = h->data;
	(void)sug;
	*buf = uv_buf_init(c->req + c->req_len, (unsigned int)(sizeof c->req - 1 - c->req_len));
}

static void client_written(uv_write_t *w, int status)
{
	client *c = w->data;
	(void)status;
	if (c->open)
		uv_close((uv_handle_t *)&c->h, client_closed);
}

static void client_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	client *c = st->data;
	(void)buf;
	if (n < 0) {
		uv_read_stop(st);
		return;
	}
	c->req_len += (size_t)n;
	c->req[c->req_len] = '\0';
	if (c->answered || !strstr(c->req, "\r\n\r\n"))
		return;
	snprintf(c->s->last_request, sizeof c->s->last_request, "%s", c->req);
	if (!c->s->response)
		return; /* never answer */
	c->answered = true;
	uv_buf_t b = uv_buf_init((char *)c->s->response, (unsigned int)strlen(c->s->response));
	c->w.data = c;
	uv_write(&c->w, st, &b, 1, client_written);
}

static void on_conn(uv_stream_t *l, int status)
{
	srv *s = l->data;
	assert_int_equal(status, 0);
	assert_true(s->n_clients < MAX_CLIENTS);
	client *c = &s->clients[s->n_clients++];
	memset(c, 0, sizeof *c);
	c->s = s;
	uv_tcp_init(l->loop, &c->h);
	c->h.data = c;
	c->open = true;
	assert_int_equal(uv_accept(l, (uv_stream_t *)&c->h), 0);
	if (s->http)
		uv_read_start((uv_stream_t *)&c->h, client_alloc, client_read);
	else
		uv_close((uv_handle_t *)&c->h, client_closed);
}

static void srv_start(uv_loop_t *loop, srv *s, const char *ip, bool http, const char *response)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	memset(s, 0, sizeof *s);
	s->http = http;
	s->response = response;
	assert_int_equal(uv_tcp_init(loop, &s->listener), 0);
	s->listener.data = s;
	if (strchr(ip, ':'))
		assert_int_equal(uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss), 0);
	else
		assert_int_equal(uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss), 0);
	assert_int_equal(uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 16, on_conn), 0);
	s->listening = true;
	assert_int_equal(uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len), 0);
	s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void srv_stop(srv *s)
{
	if (s->listening)
		uv_close((uv_handle_t *)&s->listener, NULL);
	s->listening = false;
	for (int i = 0; i < s->n_clients; i++)
		if (s->clients[i].open && !uv_is_closing((uv_handle_t *)&s->clients[i].h))
			uv_close((uv_handle_t *)&s->clients[i].h, client_closed);
}

/* ---- running one check ---------------------------------------------------- */

typedef struct {
	int calls;
	bool ok;
	char detail[256];
	uv_loop_t *loop;
	int alive_handles; /* handles still open on the loop when the callback ran */
} result;

static void count_handle(uv_handle_t *h, void *arg)
{
	int *n = arg;
	if (!uv_is_closing(h))
		(*n)++;
}

static void on_result(void *arg, bool ok, const char *detail)
{
	result *r = arg;
	r->calls++;
	r->ok = ok;
	snprintf(r->detail, sizeof r->detail, "%s", detail);
	r->alive_handles = 0;
	uv_walk(r->loop, count_handle, &r->alive_handles);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run check C on LOOP (serving S, may be NULL) until its callback; then stop S, drain the
 * loop and close it: uv_loop_close() fails if the check left a handle behind. */
static void run_check(uv_loop_t *loop, srv *s, const vg_check *c, uint64_t timeout_ms, result *r)
{
	memset(r, 0, sizeof *r);
	r->loop = loop;
	assert_int_equal(vg_check_run(loop, c, timeout_ms, on_result, r), 0);
	assert_int_equal(r->calls, 0); /* never called synchronously */
	uint64_t start = now_ms();
	while (r->calls == 0 && now_ms() - start < timeout_ms + 5000)
		uv_run(loop, UV_RUN_ONCE);
	assert_int_equal(r->calls, 1);
	/* the check's own handles were closed before the callback; only the server's remain */
	int server_handles = 0;
	if (s) {
		server_handles = s->listening ? 1 : 0;
		for (int i = 0; i < s->n_clients; i++)
			if (s->clients[i].open && !uv_is_closing((uv_handle_t *)&s->clients[i].h))
				server_handles++;
		srv_stop(s);
	}
	assert_int_equal(r->alive_handles, server_handles);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(r->calls, 1);
	assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- tcp checks ----------------------------------------------------------- */

static void test_tcp_ok(void **state)
{
	(void)state;
	uv_loop_t loop;
	srv s;
	result r;
	uv_loop_init(&loop);
	srv_start(&loop, &s, "127.0.0.1", false, NULL);
	vg_check c = {.kind = VG_CHECK_TCP, .host = "127.0.0.1", .port = (uint16_t)s.port};
	run_check(&loop, &s, &c, 2000, &r);
	assert_true(r.ok);
	assert_non_null(strstr(r.detail, "connected to 127.0.0.1:"));
	assert_int_equal(s.n_clients, 1);
}

static void test_tcp_localhost_and_default_host(void **state)
{
	(void)state;
	uv_loop_t loop;
	srv s;
	result r;
	uv_loop_init(&loop);
	srv_start(&loop, &s, "127.0.0.1", false, NULL);
	vg_check c = {.kind = VG_CHECK_TCP, .host = "localhost", .port = (uint16_t)s.port};
	run_check(&loop, &s, &c, 2000, &r);
	assert_true(r.ok);

	uv_loop_init(&loop);
	srv_start(&loop, &s, "127.0.0.1", false, NULL);
	c.host = NULL; /* default 127.0.0.1 */
	c.port = (uint16_t)s.port;
	run_check(&loop, &s, &c, 2000, &r);
	assert_true(r.ok);
}

/* A port that was just listening and is now closed. */
static int closed_port(void)
{
	uv_loop_t loop;
	srv s;
	uv_loop_init(&loop);
	srv_start(&loop, &s, "127.0.0.1", false, NULL);
	int port = s.port;
	srv_stop(&s);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return port;
}

static void test_tcp_refused(void **state)
{
	(void)state;
	uv_loop_t loop;
	result r;
	vg_check c = {.kind = VG_CHECK_TCP, .host = "127.0.0.1", .port = (uint16_t)closed_port()};
	uv_loop_init(&loop);
	uint64_t t0 = now_ms();
	run_check(&loop, NULL, &c, 5000, &r);
	assert_false(r.ok);
	assert_true(now_ms() - t0 < 2000); /* refused at once, not a timeout */
	assert_non_null(strstr(r.detail, "connecting to 127.0.0.1:"));
	assert_non_null(strstr(r.detail, "refused"));
}

/* A listener whose accept queue is full drops further SYNs: connect() hangs. */
static void test_tcp_timeout(void **state)
{
	(void)state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[2];
	assert_true(lfd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	for (int i = 0; i < 2; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		connect(fill[i], (struct sockaddr *)&sa, sizeof sa);
	}
	usleep(100 * 1000);

	uv_loop_t loop;
	result r;
	vg_check c = {.kind = VG_CHECK_TCP, .host = "127.0.0.1", .port = ntohs(sa.sin_port)};
	uv_loop_init(&loop);
	uint64_t t0 = now_ms();
	run_check(&loop, NULL, &c, 300, &r);
	uint64_t took = now_ms() - t0;
	assert_false(r.ok);
	assert_non_null(strstr(r.detail, "timeout after 300 ms connecting to 127.0.0.1:"));
	assert_true(took >= 290 && took < 2000);
	close(fill[0]);
	close(fill[1]);
	close(lfd);
}

static void test_invalid_args(void **state)
{
	(void)state;
	uv_loop_t loop;
	result r = {0};
	uv_loop_init(&loop);
	r.loop = &loop;
	static const vg_check bad[] = {
	    {.kind = VG_CHECK_TCP, .host = "example.org", .port = 80},
	    {.kind = VG_CHECK_TCP, .host = "10.0.0.300", .port = 80},
	    {.kind = VG_CHECK_TCP, .host = "127.0.0.1", .port = 0},
	    {.kind = VG_CHECK_NONE, .host = "127.0.0.1", .port = 80},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(vg_check_run(&loop, &bad[i], 1000, on_result, &r), UV_EINVAL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Cancelling a check that waits on an answer: callback once, "cancelled", nothing left. */
static void test_cancel(void **state)
{
	(void)state;
	uv_loop_t loop;
	srv s;
	result r = {0};
	vg_check_op *op;
	uv_loop_init(&loop);
	r.loop = &loop;
	srv_start(&loop, &s, "127.0.0.1", true, NULL);
	vg_check c = {.kind = VG_CHECK_HTTP, .port = (uint16_t)s.port, .path = "/", .expect = 200};
	assert_int_equal(vg_check_start(&loop, &c, 10000, on_result, &r, &op), 0);
	assert_non_null(op);
	while (s.last_request[0] == '\0')
		uv_run(&loop, UV_RUN_ONCE);
	vg_check_cancel(op);
	assert_int_equal(r.calls, 0);
	while (r.calls == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_false(r.ok);
	assert_string_equal(r.detail, "cancelled");
	srv_stop(&s);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- http checks ---------------------------------------------------------- */

static void http_case(const char *response, const char *path, int expect, uint64_t timeout,
		      result *r, char *request, size_t reqlen)
{
	uv_loop_t loop;
	srv s;
	uv_loop_init(&loop);
	srv_start(&loop, &s, "127.0.0.1", true, response);
	vg_check c = {
	    .kind = VG_CHECK_HTTP,
	    .host = "127.0.0.1",
	    .port = (uint16_t)s.port,
	    .path = (char *)path,
	    .expect = expect,
	};
	run_check(&loop, &s, &c, timeout, r);
	snprintf(request, reqlen, "%s", s.last_request);
	char want[128];
	snprintf(want, sizeof want, "Host: 127.0.0.1:%d\r\n", s.port);
	assert_non_null(strstr(request, want));
}

static void test_http_ok(void **state)
{
	(void)state;
	result r;
	char req[1024];
	http_case("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "/health", 200, 2000, &r, req,
		  sizeof req);
	assert_true(r.ok);
	assert_non_null(strstr(r.detail, "HTTP status 200"));
	assert_true(strncmp(req, "GET /health HTTP/1.0\r\n", 22) == 0);

	/* expect 0: any 2xx or 3xx; default path "/" */
	http_case("HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", NULL, 0, 2000, &r, req, sizeof req);
	assert_true(r.ok);
	assert_true(strncmp(req, "GET / HTTP/1.0\r\n", 16) == 0);

	/* explicit non-2xx expectation */
	http_case("HTTP/1.1 404 Not Found\r\n\r\n", "/missing", 404, 2000, &r, req, sizeof req);
	assert_true(r.ok);
}

static void test_http_wrong_status(void **state)
{
	(void)state;
	result r;
	char req[1024];
	http_case("HTTP/1.0 503 Service Unavailable\r\n\r\n", "/", 200, 2000, &r, req, sizeof req);
	assert_false(r.ok);
	assert_non_null(strstr(r.detail, "HTTP status 503"));
	assert_non_null(strstr(r.detail, "expected 200"));

	http_case("HTTP/1.0 404 Not Found\r\n\r\n", "/", 0, 2000, &r, req, sizeof req);
	assert_false(r.ok);
	assert_non_null(strstr(r.detail, "expected 2xx or 3xx"));

	http_case("SSH-2.0-OpenSSH_9.2\r\n", "/", 0, 2000, &r, req, sizeof req);
	assert_false(r.ok);
	assert_non_null(strstr(r.detail, "malformed status line"));

	/* closed before any answer */
	http_case("", "/", 200, 2000, &r, req, sizeof req);
	assert_false(r.ok);
	assert_non_null(strstr(r.detail, "closed the connection"));
}

static void test_http_timeout(void **state)
{
	(void)state;
	result r;
	char req[1024];
	uint64_t t0 = now_ms();
	http_case(NULL, "/slow", 200, 300, &r, req, sizeof req);
	uint64_t took = now_ms() - t0;
	assert_false(r.ok);
	assert_non_null(strstr(r.detail, "timeout after 300 ms waiting for the status line"));
	assert_true(took >= 290 && took < 2000);
	assert_true(strncmp(req, "GET /slow HTTP/1.0\r\n", 20) == 0);
}

static void test_http_refused(void **state)
{
	(void)state;
	uv_loop_t loop;
	result r;
	vg_check c = {.kind = VG_CHECK_HTTP, .host = "127.0.0.1", .port = (uint16_t)closed_port()};
	uv_loop_init(&loop);
	run_check(&loop, NULL, &c, 2000, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.detail, "refused"));
}

/* ---- network namespace tests (root) --------------------------------------- */

typedef struct {
	int orig_ns;
} ns_state;

/* Run a command (argv, NULL-terminated); return its exit status. */
static int run(const char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(...)                                                                                   \
	do {                                                                                       \
		const char *const argv_[] = {__VA_ARGS__, NULL};                                   \
		assert_int_equal(run(argv_), 0);                                                   \
	} while (0)

static int ns_setup(void **state)
{
	ns_state *s = calloc(1, sizeof *s);
	if (!s)
		return -1;
	s->orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->orig_ns < 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "cannot create a network namespace (root needed): %s\n",
			strerror(errno));
		if (s->orig_ns >= 0)
			close(s->orig_ns);
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int ns_teardown(void **state)
{
	ns_state *s = *state;
	int r = setns(s->orig_ns, CLONE_NEWNET);
	close(s->orig_ns);
	free(s);
	return r;
}

/* veth vgt0 (10.88.0.1/24, fd88::1/64) <-> vgt1 (capture side); veth vgd0 (10.77.0.1/24,
 * NOARP) <-> vgd1. */
static void make_links(void)
{
	RUN("ip", "link", "set", "lo", "up");
	RUN("ip", "link", "add", "vgt0", "type", "veth", "peer", "name", "vgt1");
	RUN("ip", "addr", "add", "10.88.0.1/24", "dev", "vgt0");
	RUN("ip", "-6", "addr", "add", "fd88::1/64", "dev", "vgt0", "nodad");
	RUN("ip", "link", "set", "vgt0", "up");
	RUN("ip", "link", "set", "vgt1", "up");
	RUN("ip", "link", "add", "vgd0", "type", "veth", "peer", "name", "vgd1");
	RUN("ip", "link", "set", "vgd0", "arp", "off");
	RUN("ip", "addr", "add", "10.77.0.1/24", "dev", "vgd0");
	RUN("ip", "link", "set", "vgd0", "up");
}

/* `ip -o addr show dev IF` output, to check the kernel's state independently of vip.c. */
static void ip_addr_show(const char *ifname, char *out, size_t len)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "ip -o addr show dev %s", ifname);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
}

static void if_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

static int capture_open(const char *ifname)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(fd >= 0);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof sll), 0);
	return fd;
}

/* Read one frame within MS milliseconds; returns its length or 0 on timeout. */
static size_t capture_next(int fd, uint8_t *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return 0;
	ssize_t n = recv(fd, buf, len, 0);
	assert_true(n >= 0);
	return (size_t)n;
}

static void test_vip_v4(void **state)
{
	(void)state;
	char err[256], out[4096], name[IF_NAMESIZE];
	uint8_t mac[6];
	make_links();
	if_mac("vgt0", mac);

	/* not there yet */
	assert_int_equal(vg_vip_present(NULL, "10.88.0.100/24", err, sizeof err), 0);
	assert_int_equal(vg_vip_locate("10.88.0.100/24", name, err, sizeof err), 0);
	/* idempotent del of an absent address */
	assert_int_equal(vg_vip_del(NULL, "10.88.0.100/24", err, sizeof err), 0);

	/* no interface given: the one with an address in 10.88.0.0/24 */
	assert_int_equal(vg_vip_add(NULL, "10.88.0.100/24", err, sizeof err), 0);
	ip_addr_show("vgt0", out, sizeof out);
	assert_non_null(strstr(out, "inet 10.88.0.100/24"));
	ip_addr_show("vgd0", out, sizeof out);
	assert_null(strstr(out, "10.88.0.100"));
	assert_int_equal(vg_vip_present(NULL, "10.88.0.100/24", err, sizeof err), 1);
	assert_int_equal(vg_vip_present("vgt0", "10.88.0.100/24", err, sizeof err), 1);
	assert_int_equal(vg_vip_present("vgd0", "10.88.0.100/24", err, sizeof err), 0);
	assert_int_equal(vg_vip_locate("10.88.0.100/24", name, err, sizeof err), 1);
	assert_string_equal(name, "vgt0");
	/* idempotent add, with and without interface */
	assert_int_equal(vg_vip_add(NULL, "10.88.0.100/24", err, sizeof err), 0);
	assert_int_equal(vg_vip_add("vgt0", "10.88.0.100/24", err, sizeof err), 0);

	vg_vip_ifinfo info;
	assert_int_equal(vg_vip_ifinfo_get("vgt0", &info, err, sizeof err), 0);
	assert_int_equal(info.ifindex, if_nametoindex("vgt0"));
	assert_int_equal(info.hwtype, ARPHRD_ETHER);
	assert_int_equal(info.mac_len, 6);
	assert_memory_equal(info.mac, mac, 6);

	/* announce and capture on the peer */
	int cap = capture_open("vgt1");
	assert_int_equal(vg_garp_send_once(NULL, "10.88.0.100/24", err, sizeof err), 0);
	assert_int_equal(vg_garp_send_once("vgt0", "10.88.0.100/24", err, sizeof err), 0);
	int requests = 0, replies = 0;
	uint8_t f[2048];
	size_t n;
	uint64_t t0 = now_ms();
	while ((requests < 2 || replies < 2) && now_ms() - t0 < 3000 &&
	       (n = capture_next(cap, f, sizeof f, 1000)) > 0) {
		if (n < 14 + 28 || f[12] != 0x08 || f[13] != 0x06)
			continue;
		const uint8_t *arp = f + 14;
		static const uint8_t vip[4] = {10, 88, 0, 100};
		static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		/* sender IP = target IP = the VIP, sender MAC = vgt0's, broadcast */
		if (memcmp(arp + 14, vip, 4) != 0)
			continue;
		assert_memory_equal(f, bcast, 6);
		assert_memory_equal(f + 6, mac, 6);
		assert_int_equal(arp[0] << 8 | arp[1], ARPHRD_ETHER);
		assert_int_equal(arp[2] << 8 | arp[3], ETH_P_IP);
		assert_memory_equal(arp + 8, mac, 6);
		assert_memory_equal(arp + 24, vip, 4);
		int op = arp[6] << 8 | arp[7];
		if (op == ARPOP_REQUEST)
			requests++;
		else if (op == ARPOP_REPLY)
			replies++;
		else
			fail_msg("unexpected ARP op %d", op);
	}
	close(cap);
	assert_int_equal(requests, 2);
	assert_int_equal(replies, 2);

	/* NOARP interface: add works, nothing to announce */
	assert_int_equal(vg_vip_add(NULL, "10.77.0.50/32", err, sizeof err), 0);
	ip_addr_show("vgd0", out, sizeof out);
	assert_non_null(strstr(out, "inet 10.77.0.50/32"));
	assert_int_equal(vg_garp_send_once(NULL, "10.77.0.50/32", err, sizeof err), 1);
	/* present matches the address whatever the prefix; del removes it */
	assert_int_equal(vg_vip_present(NULL, "10.77.0.50/24", err, sizeof err), 1);
	assert_int_equal(vg_vip_del(NULL, "10.77.0.50/24", err, sizeof err), 0);
	ip_addr_show("vgd0", out, sizeof out);
	assert_null(strstr(out, "10.77.0.50"));

	/* remove; the interface's own address stays */
	assert_int_equal(vg_vip_del("vgt0", "10.88.0.100/24", err, sizeof err), 0);
	ip_addr_show("vgt0", out, sizeof out);
	assert_null(strstr(out, "10.88.0.100"));
	assert_non_null(strstr(out, "inet 10.88.0.1/24"));
	assert_int_equal(vg_vip_present(NULL, "10.88.0.100/24", err, sizeof err), 0);
	assert_int_equal(vg_vip_del("vgt0", "10.88.0.100/24", err, sizeof err), 0);

	/* announcing an address that is nowhere fails and names it */
	assert_int_equal(vg_garp_send_once(NULL, "10.88.0.100/24", err, sizeof err), -1);
	assert_non_null(strstr(err, "10.88.0.100/24"));
}

static void test_vip_errors(void **state)
{
	(void)state;
	char err[256];
	make_links();
	/* no interface in the subnet */
	assert_int_equal(vg_vip_add(NULL, "10.99.0.5/24", err, sizeof err), -1);
	assert_non_null(strstr(err, "10.99.0.5/24"));
	assert_non_null(strstr(err, "no interface"));
	/* unknown interface */
	assert_int_equal(vg_vip_add("nosuch0", "10.88.0.100/24", err, sizeof err), -1);
	assert_non_null(strstr(err, "nosuch0"));
	assert_non_null(strstr(err, "10.88.0.100/24"));
	assert_int_equal(vg_vip_present("nosuch0", "10.88.0.100/24", err, sizeof err), -1);
	assert_int_equal(vg_vip_del("nosuch0", "10.88.0.100/24", err, sizeof err), -1);
	vg_vip_ifinfo info;
	assert_int_equal(vg_vip_ifinfo_get("nosuch0", &info, err, sizeof err), -1);
	assert_non_null(strstr(err, "nosuch0"));
	/* bad address */
	assert_int_equal(vg_vip_add("vgt0", "10.88.0.300/24", err, sizeof err), -1);
	assert_non_null(strstr(err, "10.88.0.300/24"));
	/* kernel refusal names interface and address: interface down -> garp error */
	RUN("ip", "link", "set", "vgt0", "down");
	assert_int_equal(vg_vip_add("vgt0", "10.88.0.101/24", err, sizeof err), 0);
	assert_int_equal(vg_garp_send_once("vgt0", "10.88.0.101/24", err, sizeof err), -1);
	assert_non_null(strstr(err, "vgt0"));
	assert_non_null(strstr(err, "10.88.0.101/24"));
	assert_int_equal(vg_vip_del(NULL, "10.88.0.101/24", err, sizeof err), 0);
}

/* Verify the ICMPv6 checksum of an IPv6 packet (next header ICMPv6, no extension headers). */
static bool icmp6_checksum_ok(const uint8_t *ip6, size_t icmp_len)
{
	uint32_t sum = 0;
	const uint8_t *icmp = ip6 + 40;
	for (int i = 8; i < 40; i += 2) /* source and destination */
		sum += (uint32_t)(ip6[i] << 8 | ip6[i + 1]);
	sum += (uint32_t)(icmp_len >> 16) + (uint32_t)(icmp_len & 0xffff);
	sum += IPPROTO_ICMPV6;
	for (size_t i = 0; i + 1 < icmp_len; i += 2)
		sum += (uint32_t)(icmp[i] << 8 | icmp[i + 1]);
	if (icmp_len & 1)
		sum += (uint32_t)(icmp[icmp_len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static void test_vip_v6(void **state)
{
	(void)state;
	char err[256], out[4096];
	uint8_t mac[6];
	make_links();
	if_mac("vgt0", mac);

	assert_int_equal(vg_vip_present("vgt0", "fd88::100/64", err, sizeof err), 0);
	assert_int_equal(vg_vip_add(NULL, "fd88::100/64", err, sizeof err), 0);
	ip_addr_show("vgt0", out, sizeof out);
	char *line = strstr(out, "inet6 fd88::100/64");
	assert_non_null(line);
	char *eol = strchr(line, '\n');
	if (eol)
		*eol = '\0';
	assert_null(strstr(line, "tentative")); /* NODAD: usable at once */
	assert_int_equal(vg_vip_present("vgt0", "fd88::100/64", err, sizeof err), 1);
	assert_int_equal(vg_vip_add("vgt0", "fd88::100/64", err, sizeof err), 0);

	int cap = capture_open("vgt1");
	assert_int_equal(vg_garp_send_once("vgt0", "fd88::100/64", err, sizeof err), 0);
	struct in6_addr vip, all;
	inet_pton(AF_INET6, "fd88::100", &vip);
	inet_pton(AF_INET6, "ff02::1", &all);
	uint8_t f[2048];
	size_t n;
	int found = 0;
	uint64_t t0 = now_ms();
	while (!found && now_ms() - t0 < 3000 && (n = capture_next(cap, f, sizeof f, 1000)) > 0) {
		if (n < 14 + 40 + 32 || f[12] != 0x86 || f[13] != 0xdd)
			continue;
		const uint8_t *ip6 = f + 14, *icmp = ip6 + 40;
		if (ip6[6] != IPPROTO_ICMPV6 || icmp[0] != ND_NEIGHBOR_ADVERT)
			continue;
		if (memcmp(icmp + 8, &vip, 16) != 0)
			continue;
		found = 1;
		static const uint8_t mcast_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
		assert_memory_equal(f, mcast_mac, 6);
		assert_memory_equal(f + 6, mac, 6);
		assert_int_equal(ip6[7], 255);		 /* hop limit */
		assert_memory_equal(ip6 + 8, &vip, 16);	 /* source = VIP */
		assert_memory_equal(ip6 + 24, &all, 16); /* to all nodes */
		size_t plen = (size_t)(ip6[4] << 8 | ip6[5]);
		assert_int_equal(plen, 32);
		assert_true(icmp6_checksum_ok(ip6, plen));
		assert_int_equal(icmp[1], 0);	 /* code */
		assert_int_equal(icmp[4], 0x20); /* override, not solicited */
		assert_int_equal(icmp[24], ND_OPT_TARGET_LINKADDR);
		assert_int_equal(icmp[25], 1);
		assert_memory_equal(icmp + 26, mac, 6);
	}
	close(cap);
	assert_int_equal(found, 1);

	/* a tcp check to the VIP over IPv6 */
	uv_loop_t loop;
	srv s;
	result r;
	uv_loop_init(&loop);
	srv_start(&loop, &s, "fd88::100", false, NULL);
	vg_check c = {.kind = VG_CHECK_TCP, .host = "fd88::100", .port = (uint16_t)s.port};
	run_check(&loop, &s, &c, 2000, &r);
	assert_true(r.ok);
	assert_non_null(strstr(r.detail, "connected to [fd88::100]:"));
	/* and an http check to ::1 */
	uv_loop_init(&loop);
	srv_start(&loop, &s, "::1", true, "HTTP/1.1 204 No Content\r\n\r\n");
	c = (vg_check){.kind = VG_CHECK_HTTP, .host = "::1", .port = (uint16_t)s.port};
	run_check(&loop, &s, &c, 2000, &r);
	assert_true(r.ok);
	char want[64];
	snprintf(want, sizeof want, "Host: [::1]:%d\r\n", s.port);
	assert_non_null(strstr(s.last_request, want));

	assert_int_equal(vg_vip_del(NULL, "fd88::100/64", err, sizeof err), 0);
	ip_addr_show("vgt0", out, sizeof out);
	assert_null(strstr(out, "fd88::100"));
	assert_non_null(strstr(out, "fd88::1/64"));
	assert_int_equal(vg_vip_present(NULL, "fd88::100/64", err, sizeof err), 0);
	assert_int_equal(vg_vip_del(NULL, "fd88::100/64", err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_tcp_ok),
	    cmocka_unit_test(test_tcp_localhost_and_default_host),
	    cmocka_unit_test(test_tcp_refused),
	    cmocka_unit_test(test_tcp_timeout),
	    cmocka_unit_test(test_invalid_args),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_http_ok),
	    cmocka_unit_test(test_http_wrong_status),
	    cmocka_unit_test(test_http_timeout),
	    cmocka_unit_test(test_http_refused),
	    cmocka_unit_test_setup_teardown(test_vip_v4, ns_setup, ns_teardown),
	    cmocka_unit_test_setup_teardown(test_vip_errors, ns_setup, ns_teardown),
	    cmocka_unit_test_setup_teardown(test_vip_v6, ns_setup, ns_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
