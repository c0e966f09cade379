/* http.c - the HTTP API on vigild's loop (http.h). */
#include "http.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "commands.h"
#include "errbuf.h"
#include "file.h"
#include "log.h"

#define MAX_BODY	(64u * 1024)
#define MAX_CONNECTIONS 64
#define CONN_TIMEOUT_S	30
#define TOKEN_MIN	32
#define TOKEN_MAX	256
#define TOKEN_FILE_MAX	4096

struct vg_http {
	uv_loop_t *loop;
	struct MHD_Daemon *d;
	uv_poll_t poll;
	uv_timer_t timer;
	int open_handles;
	int port;
	unsigned char token_hash[crypto_generichash_BYTES];
	bool have_token;
	char *tls_cert, *tls_key; /* MHD's TLS reads them; kept until it stops */
	vg_control_handler handler;
	char *(*metrics)(void *arg);
	void *arg;
};

/* One request, from MHD's first call of the access handler to its completion callback. */
typedef struct {
	vg_control_conn base; /* first: a vg_control_conn * is a request * */
	vg_http *h;
	struct MHD_Connection *conn;
	const vg_cmd *cmd; /* NULL: answered at once (a routing or auth error) */
	char target[256];
	char *body;
	size_t len;
	bool too_big;
	bool suspended;
	/* the answer, once there is one */
	unsigned status;
	char *text;
	bool answered;
	const char *content_type; /* NULL: application/json */
	bool is_metrics;
} request;

/* ---- the loop drives MHD ------------------------------------------------- */

static void run(vg_http *h);

static void on_timer(uv_timer_t *t)
{
	run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	run(p->data);
}

static void run(vg_http *h)
{
	MHD_run(h->d);
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(h->d, &ms) == MHD_YES)
		uv_timer_start(&h->timer, on_timer, ms, 0);
	else
		uv_timer_stop(&h->timer);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	vg_warn("http: %s", msg);
}

/* ---- routes --------------------------------------------------------------- */

/* A command's path below /v1/: its collection ("resources", "nodes", or the command itself
 * for one without an object), and its action after the object's name ("" for "show"). */
static void route_of(const vg_cmd *c, char *coll, size_t ncoll, const char **action)
{
	const char *dot = strchr(c->name, '.');
	size_t n = dot ? (size_t)(dot - c->name) : strlen(c->name);
	*action = dot ? dot + 1 : "";
	if (!strcmp(*action, "show"))
		*action = "";
	if (c->target == VG_TARGET_RESOURCE)
		snprintf(coll, ncoll, "resources");
	else if (c->target == VG_TARGET_NODE)
		snprintf(coll, ncoll, "nodes");
	else
		snprintf(coll, ncoll, "%.*s", (int)n, c->name);
}

/* The command url names, with the object's name in target; NULL when none (404). */
static const vg_cmd *route(const char *url, char *target, size_t ntarget)
{
	if (strncmp(url, "/v1/", 4))
		return NULL;
	const char *p = url + 4;
	const char *s1 = strchr(p, '/');
	size_t lcoll = s1 ? (size_t)(s1 - p) : strlen(p);
	const char *name = s1 ? s1 + 1 : NULL;
	const char *s2 = name ? strchr(name, '/') : NULL;
	size_t lname = name ? (s2 ? (size_t)(s2 - name) : strlen(name)) : 0;
	const char *action = s2 ? s2 + 1 : "";
	if (strchr(action, '/') || (name && (lname == 0 || lname >= ntarget)))
		return NULL;
	for (int i = 0; i < VG_CMD_COUNT; i++) {
		const vg_cmd *c = vg_cmd_get((vg_cmd_id)i);
		char coll[32];
		const char *act;
		route_of(c, coll, sizeof coll, &act);
		if (strlen(coll) != lcoll || strncmp(coll, p, lcoll) || strcmp(act, action))
			continue;
		if ((c->target != VG_TARGET_NONE) != (name != NULL))
			continue;
		if (name)
			snprintf(target, ntarget, "%.*s", (int)lname, name);
		return c;
	}
	return NULL;
}

/* ---- answers -------------------------------------------------------------- */

