"""clusterlab - vigil in cluster mode on a netlab LAN: each server runs its own `corosync -f`
(corolab) and `vigild`, a client host polls the service behind the VIP, and faults (crash,
reboot, partition) are injected while a sampler watches who holds the VIP.

Owns: the cluster YAML of the tests (a web service answering with its node name, in a group
with a native VIP), starting/stopping/rebooting servers, reading `vigil status --json` on any of
them, reading every node's addresses cheaply (one netlink socket per node's network namespace,
opened once; no process forked per sample), the VipSampler (two live holders at once is the
split brain the tests must never see), the ClientPoller (HTTP GETs from the client host every
~50 ms, recording when and from which node an answer came: the gap a failure costs), and
partitions between groups of nodes.

How a partition is made: the kernel here has no netfilter and no tc classifiers, so each node
of one group gets a permanent neighbour entry with a MAC that nobody owns for every node of the
other groups: their unicast traffic to each other is flooded by the bridge and dropped by every
receiver, silently, as a cut cable would. The client keeps reaching everyone. heal() removes
the entries (normal ARP resumes).

How a reboot is made: a crash (netlab) takes the node's bridge port down and SIGKILLs its PID 1;
its network namespace, with the addresses vigild had added, outlives it. restart() drops every
address but the node's own ones (as a real reboot would lose them), takes the port up and starts
a new holder over the same per-node directories, then Corosync and vigild again.

Must not: touch the machine's own namespaces or interfaces, leave threads, sockets or processes
behind (everything started on a node lives in its holder; threads and sockets are stopped by
cluster_lab's teardown), or wait without a bound (every wait goes through netlab.wait_until or
has a timeout).
"""

import ctypes
import ipaddress
import json
import os
import socket
import struct
import subprocess
import threading
import time

import corolab
import netlab
from netlab import LabError, VigilError, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
WEBNODE = os.path.join(HERE, "agents", "webnode.py")
WEB_PORT = 8080
CLUSTER_YAML = corolab.CLUSTER_YAML
CLUSTER_KEY = corolab.CLUSTER_KEY
BOGUS_MAC = "02:00:5e:00:de:ad"  # owned by nobody on the lab's LAN (partitions)

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


# `vigil apply` straight to the control socket, without the CLI's own check of the file
RAW_APPLY = """import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect("/run/vigil/vigild.sock")
y = open(sys.argv[1]).read()
s.sendall((json.dumps({"cmd": "apply", "args": {"yaml": y, "file": sys.argv[1]}}) + "\\n").encode())
b = b""
while not b.endswith(b"\\n"):
    c = s.recv(65536)
    if not c:
        break
    b += c
print(b.decode())
"""


# ---- the cluster's YAML ---------------------------------------------------------------------

def vip_addr(lab):
    return lab.ip(100)


def web_resources(lab, web="web", vip="vip", monitor="1s", port=WEB_PORT, vip_extra="",
                  web_extra="", web_args=""):
    """YAML list items (under `resources:`) of the web service (a native `process` running
    agents/webnode.py with an http check) and the native VIP on eth0. web_args: more
    arguments of webnode.py (e.g. "--term-delay 2", a service slow to stop)."""
    args = f" {web_args}" if web_args else ""
    return (f"  - name: {web}\n    type: process\n"
            f"    params: {{command: \"/usr/bin/python3 {WEBNODE} {port}{args}\"}}\n"
            f"    check: {{type: http, port: {port}, path: /}}\n"
            f"    ops: {{monitor: {{interval: {monitor}, timeout: 5s}}}}\n{web_extra}"
            f"  - name: {vip}\n    type: vip\n"
            f"    params: {{address: {vip_addr(lab)}/24, interface: eth0}}\n"
            f"    ops: {{monitor: {{interval: {monitor}}}}}\n{vip_extra}")


def web_group(name="frontend", web="web", vip="vip"):
    """YAML list item (under `groups:`): the web service, then the VIP, on one node."""
    return f"  - {{name: {name}, members: [{web}, {vip}]}}\n"


