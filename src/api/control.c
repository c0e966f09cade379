/* control.c - the local control socket (see control.h).
 *
 * Server: a libuv pipe listener; each connection sends one line of JSON
 * {"cmd": NAME, "args": {...}} and gets one line back {"ok": bool, "code": N,
 * "result": ..., "error": "..."}, then the connection is closed. Only root (or the
 * daemon's own user) may connect. Client: a blocking call with a timeout, for the CLI only.
 * Must not: interpret commands.
 */
#include "control.h"
#include "clock.h"
#include "mem.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum { MAX_REQUEST = 2 * 1024 * 1024 }; /* a whole configuration fits */

struct vg_control {
	uv_loop_t *loop;
	uv_pipe_t server;
	vg_control_handler handler;
	void *arg;
	char *path;
};

typedef struct conn conn;
struct conn {
	vg_control_conn base; /* first: a vg_control_conn * is a conn * */
	vg_control *ctl;
	uv_pipe_t pipe;
	uv_write_t wr;
	char *buf;
	size_t len;
	char *out;
	bool replied;
};

static void conn_closed(uv_handle_t *h)
{
	conn *c = h->data;
	free(c->buf);
	free(c->out);
	free(c);
}

static void conn_close(conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	conn_close(w->data);
}

json_t *vg_control_reply_json(const vg_control_reply *r)
{
	json_t *o = json_pack("{s:b, s:i}", "ok", r->code == 0, "code", r->code);
	if (r->result)
		json_object_set(o, "result", r->result);
	if (r->code != 0)
		json_object_set_new(o, "error", json_string(r->error[0] ? r->error : "failed"));
	return o;
}

static void reply(conn *c, const vg_control_reply *r)
{
	json_t *o = vg_control_reply_json(r);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	size_t n = strlen(s);
	c->out = vg_malloc(n + 2);
	memcpy(c->out, s, n);
	c->out[n] = '\n';
	free(s);
	c->replied = true;
	uv_buf_t b = uv_buf_init(c->out, (unsigned)(n + 1));
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0)
		conn_close(c);
}

static void reply_error(conn *c, int code, const char *msg)
{
	vg_control_reply r = {.code = code};
	snprintf(r.error, sizeof r.error, "%s", msg);
	reply(c, &r);
}

static void handle_line(conn *c)
{
	json_error_t jerr;
	json_t *req = json_loadb(c->buf, c->len, 0, &jerr);
	if (!req || !json_is_object(req)) {
		char msg[300];
		snprintf(msg, sizeof msg, "malformed request: %s",
			 req ? "not an object" : jerr.text);
		json_decref(req);
		reply_error(c, 2, msg);
		return;
	}
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *args = json_object_get(req, "args");
	if (!cmd) {
		json_decref(req);
		reply_error(c, 2, "malformed request: no \"cmd\" string");
		return;
	}
	if (args && !json_is_object(args)) {
		json_decref(req);
		reply_error(c, 2, "malformed request: \"args\" is not an object");
		return;
	}
	json_t *empty = args ? NULL : json_object();
	vg_control_reply r = {.conn_ = &c->base};
	c->ctl->handler(c->ctl->arg, cmd, args ? args : empty, &r);
	if (!r.deferred_) {
		reply(c, &r);
		json_decref(r.result);
	}
	json_decref(empty);
	json_decref(req);
}

vg_control_conn *vg_control_defer(vg_control_reply *r)
{
	r->deferred_ = true;
	return r->conn_;
}

static void conn_send(vg_control_conn *self, const vg_control_reply *r)
{
	reply((conn *)self, r);
}

void vg_control_finish(vg_control_conn *c, vg_control_reply *r)
{
	c->send(c, r);
	json_decref(r->result);
	r->result = NULL;
}

vg_control_reply vg_control_resume(vg_control_conn *c)
{
	return (vg_control_reply){.conn_ = c};
}

