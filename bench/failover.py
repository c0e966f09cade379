#!/usr/bin/python3
"""bench/failover.py - hard crash of the node holding the VIP to the service answering again.

Owns: the issue-4 benchmark. Three servers on a namespace LAN (tests/integration/netlab.py),
each with its own Corosync and vigild (tests/integration/clusterlab.py), run the web service
(a `process` answering with its node name) and a native `vip` in a group. A client host polls
http://VIP:8080/ every 5 ms, with overlapping attempts (a new non-blocking connection every
5 ms whatever the earlier ones are doing, each given up after 300 ms), so the first answer after
a failover is seen within 5 ms. The VIP holder is crashed (bridge port down, SIGKILL of its
PID 1), each run is timed in parts, then the node is booted back and the cluster left to settle
before the next crash (the next holder is crashed, whichever it is).

Where each instant comes from (one clock: CLOCK_REALTIME, which vigild's log also uses):
- crash: the kernel's RTM_NEWLINK for the crashed node's bridge port going down (a netlink
  socket in the bridge's namespace, event-driven);
- membership: the earliest "membership: [...]" line without the crashed node in a survivor's
  vigild log (vigild logs it in Corosync's quorum/CPG callback, so this is Corosync's delivery
  to its clients plus well under a millisecond; the log has millisecond timestamps, Corosync's
  own log only whole seconds, and polling corosync-quorumtool would cost a fork per sample and
  add its polling period to the error);
- start issued: the coordinator's "start RESOURCE on NODE: ..." lines (this includes
  cluster.quorum_loss_delay, the wait before a lost node's `requires: quorum` resources count
  as stopped);
- VIP added: the kernel's RTM_NEWADDR for the VIP in the new holder's namespace (netlink
  socket per node, event-driven; vigild's "vip: started" line is read as a cross-check);
- ARP: the kernel's RTM_NEWNEIGH on the client when its entry for the VIP takes the new
  holder's MAC address (the gratuitous ARP arrived);
- answer: the end of the first complete HTTP answer from a node other than the crashed one.

`--layout standby` runs the web service on every node all the time (pinned by location) and
moves the VIP alone, as keepalived does in front of services that run everywhere: the time the
web service needs to start on the new node is then out of the measurement.

Prints, for each token setting, median / p99 / max of every part and of the end-to-end time,
the budgets of SPEC.md "Performance budgets" and the ratios against the peers it names.
`--soak MINUTES` instead runs the idle cluster under `stress-ng --cpu 2 --vm 1 --vm-bytes 1G
--hdd 1` and counts membership changes and lease expiries (there must be none of either;
exit 1 otherwise).

Must not: leave anything behind (netlab closes the lab, also at exit; stress-ng is ended by its
PID; SIGTERM/SIGHUP become an exit so the with-blocks unwind), or wait without a bound.
Run as root: /usr/bin/python3 bench/failover.py [--runs 20] [--tokens default,200ms]
             [--layout group|standby] [--quorum-loss-delay D] [--verbose] [--strict]
             [--soak MINUTES [--soak-token 200ms]]
"""
import argparse
import ctypes
import datetime
import errno
import os
import re
import selectors
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import clusterlab as cl  # noqa: E402
import netlab  # noqa: E402
from benchstat import percentile  # noqa: E402

NAMES = ["n1", "n2", "n3"]
PACEMAKER_MEDIAN_S = 8.8  # SPEC.md: Pacemaker with its defaults, same kind of network
KEEPALIVED_S = 3.1  # SPEC.md: keepalived with its defaults
VIGIL_SHARE_BUDGET_MS = 10.0  # SPEC: p99 of membership -> VIP added
VIGIL_OWN_GOAL_MS = 10.0  # vigil's share less the wait for the lost node's lease and stop bound
E2E_BUDGET_MS = {500: 1150.0, 200: 450.0}  # SPEC: p99 of crash -> first answer, by token (ms)
POLL_INTERVAL = 0.005
ATTEMPT_TIMEOUT = 0.3
SETTLE_S = 1.0  # quiet time after the cluster is back before the next crash