def cluster_yaml(lab, names=None, name="test", token=None, options=None, resources="",
                 groups="", constraints="", fence_devices="", key_file=CLUSTER_KEY, alerts=""):
    """A cluster.yaml with the named lab nodes (all by default) as servers.

    options: {key: value} added under `cluster:` (e.g. {"stickiness": 100}); resources,
    groups, constraints, fence_devices, alerts: YAML text of list items ("  - ...")."""
    nodes = [lab.nodes[n] for n in (names or lab.node_names)]
    out = [f"cluster:\n  name: {name}\n  key_file: {key_file}\n"]
    if token is not None:
        out.append(f"  token: {token}\n")
    for k, v in (options or {}).items():
        out.append(f"  {k}: {v}\n")
    out.append("nodes:\n")
    for n in nodes:
        out.append(f"  - {{name: {n.name}, address: {n.addr}, role: server}}\n")
    for key, text in (("fence_devices", fence_devices), ("resources", resources),
                      ("groups", groups), ("constraints", constraints), ("alerts", alerts)):
        if text.strip():
            out.append(f"{key}:\n" + text.rstrip("\n") + "\n")
    return "".join(out)


def web_cluster_yaml(lab, names=None, **kw):
    """cluster_yaml with the web service and VIP in a group `frontend` (kw: see cluster_yaml;
    `resources`/`groups` given there are added after the web ones)."""
    kw["resources"] = web_resources(lab) + kw.get("resources", "")
    kw["groups"] = web_group() + kw.get("groups", "")
    return cluster_yaml(lab, names, **kw)


# ---- servers: Corosync + vigild ------------------------------------------------------------

class Cluster:
    """The servers of a lab running Corosync and vigild (start() makes one)."""

    def __init__(self, lab, names, yaml_text, key_path, log_level="debug", env=None):
        self.lab = lab
        self.names = list(names)
        self.yaml_text = yaml_text
        self.key_path = key_path
        self.log_level = log_level
        self.env = env
        self.corosync = {}  # name -> corolab.Corosync (the current one)
        self.vigild = {}  # name -> netlab.Vigild (the current one)

    def node(self, name):
        return self.lab.nodes[name]

    def nodes(self, names=None):
        return [self.lab.nodes[n] for n in (names or self.names)]

    def start_corosync(self, name):
        node = self.node(name)
        corolab.private_shm(node)
        c = corolab.Corosync(node)
        self.corosync[name] = c
        c.wait_pid()
        return c

    def start_vigild(self, name):
        node = self.node(name)
        d = node.start_vigild(args=["--log-level", self.log_level], env=self.env,
                              wait_ready=False)
        self.vigild[name] = d
        d.wait_pid()
        return d

    def start_node(self, name, install=True, vigild=True):
        if install:
            corolab.install(self.node(name), self.yaml_text, self.key_path)
        self.start_corosync(name)
        if vigild:
            self.start_vigild(name)

    def wait_answering(self, names=None, timeout=30):
        """Wait until vigild answers `vigil status --json` on each named node."""
        for n in self.nodes(names):
            d = self.vigild.get(n.name)

            def ok(n=n, d=d):
                if d is not None and not d.alive():
                    raise LabError(f"vigild on {n.name} exited with {d.proc.returncode}:\n"
                                   + d.log()[-3000:])
                return status(n)
            wait_until(ok, timeout, 0.1, f"vigild on {n.name} to answer")

    def crash(self, name):
        crash(self.node(name))

    def restart(self, name, vigild=True):
        """Reboot a crashed node: new holder over the same directories, Corosync, vigild."""
        node = self.node(name)
        boot(node)
        self.start_node(name, install=False, vigild=vigild)

    def kill_vigild(self, name):
        """SIGKILL vigild only (its resources keep running); returns its old host PID."""
        d = self.vigild[name]
        pid = d.wait_pid()
        d.kill9()
        return pid

    def stop_vigild(self, name, timeout=60):
        return self.vigild[name].stop(timeout)

    def logs(self, tail=6000):
        return vigild_logs(self.lab, tail)


def start(lab, names=None, yaml_text=None, token=None, vigild=True, answering=True,
          log_level="debug", env=None, **yaml_kw):
    """Give each named server (all by default) cluster.yaml (yaml_text, or
    web_cluster_yaml(lab, names, token=token, **yaml_kw)) and a new cluster key, start
    Corosync on all of them, then vigild on each. Returns the Cluster (also lab.cluster)."""
    names = list(names or lab.node_names)
    if yaml_text is None:
        yaml_text = web_cluster_yaml(lab, names, token=token, **yaml_kw)
    key = corolab.keygen(lab)
    cl = Cluster(lab, names, yaml_text, key, log_level=log_level, env=env)
    lab.cluster = cl
    for n in names:
        corolab.install(lab.nodes[n], yaml_text, key)
    for n in names:
        cl.start_corosync(n)
    if vigild:
        for n in names:
            cl.start_vigild(n)
        if answering:
            cl.wait_answering(names)
    return cl


