/* store.c - the replicated state on disk (see store.h).
 *
 * Owns: DIR/state.json, DIR/changes.log, the queue of records waiting to be written and the
 * one libuv work request writing them, and when a snapshot replaces the log.
 * Must not: apply changes (repstate.c does), or write on the loop's thread after start-up
 * (except at shutdown, in vg_store_close).
 */
#include "store.h"
#include "errbuf.h"
#include "file.h"
#include "log.h"
#include "replog.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 4096

/* One write, done in the thread pool. */
typedef struct {
	uv_work_t req;
	vg_store *st;
	uint8_t *buf; /* records to append */
	size_t len;
	vg_repstate *snap; /* or a copy of the state to snapshot (then the log is emptied) */
	uint64_t upto;	   /* vg_store_recorded when taken: on disk once this is written */
	int failed;
	char err[512];
} job;

struct vg_store {
	uv_loop_t *loop;
	char *dir;
	int log_fd;
	uint8_t *pend; /* records queued, not yet in a job */
	size_t n_pend, cap_pend;
	size_t n_pend_records;
	vg_repstate *pend_snap; /* a snapshot queued */
	size_t log_bytes;	/* in the log, written or queued */
	job *running;
	bool closing;
	uint64_t recorded, durable;
	void (*on_durable)(void *arg, uint64_t durable);
	void *durable_arg;
};