CLONE_NEWNET = 0x40000000
RTMGRP_LINK, RTMGRP_NEIGH, RTMGRP_IPV4_IFADDR = 0x1, 0x4, 0x10
RTM_NEWLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWNEIGH = 16, 20, 21, 28
IFLA_IFNAME, IFA_ADDRESS, IFA_LOCAL, NDA_DST, NDA_LLADDR = 3, 1, 2, 1, 2
IFF_UP = 0x1

LOG_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (\S+) +(\w+) +(.*)$")
MEMBER_RE = re.compile(r"^membership: \[([^\]]*)\], (quorate|NO QUORUM), ring (\d+)")
START_RE = re.compile(r"^start (\S+) on (\S+): ")
WAIT_RE = re.compile(r"^(\S+) left: its requires: quorum resources count as stopped there in (\d+) to (\d+) ms")


def setns_net(netns):
    """Move the calling thread (only) into the network namespace /run/netns/NETNS."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {netns}: {os.strerror(e)}")
    finally:
        os.close(fd)


# ---- vigild's log ---------------------------------------------------------------------------

def log_lines(path, since):
    """(wall time, node, level, message) of the lines of a vigild log at or after `since`. The
    log's timestamps are truncated to the millisecond: half a millisecond is added."""
    out = []
    for line in netlab.read_text(path).splitlines():
        m = LOG_RE.match(line)
        if not m:
            continue
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp() + 0.0005
        if t >= since:
            out.append((t, m.group(2), m.group(3), m.group(4)))
    return out


# ---- kernel events: links of the bridge, addresses of the nodes ----------------------------

def _attrs(buf, off):
    out = {}
    while off + 4 <= len(buf):
        ln, typ = struct.unpack_from("=HH", buf, off)
        if ln < 4:
            break
        out[typ & 0x3fff] = buf[off + 4:off + ln]
        off += (ln + 3) & ~3
    return out