def crash(node):
    """Power off: the node's bridge port down, SIGKILL of its PID 1 (everything inside dies);
    Corosync's blackbox was in the node's private /dev/shm, which the kernel frees with it."""
    node.crash()
    for d in node.daemons:
        if isinstance(d, corolab.Corosync):
            d.close_log()
        elif isinstance(d, netlab.Vigild):
            try:
                d.wait(10)  # closes its log file
            except (AssertionError, ValueError):
                pass


def _reset_addresses(node):
    """Drop every address of eth0 but the node's own and the link-local ones (a reboot)."""
    out = netlab._run(["ip", "-j", "-n", node.netns, "addr", "show", "dev", "eth0"]).stdout
    keep = {node.addr, node.addr6}
    for i in json.loads(out):
        for a in i.get("addr_info", []):
            local = a["local"]
            if local in keep or local.startswith("fe80:"):
                continue
            netlab._run(["ip", "-n", node.netns, "addr", "del", f"{local}/{a['prefixlen']}",
                         "dev", "eth0"], check=False)


def boot(node):
    """A new holder for a crashed node over the same per-node directories (see Host.start)."""
    if node.pid is not None and netlab._pid_alive(node.pid):
        raise LabError(f"{node.name} is still running")
    if node.holder is not None and node.holder.poll() is None:
        node.kill_holder()
    ready = os.path.join(node.dir, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    _reset_addresses(node)
    netlab._run(["ip", "-n", node.lab.bridge_ns, "link", "set", node.bridge_port, "up"])
    err = open(os.path.join(node.dir, "holder.err"), "ab")
    try:
        node.holder = subprocess.Popen(
            ["ip", "netns", "exec", node.netns, "unshare", "-m", "-u", "-p", "-f",
             "--mount-proc", "--propagation", "private", "tini", "-s", "--",
             "/bin/sh", "-c", node._setup_script()],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True)
    finally:
        err.close()

    def up():
        if node.holder.poll() is not None:
            raise LabError(f"holder of {node.name} exited: "
                           + netlab.read_text(os.path.join(node.dir, "holder.err")))
        if not os.path.exists(ready):
            return None
        for c in netlab._descendants(node.holder.pid):
            if netlab._comm(c) == "tini":
                return c
        return None
    node.pid = wait_until(up, 20, 0.01, f"new holder of {node.name}")


def live(node):
    """Is the node powered on (its PID 1 alive)?"""
    pid = node.pid
    return pid is not None and netlab._pid_alive(pid)


# ---- partitions ------------------------------------------------------------------------------

def partition(lab, groups):
    """Cut traffic between nodes of different groups (lists of node names); nodes in no group
    and the client keep reaching everyone. See the module comment for how."""
    where = {}
    for i, g in enumerate(groups):
        for n in g:
            where[n] = i
    cut = getattr(lab, "cut_pairs", [])
    for a in where:
        for b in where:
            if where[a] != where[b]:
                na, nb = lab.nodes[a], lab.nodes[b]
                netlab._run(["ip", "-n", na.netns, "neigh", "replace", nb.addr, "lladdr",
                             BOGUS_MAC, "dev", "eth0", "nud", "permanent"])
                cut.append((a, b))
    lab.cut_pairs = cut


def heal(lab):
    """Undo every partition() of the lab."""
    for a, b in getattr(lab, "cut_pairs", []):
        na, nb = lab.nodes[a], lab.nodes[b]
        netlab._run(["ip", "-n", na.netns, "neigh", "del", nb.addr, "dev", "eth0"], check=False)
    lab.cut_pairs = []


# ---- vigil status ----------------------------------------------------------------------------

def check_vigild(node):
    """Raise LabError (which ends any wait at once) if the vigild this lab's Cluster started
    on the powered-on node has exited: polling it longer cannot help."""
    c = getattr(node.lab, "cluster", None)
    d = c.vigild.get(node.name) if c is not None else None
    if d is not None and not d.alive() and live(node):
        raise LabError(f"vigild on {node.name} exited with {d.proc.returncode}:\n"
                       + d.log()[-4000:])


def vigil(node, *args, timeout=30, input=None):
    """Run `vigil ARGS` on node (CompletedProcess, never raises for its exit code, but raises
    LabError when the node's vigild has died and the CLI could not reach it)."""
    p = node.run([netlab.VIGIL] + list(args), check=False, timeout=timeout, input=input,
                 env=dict(os.environ, OCF_ROOT=node.lab.ocf_root))
    if p.returncode == 3:
        check_vigild(node)
    return p


def status(node, timeout=15):
    """`vigil status --json` on node, parsed (VigilError when it prints no JSON)."""
    p = vigil(node, "status", "--json", timeout=timeout)
    try:
        st = json.loads(p.stdout)
    except ValueError:
        st = None
    if not isinstance(st, dict) or p.returncode not in (0, 3):
        raise VigilError(f"vigil status --json on {node.name} -> {p.returncode}\n"
                         f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return st


def wait_status(nodes, pred, timeout=30, what="status", interval=0.1, agree=None):
    """Wait until pred(status) holds for `vigil status --json` on every node in nodes (and,
    with agree, until agree(status) is the same value on all of them); returns
    {node name: status}. On timeout the last status of every node is in the error."""
    nodes = list(nodes)
    last = {}

    def ok():
        out = {}
        for n in nodes:
            check_vigild(n)
        for n in nodes:
            st = status(n)
            last[n.name] = st
            if not pred(st):
                return None
            out[n.name] = st
        if agree is not None and len({json.dumps(agree(st), sort_keys=True)
                                      for st in out.values()}) > 1:
            return None
        return out
    try:
        return wait_until(ok, timeout, interval, what)
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast status:\n"
                             + "\n".join(f"--- {k}: {json.dumps(v)}" for k, v in last.items())
                             ) from None


def resource(st, name):
    for r in st.get("resources", []):
        if r["name"] == name:
            return r
    return None


def running_on(st, name):
    """Nodes where resource `name` has a running instance in status st (sorted)."""
    r = resource(st, name)
    if r is None:
        return []
    return sorted(i["node"] for i in r.get("instances", []) if i.get("state") == "running")


def node_state(st, name):
    for n in st.get("nodes", []):
        if n["name"] == name:
            return n["state"]
    return None


def nodes_online(st, names):
    return all(node_state(st, n) == "online" for n in names)


# ---- addresses of every node, cheaply --------------------------------------------------------

def netns_call(netns, fn):
    """Run fn() in a short-lived thread that has joined the network namespace /run/netns/NETNS
    (only that thread moves); return its result. Sockets made there stay in that namespace."""
    box = {}

    def run():
        try:
            _setns(netns)
            box["v"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["e"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    if "e" in box:
        raise box["e"]
    if "v" not in box:
        raise LabError(f"could not enter network namespace {netns}")
    return box["v"]


def _setns(netns):
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {netns}: {os.strerror(e)}")
    finally:
        os.close(fd)


_RTM_NEWADDR, _RTM_GETADDR = 20, 22
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_IFA_ADDRESS, _IFA_LOCAL = 1, 2


class AddrReader:
    """Addresses of a network namespace by an RTM_GETADDR dump on a netlink socket opened in
    it once (no fork per read). Thread-safe."""

    def __init__(self):
        self._socks = {}
        self._seq = 0
        self._lock = threading.Lock()

    def _sock(self, netns):
        s = self._socks.get(netns)
        if s is None:
            s = netns_call(netns, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                                         socket.NETLINK_ROUTE))
            s.settimeout(2)
            s.bind((0, 0))
            self._socks[netns] = s
        return s

    def addresses(self, netns):
        """Every IPv4 and IPv6 address in the namespace (strings, without prefix length)."""
        with self._lock:
            s = self._sock(netns)
            self._seq += 1
            seq = self._seq
            req = struct.pack("=IHHII", 16 + 8, _RTM_GETADDR, _NLM_F_REQUEST | _NLM_F_DUMP,
                              seq, 0) + struct.pack("=BBBBI", socket.AF_UNSPEC, 0, 0, 0, 0)
            s.send(req)
            out = []
            while True:
                data = s.recv(65536)
                off = 0
                while off + 16 <= len(data):
                    ln, typ, _flags, mseq, _pid = struct.unpack_from("=IHHII", data, off)
                    if ln < 16:
                        raise LabError(f"bad netlink message in {netns}")
                    if mseq == seq:
                        if typ == _NLMSG_DONE:
                            return out
                        if typ == _NLMSG_ERROR:
                            (err,) = struct.unpack_from("=i", data, off + 16)
                            if err:
                                raise OSError(-err, f"RTM_GETADDR in {netns}")
                        elif typ == _RTM_NEWADDR:
                            out.extend(_parse_addr(data[off + 16:off + ln]))
                    off += (ln + 3) & ~3

    def close(self):
        with self._lock:
            for s in self._socks.values():
                s.close()
            self._socks = {}


def _parse_addr(msg):
    family = msg[0]
    off = 8
    found = {}
    while off + 4 <= len(msg):
        ln, typ = struct.unpack_from("=HH", msg, off)
        if ln < 4:
            break
        if typ in (_IFA_ADDRESS, _IFA_LOCAL):
            found[typ] = msg[off + 4:off + ln]
        off += (ln + 3) & ~3
    raw = found.get(_IFA_LOCAL) or found.get(_IFA_ADDRESS)
    if raw is None:
        return []
    if family == socket.AF_INET and len(raw) == 4:
        return [str(ipaddress.IPv4Address(raw))]
    if family == socket.AF_INET6 and len(raw) == 16:
        return [str(ipaddress.IPv6Address(raw))]
    return []


def addr_reader(lab):
    r = getattr(lab, "addr_reader", None)
    if r is None:
        r = lab.addr_reader = AddrReader()
    return r


def vip_holders(lab, addr, live_only=True):
    """Names of the nodes (powered on, unless live_only is False) that have addr, sorted."""
    addr = str(ipaddress.ip_address(addr.split("/")[0]))
    r = addr_reader(lab)
    return sorted(n.name for n in lab.nodes.values()
                  if (not live_only or live(n)) and addr in r.addresses(n.netns))


def _register(lab, thing):
    lst = getattr(lab, "cluster_threads", None)
    if lst is None:
        lst = lab.cluster_threads = []
    lst.append(thing)


class VipSampler:
    """Samples every live node's addresses every `interval` s until stopped; records each
    change of the set of holders of addr and every sample where two live nodes held it."""

    def __init__(self, lab, addr, interval=0.02):
        self.lab = lab
        self.addr = str(ipaddress.ip_address(addr.split("/")[0]))
        self.interval = interval
        self.samples = 0
        self.changes = []  # [(monotonic time, (holders...))]
        self.overlaps = []  # [(monotonic time, [holders])]
        self.errors = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"vip-sampler-{self.addr}")
        _register(lab, self)

    def start(self):
        self._thread.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        reader = addr_reader(self.lab)
        last = None
        while not self._stop.is_set():
            t = time.monotonic()
            holders = []
            for n in list(self.lab.nodes.values()):
                if not live(n):
                    continue
                try:
                    if self.addr in reader.addresses(n.netns):
                        holders.append(n.name)
                except Exception as e:  # noqa: BLE001 - recorded, sampling goes on
                    with self._lock:
                        if len(self.errors) < 100:
                            self.errors.append((t, n.name, repr(e)))
            # a node that died during this sample is not a live holder
            holders = tuple(sorted(h for h in holders if live(self.lab.nodes[h])))
            with self._lock:
                self.samples += 1
                if holders != last:
                    self.changes.append((t, holders))
                    last = holders
                if len(holders) > 1:
                    self.overlaps.append((t, list(holders)))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - t)))

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def holders_now(self):
        with self._lock:
            return self.changes[-1][1] if self.changes else ()

    def history(self, since=0.0):
        with self._lock:
            return [c for c in self.changes if c[0] >= since]

    def first_holder_after(self, t, exclude=(), wait=2.0):
        """(time, holder) of the first sample after t where one node not in exclude held it,
        waiting up to `wait` s for one: a client can get its answer before the next sample
        (one pass over every node can take longer than the interval on a loaded machine)."""
        deadline = time.monotonic() + wait
        while True:
            for ct, holders in self.history(t):
                if len(holders) == 1 and holders[0] not in exclude:
                    return ct, holders[0]
            if time.monotonic() >= deadline or not self._thread.is_alive():
                return None
            time.sleep(self.interval)

    def assert_never_two(self):
        with self._lock:
            overlaps, samples, errors = list(self.overlaps), self.samples, list(self.errors)
            changes = list(self.changes)
        assert samples > 0, "the VIP sampler took no sample"
        assert not overlaps, (f"two live nodes held {self.addr} at once "
                              f"({len(overlaps)} samples), first: {overlaps[:5]}\n"
                              f"holder history: {changes}")
        return samples, errors