/* ---- synchronous file work (start-up, the thread pool, shutdown) ------------------ */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int write_snapshot_text(const char *dir, const char *text, size_t len, char *err,
			       size_t errlen)
{
	char path[PATH_LEN], tmp[PATH_LEN];
	if ((size_t)snprintf(path, sizeof path, "%s/state.json", dir) >= sizeof path ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s/state.json.tmp", dir) >= sizeof tmp) {
		vg_seterr(err, errlen, "%s: path too long", dir);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		vg_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, text, len) < 0 || write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		vg_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		vg_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		vg_seterr(err, errlen, "%s: rename: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		vg_seterr(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

int vg_store_write_snapshot(const vg_repstate *s, const char *dir, char *err, size_t errlen)
{
	size_t len;
	char *text = vg_repstate_encode(s, &len);
	if (!text) {
		vg_seterr(err, errlen, "%s/state.json: out of memory", dir);
		return -1;
	}
	int rc = write_snapshot_text(dir, text, len, err, errlen);
	free(text);
	return rc;
}

/* The whole file into *buf (NUL-terminated; file.h's reader); 1 when it does not exist, 0,
 * or -1 with err. */
static int read_all(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errlen)
{
	char ferr[256];
	*len = 0;
	*buf = vg_file_read(path, max, len, ferr, sizeof ferr);
	if (*buf)
		return 0;
	if (errno == ENOENT)
		return 1;
	vg_seterr(err, errlen, "%s: %s", path, ferr);
	return -1;
}

/* vg_store_load; loud: the replay and a dropped tail are logged (once, by vg_store_open). */
static int load(const char *dir, vg_repstate **out, size_t *log_good, size_t *log_len, bool loud,
		char *err, size_t errlen)
{
	char path[PATH_LEN], lpath[PATH_LEN];
	*out = NULL;
	if (log_good)
		*log_good = 0;
	if (log_len)
		*log_len = 0;
	if ((size_t)snprintf(path, sizeof path, "%s/state.json", dir) >= sizeof path ||
	    (size_t)snprintf(lpath, sizeof lpath, "%s/changes.log", dir) >= sizeof lpath) {
		vg_seterr(err, errlen, "%s: path too long", dir);
		return -1;
	}
	char *buf;
	size_t len;
	int r = read_all(path, VG_REPMSG_MAX, &buf, &len, err, errlen);
	if (r < 0)
		return -1;
	vg_repstate *s;
	if (r == 1) {
		s = vg_repstate_new();
	} else {
		char why[512];
		s = vg_repstate_decode(buf, len, why, sizeof why);
		free(buf);
		if (!s) {
			vg_seterr(err, errlen, "%s: corrupt state file: %s", path, why);
			return -1;
		}
	}
	if (!s) {
		vg_seterr(err, errlen, "out of memory");
		return -1;
	}
	/* the log: a snapshot is written long before it could reach this */
	r = read_all(lpath, (size_t)64 * VG_REPMSG_MAX, &buf, &len, err, errlen);
	if (r < 0) {
		vg_repstate_free(s);
		return -1;
	}
	if (r == 0) {
		size_t applied;
		char why[512];
		size_t good =
		    vg_replog_replay(s, (const uint8_t *)buf, len, &applied, why, sizeof why);
		if (loud && good < len)
			vg_warn("%s: dropping its last %zu bytes: %s", lpath, len - good, why);
		if (loud && applied)
			vg_info("%s: replayed %zu changes onto %s (now epoch %llu, version %llu)",
				lpath, applied, path, (unsigned long long)s->epoch,
				(unsigned long long)s->version);
		if (log_good)
			*log_good = good;
		if (log_len)
			*log_len = len;
		free(buf);
	}
	*out = s;
	return 0;
}

int vg_store_load(const char *dir, vg_repstate **out, size_t *log_good, size_t *log_len, char *err,
		  size_t errlen)
{
	return load(dir, out, log_good, log_len, false, err, errlen);
}

/* ---- the store on the loop ------------------------------------------------------ */

vg_store *vg_store_open(uv_loop_t *loop, const char *dir, vg_repstate **state, char *err,
			size_t errlen)
{
	size_t good, len;
	if (load(dir, state, &good, &len, true, err, errlen) < 0)
		return NULL;
	char lpath[PATH_LEN];
	snprintf(lpath, sizeof lpath, "%s/changes.log", dir);
	int fd = open(lpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || (good < len && (ftruncate(fd, (off_t)good) < 0 || fsync(fd) < 0))) {
		vg_seterr(err, errlen, "%s: %s", lpath, strerror(errno));
		if (fd >= 0)
			close(fd);
		vg_repstate_free(*state);
		*state = NULL;
		return NULL;
	}
	vg_store *st = vg_calloc(1, sizeof *st);
	st->loop = loop;
	st->dir = vg_strdup(dir);
	st->log_fd = fd;
	st->log_bytes = good;
	return st;
}

/* In the thread pool (or at shutdown on the loop's thread): one job's writes. */
static void job_write(job *j)
{
	vg_store *st = j->st;
	if (j->snap) {
		/* encoded here, in the thread pool: a copy nobody else touches */
		if (vg_store_write_snapshot(j->snap, st->dir, j->err, sizeof j->err) < 0) {
			j->failed = 1;
			return;
		}
		if (ftruncate(st->log_fd, 0) < 0 || fdatasync(st->log_fd) < 0) {
			snprintf(j->err, sizeof j->err, "%s/changes.log: %s", st->dir,
				 strerror(errno));
			j->failed = 1;
			return;
		}
	}
	if (j->len && (write_all(st->log_fd, j->buf, j->len) < 0 || fdatasync(st->log_fd) < 0)) {
		snprintf(j->err, sizeof j->err, "%s/changes.log: %s", st->dir, strerror(errno));
		j->failed = 1;
	}
}

static void work_cb(uv_work_t *req)
{
	job_write(req->data);
}

/* Take what is queued into a job (NULL when nothing is). */
static job *take(vg_store *st)
{
	if (!st->pend_snap && st->n_pend == 0)
		return NULL;
	job *j = vg_calloc(1, sizeof *j);
	j->st = st;
	j->req.data = j;
	j->snap = st->pend_snap;
	j->upto = st->recorded;
	j->buf = st->pend;
	j->len = st->n_pend;
	st->pend_snap = NULL;
	st->pend = NULL;
	st->n_pend = st->cap_pend = st->n_pend_records = 0;
	return j;
}

static void job_free(job *j)
{
	free(j->buf);
	vg_repstate_free(j->snap);
	free(j);
}

static void store_free(vg_store *st)
{
	close(st->log_fd);
	free(st->pend);
	vg_repstate_free(st->pend_snap);
	free(st->dir);
	free(st);
}

static void flush_sync(vg_store *st)
{
	job *j = take(st);
	if (!j)
		return;
	job_write(j);
	if (j->failed)
		vg_error("saving the cluster state: %s", j->err);
	st->durable = j->upto;
	job_free(j);
}

static void kick(vg_store *st);

static void after_cb(uv_work_t *req, int status)
{
	job *j = req->data;
	vg_store *st = j->st;
	st->running = NULL;
	st->durable = j->upto;
	if (status == 0 && j->failed) {
		vg_error("saving the cluster state: %s", j->err);
		/* a partly written record would end the log there: start afresh from a
		 * snapshot with the next change */
		st->log_bytes = VG_STORE_LOG_MAX + 1;
	}
	job_free(j);
	if (st->closing) {
		flush_sync(st);
		store_free(st);
		return;
	}
	kick(st);
	if (st->on_durable)
		st->on_durable(st->durable_arg, st->durable);
}

static void kick(vg_store *st)
{
	if (st->running || st->closing)
		return;
	job *j = take(st);
	if (!j)
		return;
	st->running = j;
	if (uv_queue_work(st->loop, &j->req, work_cb, after_cb) != 0) {
		st->running = NULL;
		job_write(j); /* cannot happen with a live loop; do not lose the change */
		st->durable = j->upto;
		job_free(j);
	}
}

void vg_store_snapshot(vg_store *st, const vg_repstate *s)
{
	vg_repstate *copy = vg_repstate_clone(s);
	if (!copy)
		abort();
	vg_repstate_free(st->pend_snap);
	st->pend_snap = copy;
	/* the records queued are in the snapshot */
	free(st->pend);
	st->pend = NULL;
	st->n_pend = st->cap_pend = st->n_pend_records = 0;
	st->log_bytes = 0;
	st->recorded++;
	kick(st);
}

void vg_store_append(vg_store *st, const vg_repstate *s, const char *msg, size_t len)
{
	if (st->log_bytes + vg_replog_record_size(len) > VG_STORE_LOG_MAX) {
		vg_store_snapshot(st, s);
		return;
	}
	size_t need = st->n_pend + vg_replog_record_size(len);
	if (need > st->cap_pend) {
		size_t cap = st->cap_pend ? st->cap_pend : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *p = vg_realloc(st->pend, cap);
		st->pend = p;
		st->cap_pend = cap;
	}
	vg_replog_record_put(st->pend + st->n_pend, s->version, &s->hist.id, msg, len);
	st->n_pend = need;
	st->n_pend_records++;
	st->log_bytes += vg_replog_record_size(len);
	st->recorded++;
	kick(st);
}

size_t vg_store_pending(const vg_store *st)
{
	return st->n_pend_records + (st->running ? 1 : 0);
}

uint64_t vg_store_recorded(const vg_store *st)
{
	return st->recorded;
}

uint64_t vg_store_durable(const vg_store *st)
{
	return st->durable;
}

void vg_store_on_durable(vg_store *st, void (*cb)(void *arg, uint64_t durable), void *arg)
{
	st->on_durable = cb;
	st->durable_arg = arg;
}

void vg_store_close(vg_store *st)
{
	if (!st)
		return;
	st->closing = true;
	if (st->running)
		return; /* after_cb writes the rest and frees */
	flush_sync(st);
	store_free(st);
}
