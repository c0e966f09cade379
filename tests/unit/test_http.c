/* Unit tests: the HTTP API (http.h) on a real loop and a real socket: routes made from the
 * command table, the token checked before a POST's body is read, malformed and oversized
 * bodies, the reply codes as HTTP statuses, a deferred reply, query parameters as arguments.
 * The client runs in a thread of its own with plain sockets; the loop runs in the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commands.h"
#include "http.h"

#define TOKEN "0123456789abcdef0123456789abcdef"

/* ---- the served side: a command table's dispatch with test handlers -------- */

typedef struct {
	uv_loop_t loop;
	vg_http *http;
	int calls;
	char last_cmd[64];
	json_t *last_args;
	vg_control_conn *deferred;
	uv_timer_t later;
	uv_async_t stop;
} server;

static void note(server *s, const vg_cmd *cmd, json_t *args)
{
	s->calls++;
	snprintf(s->last_cmd, sizeof s->last_cmd, "%s", cmd->name);
	json_decref(s->last_args);
	s->last_args = json_deep_copy(args);
}

static void h_status(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
		     vg_control_reply *r)
{
	(void)target;
	note(ctx, cmd, args);
	r->result = json_pack("{s:i}", "x", 1);
}

static void h_echo(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
		   vg_control_reply *r)
{
	(void)target;
	note(ctx, cmd, args);
	r->result = json_deep_copy(args);
}

static void on_later(uv_timer_t *t)
{
	server *s = t->data;
	vg_control_reply r = {.result = json_string("restarted")};
	vg_control_finish(s->deferred, &r);
	s->deferred = NULL;
}

/* Answers 50 ms later, as a change going through the cluster would. */
static void h_deferred(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
		       vg_control_reply *r)
{
	(void)target;
	server *s = ctx;
	note(s, cmd, args);
	s->deferred = vg_control_defer(r);
	uv_timer_start(&s->later, on_later, 50, 0);
}

static void h_no_quorum(void *ctx, const vg_cmd *cmd, const char *target, json_t *args,
			vg_control_reply *r)
{
	(void)target;
	note(ctx, cmd, args);
	vg_cmd_fail(r, 3, "%s", "this node has no quorum: nothing was changed");
}

static char *fake_metrics(void *arg)
{
	(void)arg;
	return strdup("# TYPE up gauge\nup 1\n");
}

static bool exists(void *ctx, vg_cmd_target kind, const char *name)
{
	(void)ctx;
	return kind == VG_TARGET_RESOURCE ? !strcmp(name, "web") : !strcmp(name, "n1");
}

static void handle(void *arg, const char *cmd, json_t *args, vg_control_reply *r)
{
	vg_cmd_handlers h = {.mode = "a test node", .exists = exists};
	h.fn[VG_CMD_STATUS] = h_status;
	h.fn[VG_CMD_EVENTS] = h_echo;
	h.fn[VG_CMD_RESOURCE_SHOW] = h_echo;
	h.fn[VG_CMD_RESOURCE_RESTART] = h_deferred;
	h.fn[VG_CMD_RESOURCE_CLEANUP] = h_echo;
	h.fn[VG_CMD_NODE_FENCE] = h_no_quorum;
	vg_cmd_dispatch(&h, arg, false, cmd, args, r);
}

/* ---- the client ------------------------------------------------------------ */

typedef struct {
	int status;
	char head[2048];
	json_t *body; /* NULL: not JSON */
	double ms;
} answer;

/* Send raw (a whole request, or only its head when the body is to be withheld) and read the
 * answer until the server closes or 5 s pass. */
