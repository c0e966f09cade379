/* stop_bound.h - how long a node needs to have certainly stopped what it runs.
 *
 * Owns: the arithmetic every side of a cut must agree on: how long after a halt begins a
 * resource of each class is certainly down (vip: removed by netlink at once; process:
 * SIGTERM, then SIGKILL of its process group after cluster.halt_grace), and the watchdog's
 * feeding period and reset deadline. The node that halts (node/, cluster/) keeps these
 * bounds (supervisor.c: vg_supervisor_halt cancels what is in flight and starts every stop at
 * once, vips first; measured on namespaces from the loss of Corosync: vip 11-18 ms, a process
 * ignoring SIGTERM gone at halt_grace + 11 ms); the quorate side (coordinator.c) relies on
 * them. They count from the moment the halt begins: how long the node takes to notice that it
 * must halt is the caller's to add. A resource blocked on the halting node (a stop that
 * failed for good, on_fail block) is not stopped by the halt: nothing bounds it either.
 * Must not: do I/O or read a clock.
 */
#ifndef VIGIL_STOP_BOUND_H
#define VIGIL_STOP_BOUND_H

#include <stdint.h>

#include "config.h"

#define VG_STOP_UNBOUNDED UINT64_MAX
/* A vip is deleted by one netlink request when the halt begins; this covers a busy loop. */
#define VG_STOP_BOUND_VIP_MS 50u
/* From SIGKILL of a process group to its members being gone (and reaped). */
#define VG_STOP_BOUND_KILL_MS 50u

/* How long after a halt begins resource r has certainly stopped on the halting node, or
 * VG_STOP_UNBOUNDED when nothing bounds it (an agent's stop may take as long as it likes:
 * ocf, lsb, systemd). */
uint64_t vg_stop_bound_ms(const vg_config *cfg, const vg_resource *r);

/* The feeding period for TIMEOUT_S: min(TIMEOUT_S * 1000 / 3, 1000) ms (0 for 0). */
uint64_t vg_watchdog_interval_ms(uint32_t timeout_s);

/* The deadline others may rely on: TIMEOUT_S * 1000 + vg_watchdog_interval_ms(TIMEOUT_S).
 * Counted from the moment a node stopped feeding (set_healthy(false), or a loop that no
 * longer runs), it has certainly been reset after this many ms: the device fires TIMEOUT
 * after the last feed, and that feed may have happened up to one interval later than the
 * moment counted from. It does not cover the time a partitioned node needs to notice that
 * it lost quorum: the caller adds that. */
uint64_t vg_watchdog_deadline_ms(uint32_t timeout_s);

#endif
