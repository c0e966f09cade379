/* vigil-member-probe - a test tool: runs the membership module on a libuv loop and prints one
 * JSON line per event on stdout; every line read from stdin is multicast to the group.
 *
 * Owns: nothing but its own loop, stdin reader and output. Must not: be installed, or decide
 * anything; it only shows what the membership module reports.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "membership.h"

typedef struct {
	uv_loop_t *loop;
	vg_membership *m;
	uv_stream_t *in;
	uv_signal_t sigterm, sigint;
	char *line;
	size_t line_len;
} probe;

static void emit(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
	json_decref(o);
}

static void on_change(void *arg, const uint32_t *members, size_t n, bool quorate, uint64_t ring_id)
{
	probe *p = arg;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(members[i]));
	emit(json_pack("{s:s, s:o, s:b, s:I, s:I}", "event", "membership", "members", a, "quorate",
		       quorate, "ring_id", (json_int_t)ring_id, "local",
		       (json_int_t)vg_membership_local_nodeid(p->m)));
}

static void on_message(void *arg, uint32_t from, const void *data, size_t len)
{
	(void)arg;
	emit(json_pack("{s:s, s:I, s:s%}", "event", "message", "from", (json_int_t)from, "data",
		       (const char *)data, len));
}

static void on_connection(void *arg, bool connected)
{
	(void)arg;
	emit(json_pack("{s:s}", "event", connected ? "connected" : "disconnected"));
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(suggested);
	buf->len = buf->base ? suggested : 0;
}

static void send_line(probe *p, const char *s, size_t len)
{
	if (vg_membership_send(p->m, s, len) != 0)
		emit(json_pack("{s:s, s:s%}", "event", "send_failed", "data", s, len));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	probe *p = st->data;
	if (nread < 0) {
		free(buf->base);
		uv_read_stop(st);
		return;
	}
	char *nl = realloc(p->line, p->line_len + (size_t)nread + 1);
	if (!nl) {
		free(buf->base);
		return;
	}
	p->line = nl;
	memcpy(p->line + p->line_len, buf->base, (size_t)nread);
	p->line_len += (size_t)nread;
	free(buf->base);
	size_t start = 0;
	for (size_t i = 0; i < p->line_len; i++) {
		if (p->line[i] == '\n') {
			if (i > start)
				send_line(p, p->line + start, i - start);
			start = i + 1;
		}
	}
	memmove(p->line, p->line + start, p->line_len - start);
	p->line_len -= start;
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	probe *p = s->data;
	vg_membership_free(p->m);
	p->m = NULL;
	uv_close((uv_handle_t *)&p->sigterm, NULL);
	uv_close((uv_handle_t *)&p->sigint, NULL);
	if (p->in)
		uv_close((uv_handle_t *)p->in, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: vigil-member-probe GROUP\n");
		return 2;
	}
	probe p = {.loop = uv_default_loop()};
	vg_membership_cbs cbs = {
	    .on_change = on_change, .on_message = on_message, .on_connection = on_connection};
	uv_pipe_t pipe_in;
	uv_tty_t tty_in;
	p.m = vg_membership_corosync_new(p.loop, argv[1], &cbs, &p);
	if (!p.m) {
		fprintf(stderr, "vigil-member-probe: bad group name\n");
		return 2;
	}
	uv_handle_type t = uv_guess_handle(0);
	if (t == UV_TTY && uv_tty_init(p.loop, &tty_in, 0, 1) == 0) {
		p.in = (uv_stream_t *)&tty_in;
	} else if (t == UV_NAMED_PIPE && uv_pipe_init(p.loop, &pipe_in, 0) == 0) {
		if (uv_pipe_open(&pipe_in, 0) == 0)
			p.in = (uv_stream_t *)&pipe_in;
		else
			uv_close((uv_handle_t *)&pipe_in, NULL);
	}
	if (p.in) {
		p.in->data = &p;
		uv_read_start(p.in, alloc_cb, read_cb);
	}
	uv_signal_init(p.loop, &p.sigterm);
	uv_signal_init(p.loop, &p.sigint);
	p.sigterm.data = p.sigint.data = &p;
	uv_signal_start(&p.sigterm, on_signal, SIGTERM);
	uv_signal_start(&p.sigint, on_signal, SIGINT);
	uv_run(p.loop, UV_RUN_DEFAULT);
	free(p.line);
	uv_loop_close(p.loop);
	return 0;
}
