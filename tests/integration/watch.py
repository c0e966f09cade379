"""watch - sees every node of a lab all the time and tells whether a must-run-once resource was
ever active on two live nodes (SPEC.md safety rule 1), and for how long.

Owns: the Watcher. Two threads, started and stopped by it:
- the address thread: one netlink socket per node's network namespace, opened in it once
  (clusterlab.netns_call) and subscribed to RTMGRP_IPV4_IFADDR, all waited on with one poll();
  every RTM_NEWADDR / RTM_DELADDR is recorded as (time, node, "add"|"del", address) when it
  arrives, so no address change between two looks is missed. The starting state comes from one
  RTM_GETADDR dump per namespace taken after subscribing (events queued meanwhile are applied on
  top, which is idempotent).
- the process thread: every `interval` s it walks /proc once for all nodes (a process belongs to
  the node whose PID namespace it is in, as netlab.Host._machine_pids), records each start and
  exit of a service process (cmdline matching the service's regex, zombies excluded) as (time,
  node, "start"|"exit", machine PID), and each change of a node's liveness; and takes a sample
  of who holds what.
A node is live while its PID 1 (netlab's holder, tini) is alive: a crashed node is not live,
whatever its network namespace still carries; a node whose vigild or Corosync is dead or
stopped is live. From the records it computes, per watched resource (the VIP address, and each
service), the intervals in which it was present on two or more live nodes, their total, and
the samples that saw it.

Must not: fork per look (netlink and /proc only), block the test without a bound (every wait
has a timeout; stop() joins with a bound), leave sockets or threads behind (stop() closes them;
clusterlab's fixture stops every registered watcher, also on failure), or judge anything but
presence on live nodes (whether the cluster reports it running is the tests' business).
"""

import ipaddress
import os
import re
import select
import socket
import struct
import threading
import time

import clusterlab
import netlab

RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR, RTM_DELADDR = 20, 21
NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 2, 3, 4
IFA_ADDRESS, IFA_LOCAL = 1, 2
WEB_RX = r"webnode\.py"


def _ifa_addr(msg):
    """The IPv4 address (string) of an ifaddrmsg with its attributes, or None."""
    if len(msg) < 8 or msg[0] != socket.AF_INET:
        return None
    off, found = 8, {}
    while off + 4 <= len(msg):
        ln, typ = struct.unpack_from("=HH", msg, off)
        if ln < 4:
            break
        if typ in (IFA_ADDRESS, IFA_LOCAL):
            found[typ] = msg[off + 4:off + ln]
        off += (ln + 3) & ~3
    raw = found.get(IFA_LOCAL) or found.get(IFA_ADDRESS)
    return str(ipaddress.IPv4Address(raw)) if raw is not None and len(raw) == 4 else None


def _intervals(changes, t_end):
    """[(t0, t1)] during which a boolean was true, from [(t, bool)] in time order."""
    out, since = [], None
    for t, v in changes:
        if v and since is None:
            since = t
        elif not v and since is not None:
            out.append((since, t))
            since = None
    if since is not None:
        out.append((since, t_end))
    return out


def _overlaps(present, live, t_end):
    """Intervals where two or more nodes were present and live at once.

    present, live: {node: [(t, bool)]} change lists. Returns [(t0, t1, (nodes...))], the
    adjacent pieces with the same node set merged."""
    spans = {}
    for n in present:
        p = _intervals(present[n], t_end)
        lv = _intervals(live.get(n, []), t_end)
        both = []
        for a0, a1 in p:
            for b0, b1 in lv:
                lo, hi = max(a0, b0), min(a1, b1)
                if lo < hi:
                    both.append((lo, hi))
        spans[n] = both
    edges = sorted({t for s in spans.values() for iv in s for t in iv})
    out = []
    for lo, hi in zip(edges, edges[1:]):
        mid = (lo + hi) / 2
        who = tuple(sorted(n for n, s in spans.items() if any(a <= mid < b for a, b in s)))
        if len(who) < 2:
            continue
        if out and out[-1][1] == lo and out[-1][2] == who:
            out[-1] = (out[-1][0], hi, who)
        else:
            out.append((lo, hi, who))
    return out


