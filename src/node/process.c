/* process.c - the native `process` resource: one supervised command (see process.h).
 *
 * The command runs in a session of its own, so it outlives a crash of vigild and its whole
 * group can be signalled. Its exit is an event, never a poll: libuv's SIGCHLD watcher for
 * children we spawned, a pidfd on the loop for a process adopted from the record a previous
 * vigild wrote. Must not: decide restarts or block.
 */
#include "process.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file.h"
#include "log.h"

struct vg_proc {
	uv_loop_t *loop;
	pid_t pid;
	bool exited;
	bool released;
	bool adopted;
	int pidfd;
	int open_handles;
	uv_process_t child; /* spawned */
	uv_poll_t poll;	    /* adopted: pidfd readable = exited */
	vg_proc_exit_cb cb;
	void *arg;
};

static void on_close(uv_handle_t *h)
{
	vg_proc *p = h->data;
	if (--p->open_handles == 0) {
		if (p->pidfd >= 0)
			close(p->pidfd);
		free(p);
	}
}

static void report_exit(vg_proc *p, int status, int sig)
{
	p->exited = true;
	if (!p->released && p->cb)
		p->cb(p->arg, status, sig);
}

static void on_child_exit(uv_process_t *h, int64_t status, int sig)
{
	vg_proc *p = h->data;
	report_exit(p, sig ? -1 : (int)status, sig ? sig : -1);
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	vg_proc *p = h->data;
	uv_poll_stop(h);
	report_exit(p, -1, -1);
}

vg_proc *vg_proc_spawn(uv_loop_t *loop, const char *command, const char *log_path,
		       vg_proc_exit_cb cb, void *arg, char *err, size_t errlen)
{
	int logfd = open(log_path ? log_path : "/dev/null",
			 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", log_path, strerror(errno));
		return NULL;
	}
	vg_proc *p = vg_calloc(1, sizeof *p);
	p->loop = loop;
	p->cb = cb;
	p->arg = arg;
	p->pidfd = -1;
	char *script = NULL;
	if (asprintf(&script, "exec %s", command) < 0)
		abort();
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", script, NULL};
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE},
	    {.flags = UV_INHERIT_FD, .data.fd = logfd},
	    {.flags = UV_INHERIT_FD, .data.fd = logfd},
	};
	uv_process_options_t opts = {
	    .exit_cb = on_child_exit,
	    .file = argv[0],
	    .args = argv,
	    .cwd = "/",
	    .flags = UV_PROCESS_DETACHED,
	    .stdio_count = 3,
	    .stdio = stdio,
	};
	p->child.data = p;
	int rc = uv_spawn(loop, &p->child, &opts);
	close(logfd);
	free(script);
	p->open_handles = 1;
	if (rc != 0) {
		snprintf(err, errlen, "cannot start '%s': %s", command, uv_strerror(rc));
		p->released = true;
		uv_close((uv_handle_t *)&p->child, on_close);
		return NULL;
	}
	p->pid = p->child.pid;
	return p;
}

vg_proc *vg_proc_adopt(uv_loop_t *loop, pid_t pid, vg_proc_exit_cb cb, void *arg)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return NULL;
	vg_proc *p = vg_calloc(1, sizeof *p);
	p->loop = loop;
	p->pid = pid;
	p->cb = cb;
	p->arg = arg;
	p->pidfd = fd;
	p->adopted = true;
	uv_poll_init(loop, &p->poll, fd);
	p->poll.data = p;
	p->open_handles = 1;
	uv_poll_start(&p->poll, UV_READABLE, on_pidfd);
	return p;
}

pid_t vg_proc_pid(const vg_proc *p)
{
	return p ? p->pid : 0;
}

bool vg_proc_alive(const vg_proc *p)
{
	return p && !p->exited && kill(p->pid, 0) == 0;
}

void vg_proc_signal(vg_proc *p, int sig)
{
	if (!p || p->exited)
		return;
	/* The group first (the command's children); the leader too, in case it left it. */
	kill(-p->pid, sig);
	kill(p->pid, sig);
}

void vg_proc_kill_group(vg_proc *p)
{
	if (!p || p->pid <= 0)
		return;
	kill(-p->pid, SIGKILL);
	if (!p->exited)
		kill(p->pid, SIGKILL);
}

void vg_proc_release(vg_proc *p)
{
	if (!p)
		return;
	p->released = true;
	uv_handle_t *h = p->adopted ? (uv_handle_t *)&p->poll : (uv_handle_t *)&p->child;
	if (!uv_is_closing(h))
		uv_close(h, on_close);
}

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot; 0 when unreadable. */
static unsigned long long proc_starttime(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *buf = vg_file_read(path, 4096, NULL, NULL, 0);
	char *s = buf ? strrchr(buf, ')') : NULL; /* the command name may contain spaces */
	if (!s) {
		free(buf);
		return 0;
	}
	unsigned long long v = 0;
	int field = 2;
	for (char *tok = strtok(s + 1, " "); tok; tok = strtok(NULL, " ")) {
		if (++field == 22) {
			v = strtoull(tok, NULL, 10);
			break;
		}
	}
	free(buf);
	return v;
}

static void record_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s.pid", dir, name);
}

int vg_proc_record_write(const char *dir, const char *name, pid_t pid)
{
	char path[4096], tmp[4200];
	record_path(path, sizeof path, dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -1;
	fprintf(f, "%d %llu\n", (int)pid, proc_starttime(pid));
	/* No fsync: the record only matters while this machine stays up (a restarted vigild
	 * adopting the process); after a power loss the process is gone with it. The rename
	 * keeps it whole. fsync would stall the loop on every start (tens of ms on some disks). */
	bool ok = fflush(f) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

pid_t vg_proc_record_read(const char *dir, const char *name)
{
	char path[4096];
	record_path(path, sizeof path, dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int pid = 0;
	unsigned long long start = 0;
	int n = fscanf(f, "%d %llu", &pid, &start);
	fclose(f);
	if (n == 2 && pid > 0 && start != 0 && proc_starttime(pid) == start)
		return pid;
	unlink(path);
	return 0;
}

void vg_proc_record_remove(const char *dir, const char *name)
{
	char path[4096];
	record_path(path, sizeof path, dir, name);
	unlink(path);
}