class NetlinkWatch:
    """Event-driven record of link changes in the bridge's namespace, IPv4 address changes in
    every node's namespace and neighbour (ARP) changes on the client, each stamped with
    time.time() when it is read."""

    def __init__(self, lab):
        self.lab = lab
        self.events = []  # (time, label, kind, name, up_or_None)
        self._lock = threading.Lock()
        self._socks = {}
        self._rd, self._wr = os.pipe()
        self._open(lab.bridge_ns, "bridge", RTMGRP_LINK)
        for n in lab.nodes.values():
            self._open(n.netns, n.name, RTMGRP_IPV4_IFADDR)
        self._open(lab.client.netns, "client", RTMGRP_NEIGH)
        self._thread = threading.Thread(target=self._run, daemon=True, name="netlink-watch")
        self._thread.start()

    def _open(self, netns, label, groups):
        def mk():
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((0, groups))
            return s
        self._socks[cl.netns_call(netns, mk)] = label

    def _run(self):
        sel = selectors.DefaultSelector()
        for s in self._socks:
            sel.register(s, selectors.EVENT_READ)
        sel.register(self._rd, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in sel.select():
                    if key.fileobj == self._rd:
                        return
                    t = time.time()
                    try:
                        data = key.fileobj.recv(1 << 16)
                    except OSError:  # ENOBUFS: events lost; later ones still count
                        continue
                    self._parse(t, self._socks[key.fileobj], data)
        finally:
            sel.close()

    def _parse(self, t, label, data):
        off = 0
        while off + 16 <= len(data):
            ln, typ = struct.unpack_from("=IH", data, off)
            if ln < 16:
                return
            body = data[off + 16:off + ln]
            ev = None
            if typ == RTM_NEWLINK and len(body) >= 16:
                flags = struct.unpack_from("=I", body, 8)[0]
                name = _attrs(body, 16).get(IFLA_IFNAME, b"").rstrip(b"\0").decode()
                ev = (t, label, "link", name, bool(flags & IFF_UP))
            elif typ in (RTM_NEWADDR, RTM_DELADDR) and len(body) >= 8 and \
                    body[0] == socket.AF_INET:
                a = _attrs(body, 8)
                raw = a.get(IFA_LOCAL) or a.get(IFA_ADDRESS)
                if raw and len(raw) == 4:
                    ev = (t, label, "add" if typ == RTM_NEWADDR else "del",
                          socket.inet_ntoa(raw), None)
            elif typ == RTM_NEWNEIGH and len(body) >= 12 and body[0] == socket.AF_INET:
                a = _attrs(body, 12)
                dst, ll = a.get(NDA_DST), a.get(NDA_LLADDR)
                if dst and len(dst) == 4 and ll:
                    ev = (t, label, "neigh", socket.inet_ntoa(dst), ll.hex(":"))
            if ev:
                with self._lock:
                    self.events.append(ev)
            off += (ln + 3) & ~3

    def first(self, kind, since, name=None, label=None, value=None, exclude=()):
        """The first event of kind at or after since matching the given fields (value: a
        link's up flag, a neighbour's MAC address)."""
        with self._lock:
            for ev in self.events:
                if ev[0] >= since and ev[2] == kind and (name is None or ev[3] == name) and \
                        (label is None or ev[1] == label) and ev[1] not in exclude and \
                        (value is None or ev[4] == value):
                    return ev
        return None

    def close(self):
        os.write(self._wr, b"x")
        self._thread.join(10)
        for s in self._socks:
            s.close()
        os.close(self._rd)
        os.close(self._wr)


# ---- the client ------------------------------------------------------------------------------

class Prober:
    """From the client host: while active, a new non-blocking HTTP GET to ADDR:PORT every
    `interval` s (earlier attempts keep going until done or `timeout`). records: (start, end,
    answer, error) with time.time(); answer is the body's first word (the node's name)."""

    MAX_IN_FLIGHT = 200

    def __init__(self, lab, addr, port=cl.WEB_PORT, interval=POLL_INTERVAL,
                 timeout=ATTEMPT_TIMEOUT):
        self.lab = lab
        self.target = (addr, port)
        self.interval = interval
        self.timeout = timeout
        self.records = []
        self.active = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._err = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="prober")
        self._thread.start()
        self._ready.wait(10)
        if self._err:
            raise self._err

    def _run(self):
        try:
            setns_net(self.lab.client.netns)
        except OSError as e:
            self._err = e
            self._ready.set()
            return
        self._ready.set()
        sel = selectors.DefaultSelector()
        flight = {}  # socket -> [start, deadline, buffer, connected]
        req = b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n"
        next_at = time.time()

        def finish(s, ans, err):
            st = flight.pop(s)
            sel.unregister(s)
            s.close()
            with self._lock:
                self.records.append((st[0], time.time(), ans, err))
        try:
            while not self._stop.is_set():
                now = time.time()
                if self.active.is_set() and now >= next_at and len(flight) < self.MAX_IN_FLIGHT:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setblocking(False)
                    rc = s.connect_ex(self.target)
                    if rc not in (0, errno.EINPROGRESS):
                        s.close()
                        with self._lock:
                            self.records.append((now, time.time(), None, errno.errorcode.get(
                                rc, str(rc))))
                    else:
                        flight[s] = [now, now + self.timeout, b"", False]
                        sel.register(s, selectors.EVENT_WRITE)
                    next_at = max(next_at + self.interval, now)
                wait = 0.05 if not self.active.is_set() else max(0.0, next_at - time.time())
                if flight:
                    wait = min(wait, max(0.0, min(f[1] for f in flight.values()) - time.time()))
                for key, _ in sel.select(wait) if flight else ():
                    s = key.fileobj
                    st = flight.get(s)
                    if st is None:
                        continue
                    if not st[3]:
                        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            finish(s, None, errno.errorcode.get(err, str(err)))
                            continue
                        st[3] = True
                        try:
                            s.send(req)
                        except OSError as e:
                            finish(s, None, errno.errorcode.get(e.errno, str(e)))
                            continue
                        sel.modify(s, selectors.EVENT_READ)
                        continue
                    try:
                        chunk = s.recv(4096)
                    except OSError as e:
                        finish(s, None, errno.errorcode.get(e.errno, str(e)))
                        continue
                    if chunk and len(st[2]) < 4096:
                        st[2] += chunk
                        continue
                    head, _, body = st[2].partition(b"\r\n\r\n")
                    words = body.decode(errors="replace").split()
                    if head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0] \
                            and words:
                        finish(s, words[0], None)
                    else:
                        finish(s, None, "bad answer")
                if not flight and not self.active.is_set():
                    self._stop.wait(0.02)
                now = time.time()
                for s in [s for s, f in flight.items() if f[1] <= now]:
                    finish(s, None, "timeout")
        finally:
            for s in list(flight):
                sel.unregister(s)
                s.close()
            sel.close()

    def snapshot(self, since):
        with self._lock:
            return [r for r in self.records if r[0] >= since]

    def forget(self, before):
        with self._lock:
            self.records = [r for r in self.records if r[0] >= before]

    def wait_answer(self, since, timeout, exclude=()):
        """(end time, node) of the first answer from a node not in exclude to an attempt started
        at or after since; None when none came within timeout."""
        end = time.time() + timeout
        while time.time() < end:
            got = [(r[1], r[2]) for r in self.snapshot(since)
                   if r[2] is not None and r[2] not in exclude]
            if got:
                return min(got)
            time.sleep(0.01)
        return None

    def close(self):
        self._stop.set()
        self._thread.join(10)


