/* check.c - tcp and http health checks driven by the daemon's libuv loop.
 *
 * Owns: one heap-allocated vg_check_op per running check (its tcp handle, timer, connect and
 * write requests, request text and status-line buffer) until its callback has run.
 * Must not: block (no blocking resolver: hosts are literals or "localhost"), fork, call the
 * callback before all its handles are closed, or call it more than once.
 */
#include "check.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_BUF 512

struct vg_check_op {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_write_t write;
	vg_check_kind kind;
	int expect;
	uint64_t timeout_ms;
	char target[80]; /* "127.0.0.1:80", "[::1]:80" for messages */
	char *request;	 /* http only */
	char buf[STATUS_BUF];
	size_t buf_len;
	const char *phase; /* what we wait for, for the timeout message */
	int closing;	   /* handles still to close */
	bool finished;
	bool ok;
	char detail[256];
	vg_check_cb cb;
	void *arg;
};

static void on_closed(uv_handle_t *h)
{
	vg_check_op *op = h->data;
	if (--op->closing > 0)
		return;
	vg_check_cb cb = op->cb;
	void *arg = op->arg;
	bool ok = op->ok;
	char detail[sizeof op->detail];
	memcpy(detail, op->detail, sizeof detail);
	free(op->request);
	free(op);
	if (cb)
		cb(arg, ok, detail);
}

