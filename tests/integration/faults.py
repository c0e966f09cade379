"""faults - the faults an operator's bad day brings to a vigil cluster, each with its cure, on a
clusterlab Cluster (real namespaces, real Corosync).

Owns: one class per fault kind, each with inject() and heal() (idempotent; heal() undoes what
inject() did: restarts what was killed, SIGCONTs what was stopped, heals the partition, boots
the crashed node), restore() (bring a node back whole whatever happened to it, e.g. a fence
device powered it off), the table KINDS of fault kinds by name with the node each one picks
(any node, the VIP holder, a node that does not hold it, the coordinator), and heal_all() for a
lab's teardown.

Kinds: crash (link down + SIGKILL of the node's PID 1), coordinator (the crash of the
coordinator), partition (one node cut off from the others), vigild_kill / vigild_kill_holder
(kill -9 of vigild only, on a node that does not / does hold the VIP), vigild_hang (SIGSTOP of
vigild), corosync_kill (kill -9 of Corosync), corosync_hang (SIGSTOP of Corosync),
vigild_corosync_kill (the holder's vigild killed, then its Corosync), slow_stop (the holder's
web service made to ignore SIGTERM for 2 s, then the holder cut off).

Must not: signal anything but the processes this lab started, by PID (the vigild and Corosync
objects of clusterlab's Cluster, the nodes' PID 1), or wait without a bound.
"""

import os
import signal
import time

import clusterlab as cl
import corolab
import netlab
from netlab import LabError, wait_until

SLOW_STOP_FILE = "/var/lib/vigil/webnode-term-delay"  # node path, read by webnode at SIGTERM
SLOW_STOP_S = 2.0
GAP_S = 1.0  # vigild_corosync_kill: vigild's death, then Corosync's this much later


def web_args_slow_stop():
    """webnode.py arguments that make it read its SIGTERM delay from SLOW_STOP_FILE."""
    return f"--term-delay-file {SLOW_STOP_FILE}"


def _active(lab):
    lst = getattr(lab, "active_faults", None)
    if lst is None:
        lst = lab.active_faults = []
    return lst


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def _cont(daemon, pid):
    """SIGCONT a stopped daemon and the nsenter that started it: nsenter stops itself when its
    child stops (and continues the child when it is continued), so both must go on, or nobody
    reaps the daemon when it exits."""
    _signal(daemon.proc.pid, signal.SIGCONT)
    _signal(pid, signal.SIGCONT)


class Fault:
    """A fault on one node of a Cluster. inject() once, heal() any number of times."""

    kind = "fault"

    def __init__(self, cluster, node):
        self.cluster = cluster
        self.lab = cluster.lab
        self.node = node  # name
        self.active = False
        self.t_inject = None
        self.t_heal = None

    def __str__(self):
        return f"{self.kind}({self.node})"

    def inject(self):
        self.t_inject = time.monotonic()
        self.active = True
        _active(self.lab).append(self)
        self._inject()
        return self

    def heal(self):
        if not self.active:
            return
        self.t_heal = time.monotonic()
        try:
            self._heal()
        finally:
            self.active = False
            lst = _active(self.lab)
            if self in lst:
                lst.remove(self)

    def _inject(self):
        raise NotImplementedError

    def _heal(self):
        raise NotImplementedError


class Crash(Fault):
    """Power off: the node's link down, SIGKILL of its PID 1. Heal: boot it (Corosync, vigild)."""

    kind = "crash"

    def _inject(self):
        self.cluster.crash(self.node)

    def _heal(self):
        restore(self.cluster, self.node)


class CoordinatorLoss(Crash):
    """The crash of the node that coordinates (picked by the caller from `vigil status`)."""

    kind = "coordinator"


class Partition(Fault):
    """The node cut off from every other server (the client still reaches it). Heal: undo."""

    kind = "partition"

    def _inject(self):
        others = [n for n in self.cluster.names if n != self.node]
        cl.partition(self.lab, [[self.node], others])

    def _heal(self):
        cl.heal(self.lab)
        restore(self.cluster, self.node)  # a fence device may have powered it off


class VigildKill(Fault):
    """kill -9 of the node's vigild (its resources keep running). Heal: start vigild again."""

    kind = "vigild_kill"

    def _inject(self):
        self.cluster.kill_vigild(self.node)

    def _heal(self):
        restore(self.cluster, self.node)


class VigildHang(Fault):
    """SIGSTOP of the node's vigild. Heal: SIGCONT."""

    kind = "vigild_hang"

    def _inject(self):
        self.daemon = self.cluster.vigild[self.node]
        self.pid = self.daemon.wait_pid()
        _signal(self.pid, signal.SIGSTOP)

    def _heal(self):
        _cont(self.daemon, self.pid)
        restore(self.cluster, self.node)


class CorosyncKill(Fault):
    """kill -9 of the node's Corosync. Heal: start Corosync again (and vigild, if it left)."""

    kind = "corosync_kill"

    def _inject(self):
        kill_corosync(self.cluster, self.node)

    def _heal(self):
        restore(self.cluster, self.node)


class CorosyncHang(Fault):
    """SIGSTOP of the node's Corosync. Heal: SIGCONT."""

    kind = "corosync_hang"

    def _inject(self):
        self.daemon = self.cluster.corosync[self.node]
        self.pid = self.daemon.wait_pid()
        _signal(self.pid, signal.SIGSTOP)

    def _heal(self):
        _cont(self.daemon, self.pid)
        restore(self.cluster, self.node)