# ---- the lab -----------------------------------------------------------------------------------

def standby_yaml(lab, token, options):
    """The `standby` layout: the web service runs on every server all the time (one `process`
    pinned to each node), the VIP alone moves: the failover is the VIP's alone, as with
    keepalived in front of services that run everywhere."""
    res, cons = [], []
    for n in NAMES:
        res.append(f"  - name: web-{n}\n    type: process\n"
                   f"    params: {{command: \"/usr/bin/python3 {cl.WEBNODE} {cl.WEB_PORT}\"}}\n"
                   f"    check: {{type: http, port: {cl.WEB_PORT}, path: /}}\n"
                   f"    ops: {{monitor: {{interval: 1s, timeout: 5s}}}}\n")
        for o in NAMES:
            if o != n:
                cons.append(f"  - location: {{resource: web-{n}, node: {o}, score: -inf}}\n")
    res.append(f"  - name: vip\n    type: vip\n"
               f"    params: {{address: {cl.vip_addr(lab)}/24, interface: eth0}}\n"
               f"    ops: {{monitor: {{interval: 1s}}}}\n")
    return cl.cluster_yaml(lab, NAMES, token=token, options=options, resources="".join(res),
                           constraints="".join(cons))


def token_ms(token):
    if token in (None, "default"):
        return 500
    m = re.fullmatch(r"(\d+)\s*(ms|s)?", token)
    if not m:
        raise SystemExit(f"bad token {token!r} (e.g. 200ms, 1s)")
    return int(m.group(1)) * (1000 if m.group(2) == "s" else 1)