static answer http_raw(int port, const char *raw, size_t rawlen)
{
	answer a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return a;
	}
	for (size_t off = 0; off < rawlen;) {
		ssize_t w = send(fd, raw + off, rawlen - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	static char buf[1 << 17];
	size_t len = 0;
	for (int i = 0; i < 100 && len < sizeof buf - 1; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	sscanf(buf, "HTTP/1.%*d %d", &a.status);
	char *sep = strstr(buf, "\r\n\r\n");
	if (sep) {
		snprintf(a.head, sizeof a.head, "%.*s", (int)(sep - buf), buf);
		a.body = json_loads(sep + 4, 0, NULL);
	}
	return a;
}

static answer http(int port, const char *method, const char *path, const char *token,
		   const char *body)
{
	char *raw;
	size_t blen = body ? strlen(body) : 0;
	char auth[128] = "";
	if (token)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
	int n = asprintf(&raw,
			 "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, auth, blen, body ? body : "");
	assert_true(n > 0);
	answer a = http_raw(port, raw, (size_t)n);
	free(raw);
	return a;
}

/* ---- the cases, run from the client thread against the loop ---------------- */

typedef struct {
	server *s;
	int port;
	answer a[16];
	int calls_after[16];
	char big[70 * 1024];
} run;

static void *client(void *p)
{
	run *r = p;
	int port = r->port, k = 0;
#define STEP(x)                                                                                    \
	do {                                                                                       \
		r->a[k] = (x);                                                                     \
		r->calls_after[k] = r->s->calls;                                                   \
		k++;                                                                               \
	} while (0)
	STEP(http(port, "GET", "/v1/status", NULL, NULL));			       /* 0 */
	STEP(http(port, "GET", "/v1/nope", NULL, NULL));			       /* 1 */
	STEP(http(port, "POST", "/v1/status", TOKEN, "{}"));			       /* 2 */
	STEP(http(port, "POST", "/v1/resources/web/restart", NULL, "{}"));	       /* 3 */
	STEP(http(port, "POST", "/v1/resources/web/restart", TOKEN "x", "{}"));	       /* 4 */
	STEP(http(port, "POST", "/v1/resources/web/cleanup", TOKEN, "{\"x\":"));       /* 5 */
	STEP(http(port, "POST", "/v1/resources/web/restart", TOKEN, "{\"a\":\"b\"}")); /* 6 */
	STEP(http(port, "GET", "/v1/resources/nosuch", NULL, NULL));		       /* 7 */
	STEP(http(port, "POST", "/v1/nodes/n1/fence", TOKEN, NULL));		       /* 8 */
	STEP(http(port, "GET", "/v1/events?since=5&resource=web", NULL, NULL));	       /* 9 */
	/* 10: the head of a POST announcing a body that never comes: answered at once */
	const char *head = "POST /v1/resources/web/cleanup HTTP/1.1\r\nHost: t\r\n"
			   "Content-Length: 100000\r\n\r\n";
	STEP(http_raw(port, head, strlen(head)));
	memset(r->big, ' ', sizeof r->big - 3);
	r->big[0] = '{';
	r->big[sizeof r->big - 3] = '}';
	r->big[sizeof r->big - 2] = '\0';
	STEP(http(port, "POST", "/v1/resources/web/cleanup", TOKEN, r->big)); /* 11 */
	STEP(http(port, "GET", "/v1/resources/web", NULL, NULL));	      /* 12 */
	STEP(http(port, "GET", "/v1/nodes/n1/fence", NULL, NULL));	      /* 13 */
	STEP(http(port, "GET", "/metrics", NULL, NULL));		      /* 14 */
	STEP(http(port, "POST", "/metrics", TOKEN, NULL));		      /* 15 */
#undef STEP
	uv_async_send(&r->s->stop);
	return NULL;
}

static void on_stop(uv_async_t *a)
{
	server *s = a->data;
	vg_http_close(s->http);
	uv_close((uv_handle_t *)&s->later, NULL);
	uv_close((uv_handle_t *)&s->stop, NULL);
}

static int code_of(const answer *a)
{
	return (int)json_integer_value(json_object_get(a->body, "code"));
}

static const char *error_of(const answer *a)
{
	const char *e = json_string_value(json_object_get(a->body, "error"));
	return e ? e : "";
}

static void test_routes_tokens_and_statuses(void **state)
{
	(void)state;
	static server s;
	static run r;
	memset(&s, 0, sizeof s);
	memset(&r, 0, sizeof r);
	assert_int_equal(uv_loop_init(&s.loop), 0);
	uv_timer_init(&s.loop, &s.later);
	s.later.data = &s;
	uv_async_init(&s.loop, &s.stop, on_stop);
	s.stop.data = &s;
	char err[256];
	vg_http_opts o = {.listen = "127.0.0.1:0",
			  .token = TOKEN,
			  .handler = handle,
			  .metrics = fake_metrics,
			  .arg = &s};
	s.http = vg_http_open(&s.loop, &o, err, sizeof err);
	assert_non_null(s.http);
	r.s = &s;
	r.port = vg_http_port(s.http);
	assert_true(r.port > 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, client, &r), 0);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	pthread_join(t, NULL);
	assert_int_equal(uv_loop_close(&s.loop), 0);

	answer *a = r.a;
	/* a read view */
	assert_int_equal(a[0].status, 200);
	assert_true(json_is_true(json_object_get(a[0].body, "ok")));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(a[0].body, "result"), "x")), 1);
	assert_non_null(strstr(a[0].head, "application/json"));
	/* no such route; a write view with GET and a read view with POST */
	assert_int_equal(a[1].status, 404);
	assert_non_null(strstr(error_of(&a[1]), "no such route"));
	assert_int_equal(a[2].status, 405);
	assert_non_null(strstr(a[2].head, "Allow: GET"));
	assert_int_equal(a[13].status, 405);
	assert_non_null(strstr(a[13].head, "Allow: POST"));
	assert_int_equal(r.calls_after[2], 1);
	/* no token, a wrong token: 401, and the handler never ran */
	assert_int_equal(a[3].status, 401);
	assert_non_null(strstr(a[3].head, "WWW-Authenticate: Bearer"));
	assert_int_equal(a[4].status, 401);
	assert_int_equal(r.calls_after[4], 1);
	/* a malformed body: 400 with a JSON error, nothing run */
	assert_int_equal(a[5].status, 400);
	assert_non_null(strstr(error_of(&a[5]), "malformed body"));
	assert_int_equal(r.calls_after[5], 1);
	/* a deferred reply comes when the owner finishes it; the path's name is the argument */
	assert_int_equal(a[6].status, 200);
	assert_string_equal(json_string_value(json_object_get(a[6].body, "result")), "restarted");
	assert_int_equal(r.calls_after[6], 2);
	/* the dispatch's checks: no such resource is a 404 */
	assert_int_equal(a[7].status, 404);
	assert_non_null(strstr(error_of(&a[7]), "no resource named 'nosuch'"));
	/* no quorum is a 503, with the CLI's code */
	assert_int_equal(a[8].status, 503);
	assert_int_equal(code_of(&a[8]), 3);
	/* query parameters are the arguments of a GET */
	assert_int_equal(a[9].status, 200);
	json_t *echo = json_object_get(a[9].body, "result");
	assert_string_equal(json_string_value(json_object_get(echo, "since")), "5");
	assert_string_equal(json_string_value(json_object_get(echo, "resource")), "web");
	/* a POST without the token is refused before its body is read */
	assert_int_equal(a[10].status, 401);
	/* an oversized body: 413, nothing run */
	assert_int_equal(a[11].status, 413);
	int before_big = r.calls_after[10];
	assert_int_equal(r.calls_after[11], before_big);
	/* a resource's view by its path */
	assert_int_equal(a[12].status, 200);
	assert_string_equal(s.last_cmd, "resource.show");
	assert_string_equal(json_string_value(json_object_get(s.last_args, "name")), "web");

	/* /metrics: text, from the callback; GET only */
	assert_int_equal(a[14].status, 200);
	assert_non_null(strstr(a[14].head, "text/plain; version=0.0.4"));
	assert_int_equal(a[15].status, 405);
	for (size_t i = 0; i < 16; i++)
		json_decref(a[i].body);
	json_decref(s.last_args);
}