class Watcher:
    """Watches the lab's nodes for the VIP address `vip` and the service processes named in
    `services` ({resource name: cmdline regex}; default {"web": webnode.py}).

    Use as a context manager or start()/stop(). While running, holders(name) gives the live
    nodes that have it now; after (or during) the run, report() and assert_never_two()."""

    def __init__(self, lab, vip, services=None, interval=0.02, vip_name="vip"):
        self.lab = lab
        self.vip = str(ipaddress.ip_address(vip.split("/")[0]))
        self.vip_name = vip_name
        self.services = {k: re.compile(v) for k, v in (services or {"web": WEB_RX}).items()}
        self.interval = interval
        self.names = list(lab.nodes)
        self.addr_events = []  # (t, node, "add"|"del", address): every IPv4 address event
        self.proc_events = []  # (t, node, "start"|"exit", service, machine pid)
        self.live_changes = {n: [] for n in self.names}  # node -> [(t, bool)]
        self.vip_changes = {n: [] for n in self.names}  # node -> [(t, bool)]
        self.svc_changes = {s: {n: [] for n in self.names} for s in self.services}
        self.samples = 0
        self.bad_samples = []  # (t, resource, (live nodes holding it)) where two or more did
        self.errors = []
        self.t_start = None
        self.t_stop = None
        self._addrs = {n: set() for n in self.names}
        self._svc_pids = {s: {n: set() for n in self.names} for s in self.services}
        self._live = {n: None for n in self.names}
        self._ns_cache = {}  # /proc entry -> its PID namespace (the process thread's own)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socks = {}  # fileno -> (node, socket)
        self._threads = []
        clusterlab._register(lab, self)

    # ---- starting and stopping
    def start(self):
        self.t_start = time.monotonic()
        reader = clusterlab.AddrReader()
        try:
            for n in self.names:
                node = self.lab.nodes[n]
                s = clusterlab.netns_call(node.netns, self._subscribed_socket)
                self._socks[s.fileno()] = (n, s)
            t = time.monotonic()
            for n in self.names:
                addrs = {a for a in reader.addresses(self.lab.nodes[n].netns) if "." in a}
                with self._lock:
                    self._addrs[n] = addrs
                    for a in sorted(addrs):
                        self.addr_events.append((t, n, "add", a))
                    self.vip_changes[n].append((t, self.vip in addrs))
        finally:
            reader.close()
        self._scan()  # liveness and services before the first sample
        for target, name in ((self._addr_loop, "watch-addr"), (self._proc_loop, "watch-proc")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)
        return self

    @staticmethod
    def _subscribed_socket():
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((0, RTMGRP_IPV4_IFADDR))
        s.setblocking(False)
        return s

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Stop both threads (bounded) and close the sockets; idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        for th in self._threads:
            th.join(10)
        self.t_stop = time.monotonic()
        for _n, s in self._socks.values():
            s.close()
        self._socks = {}

    def _error(self, t, what):
        with self._lock:
            if len(self.errors) < 100:
                self.errors.append((t, what))

    # ---- the address thread
    def _addr_loop(self):
        poller = select.poll()
        for fd in self._socks:
            poller.register(fd, select.POLLIN)
        while not self._stop.is_set():
            try:
                ready = poller.poll(50)
            except OSError as e:
                self._error(time.monotonic(), f"poll: {e!r}")
                continue
            for fd, _ev in ready:
                node, s = self._socks[fd]
                for _ in range(64):  # bounded per wake-up; poll() comes back if more
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        break
                    except OSError as e:  # ENOBUFS: events were lost, take a new dump
                        self._error(time.monotonic(), f"{node}: {e!r}, resyncing")
                        self._resync(node)
                        break
                    self._on_netlink(node, data, time.monotonic())

    def _on_netlink(self, node, data, t):
        off = 0
        while off + 16 <= len(data):
            ln, typ, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
            if ln < 16:
                break
            if typ in (RTM_NEWADDR, RTM_DELADDR):
                a = _ifa_addr(data[off + 16:off + ln])
                if a is not None:
                    self._apply(node, t, "add" if typ == RTM_NEWADDR else "del", a)
            off += (ln + 3) & ~3

    def _apply(self, node, t, what, a):
        with self._lock:
            self.addr_events.append((t, node, what, a))
            addrs = self._addrs[node]
            was = self.vip in addrs
            if what == "add":
                addrs.add(a)
            else:
                addrs.discard(a)
            now = self.vip in addrs
            if now != was:
                self.vip_changes[node].append((t, now))

    def _resync(self, node):
        reader = clusterlab.AddrReader()
        try:
            addrs = {a for a in reader.addresses(self.lab.nodes[node].netns) if "." in a}
        except Exception as e:  # noqa: BLE001 - recorded
            self._error(time.monotonic(), f"{node}: resync failed: {e!r}")
            return
        finally:
            reader.close()
        t = time.monotonic()
        with self._lock:
            old = self._addrs[node]
        for a in sorted(old - addrs):
            self._apply(node, t, "del", a)
        for a in sorted(addrs - old):
            self._apply(node, t, "add", a)

    # ---- the process thread
    def _proc_loop(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                self._scan()
            except Exception as e:  # noqa: BLE001 - recorded, watching goes on
                self._error(t0, f"scan: {e!r}")
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))

    def _scan(self):
        t = time.monotonic()
        ns_of = {}  # pid namespace -> node, for the live nodes
        live = {}
        for n in self.names:
            node = self.lab.nodes[n]
            pid = node.pid
            ok = pid is not None and netlab._pid_alive(pid)
            if ok:
                try:
                    ns_of[os.readlink(f"/proc/{pid}/ns/pid")] = n
                except OSError:
                    ok = False
            live[n] = ok
        found = {s: {n: set() for n in self.names} for s in self.services}
        # a process never changes PID namespace, and PIDs are handed out in increasing order
        # (pid_max is far away): its namespace is read once, forgotten when it is gone
        cache, seen = self._ns_cache, {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                ns = cache.get(d)
                if ns is None:
                    ns = os.readlink(f"/proc/{d}/ns/pid")
                seen[d] = ns
                n = ns_of.get(ns)
                if n is None:
                    continue
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            for s, rx in self.services.items():
                if rx.search(cmd) and netlab._pid_alive(int(d)):
                    found[s][n].add(int(d))
        self._ns_cache = seen
        t_end = time.monotonic()
        # every change is dated at the start of the look that saw it (within one interval of
        # when it happened; an exit is never dated before the last look that saw the process)
        with self._lock:
            for n in self.names:
                if live[n] != self._live[n]:
                    self.live_changes[n].append((t, live[n]))
                    self._live[n] = live[n]
            for s in self.services:
                for n in self.names:
                    old, new = self._svc_pids[s][n], found[s][n]
                    for p in sorted(new - old):
                        self.proc_events.append((t, n, "start", s, p))
                    for p in sorted(old - new):
                        self.proc_events.append((t, n, "exit", s, p))
                    if bool(old) != bool(new):
                        self.svc_changes[s][n].append((t, bool(new)))
                    self._svc_pids[s][n] = new
            self.samples += 1
            for res, who in self._holders_locked().items():
                if len(who) > 1:
                    self.bad_samples.append((t_end, res, who))

    def _holders_locked(self):
        out = {self.vip_name: tuple(n for n in self.names
                                    if self._live[n] and self.vip in self._addrs[n])}
        for s in self.services:
            out[s] = tuple(n for n in self.names if self._live[n] and self._svc_pids[s][n])
        return out

    # ---- what tests read
    def holders(self, res=None):
        """Live nodes that hold resource res (the VIP's name or a service's) now; without
        res, {resource: (nodes...)}."""
        with self._lock:
            h = self._holders_locked()
        return h if res is None else h[res]

    def service_pids(self, service="web"):
        """{node: [machine PIDs]} of a service on the live nodes, now."""
        with self._lock:
            return {n: sorted(p) for n, p in self._svc_pids[service].items()
                    if self._live[n] and p}

    def report(self):
        """{resource: {"overlap_s", "intervals": [(t0, t1, nodes)] relative to start,
        "samples": number of samples that saw two live holders}} and "samples", "errors"."""
        with self._lock:
            t_end = self.t_stop or time.monotonic()
            live = {n: list(v) for n, v in self.live_changes.items()}
            present = {self.vip_name: {n: list(v) for n, v in self.vip_changes.items()}}
            for s in self.services:
                present[s] = {n: list(v) for n, v in self.svc_changes[s].items()}
            bad = list(self.bad_samples)
            out = {"samples": self.samples, "errors": list(self.errors)}
        for res, pres in present.items():
            ivs = _overlaps(pres, live, t_end)
            out[res] = {"overlap_s": sum(b - a for a, b, _ in ivs),
                        "intervals": [(a - self.t_start, b - self.t_start, who)
                                      for a, b, who in ivs],
                        "samples": sum(1 for _t, r, _w in bad if r == res)}
        return out

    def split_brain_samples(self):
        with self._lock:
            return len(self.bad_samples)

    def overlap_s(self):
        """The longest total overlap over the watched resources."""
        rep = self.report()
        return max(rep[r]["overlap_s"] for r in [self.vip_name] + list(self.services))

    def summary(self):
        """One line per resource: total overlap, split-brain samples, the intervals."""
        rep = self.report()
        lines = [f"watcher: {rep['samples']} samples, {len(self.addr_events)} address events, "
                 f"{len(self.proc_events)} process events, {len(rep['errors'])} errors"]
        for res in [self.vip_name] + list(self.services):
            r = rep[res]
            ivs = ", ".join(f"{a:.3f}-{b:.3f}s on {'+'.join(w)}" for a, b, w in r["intervals"])
            lines.append(f"  {res}: on two live nodes for {r['overlap_s']:.3f}s in "
                         f"{len(r['intervals'])} interval(s), {r['samples']} sample(s)"
                         + (f": {ivs}" if ivs else ""))
        return "\n".join(lines)

    def history(self):
        """The address events of the VIP, the service events and liveness changes, in time
        order, relative to start (for a failed test's message)."""
        with self._lock:
            ev = [(t, n, f"vip {w}") for t, n, w, a in self.addr_events if a == self.vip]
            ev += [(t, n, f"{s} {w} pid {p}") for t, n, w, s, p in self.proc_events]
            ev += [(t, n, "live" if v else "down") for n, ch in self.live_changes.items()
                   for t, v in ch]
        return "\n".join(f"  {t - self.t_start:8.3f} {n} {w}" for t, n, w in sorted(ev))

    def assert_never_two(self):
        """Fail unless the VIP and every service were never on two live nodes at once."""
        rep = self.report()
        assert rep["samples"] > 0, "the watcher took no sample"
        total = sum(rep[r]["overlap_s"] + rep[r]["samples"]
                    for r in [self.vip_name] + list(self.services))
        assert total == 0, (f"must-run-once resources on two live nodes:\n{self.summary()}\n"
                            f"history:\n{self.history()}")
        return rep