static unsigned status_of(const vg_control_reply *r)
{
	if (r->code == 0)
		return MHD_HTTP_OK;
	if (r->not_found)
		return MHD_HTTP_NOT_FOUND;
	switch (r->code) {
	case 1:
		return MHD_HTTP_CONFLICT;
	case 2:
		return MHD_HTTP_BAD_REQUEST;
	case 3:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* Keep the answer; it goes out from the access handler's next call. */
static void keep(request *q, unsigned status, const vg_control_reply *r)
{
	json_t *o = vg_control_reply_json(r);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		abort();
	size_t n = strlen(s);
	q->text = vg_realloc(s, n + 2);
	q->text[n] = '\n';
	q->text[n + 1] = '\0';
	q->status = status;
	q->answered = true;
}

static void keep_error(request *q, unsigned status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void keep_error(request *q, unsigned status, int code, const char *fmt, ...)
{
	vg_control_reply r = {.code = code};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.error, sizeof r.error, fmt, ap);
	va_end(ap);
	keep(q, status, &r);
}

static enum MHD_Result queue(request *q)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(q->text), q->text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				q->content_type ? q->content_type : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (q->status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (q->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					q->cmd && q->cmd->writes ? "POST" : "GET");
	enum MHD_Result ret = MHD_queue_response(q->conn, q->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A deferred reply, finished by the command's owner. */
static void request_send(vg_control_conn *self, const vg_control_reply *r)
{
	request *q = (request *)self;
	keep(q, status_of(r), r);
	if (q->suspended) {
		q->suspended = false;
		MHD_resume_connection(q->conn);
		uv_timer_start(&q->h->timer, on_timer, 0, 0);
	}
}

/* ---- requests ------------------------------------------------------------- */

static bool token_ok(const vg_http *h, struct MHD_Connection *conn)
{
	if (!h->have_token)
		return false;
	const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7))
		return false;
	a += 7;
	while (*a == ' ')
		a++;
	unsigned char hash[crypto_generichash_BYTES];
	crypto_generichash(hash, sizeof hash, (const unsigned char *)a, strlen(a), NULL, 0);
	return sodium_memcmp(hash, h->token_hash, sizeof hash) == 0;
}

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	json_object_set_new(cls, key, json_string(value ? value : ""));
	return MHD_YES;
}

/* The first call: route and (for a POST) the token, before any of the body is read. */
/* GET /metrics: answered at once, as text. */
static bool metrics(request *q, const char *url, const char *method)
{
	if (strcmp(url, "/metrics") || !q->h->metrics)
		return false;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		keep_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, 2, "/metrics needs GET, not %.20s",
			   method);
		return true;
	}
	q->is_metrics = true; /* made once the request is in, like every answer */
	return true;
}

static void answer_metrics(request *q)
{
	char *text = q->h->metrics(q->h->arg);
	if (!text) {
		keep_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "%s",
			   "the metrics cannot be made now (vigild is starting)");
		return;
	}
	q->text = text;
	q->status = MHD_HTTP_OK;
	q->content_type = "text/plain; version=0.0.4; charset=utf-8";
	q->answered = true;
}

static void start(request *q, const char *url, const char *method)
{
	if (metrics(q, url, method))
		return;
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	q->cmd = route(url, q->target, sizeof q->target);
	if (!q->cmd) {
		keep_error(q, MHD_HTTP_NOT_FOUND, 2, "no such route: %.200s %.300s", method, url);
		return;
	}
	if ((q->cmd->writes && !post) || (!q->cmd->writes && !get)) {
		keep_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, 2, "%s needs %s, not %.20s", url,
			   q->cmd->writes ? "POST" : "GET", method);
		return;
	}
	if (q->cmd->writes && !token_ok(q->h, q->conn))
		keep_error(q, MHD_HTTP_UNAUTHORIZED, 2, "%s",
			   q->h->have_token ? "this needs \"Authorization: Bearer TOKEN\" with the "
					      "token of api.token_file"
					    : "writes are off: no api.token_file is configured");
}

/* The whole request is in: run the command. */
static void finish(request *q)
{
	json_t *args;
	if (q->is_metrics) {
		answer_metrics(q);
		return;
	}
	if (q->too_big) {
		keep_error(q, MHD_HTTP_CONTENT_TOO_LARGE, 2, "the body is over %u bytes", MAX_BODY);
		return;
	}
	if (q->len) {
		json_error_t e;
		args = json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &e);
		if (!args || !json_is_object(args)) {
			keep_error(q, MHD_HTTP_BAD_REQUEST, 2,
				   "malformed body: %s (a JSON object is expected)",
				   args ? "not an object" : e.text);
			json_decref(args);
			return;
		}
	} else {
		args = json_object();
	}
	MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, add_query_arg, args);
	if (q->cmd->target != VG_TARGET_NONE)
		json_object_set_new(args, q->cmd->target == VG_TARGET_RESOURCE ? "name" : "node",
				    json_string(q->target));
	vg_control_reply r = {.conn_ = &q->base};
	q->h->handler(q->h->arg, q->cmd->name, args, &r);
	json_decref(args);
	if (r.deferred_)
		return; /* request_send comes later (or came already) */
	keep(q, status_of(&r), &r);
	json_decref(r.result);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	(void)version;
	vg_http *h = cls;
	request *q = *con_cls;
	if (!q) {
		q = vg_calloc(1, sizeof *q);
		q->base.send = request_send;
		q->h = h;
		q->conn = conn;
		*con_cls = q;
		start(q, url, method);
		/* an error is answered at once: the body (if any) is never read */
		return q->answered ? queue(q) : MHD_YES;
	}
	if (q->answered)
		return queue(q);
	if (*data_size) {
		if (!q->too_big && q->len + *data_size <= MAX_BODY) {
			char *b = vg_realloc(q->body, q->len + *data_size + 1);
			memcpy(b + q->len, data, *data_size);
			q->body = b;
			q->len += *data_size;
		} else {
			q->too_big = true;
		}
		*data_size = 0;
		return MHD_YES;
	}
	finish(q);
	if (q->answered)
		return queue(q);
	q->suspended = true;
	MHD_suspend_connection(conn);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)conn;
	(void)why;
	request *q = *con_cls;
	if (!q)
		return;
	free(q->body);
	free(q->text);
	free(q);
	*con_cls = NULL;
}