static void test_bad_listen_addresses_say_what(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	char err[256];
	const char *bad[] = {"localhost", "1.2.3:80", "127.0.0.1:99999", "[::1]80", "127.0.0.1:"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		vg_http_opts o = {.listen = bad[i], .handler = handle};
		err[0] = '\0';
		assert_null(vg_http_open(&loop, &o, err, sizeof err));
		assert_non_null(strstr(err, "api.listen"));
		assert_non_null(strstr(err, bad[i]));
	}
	/* a port in use */
	vg_http_opts o = {.listen = "127.0.0.1:0", .handler = handle};
	vg_http *h = vg_http_open(&loop, &o, err, sizeof err);
	assert_non_null(h);
	char taken[64];
	snprintf(taken, sizeof taken, "127.0.0.1:%d", vg_http_port(h));
	o.listen = taken;
	assert_null(vg_http_open(&loop, &o, err, sizeof err));
	assert_non_null(strstr(err, "cannot listen on"));
	assert_non_null(strstr(err, "in use"));
	vg_http_close(h);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_token_file(void **state)
{
	(void)state;
	char path[] = "/tmp/vigil-test-token-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char err[256];
	assert_int_equal(write(fd, "short\n", 6), 6);
	assert_null(vg_http_read_token(path, err, sizeof err));
	assert_non_null(strstr(err, "32 to 256 printable"));
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, TOKEN "\nsecond line\n", strlen(TOKEN) + 13, 0),
			 (ssize_t)strlen(TOKEN) + 13);
	close(fd);
	char *t = vg_http_read_token(path, err, sizeof err);
	assert_non_null(t);
	assert_string_equal(t, TOKEN);
	free(t);
	unlink(path);
	assert_null(vg_http_read_token(path, err, sizeof err));
	assert_non_null(strstr(err, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes_tokens_and_statuses),
	    cmocka_unit_test(test_bad_listen_addresses_say_what),
	    cmocka_unit_test(test_token_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