static void finish(vg_check_op *op, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(vg_check_op *op, bool ok, const char *fmt, ...)
{
	va_list ap;
	if (op->finished)
		return;
	op->finished = true;
	op->ok = ok;
	va_start(ap, fmt);
	vsnprintf(op->detail, sizeof op->detail, fmt, ap);
	va_end(ap);
	op->closing = 2;
	uv_timer_stop(&op->timer);
	uv_close((uv_handle_t *)&op->timer, on_closed);
	uv_close((uv_handle_t *)&op->tcp, on_closed);
}

static void on_timeout(uv_timer_t *t)
{
	vg_check_op *op = t->data;
	finish(op, false, "timeout after %llu ms %s %s", (unsigned long long)op->timeout_ms,
	       op->phase, op->target);
}

static void parse_status(vg_check_op *op)
{
	/* "HTTP/1.1 200 OK" */
	const char *p = op->buf;
	int status = 0;
	char *nl = memchr(op->buf, '\n', op->buf_len);
	size_t len = (size_t)(nl - op->buf);

	if (len > 0 && op->buf[len - 1] == '\r')
		len--;
	op->buf[len] = '\0';
	if (strncmp(p, "HTTP/", 5) != 0 || !(p = strchr(p, ' '))) {
		finish(op, false, "malformed status line from %s: '%.80s'", op->target, op->buf);
		return;
	}
	while (*p == ' ')
		p++;
	for (int i = 0; i < 3; i++, p++) {
		if (*p < '0' || *p > '9') {
			finish(op, false, "malformed status line from %s: '%.80s'", op->target,
			       op->buf);
			return;
		}
		status = status * 10 + (*p - '0');
	}
	if (*p != '\0' && *p != ' ') {
		finish(op, false, "malformed status line from %s: '%.80s'", op->target, op->buf);
		return;
	}
	if (op->expect ? status == op->expect : (status >= 200 && status < 400))
		finish(op, true, "HTTP status %d from %s", status, op->target);
	else if (op->expect)
		finish(op, false, "HTTP status %d from %s, expected %d", status, op->target,
		       op->expect);
	else
		finish(op, false, "HTTP status %d from %s, expected 2xx or 3xx", status,
		       op->target);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	vg_check_op *op = h->data;
	(void)suggested;
	/* keep one byte for the terminating NUL */
	*buf = uv_buf_init(op->buf + op->buf_len, (unsigned int)(STATUS_BUF - 1 - op->buf_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	vg_check_op *op = s->data;
	(void)buf;
	if (op->finished)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			finish(op, false, "%s closed the connection before the status line",
			       op->target);
		else
			finish(op, false, "reading from %s: %s", op->target,
			       uv_strerror((int)nread));
		return;
	}
	op->buf_len += (size_t)nread;
	if (memchr(op->buf, '\n', op->buf_len)) {
		parse_status(op);
		return;
	}
	if (op->buf_len >= STATUS_BUF - 1)
		finish(op, false, "status line from %s longer than %d bytes", op->target,
		       STATUS_BUF - 1);
}

static void on_write(uv_write_t *w, int status)
{
	vg_check_op *op = w->data;
	if (status < 0 && !op->finished)
		finish(op, false, "sending the request to %s: %s", op->target, uv_strerror(status));
}

static void on_connect(uv_connect_t *req, int status)
{
	vg_check_op *op = req->data;
	if (op->finished)
		return; /* UV_ECANCELED after a timeout */
	if (status < 0) {
		finish(op, false, "connecting to %s: %s", op->target, uv_strerror(status));
		return;
	}
	if (op->kind == VG_CHECK_TCP) {
		finish(op, true, "connected to %s", op->target);
		return;
	}
	uv_buf_t b = uv_buf_init(op->request, (unsigned int)strlen(op->request));
	op->phase = "waiting for the status line from";
	int r = uv_write(&op->write, (uv_stream_t *)&op->tcp, &b, 1, on_write);
	if (r == 0)
		r = uv_read_start((uv_stream_t *)&op->tcp, on_alloc, on_read);
	if (r < 0)
		finish(op, false, "sending the request to %s: %s", op->target, uv_strerror(r));
}

/* Fill ADDR from HOST and PORT. Returns 0 or UV_EINVAL. */
static int resolve(const char *host, uint16_t port, struct sockaddr_storage *addr, bool *v6)
{
	if (!host || strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	*v6 = false;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0)
		return 0;
	*v6 = true;
	if (strchr(host, ':') && uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) == 0)
		return 0;
	return UV_EINVAL;
}

int vg_check_start(uv_loop_t *loop, const vg_check *c, uint64_t timeout_ms, vg_check_cb cb,
		   void *arg, vg_check_op **out)
{
	struct sockaddr_storage addr;
	const char *host = c->host && strcmp(c->host, "localhost") != 0 ? c->host : "127.0.0.1";
	bool v6;
	int r;

	if (out)
		*out = NULL;
	if (!loop || !cb || (c->kind != VG_CHECK_TCP && c->kind != VG_CHECK_HTTP) || c->port == 0 ||
	    strlen(host) > 64)
		return UV_EINVAL;
	memset(&addr, 0, sizeof addr);
	if (resolve(host, c->port, &addr, &v6) < 0)
		return UV_EINVAL;

	vg_check_op *op = vg_calloc(1, sizeof *op);
	if (!op)
		return UV_ENOMEM;
	op->kind = c->kind;
	op->expect = c->expect;
	op->timeout_ms = timeout_ms ? timeout_ms : VG_CHECK_DEFAULT_TIMEOUT_MS;
	op->cb = cb;
	op->arg = arg;
	op->phase = "connecting to";
	snprintf(op->target, sizeof op->target, v6 ? "[%s]:%u" : "%s:%u", host,
		 (unsigned int)c->port);
	if (c->kind == VG_CHECK_HTTP) {
		const char *path = c->path && *c->path ? c->path : "/";
		const char *fmt = "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: vigil\r\n"
				  "Connection: close\r\n\r\n";
		/* Host header: the literal as given ("localhost" stays "localhost"). */
		char hosthdr[96];
		const char *h = c->host ? c->host : host;
		snprintf(hosthdr, sizeof hosthdr, v6 ? "[%s]:%u" : "%s:%u", h,
			 (unsigned int)c->port);
		int n = snprintf(NULL, 0, fmt, path, hosthdr);
		op->request = vg_malloc((size_t)n + 1);
		if (!op->request) {
			free(op);
			return UV_ENOMEM;
		}
		snprintf(op->request, (size_t)n + 1, fmt, path, hosthdr);
	}

	uv_timer_init(loop, &op->timer); /* cannot fail */
	op->timer.data = op;
	r = uv_tcp_init(loop, &op->tcp);
	if (r < 0) {
		/* only the timer exists: close it; on_closed frees without a callback */
		op->cb = NULL;
		op->finished = true;
		op->closing = 1;
		uv_close((uv_handle_t *)&op->timer, on_closed);
		return r;
	}
	op->tcp.data = op;
	op->connect.data = op;
	op->write.data = op;
	uv_timer_start(&op->timer, on_timeout, op->timeout_ms, 0);
	r = uv_tcp_connect(&op->connect, &op->tcp, (const struct sockaddr *)&addr, on_connect);
	if (r < 0)
		finish(op, false, "connecting to %s: %s", op->target, uv_strerror(r));
	if (out)
		*out = op;
	return 0;
}

int vg_check_run(uv_loop_t *loop, const vg_check *c, uint64_t timeout_ms, vg_check_cb cb, void *arg)
{
	return vg_check_start(loop, c, timeout_ms, cb, arg, NULL);
}

void vg_check_cancel(vg_check_op *op)
{
	if (op)
		finish(op, false, "cancelled");
}