class ClientPoller:
    """From the lab's client host, GET http://ADDR:PORT/ every `interval` s (each request on a
    new connection, at most `timeout` s) until stopped. records: [(start, end, answer, error)]
    with monotonic times; answer is the body's first word (the node's name) or None."""

    def __init__(self, lab, addr, port=WEB_PORT, interval=0.05, timeout=0.3):
        self.lab = lab
        self.addr = addr.split("/")[0]
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._entered = threading.Event()
        self._enter_error = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"client-poller-{self.addr}")
        _register(lab, self)

    def start(self):
        self._thread.start()
        self._entered.wait(10)
        if self._enter_error is not None:
            raise self._enter_error
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _get(self):
        with socket.create_connection((self.addr, self.port), self.timeout) as s:
            s.settimeout(self.timeout)
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while len(data) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0] + b" ":
            raise OSError(f"bad answer {data[:80]!r}")
        words = body.decode(errors="replace").split()
        if not words:
            raise OSError("empty answer")
        return words[0]

    def _run(self):
        try:
            _setns(self.lab.client.netns)  # this thread only, for good
        except BaseException as e:  # noqa: BLE001 - handed to start()
            self._enter_error = e
            self._entered.set()
            return
        self._entered.set()
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                ans, err = self._get(), None
            except Exception as e:  # noqa: BLE001 - every failure is a record
                ans, err = None, f"{type(e).__name__}: {e}"
            t1 = time.monotonic()
            with self._lock:
                self.records.append((t0, t1, ans, err))
            self._stop.wait(max(0.0, self.interval - (t1 - t0)))

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def snapshot(self, since=0.0):
        with self._lock:
            return [r for r in self.records if r[0] >= since]

    def answers(self, since=0.0):
        return [(r[1], r[2]) for r in self.snapshot(since) if r[2] is not None]

    def first_answer_after(self, t, exclude=()):
        """(end time, node) of the first answer to a request sent at or after t from a node
        not in exclude, or None."""
        for t0, t1, ans, _err in self.snapshot(t):
            if ans is not None and ans not in exclude:
                return t1, ans
        return None

    def last_answer_before(self, t):
        last = None
        for t0, t1, ans, _err in self.snapshot():
            if t1 > t:
                break
            if ans is not None:
                last = (t1, ans)
        return last

    def wait_answer(self, timeout, since=None, exclude=(), what="an answer on the VIP"):
        """Wait for an answer (from a node not in exclude) to a request sent after `since`
        (default: now); returns (time, node)."""
        since = time.monotonic() if since is None else since
        try:
            return wait_until(lambda: self.first_answer_after(since, exclude), timeout, 0.05,
                              what)
        except AssertionError as e:
            tail = self.snapshot(since)[-5:]
            raise AssertionError(f"{e}\nlast client records: {tail}") from None

    def summary(self, since=0.0):
        """{node: answers} and the number of errors since `since`."""
        by, errors = {}, 0
        for _t0, _t1, ans, _err in self.snapshot(since):
            if ans is None:
                errors += 1
            else:
                by[ans] = by.get(ans, 0) + 1
        return by, errors