/* ---- the server ----------------------------------------------------------- */

/* Parse HOST:PORT or [HOST]:PORT into a socket address. */
static bool parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[128];
	const char *colon;
	if (*s == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
			return false;
		snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host)
			return false;
		snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
	}
	char *e;
	errno = 0;
	long port = strtol(colon + 1, &e, 10);
	if (colon[1] == '\0' || *e || errno || port < 0 || port > 65535)
		return false;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*sl = sizeof *a4;
		return true;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof *a6;
		return true;
	}
	return false;
}

static int listen_on(const char *addr, int *port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (!parse_listen(addr, &ss, &sl)) {
		vg_seterr(err, errlen, "api.listen: expected HOST:PORT or [HOST]:PORT, got '%s'",
			  addr);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0) {
		vg_seterr(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void free_http(vg_http *h)
{
	if (h->tls_key)
		sodium_memzero(h->tls_key, strlen(h->tls_key));
	free(h->tls_cert);
	free(h->tls_key);
	free(h);
}

vg_http *vg_http_open(uv_loop_t *loop, const vg_http_opts *o, char *err, size_t errlen)
{
	if (!loop || !o || !o->handler || !o->listen || (!o->tls_cert_pem != !o->tls_key_pem)) {
		vg_seterr(err, errlen, "%s", "bad HTTP API options");
		return NULL;
	}
	if (sodium_init() < 0) {
		vg_seterr(err, errlen, "%s", "libsodium failed to initialise");
		return NULL;
	}
	vg_http *h = vg_calloc(1, sizeof *h);
	h->loop = loop;
	h->tls_cert = vg_strdup(o->tls_cert_pem); /* NULL stays NULL */
	h->tls_key = vg_strdup(o->tls_key_pem);
	h->handler = o->handler;
	h->metrics = o->metrics;
	h->arg = o->arg;
	if (o->token && *o->token) {
		crypto_generichash(h->token_hash, sizeof h->token_hash,
				   (const unsigned char *)o->token, strlen(o->token), NULL, 0);
		h->have_token = true;
	}
	int fd = listen_on(o->listen, &h->port, err, errlen);
	if (fd < 0) {
		free_http(h);
		return NULL;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (o->tls_cert_pem)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
	    {MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
				mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
				MHD_OPTION_ARRAY, o->tls_cert_pem ? tls : none, MHD_OPTION_END);
	if (!h->d) {
		vg_seterr(err, errlen, "cannot serve HTTP on %s%s", o->listen,
			  o->tls_cert_pem ? " (is the TLS certificate and key a PEM pair?)" : "");
		close(fd);
		free_http(h);
		return NULL;
	}
	const union MHD_DaemonInfo *ep = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	uv_poll_init(loop, &h->poll, ep->epoll_fd);
	uv_timer_init(loop, &h->timer);
	h->poll.data = h;
	h->timer.data = h;
	h->open_handles = 2;
	uv_poll_start(&h->poll, UV_READABLE, on_poll);
	return h;
}

int vg_http_port(const vg_http *h)
{
	return h ? h->port : 0;
}

static void on_closed(uv_handle_t *hd)
{
	vg_http *h = hd->data;
	if (--h->open_handles == 0)
		free_http(h);
}

void vg_http_close(vg_http *h)
{
	if (!h)
		return;
	uv_poll_stop(&h->poll);
	MHD_stop_daemon(h->d); /* closes the listening socket and every connection */
	h->d = NULL;
	uv_close((uv_handle_t *)&h->poll, on_closed);
	uv_close((uv_handle_t *)&h->timer, on_closed);
}

char *vg_http_read_token(const char *path, char *err, size_t errlen)
{
	char why[256];
	size_t len;
	char *s = vg_file_read(path, TOKEN_FILE_MAX, &len, why, sizeof why);
	if (!s) {
		vg_seterr(err, errlen, "api.token_file %s: %s", path, why);
		return NULL;
	}
	size_t n = strcspn(s, "\r\n");
	s[n] = '\0';
	bool printable = true;
	for (size_t i = 0; i < n; i++)
		printable = printable && s[i] > ' ' && s[i] < 0x7f;
	if (n < TOKEN_MIN || n > TOKEN_MAX || !printable) {
		vg_seterr(err, errlen,
			  "api.token_file %s: the first line must be %d to %d printable characters "
			  "without spaces (vigil keygen --api-token FILE makes one)",
			  path, TOKEN_MIN, TOKEN_MAX);
		sodium_memzero(s, len);
		free(s);
		return NULL;
	}
	return s;
}
