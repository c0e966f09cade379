/* bench/persist.c - time vigild's loop spends per applied replicated change, saving included,
 * before (the whole state re-encoded and written with two fsyncs, as vg_repstate_save did)
 * and after (the change's record queued to store.c, written by a libuv work request).
 *
 * Owns: building a state of about 187 KB (the event log full, failcounts, fence records),
 * applying event changes to it one at a time the way cluster.c does and timing, on the
 * loop's thread, the apply plus the saving (and, after, the loop's share of the write:
 * queueing and completion callbacks). Prints median, p99 and max over N samples per mode.
 * Must not: be linked into vigild; it is a measuring tool.
 *
 * Usage: bench_persist [DIR] [N]   (DIR on the disk vigild's data lives on; default ./,
 * N default 1000; the state's snapshots are written there and removed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "repstate.h"
#include "store.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CPU time of this thread: the loop's own work, without the preemption a shared machine adds */
static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, size_t n)
{
	qsort(t, n, sizeof *t, cmp_d);
	printf("%-44s median %8.1f us  p99 %8.1f us  max %8.1f us  (N=%zu)\n", what, t[n / 2],
	       t[(size_t)(n * 0.99)], t[n - 1], n);
}

static void apply_json(vg_repstate *s, const char *json)
{
	char err[256];
	vg_repmsg *m = vg_repmsg_decode(json, strlen(json), err, sizeof err);
	if (!m || vg_repstate_apply(s, m, true, err, sizeof err) != 0) {
		fprintf(stderr, "apply: %s\n", err);
		exit(1);
	}
	vg_repmsg_free(m);
}

static char *event_json(unsigned i)
{
	static char buf[512];
	snprintf(buf, sizeof buf,
		 "{\"event_kind\":\"node_lost\",\"kind\":\"event\",\"text\":\"n%u left the "
		 "membership (now: n1 n2 n4 n5 n6 n7); resources moved: web%u db%u\","
		 "\"time_ms\":%u}",
		 i % 7, i, i, 1700000000u + i);
	return buf;
}

static vg_repstate *big_state(void)
{
	vg_repstate *s = vg_repstate_new();
	char buf[512];
	for (unsigned i = 0; i < 600; i++) {
		snprintf(buf, sizeof buf,
			 "{\"count\":%u,\"kind\":\"failcount_set\",\"last_failure_ms\":%u,"
			 "\"node\":\"n%u\",\"resource\":\"resource-%u\"}",
			 i % 5 + 1, 1700000000u + i, i % 7, i);
		apply_json(s, buf);
	}
	for (unsigned i = 0; i < VG_REPSTATE_EVENTS_MAX; i++)
		apply_json(s, event_json(i));
	return s;
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : ".";
	size_t n = argc > 2 ? (size_t)atoi(argv[2]) : 1000;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/bench-persist-XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	vg_repstate *s = big_state();
	size_t len;
	free(vg_repstate_encode(s, &len));
	printf("state: %zu bytes encoded, %zu events, %zu failcounts\n", len, s->n_events,
	       s->n_failcounts);
	double *t = calloc(n, sizeof *t), *cpu = calloc(n, sizeof *cpu);
	char err[512];

	/* before: apply, then the whole state written (encode, write, fsync, rename, fsync) */
	for (size_t i = 0; i < n; i++) {
		const char *ev = event_json((unsigned)(100000 + i));
		double t0 = now_us(), c0 = cpu_us();
		apply_json(s, ev);
		if (vg_store_write_snapshot(s, dir, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		t[i] = now_us() - t0;
		cpu[i] = cpu_us() - c0;
	}
	report("before: apply + whole state saved", t, n);
	report("before: the same, CPU time of the loop", cpu, n);

	/* after: apply, the record queued; the loop's share of the writes counted too */
	uv_loop_t loop;
	uv_loop_init(&loop);
	vg_repstate *l;
	vg_store *st = vg_store_open(&loop, dir, &l, err, sizeof err);
	if (!st) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	vg_repstate_free(l);
	/* the periodic snapshot (every VG_STORE_LOG_MAX of log): the copy is made on the loop */
	double sn[21], snc[21];
	for (size_t i = 0; i < 21; i++) {
		double t0 = now_us(), c0 = cpu_us();
		vg_store_snapshot(st, s);
		sn[i] = now_us() - t0;
		snc[i] = cpu_us() - c0;
		while (vg_store_pending(st))
			uv_run(&loop, UV_RUN_ONCE);
	}
	report("after: a snapshot queued (once per 1 MiB of log)", sn, 21);
	report("after: the same, CPU time of the loop", snc, 21);
	double *w = calloc(n, sizeof *w);
	for (size_t i = 0; i < n; i++) {
		const char *ev = event_json((unsigned)(200000 + i));
		double t0 = now_us(), c0 = cpu_us();
		apply_json(s, ev);
		vg_store_append(st, s, ev, strlen(ev));
		t[i] = now_us() - t0;
		cpu[i] = cpu_us() - c0;
		/* changes come a little apart on a real cluster; completions run on the loop */
		usleep(200);
		double t1 = now_us(), c1 = cpu_us();
		uv_run(&loop, UV_RUN_NOWAIT);
		w[i] = now_us() - t1;
		t[i] += w[i];
		cpu[i] += cpu_us() - c1;
	}
	report("after: apply + record queued (+ loop callbacks)", t, n);
	report("after: the same, CPU time of the loop", cpu, n);
	report("after: of which completion callbacks", w, n);
	vg_store_close(st);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	/* the disk has it all: snapshot + log replay is the live state */
	size_t log_len;
	double t_load = now_us();
	int lrc = vg_store_load(dir, &l, NULL, &log_len, err, sizeof err);
	t_load = now_us() - t_load;
	if (lrc != 0 || l->version != s->version || !vg_hid_equal(&l->hist.id, &s->hist.id)) {
		fprintf(stderr, "reload differs: %s\n", err);
		return 1;
	}
	printf("reloaded: version %llu, same history id; start-up load (snapshot + %zu bytes of "
	       "log) %.1f ms\n",
	       (unsigned long long)l->version, log_len, t_load / 1000);
	vg_repstate_free(l);
	vg_repstate_free(s);
	free(t);
	free(w);
	free(cpu);
	char p[4200];
	snprintf(p, sizeof p, "%s/state.json", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/changes.log", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}