class VigildThenCorosyncKill(Fault):
    """kill -9 of vigild, then (gap s later) of Corosync: an admin restarting Corosync after a
    crash, or the OOM killer taking both. Heal: Corosync and vigild started again."""

    kind = "vigild_corosync_kill"

    def __init__(self, cluster, node, gap=GAP_S):
        super().__init__(cluster, node)
        self.gap = gap

    def _inject(self):
        self.cluster.kill_vigild(self.node)
        time.sleep(self.gap)
        kill_corosync(self.cluster, self.node)

    def _heal(self):
        restore(self.cluster, self.node)


class SlowStop(Fault):
    """The node's web service made slow to stop (it ignores SIGTERM for `delay` s; the web
    resource must run webnode.py with web_args_slow_stop()), then the node cut off from the
    others. Heal: the partition healed, the service made quick again."""

    kind = "slow_stop"

    def __init__(self, cluster, node, delay=SLOW_STOP_S):
        super().__init__(cluster, node)
        self.delay = delay
        self.partition = Partition(cluster, node)

    def _inject(self):
        set_slow_stop(self.lab.nodes[self.node], self.delay)
        self.partition.inject()

    def _heal(self):
        self.partition.heal()
        set_slow_stop(self.lab.nodes[self.node], 0)
        restore(self.cluster, self.node)


def set_slow_stop(node, delay):
    """Make the web service on node ignore SIGTERM for delay s (0: not at all); webnode reads
    the file when SIGTERM comes, so this applies to a running service."""
    hp = node.path(SLOW_STOP_FILE)
    if delay:
        node.write(SLOW_STOP_FILE, f"{delay}\n")
    elif os.path.exists(hp):
        os.unlink(hp)


# ---- helpers the faults share ------------------------------------------------------------------

def kill_corosync(cluster, name):
    """kill -9 of the node's current Corosync; waits (bounded) until it is gone."""
    c = cluster.corosync[name]
    pid = c.wait_pid()
    _signal(pid, signal.SIGKILL)
    try:
        c.proc.wait(10)
    except Exception:  # noqa: BLE001 - nsenter normally follows corosync within ms
        pass
    c.close_log()
    return pid


def corosync_alive(cluster, name):
    c = cluster.corosync.get(name)
    return c is not None and c.alive() and c.host_pid is not None and \
        netlab._pid_alive(c.host_pid)


def vigild_alive(cluster, name):
    d = cluster.vigild.get(name)
    return d is not None and d.alive()


def _drop_stale_blackbox(node):
    """Remove the blackbox files of Corosyncs that are gone from the node's /dev/shm (8 MiB
    each; a private tmpfs, see corolab) so repeated kills do not fill it."""
    node.run(["/bin/sh", "-c",
              'for f in /dev/shm/qb-corosync-*-blackbox-*; do [ -e "$f" ] || continue; '
              'p=${f#/dev/shm/qb-corosync-}; p=${p%%-*}; '
              '[ -d /proc/$p ] || rm -f "$f"; done'], check=False, timeout=10)


def restore(cluster, name, timeout=30):
    """Bring the node back whole: booted if it is powered off (crash, or a fence device), its
    Corosync and vigild running. Every stopped process of this lab on it is continued."""
    node = cluster.node(name)
    if not cl.live(node):
        # a node a fence device powered off: its daemons' logs are still open
        cl.crash(node)
        cluster.restart(name)
        return
    for pid in list(node._machine_pids()):
        _signal(pid, signal.SIGCONT)
    for d in node.daemons:
        if d.proc.poll() is None:
            _signal(d.proc.pid, signal.SIGCONT)
    if not corosync_alive(cluster, name):
        _drop_stale_blackbox(node)
        c = corolab.Corosync(node)
        cluster.corosync[name] = c
        c.wait_pid()
    d = cluster.vigild.get(name)
    if d is not None and d.alive():
        return
    cluster.start_vigild(name)
    wait_until(lambda: cl.status(node), timeout, 0.1, f"vigild on {name} to answer")


def heal_all(lab):
    """Heal every fault still active in the lab (teardown; errors are ignored)."""
    for f in list(reversed(_active(lab))):
        try:
            f.heal()
        except (LabError, AssertionError, OSError):
            pass


# ---- picking faults ----------------------------------------------------------------------------

def pick_any(rng, names, holder, leader):
    return rng.choice(sorted(names))


def pick_holder(rng, names, holder, leader):
    return holder if holder in names else pick_any(rng, names, holder, leader)


def pick_nonholder(rng, names, holder, leader):
    return rng.choice(sorted(n for n in names if n != holder) or sorted(names))


def pick_leader(rng, names, holder, leader):
    return leader if leader in names else pick_any(rng, names, holder, leader)


# name -> (class, node picker)
KINDS = {
    "crash": (Crash, pick_any),
    "coordinator": (CoordinatorLoss, pick_leader),
    "partition": (Partition, pick_any),
    "vigild_kill": (VigildKill, pick_nonholder),
    "vigild_kill_holder": (VigildKill, pick_holder),
    "vigild_hang": (VigildHang, pick_any),
    "corosync_kill": (CorosyncKill, pick_any),
    "corosync_hang": (CorosyncHang, pick_any),
    "vigild_corosync_kill": (VigildThenCorosyncKill, pick_holder),
    "slow_stop": (SlowStop, pick_holder),
}

# what today's vigil survives (issue 8: clean crashes and partitions, daemon kills elsewhere)
SAFE_KINDS = ("crash", "partition", "coordinator", "vigild_kill")


def make(kind, cluster, rng, holder=None, leader=None):
    """A fault of the named kind on the node its picker chooses (not injected yet)."""
    try:
        cls, pick = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(KINDS)})") from None
    f = cls(cluster, pick(rng, cluster.names, holder, leader))
    f.kind = kind
    return f
