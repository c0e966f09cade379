/* watchdog.h - keeping a Linux watchdog device (/dev/watchdog, e.g. softdog) fed from the
 * daemon's libuv loop: the self-fencing half of split-brain safety.
 *
 * While the owner says the node is healthy the device is fed every
 * vg_watchdog_interval_ms(timeout) (a third of the timeout, but at least once a second);
 * when it says unhealthy, feeding stops and the machine resets at the timeout unless health
 * comes back first. A stalled loop stops feeding too, which is the point.
 */
#ifndef VIGIL_WATCHDOG_H
#define VIGIL_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "stop_bound.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_watchdog vg_watchdog;

/* ---- functions ------------------------------------------------------------ */

/* Open PATH (O_WRONLY|O_CLOEXEC|O_NONBLOCK: a FIFO without a reader fails at once instead
 * of blocking the loop), set its timeout to TIMEOUT_S (1..3600) with WDIOC_SETTIMEOUT, feed
 * it at once and then every vg_watchdog_interval_ms(TIMEOUT_S) with WDIOC_KEEPALIVE.
 * A file that is not a watchdog (ENOTTY: a regular file or FIFO standing in for one in
 * tests) is accepted, said once in the log, and fed by writing one NUL byte instead.
 * A device that takes a LONGER timeout than asked for is refused (the deadline others rely
 * on would be wrong); a shorter one is used, with a warning. Starts healthy.
 * Returns NULL with ERR (naming PATH) on failure; a device opened before the failure is
 * disarmed again (magic 'V') before it is closed, so a failed open never leaves it armed. */
vg_watchdog *vg_watchdog_open(uv_loop_t *loop, const char *path, uint32_t timeout_s, char *err,
			      size_t errlen);

/* false: stop feeding (the machine resets TIMEOUT after the last feed unless health comes
 * back); true: feed at once and resume the periodic feeding. Repeating a state is a no-op. */
void vg_watchdog_set_healthy(vg_watchdog *w, bool healthy);

/* The device's path, and the timeout it took (at most the one asked for): what this node
 * reports armed, the only deadline the others count on. */
const char *vg_watchdog_path(const vg_watchdog *w);
uint32_t vg_watchdog_timeout_s(const vg_watchdog *w);

/* vg_watchdog_interval_ms and vg_watchdog_deadline_ms: see stop_bound.h. */

/* Stop feeding and close the device. DISARM: write the magic 'V' first (a clean stop: the
 * watchdog stops, unless the driver was loaded with nowayout); otherwise leave it armed (the
 * machine resets at the timeout unless somebody reopens and feeds it in time). The device
 * is closed at once; the memory is released from the loop's close callback, so the loop
 * must run once more. W may be NULL. */
void vg_watchdog_close(vg_watchdog *w, bool disarm);

#endif
