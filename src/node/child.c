/* child.c - a child process run to completion on the loop (see child.h).
 *
 * Owns: the three handles of one run (process, output pipe, timer), its stdin pipe (filled
 * and closed before the spawn), the bounded tail of its output, and the order of its end:
 * the child exits (or never starts), every handle is closed, then the callback, then free.
 * Must not: know what the child is, interpret its exit status, or block the loop.
 */
#include "child.h"
#include "clock.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vg_child {
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	int open_handles;
	bool started;
	bool exited;
	uint64_t started_ns;
	vg_child_cb cb;
	void *arg;
	vg_child_result res;
	char why[256];
	size_t tail_len, tail_cap;
	char *tail;	 /* tail_cap + 1 bytes */
	char rbuf[4096]; /* read buffer: consumed into tail at once */
};

static void tail_append(vg_child *c, const char *data, size_t n)
{
	size_t cap = c->tail_cap;
	if (c->tail_len + n > cap)
		c->res.output_cut = true;
	if (n >= cap) {
		memcpy(c->tail, data + n - cap, cap);
		c->tail_len = cap;
		return;
	}
	if (c->tail_len + n > cap) {
		size_t drop = c->tail_len + n - cap;
		memmove(c->tail, c->tail + drop, c->tail_len - drop);
		c->tail_len -= drop;
	}
	memcpy(c->tail + c->tail_len, data, n);
	c->tail_len += n;
}

static void on_closed(uv_handle_t *h)
{
	vg_child *c = h->data;
	if (--c->open_handles > 0)
		return;
	c->tail[c->tail_len] = '\0';
	c->res.output = c->tail;
	c->res.output_len = c->tail_len;
	c->res.why = c->res.error ? c->why : NULL;
	c->res.duration_us = (vg_clock_mono_ns() - c->started_ns) / 1000;
	c->cb(c->arg, &c->res);
	free(c->tail);
	free(c);
}

static void close_all(vg_child *c)
{
	uv_handle_t *hs[] = {(uv_handle_t *)&c->timer, (uv_handle_t *)&c->out,
			     (uv_handle_t *)&c->proc};
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
		if (hs[i]->data && !uv_is_closing(hs[i]))
			uv_close(hs[i], on_closed);
}

/* Ends a run that did not start: the closes defer the callback to the loop. */
static vg_child *not_started(vg_child *c, int err, bool spawn, const char *what, const char *file)
{
	c->res.error = err;
	c->res.spawn_failed = spawn;
	if (file)
		snprintf(c->why, sizeof c->why, "%s %.200s: %s", what, file, uv_strerror(err));
	else
		snprintf(c->why, sizeof c->why, "%s: %s", what, uv_strerror(err));
	close_all(c);
	return c;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	vg_child *c = h->data;
	*buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	vg_child *c = s->data;
	if (nread < 0)
		uv_read_stop(s);
	else if (nread > 0)
		tail_append(c, buf->base, (size_t)nread);
}

/* What the child wrote just before it exited may still sit in the pipe: read it now
 * (bounded), since end-of-file is not waited for (a helper left behind may hold the pipe). */
static void drain_output(vg_child *c)
{
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&c->out, &fd) != 0)
		return;
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(fd, c->rbuf, sizeof c->rbuf);
		if (n <= 0)
			break;
		tail_append(c, c->rbuf, (size_t)n);
	}
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
	vg_child *c = p->data;
	c->exited = true;
	c->res.status = status;
	c->res.sig = sig;
	drain_output(c);
	close_all(c);
}

static void on_timeout(uv_timer_t *t)
{
	vg_child *c = t->data;
	if (c->exited)
		return;
	c->res.timed_out = true;
	kill(-c->proc.pid, SIGKILL);
}

/* A pipe holding the stdin text, its write end closed. Returns the read end, or a libuv
 * error. */
static int input_pipe(const char *text, size_t len)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return uv_translate_sys_error(errno);
	/* non-blocking write end: a pipe smaller than the text fails instead of hanging */
	int fl = fcntl(fds[1], F_GETFL);
	ssize_t n = -1;
	if (fl >= 0 && fcntl(fds[1], F_SETFL, fl | O_NONBLOCK) == 0)
		n = write(fds[1], text, len);
	int err = errno;
	close(fds[1]);
	if (n != (ssize_t)len) {
		close(fds[0]);
		return n < 0 ? uv_translate_sys_error(err) : UV_ENOBUFS;
	}
	return fds[0];
}

vg_child *vg_child_run(uv_loop_t *loop, const vg_child_opts *opts, vg_child_cb cb, void *arg)
{
	vg_child *c = vg_calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->cb = cb;
	c->arg = arg;
	c->tail_cap = opts->output_max ? opts->output_max : VG_CHILD_OUTPUT_MAX;
	c->tail = vg_malloc(c->tail_cap + 1);
	if (!c->tail) {
		free(c);
		return NULL;
	}
	c->started_ns = vg_clock_mono_ns();
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 1;

	if (!opts->file)
		return not_started(c, UV_ENOENT, true, "no program to run", NULL);
	int in_fd = -1;
	if (opts->input) {
		in_fd = input_pipe(opts->input, opts->input_len);
		if (in_fd < 0)
			return not_started(c, in_fd, false, "cannot write the input of",
					   opts->file);
	}
	/* One pipe for stdout and stderr: made here, so both descriptors can name it. */
	uv_file out_fds[2];
	int rc = uv_pipe(out_fds, UV_NONBLOCK_PIPE, 0);
	if (rc != 0) {
		if (in_fd >= 0)
			close(in_fd);
		return not_started(c, rc, false, "cannot make a pipe", NULL);
	}
	uv_pipe_init(loop, &c->out, 0);
	c->out.data = c;
	c->open_handles++;
	uv_pipe_open(&c->out, out_fds[0]);

	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE},
	    {.flags = UV_INHERIT_FD, .data.fd = out_fds[1]},
	    {.flags = UV_INHERIT_FD, .data.fd = out_fds[1]},
	};
	if (in_fd >= 0)
		stdio[0] = (uv_stdio_container_t){.flags = UV_INHERIT_FD, .data.fd = in_fd};
	if (opts->stdout_only)
		stdio[2] = (uv_stdio_container_t){.flags = UV_IGNORE};
	uv_process_options_t po = {
	    .exit_cb = on_child_exit,
	    .file = opts->file,
	    .args = opts->args,
	    .env = opts->env,
	    .cwd = "/",
	    .flags = UV_PROCESS_DETACHED, /* own session: the timeout kills the group */
	    .stdio_count = 3,
	    .stdio = stdio,
	};
	c->proc.data = c;
	rc = uv_spawn(loop, &c->proc, &po);
	if (in_fd >= 0)
		close(in_fd);
	close(out_fds[1]);
	c->open_handles++; /* the process handle must be closed even when uv_spawn fails */
	if (rc != 0)
		return not_started(c, rc, true, "cannot run", opts->file);
	c->started = true;
	c->res.pid = c->proc.pid;
	uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read);
	uv_timer_start(&c->timer, on_timeout, opts->timeout_ms, 0);
	return c;
}

int vg_child_pid(const vg_child *c)
{
	return c ? c->res.pid : 0;
}

void vg_child_cancel(vg_child *c)
{
	if (!c || !c->started || c->exited)
		return;
	c->res.cancelled = true;
	kill(-c->proc.pid, SIGKILL);
}