void vg_control_settle(vg_control_reply *r)
{
	if (!r->deferred_)
		vg_control_finish(r->conn_, r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	conn *c = h->data;
	size_t room = MAX_REQUEST + 1 - c->len;
	if (!c->buf)
		c->buf = vg_malloc(MAX_REQUEST + 1);
	*buf = uv_buf_init(c->buf + c->len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	conn *c = s->data;
	if (c->replied)
		return;
	if (n < 0) {
		uv_read_stop(s);
		if (c->len > 0 && n == UV_EOF) {
			handle_line(c); /* a request without its newline */
		} else {
			conn_close(c);
		}
		return;
	}
	c->len += (size_t)n;
	char *nl = memchr(c->buf, '\n', c->len);
	if (nl) {
		uv_read_stop(s);
		c->len = (size_t)(nl - c->buf);
		handle_line(c);
	} else if (c->len >= MAX_REQUEST) {
		uv_read_stop(s);
		reply_error(c, 2, "request too large (2 MiB at most)");
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	vg_control *ctl = server->data;
	if (status < 0)
		return;
	conn *c = vg_calloc(1, sizeof *c);
	c->base.send = conn_send;
	c->ctl = ctl;
	uv_pipe_init(ctl->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	uv_os_fd_t fd;
	struct ucred cred;
	socklen_t cl = sizeof cred;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		vg_warn("control: refused a connection from uid %d", (int)cred.uid);
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* Is a daemon answering on path? */
static bool socket_live(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	bool live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return live;
}

static void mkdir_parent(const char *path)
{
	char dir[108];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
}

vg_control *vg_control_open(uv_loop_t *loop, const char *path, vg_control_handler h, void *arg,
			    char *err, size_t errlen)
{
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return NULL;
	}
	if (socket_live(path)) {
		snprintf(err, errlen, "another vigild is already listening on %s", path);
		return NULL;
	}
	mkdir_parent(path);
	unlink(path);
	vg_control *c = vg_calloc(1, sizeof *c);
	c->loop = loop;
	c->handler = h;
	c->arg = arg;
	c->path = vg_strdup(path);
	uv_pipe_init(loop, &c->server, 0);
	c->server.data = c;
	mode_t old = umask(0177);
	int rc = uv_pipe_bind(&c->server, path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&c->server, 64, on_connection);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
		vg_control_close(c);
		return NULL;
	}
	chmod(path, 0600);
	return c;
}

static void server_closed(uv_handle_t *h)
{
	vg_control *c = h->data;
	free(c->path);
	free(c);
}

void vg_control_close(vg_control *c)
{
	if (!c)
		return;
	unlink(c->path);
	uv_close((uv_handle_t *)&c->server, server_closed);
}

/* ---- client --------------------------------------------------------------- */

static int remaining_ms(uint64_t deadline_ms)
{
	uint64_t now = vg_clock_mono_ms();
	return deadline_ms > now ? (int)(deadline_ms - now) : 0;
}

json_t *vg_control_call(const char *path, const char *cmd, json_t *args, int timeout_ms, char *err,
			size_t errlen)
{
	uint64_t deadline = vg_clock_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		snprintf(err, errlen, "cannot reach vigild at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	json_t *req = json_pack("{s:s}", "cmd", cmd);
	if (args)
		json_object_set(req, "args", args);
	char *line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	size_t n = strlen(line);
	line = vg_realloc(line, n + 2);
	line[n++] = '\n';
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "cannot send to vigild: %s", strerror(errno));
			free(line);
			close(fd);
			return NULL;
		}
		off += (size_t)w;
	}
	free(line);
	size_t cap = 65536, len = 0;
	char *buf = vg_malloc(cap);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, remaining_ms(deadline));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			snprintf(err, errlen, "vigild at %s did not answer within %d ms", path,
				 timeout_ms);
			free(buf);
			close(fd);
			return NULL;
		}
		if (len + 4096 > cap)
			buf = vg_realloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	json_error_t jerr;
	json_t *resp = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!resp || !json_is_object(resp)) {
		snprintf(err, errlen, "vigild sent a malformed reply");
		json_decref(resp);
		return NULL;
	}
	return resp;
}