class Bench:
    """One cluster (one token setting) with its kernel watch and client prober."""

    def __init__(self, lab, token, layout="group", verbose=False, qld=None):
        self.lab = lab
        self.layout = layout
        self.verbose = verbose
        self.vip = cl.vip_addr(lab)
        self.watch = self.prober = None
        self.addrs = cl.AddrReader()
        try:
            tok = None if token == "default" else token
            opts = {"quorum_loss_delay": qld} if qld else {}
            if layout == "group":
                text = cl.web_cluster_yaml(lab, NAMES, token=tok, options=opts)
            else:
                text = standby_yaml(lab, tok, opts)
            self.cluster = cl.start(lab, NAMES, yaml_text=text, log_level="info")
            self.watch = NetlinkWatch(lab)
            self.prober = Prober(lab, self.vip)
        except BaseException:
            self.close()
            raise

    def close(self):
        for x in (self.prober, self.watch, self.addrs):
            try:
                if x is not None:
                    x.close()
            except Exception:  # noqa: BLE001 - keep cleaning up
                pass

    def live_nodes(self):
        return [n for n in self.cluster.nodes() if cl.live(n)]

    def holders(self):
        return sorted(n.name for n in self.live_nodes()
                      if self.vip in self.addrs.addresses(n.netns))

    def settle(self, timeout=90):
        """Wait until every server is online, web and the VIP run on one node, only that node
        has the VIP and the client gets answers from it; returns that node's name."""
        def ok(st):
            h = cl.running_on(st, "vip")
            if not (cl.nodes_online(st, NAMES) and len(h) == 1 and
                    cl.resource(st, "vip")["state"] == "running"):
                return False
            if self.layout == "group":
                return (cl.running_on(st, "web") == h and
                        cl.resource(st, "web")["state"] == "running")
            return all(cl.running_on(st, f"web-{n}") == [n] for n in NAMES)
        st = cl.wait_status(self.live_nodes(), ok, timeout, "all online, web + VIP on one node")
        holder = cl.running_on(next(iter(st.values())), "vip")[0]
        netlab.wait_until(lambda: self.holders() == [holder], 10, 0.02,
                          f"only {holder} to hold the VIP")
        self.prober.active.set()
        since = time.time()
        got = self.prober.wait_answer(since, 15)
        if got is None or got[1] != holder:
            raise netlab.LabError(f"the client is not answered by {holder}: {got}")
        time.sleep(SETTLE_S)
        return holder

    def run_once(self, idx):
        """Crash the holder, time the recovery, boot the node back. Returns the parts (s)."""
        cl_ = self.cluster
        holder = self.settle()
        before = self.prober.snapshot(time.time() - 0.3)
        rtts = sorted(r[1] - r[0] for r in before if r[2] == holder)
        if not rtts:
            raise netlab.LabError(f"no answer from {holder} just before the crash")
        port = self.lab.nodes[holder].bridge_port
        t_call = time.time()
        cl_.crash(holder)
        survivors = [n for n in NAMES if n != holder]
        got = self.prober.wait_answer(t_call, 30, exclude=(holder,))
        if got is None:
            raise netlab.LabError(f"run {idx}: no answer within 30 s after crashing {holder}\n"
                                  + cl.vigild_logs(self.lab, 4000))
        t_answer, new = got
        down = self.watch.first("link", t_call - 0.001, name=port, label="bridge", value=False)
        t_crash = down[0] if down else t_call
        # the new holder's log line (cross-check) is written right after the address is added
        logs = {}

        def read_logs():
            for n in survivors:
                logs[n] = log_lines(cl_.vigild[n].log_path, t_crash - 0.002)
            return any(m.startswith("vip: started") for _t, _n, _l, m in logs[new])
        netlab.wait_until(read_logs, 10, 0.05, f"'vip: started' in {new}'s log")
        member = {}
        for n in survivors:
            for t, _node, _lvl, msg in logs[n]:
                m = MEMBER_RE.match(msg)
                if m and holder not in m.group(1).split():
                    member[n] = t
                    break
        if len(member) != len(survivors):
            raise netlab.LabError(f"run {idx}: no new membership in {survivors} logs: {member}")
        t_member = min(member.values())
        starts = {}
        for n in survivors:
            for t, _node, _lvl, msg in logs[n]:
                m = START_RE.match(msg)
                if m and m.group(2) == new and t >= t_member - 0.001:
                    starts.setdefault(m.group(1), t)
        added = self.watch.first("add", t_crash, name=self.vip, label=new)
        if added is None:
            raise netlab.LabError(f"run {idx}: no RTM_NEWADDR of {self.vip} on {new}")
        t_added = added[0]
        t_logged = next(t for t, _n, _l, m in logs[new] if m.startswith("vip: started"))
        neigh = self.watch.first("neigh", t_added - 0.001, name=self.vip, label="client",
                                 value=self.lab.nodes[new].mac)
        t_contact = neigh[0] if neigh else t_answer
        t_issued = min(starts.values()) if starts else t_added
        # the wait the coordinator applied (its log: "n1 left: ... in A to B ms"): the lost
        # node's lease and each resource's stop bound; the VIP alone waits A, a group the last
        wait_s = None
        for n in survivors:
            for t, _node, _lvl, msg in logs[n]:
                m = WAIT_RE.match(msg)
                if m and m.group(1) == holder and t >= t_member - 0.001:
                    a, b = int(m.group(2)), int(m.group(3))
                    wait_s = (a if self.layout != "group" else b) / 1000.0
                    break
        r = {"holder": holder, "new": new, "token_ms": None,
             "corosync": t_member - t_crash,
             "vigil": t_added - t_member,
             "decide": t_issued - t_member,
             "wait": wait_s if wait_s is not None else 0.0,
             "execute": t_added - t_issued,
             "vip_exec": t_added - starts.get("vip", t_issued),
             "answer": t_answer - t_added,
             "contact": t_contact - t_added,
             "e2e": t_answer - t_crash,
             "skew": max(member.values()) - min(member.values()),
             "log_vs_netlink": t_logged - t_added,
             "rtt": rtts[len(rtts) // 2],
             "crash_call": t_crash - t_call}
        if self.verbose:
            print(f"  run {idx:2d}: {holder} -> {new}  crash->membership "
                  f"{r['corosync'] * 1e3:6.1f}  ->start issued {r['decide'] * 1e3:5.1f}"
                  f"  ->VIP added {r['execute'] * 1e3:5.1f}  ->answer {r['answer'] * 1e3:6.1f}"
                  f"  end to end {r['e2e'] * 1e3:7.1f} ms", flush=True)
        self.prober.active.clear()
        self.prober.forget(time.time())
        cl_.restart(holder)
        return r


def duration_s(text):
    """A cluster.yaml duration ("50ms", "1s") in seconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def report(token, layout, rows, quorum_loss_delay):
    tms = token_ms(token)
    what = ("web + VIP in a group: the web service starts on the new node" if layout == "group"
            else "web running on every node, the VIP alone moves")
    print(f"\nfailover, token {tms} ms{' (default)' if token == 'default' else ''}, "
          f"{len(rows)} crashes of the VIP holder (3 servers; {what}):")
    crashed = {}
    for r in rows:
        crashed[r["holder"]] = crashed.get(r["holder"], 0) + 1
    print("  crashed: " + ", ".join(f"{k} x{v}" for k, v in sorted(crashed.items())))
    many = len(rows) >= 300  # median and p99 only from 300 samples on; else the max of N
    if many:
        print(f"  {'part':52s} {'median':>9s} {'p99':>9s} {'max':>9s}")
    else:
        print(f"  {'part':52s} {'max of ' + str(len(rows)):>12s}")

    def line(label, key):
        """(median, p99) with 300 samples or more; else (max, max): the bound compared."""
        xs = [r[key] * 1000.0 for r in rows]
        if not many:
            print(f"  {label:52s} {max(xs):10.1f}ms")
            return max(xs), max(xs)
        med, p99 = statistics.median(xs), percentile(xs, 99)
        print(f"  {label:52s} {med:7.1f}ms {p99:7.1f}ms {max(xs):7.1f}ms")
        return med, p99
    co_med, _ = line("crash -> new membership (Corosync's share)", "corosync")
    _, vg_p99 = line("membership -> VIP added on the new node (vigil)", "vigil")
    line("  of which: membership -> first start issued (*)", "decide")
    line("  of which: start issued -> VIP added" + (" (web, vip)" if layout == "group"
                                                     else ""), "execute")
    if layout == "group":
        line("    of which: 'start vip' issued -> VIP added", "vip_exec")
    line("    of which: the wait until the lost node has certainly stopped it", "wait")
    # what vigil itself spends: the decision less the safety wait, and the VIP's own start
    for r in rows:
        r["own"] = max(0.0, r["decide"] - r["wait"]) + r["vip_exec"]
    _, own_p99 = line("  vigil's own work (less the wait and the web start)", "own")
    line("VIP added -> first answer", "answer")
    line("  of which: -> client's ARP entry is the new node", "contact")
    e_med, e_p99 = line("end to end: crash -> first answer", "e2e")
    line("(survivors' membership skew)", "skew")
    line("(vigild's 'vip: started' log line after netlink)", "log_vs_netlink")
    line("(an HTTP request's time before the crash, median)", "rtt")
    print("  (*) the coordinator's decision; the wait for the lost node's lease and stop bound "
          f"(cluster.quorum_loss_delay {quorum_loss_delay} is an extra margin in it) is part of it")
    print(f"  Corosync's share / token: {co_med / tms:.2f} x token (SPEC: about 2.1)")
    budget = E2E_BUDGET_MS.get(tms)
    stat = "p99" if many else f"max of {len(rows)}"
    print(f"  budget vigil's share p99 < {VIGIL_SHARE_BUDGET_MS:.0f} ms ({stat}): "
          f"{'ok' if vg_p99 < VIGIL_SHARE_BUDGET_MS else 'OVER'} ({vg_p99:.1f} ms)")
    print(f"  goal vigil's own work p99 < {VIGIL_OWN_GOAL_MS:.0f} ms ({stat}): "
          f"{'ok' if own_p99 < VIGIL_OWN_GOAL_MS else 'OVER'} ({own_p99:.1f} ms; the rest of "
          f"vigil's share is the wait for the lost node's lease and stop bound, which keeps "
          f"the two sides from overlapping)")
    if budget:
        print(f"  budget end to end p99 < {budget:.0f} ms ({stat}): "
              f"{'ok' if e_p99 < budget else 'OVER'} ({e_p99:.1f} ms)")
    print(f"  vs Pacemaker defaults ({PACEMAKER_MEDIAN_S} s median): "
          f"{PACEMAKER_MEDIAN_S * 1000 / e_med:.1f}x faster ({'median' if many else 'our max'}); "
          f"vs keepalived defaults ({KEEPALIVED_S} s): {KEEPALIVED_S * 1000 / e_med:.1f}x faster",
          flush=True)
    ok = vg_p99 < VIGIL_SHARE_BUDGET_MS and (budget is None or e_p99 < budget)
    return ok


def crash_runs(token, runs, layout, verbose, qld):
    with netlab.Lab(nodes=NAMES, client=True) as lab:
        b = Bench(lab, token, layout, verbose, qld)
        try:
            text = netlab.read_text(lab.nodes["n1"].path(cl.CLUSTER_YAML))
            m = re.search(r"quorum_loss_delay:\s*(\S+)", text)
            qld = m.group(1) if m else "the default"
            rows = []
            print(f"token {token}: {runs} crashes ...", flush=True)
            for i in range(1, runs + 1):
                rows.append(b.run_once(i))
            b.settle()
        finally:
            b.close()
    return report(token, layout, rows, qld)


# ---- soak --------------------------------------------------------------------------------------

def soak(minutes, token):
    with netlab.Lab(nodes=NAMES, client=True) as lab:
        b = Bench(lab, token, "group")
        stress = None
        try:
            holder = b.settle()
            b.prober.interval = 0.1
            b.prober.forget(time.time())
            secs = int(minutes * 60)
            tmp = os.path.join(lab.dir, "stress")
            os.makedirs(tmp)
            t0 = time.time()
            stress = subprocess.Popen(
                ["stress-ng", "--cpu", "2", "--vm", "1", "--vm-bytes", "1G", "--hdd", "1",
                 "--temp-path", tmp, "--timeout", f"{secs + 30}s", "--quiet"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            print(f"soak: token {token}, {minutes:g} min idle under stress-ng (pid "
                  f"{stress.pid}: --cpu 2 --vm 1 --vm-bytes 1G --hdd 1); VIP on {holder}",
                  flush=True)
            end = t0 + secs
            while time.time() < end:
                time.sleep(min(60, max(0.0, end - time.time())))
                if stress.poll() is not None:
                    raise netlab.LabError(f"stress-ng exited early ({stress.returncode})")
                rings = membership_changes(b, t0)
                print(f"  {(time.time() - t0) / 60:5.1f} min: membership changes so far "
                      f"{len(rings)}, lease expiries {len(lease_expiries(b, t0))}",
                      flush=True)
            stop_stress(stress)
            rings = membership_changes(b, t0)
            expiries = lease_expiries(b, t0)
            recs = b.prober.snapshot(t0)
            failed = [r for r in recs if r[2] is None]
            holders = b.holders()
            print(f"\nsoak: {minutes:g} min, token {token_ms(token)} ms, under stress-ng")
            print(f"  membership changes: {len(rings)} (must be 0)"
                  + (f": rings {sorted(rings)}" if rings else ""))
            print(f"  lease expiries: {len(expiries)} (must be 0)"
                  + "".join(f"\n    {n} at {t:.3f}" for t, n in expiries))
            print(f"  client requests: {len(recs)}, failed: {len(failed)}; VIP holders now: "
                  f"{holders}")
            if rings:
                print_membership_story(b, t0)
        finally:
            if stress is not None:
                stop_stress(stress)
            b.close()
    return not rings and not expiries and holders == [holder]


def print_membership_story(b, since):
    """What the logs say about the membership changes since `since`: vigild's membership lines
    and Corosync's TOTEM/KNET/QUORUM lines of each node."""
    print("  vigild's membership lines:")
    for n in NAMES:
        for t, node, _lvl, msg in log_lines(b.cluster.vigild[n].log_path, since):
            if MEMBER_RE.match(msg) or "left the membership" in msg:
                stamp = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
                print(f"    {stamp:%H:%M:%S.%f}"[:-3] + f" {node} {msg}")
    day = datetime.datetime.fromtimestamp(since).strftime("%H:%M:%S")
    for n in NAMES:
        c = b.cluster.corosync.get(n)
        lines = [ln for ln in netlab.read_text(c.log_path).splitlines() if c is not None and
                 re.search(r"\[(TOTEM|KNET|QUORUM) *\]", ln)]
        # Corosync stamps whole seconds in local time ("Nov 25 14:17:56"): keep the later ones
        lines = [ln for ln in lines if len(ln) > 15 and ln[7:15] >= day][-15:]
        if lines:
            print(f"  {n}'s Corosync log:")
            for ln in lines:
                print(f"    {ln}")


def membership_changes(b, since):
    rings = set()
    for n in NAMES:
        for _t, _node, _lvl, msg in log_lines(b.cluster.vigild[n].log_path, since):
            m = MEMBER_RE.match(msg)
            if m:
                rings.add(int(m.group(3)))
    return rings


def lease_expiries(b, since):
    """[(time, node)] of every "lease expired" line in a vigild log since `since`."""
    out = []
    for n in NAMES:
        for t, node, _lvl, msg in log_lines(b.cluster.vigild[n].log_path, since):
            if msg.startswith("lease expired"):
                out.append((t, node))
    return sorted(out)


def stop_stress(p):
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # its own session: stress-ng and its workers
            p.wait(10)
        except ProcessLookupError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="crashes per token setting")
    ap.add_argument("--tokens", default="default,200ms",
                    help="comma-separated cluster.token settings ('default' = 500 ms)")
    ap.add_argument("--soak", type=float, metavar="MINUTES",
                    help="instead of crashes: the idle cluster under stress-ng for MINUTES")
    ap.add_argument("--soak-token", default="200ms", help="cluster.token of the soak")
    ap.add_argument("--layout", choices=("group", "standby"), default="group",
                    help="group: web + VIP move together (default); standby: web runs on "
                    "every node, only the VIP moves")
    ap.add_argument("--quorum-loss-delay", metavar="DURATION",
                    help="set cluster.quorum_loss_delay (default: the cluster's default)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every run")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a budget is missed")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("failover: needs root (network namespaces)")

    def bye(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGHUP, bye)

    if a.soak is not None:
        if a.soak <= 0:
            ap.error("--soak needs a positive number of minutes")
        token_ms(a.soak_token)
        return 0 if soak(a.soak, a.soak_token) else 1
    if a.runs < 1:
        ap.error("--runs must be positive")
    tokens = [t.strip() for t in a.tokens.split(",") if t.strip()]
    for t in tokens:
        token_ms(t)
    ok = True
    for t in tokens:
        ok = crash_runs(t, a.runs, a.layout, a.verbose, a.quorum_loss_delay) and ok
    return 1 if a.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
