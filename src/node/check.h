/* check.h - native asynchronous health checks (tcp, http) on the daemon's libuv loop.
 *
 * tcp: ok when the connection is established. http: connect, send
 * "GET PATH HTTP/1.0" with a Host header, read the status line; ok when the status equals
 * c->expect (any 2xx/3xx when expect is 0).
 * The callback runs exactly once, always from the loop (never inside vg_check_run), and only
 * after every handle of the check is closed: the loop may be closed from the callback.
 */
#ifndef VIGIL_CHECK_H
#define VIGIL_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"

/* ---- types ---------------------------------------------------------------- */

/* DETAIL says what happened ("connected to 127.0.0.1:80", "HTTP status 503, expected
 * 200", "timeout after 2000 ms waiting for the status line"); valid during the call only. */
typedef void (*vg_check_cb)(void *arg, bool ok, const char *detail);

typedef struct vg_check_op vg_check_op; /* one running check */

#define VG_CHECK_DEFAULT_TIMEOUT_MS 20000

/* ---- functions ------------------------------------------------------------ */

/* Start check C (the config is copied; it need not outlive the call) with a timeout
 * (0: VG_CHECK_DEFAULT_TIMEOUT_MS). Host: an IPv4 or IPv6 literal or "localhost"
 * (NULL: 127.0.0.1). Returns 0 (CB will be called once), or a negative UV error code
 * (UV_EINVAL for a bad kind, host or port) and CB is never called. */
int vg_check_run(uv_loop_t *loop, const vg_check *c, uint64_t timeout_ms, vg_check_cb cb,
		 void *arg);

/* The same, giving the running check in *OUT so that it can be cancelled; *OUT is valid
 * until CB has been called. */
int vg_check_start(uv_loop_t *loop, const vg_check *c, uint64_t timeout_ms, vg_check_cb cb,
		   void *arg, vg_check_op **out);

/* Stop a running check: its handles are closed and CB is called (ok = false, detail
 * "cancelled") from the loop. Running the loop until then frees everything. */
void vg_check_cancel(vg_check_op *op);

#endif