def vigild_logs(lab, tail=None):
    """Every vigild log of the lab (LAB/NODE-vigild-K.log; the last `tail` characters of
    each, or all)."""
    out = []
    names = sorted(os.listdir(lab.dir)) if os.path.isdir(lab.dir) else []
    for f in names:
        if "-vigild-" in f and f.endswith(".log"):
            text = netlab.read_text(os.path.join(lab.dir, f))
            out.append(f"===== {f}\n{text[-tail:] if tail else text}")
    return "\n".join(out)


# ---- the pytest fixture body -----------------------------------------------------------------

def cluster_lab(request, names, client=True):
    """A fixture body: a lab of server nodes and a client, closed after the test (samplers and
    pollers stopped first). On failure the vigild and Corosync logs are printed; a sanitizer
    report in any vigild log fails the test."""
    from conftest import sanitizer_reports

    lab = netlab.Lab(nodes=names, client=client)
    lab.start()
    vlogs = ""
    try:
        yield lab
    finally:
        for t in getattr(lab, "cluster_threads", []):
            try:
                t.stop()
            except Exception:  # noqa: BLE001 - keep cleaning up
                pass
        r = getattr(lab, "addr_reader", None)
        if r is not None:
            r.close()
        rep = getattr(request.node, "rep_call", None)
        vlogs = vigild_logs(lab)
        if rep is not None and rep.failed:
            print(corolab.logs(lab))
            print(vigild_logs(lab, tail=15000))
        heal(lab)
        lab.close()
    reports = sanitizer_reports(vlogs)
    if reports:
        import pytest
        pytest.fail("sanitizer reports in vigild's log:\n" + "\n".join(reports[:20]),
                    pytrace=False)
