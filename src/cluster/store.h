/* store.h - the replicated state on disk: DIR/state.json (a snapshot, repstate.h's canonical
 * JSON) and DIR/changes.log (the changes applied since, replog.h's records).
 *
 * Every applied change is appended to the log by a libuv work request, off vigild's loop;
 * appends that arrive while one is being written are written (and fdatasync'ed) together by
 * the next. When the log grows past VG_STORE_LOG_MAX, or the whole state is replaced (a
 * state_sync), a snapshot is written instead (a copy of the state, encoded in the thread pool;
 * temp file, fsync, rename, fsync DIR) and the log emptied. Loading is the snapshot plus a replay
 * of the log; a torn or corrupt tail is cut off (and logged). Must not: block the loop after
 * vg_store_open (open and load run before the loop does).
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <uv.h>

#include "repstate.h"

#define VG_STORE_LOG_MAX (1024 * 1024) /* log bytes before a snapshot replaces it */

typedef struct vg_store vg_store;

/* Load DIR's state into *state (an empty state when there is none) and open the log for
 * appending, cutting off a torn or corrupt tail. Synchronous: at start-up. NULL with err
 * (an unreadable or corrupt snapshot, which is left as it is). */
vg_store *vg_store_open(uv_loop_t *loop, const char *dir, vg_repstate **state, char *err,
			size_t errlen);
/* s has just applied the change msg (as delivered): queue its record. */
void vg_store_append(vg_store *st, const vg_repstate *s, const char *msg, size_t len);
/* s was replaced as a whole: queue a snapshot of it (and drop the queued records). */
void vg_store_snapshot(vg_store *st, const vg_repstate *s);
/* Records appended but not yet on disk (for tests and status). */
size_t vg_store_pending(const vg_store *st);
/* Changes recorded so far (appends and snapshots, counted from 1), and how many of them are
 * on disk (written and fdatasync'ed, or failed and logged). cb, when set, is called on the
 * loop each time the count on disk grows. */
uint64_t vg_store_recorded(const vg_store *st);
uint64_t vg_store_durable(const vg_store *st);
void vg_store_on_durable(vg_store *st, void (*cb)(void *arg, uint64_t durable), void *arg);
/* Write out what is queued (synchronously: at shutdown) and release; a write under way
 * finishes first, from the loop. */
void vg_store_close(vg_store *st);

/* Synchronous helpers (start-up, tests, tools). */
/* Atomically write DIR/state.json (temp file, fsync, rename, fsync DIR). 0 or -1 with err. */
int vg_store_write_snapshot(const vg_repstate *s, const char *dir, char *err, size_t errlen);
/* DIR/state.json plus a replay of DIR/changes.log into *out (read only, quiet: what
 * vg_store_open would load); a missing snapshot is an empty state, a corrupt one an error
 * naming the file. *log_good (if not NULL) is the length of the
 * log's good prefix and *log_len its size. 0 or -1 with err. */
int vg_store_load(const char *dir, vg_repstate **out, size_t *log_good, size_t *log_len, char *err,
		  size_t errlen);

#endif
