"""netlab - a LAN of small containers on one machine, for vigil's tests, benchmarks and demo.

Owns: the "Test topology" of SPEC.md. A namespace holds a Linux bridge; every host (each node
and a client) is a holder process with its own network, PID, mount and UTS namespaces whose
PID 1 is tini (it reaps orphans). Inside a node the hostname is the node name, /run is a fresh
tmpfs and per-node directories are bind-mounted over /etc/vigil, /var/lib/vigil, /var/log,
/etc/corosync and /var/lib/corosync, with a shared /etc/hosts. Everything run on a node goes
through `nsenter -t HOLDER -a`, so default paths work and nothing collides.

Addresses (only on links netlab creates): 10.213.X.0/24 and fd13:213:X::/64, X random per lab;
node i (from 0) is .10+i, the client .2; interfaces are eth0 inside every host, and the bridge
ports are named v<6 hex run id><index> (at most 15 characters). Binaries: $VIGIL_BUILD_DIR or
$VIGIL_BUILD (default REPO/build), or $VIGILD / $VIGIL. Agents: each lab has an OCF_ROOT of
its own (Lab.ocf_root) that links the system's providers and tests/integration/agents/ocf/*;
vigild and the vigil CLI get it as $OCF_ROOT.

Teardown: close() first continues every stopped process of the lab's nodes and stops each
running vigild with SIGTERM (all at once, bounded by Lab.STOP_TIMEOUT s; what is left is
killed with its node), so LeakSanitizer runs at vigild's exit. Every vigild gets
ASAN_OPTIONS/UBSAN_OPTIONS/LSAN_OPTIONS with log_path=LAB/sanitizer/NODE-vigild-K/asan (ubsan,
lsan: one directory per vigild, as PIDs repeat across nodes), the options already in
the environment kept (scripts/check.sh sets them for the ASan stage; a build without sanitizers
ignores them; GCC's UBSan next to ASan ignores log_path and reports on stderr, so the vigild
logs are searched too); close() reads the reports written there before removing the lab
(Lab.sanitizer_reports, and sanitizer_reports_since() for the fixtures).

Must not: touch the machine's own interfaces or addresses, leave anything behind (holders are
killed by PID, namespaces deleted, temp dirs removed, also at interpreter exit), or wait without
a bound (every wait loop is limited in time and count).
"""

import atexit
import ipaddress
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = (os.environ.get("VIGIL_BUILD_DIR") or os.environ.get("VIGIL_BUILD")
             or os.path.join(REPO, "build"))
VIGILD = os.environ.get("VIGILD", os.path.join(BUILD_DIR, "vigild"))
VIGIL = os.environ.get("VIGIL", os.path.join(BUILD_DIR, "vigil"))
SYSTEM_OCF_ROOT = "/usr/lib/ocf"
TEST_AGENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agents", "ocf")

# Directories every node gets privately (bind mounts over the machine's paths).
NODE_DIRS = ["/etc/vigil", "/var/lib/vigil", "/var/log", "/etc/corosync", "/var/lib/corosync"]

_live_labs = []
_closed_reports = []  # [(file name, text)] of every lab closed by this process
_closed_unstopped = []  # Lab.unstopped of every lab closed by this process


def sanitizer_env(log_dir, env):
    """ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS of env with log_path=LOG_DIR/asan (ubsan,
    lsan) added: the sanitizers write their reports (asan.PID) there instead of to stderr."""
    out = {}
    for var, name in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan"),
                      ("LSAN_OPTIONS", "lsan")):
        opts = [o for o in env.get(var, "").split(":") if o and not o.startswith("log_path=")]
        opts.append(f"log_path={os.path.join(log_dir, name)}")
        out[var] = ":".join(opts)
    return out


def read_sanitizer_dir(log_dir):
    """[(file name under log_dir, text)] of the non-empty sanitizer reports in log_dir and
    its subdirectories."""
    out = []
    for root, dirs, files in os.walk(log_dir):
        dirs.sort()
        for f in sorted(files):
            text = read_text(os.path.join(root, f))
            if text.strip():
                out.append((os.path.relpath(os.path.join(root, f), log_dir), text))
    return out


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_lines_in_logs(lab_dir):
    """[(log name, lines)] of the vigild logs in lab_dir where a sanitizer reported something
    on stderr: GCC's UBSan ignores log_path when it is linked with ASan (GCC bug 94328), so
    its "runtime error:" lines land in vigild's log."""
    out = []
    names = sorted(os.listdir(lab_dir)) if os.path.isdir(lab_dir) else []
    for f in names:
        if "-vigild-" in f and f.endswith(".log"):
            lines = [ln for ln in read_text(os.path.join(lab_dir, f)).splitlines()
                     if any(m in ln for m in SANITIZER_MARKS)]
            if lines:
                out.append((f, "\n".join(lines[:50])))
    return out


def sanitizer_mark():
    """A mark for sanitizer_reports_since(): the reports of labs closed so far."""
    return len(_closed_reports), len(_closed_unstopped)


def sanitizer_reports_since(mark):
    """[(file name, text)] of the sanitizer reports of labs closed since mark."""
    return list(_closed_reports[mark[0]:])


def unstopped_since(mark):
    """The vigilds SIGTERM did not end at the close of labs closed since mark (their leak
    check did not run)."""
    return list(_closed_unstopped[mark[1]:])


class LabError(RuntimeError):
    """The lab itself broke (a holder or daemon died): waiting longer cannot help."""


class VigilError(RuntimeError):
    """The vigil CLI failed or printed something that is not JSON."""


def wait_until(pred, timeout=30.0, interval=0.05, what="condition"):
    """Call pred() until it returns a truthy value; return that value.

    Bounded in time and in number of calls; raises AssertionError naming `what` and the
    last value (or exception) seen when the bound is reached. A LabError from pred is
    raised at once."""
    deadline = time.monotonic() + timeout
    max_calls = int(timeout / interval) + 10
    last = None
    for _ in range(max_calls):
        try:
            last = pred()
            if last:
                return last
        except LabError:
            raise  # something that polling cannot fix (a holder or a daemon died)
        except Exception as e:  # noqa: BLE001 - report the last failure, keep polling
            last = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; last: {last!r}")


def _run(cmd, check=True, timeout=30, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise LabError(f"{shlex.join(cmd)} -> {p.returncode}\nstdout: {p.stdout}\n"
                       f"stderr: {p.stderr}")
    return p


def read_text(path):
    """A file's text, or "" when it cannot be read."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return False
    # state field follows the ")" of comm; a zombie is not alive
    return st[st.rindex(")") + 2] != "Z"


def _ppid_map():
    m = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        m.setdefault(int(rest[1]), []).append(int(d))
    return m


def _descendants(pid):
    m = _ppid_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in m.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def ns_pid(host_pid):
    """The PID of a host process inside its innermost PID namespace."""
    with open(f"/proc/{host_pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    raise LabError(f"no NSpid for {host_pid}")


def make_ocf_root(base_dir):
    """An OCF_ROOT with the system's heartbeat and pacemaker agents and the test provider
    `vigiltest` (tests/integration/agents/ocf/vigiltest), all symlinked."""
    root = os.path.join(base_dir, "ocf")
    os.makedirs(os.path.join(root, "resource.d"), exist_ok=True)
    os.symlink(os.path.join(SYSTEM_OCF_ROOT, "lib"), os.path.join(root, "lib"))
    for prov in sorted(os.listdir(os.path.join(SYSTEM_OCF_ROOT, "resource.d"))):
        os.symlink(os.path.join(SYSTEM_OCF_ROOT, "resource.d", prov),
                   os.path.join(root, "resource.d", prov))
    if os.path.isdir(TEST_AGENTS):
        for prov in sorted(os.listdir(TEST_AGENTS)):
            os.symlink(os.path.join(TEST_AGENTS, prov), os.path.join(root, "resource.d", prov))
    return root


class Vigild:
    """One vigild running in the foreground on a node; stderr goes to log_path."""

    def __init__(self, node, args, log_path, env):
        self.node = node
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self._log.write(f"---- vigild {shlex.join(args)}\n".encode())
        self._log.flush()
        self.proc = node.popen([VIGILD] + args, stdout=self._log, stderr=self._log, env=env)
        self.host_pid = None
        self.returncode = None

    def _find_pid(self):
        for c in _descendants(self.proc.pid):
            if _comm(c) == "vigild":
                return c
        return None

    def wait_pid(self, timeout=10):
        """The host PID of vigild (nsenter forks it into the node's PID namespace)."""
        if self.host_pid is None:
            def found():
                if self.proc.poll() is not None:
                    raise LabError(f"vigild exited at once with {self.proc.returncode}:\n"
                                   + self.log())
                return self._find_pid()
            self.host_pid = wait_until(found, timeout, 0.01, "vigild's pid")
        return self.host_pid

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=30):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"vigild did not exit within {timeout}s")
        self._log.close()
        return self.returncode

    def signal(self, sig):
        pid = self.wait_pid()
        os.kill(pid, sig)

    def stop(self, timeout=60):
        """SIGTERM and wait; returns the exit code."""
        if self.alive():
            self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill9(self):
        if self.alive():
            self.signal(signal.SIGKILL)
        return self.wait(10)

    def log(self):
        return read_text(self.log_path)


class Host:
    """A holder (node or client) on the LAN."""

    def __init__(self, lab, name, index, addr):
        self.lab = lab
        self.name = name
        self.index = index
        self.addr = addr  # "10.213.X.Y"
        self.addr6 = lab.ip6(int(addr.rsplit(".", 1)[1]))  # "fd13:213:X::Y"
        self.netns = f"vgl{lab.rid}-{name}"
        self.bridge_port = f"v{lab.rid}{index}"
        self.dir = os.path.join(lab.dir, name)
        self.holder = None
        self.pid = None  # host PID of tini, the node's PID 1
        self.daemons = []
        self.mac = None

    # -- paths on the machine for the node's private directories
    def path(self, node_path):
        """Host path of a file under one of the node's private directories."""
        for d in NODE_DIRS:
            if node_path == d or node_path.startswith(d + "/"):
                return os.path.join(self.dir, d.strip("/").replace("/", "_")) + node_path[len(d):]
        raise ValueError(f"{node_path} is not under a node-private directory")

    def _setup_script(self):
        lines = ["set -e", f"hostname {shlex.quote(self.name)}",
                 "mount --make-rprivate /",
                 "mount -t tmpfs -o mode=755 tmpfs /run",
                 # what systemd-tmpfiles would create at boot (resource-agents.conf)
                 "mkdir -p -m 1755 /run/resource-agents", "mkdir -p /run/lock"]
        for d in NODE_DIRS:
            src = self.path(d)
            lines.append(f"mkdir -p {shlex.quote(d)}")
            lines.append(f"mount --bind {shlex.quote(src)} {shlex.quote(d)}")
        lines.append(f"mount --bind {shlex.quote(self.lab.hosts_file)} /etc/hosts")
        lines.append(f": > {shlex.quote(os.path.join(self.dir, 'ready'))}")
        lines.append("exec sleep infinity")
        return "\n".join(lines)

    def start(self):
        os.makedirs(self.dir)
        for d in NODE_DIRS:
            os.makedirs(self.path(d))
        _run(["ip", "netns", "add", self.netns])
        br = self.lab.bridge_ns
        _run(["ip", "-n", br, "link", "add", self.bridge_port, "type", "veth",
              "peer", "name", "eth0", "netns", self.netns])
        _run(["ip", "-n", br, "link", "set", self.bridge_port, "master", "br0", "up"])
        _run(["ip", "-n", self.netns, "link", "set", "lo", "up"])
        _run(["ip", "-n", self.netns, "addr", "add", f"{self.addr}/24", "dev", "eth0"])
        _run(["ip", "-n", self.netns, "addr", "add", f"{self.addr6}/64", "dev", "eth0", "nodad"])
        _run(["ip", "-n", self.netns, "link", "set", "eth0", "up"])
        link = json.loads(_run(["ip", "-j", "-n", self.netns, "link", "show", "eth0"]).stdout)
        self.mac = link[0]["address"]
        self.holder = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "-m", "-u", "-p", "-f",
             "--mount-proc", "--propagation", "private", "tini", "-s", "--",
             "/bin/sh", "-c", self._setup_script()],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "holder.err"), "wb"),
            start_new_session=True)
        ready = os.path.join(self.dir, "ready")

        def up():
            if self.holder.poll() is not None:
                with open(os.path.join(self.dir, "holder.err")) as f:
                    raise LabError(f"holder of {self.name} exited: {f.read()}")
            if not os.path.exists(ready):
                return None
            for c in _descendants(self.holder.pid):
                if _comm(c) == "tini":
                    return c
            return None
        self.pid = wait_until(up, 20, 0.01, f"holder of {self.name}")

    # -- running things on the node
    def _ns_cmd(self, cmd):
        if self.pid is None or not _pid_alive(self.pid):
            raise LabError(f"{self.name} is not running")
        return ["nsenter", "-t", str(self.pid), "-a", "--"] + list(cmd)

    def run(self, cmd, check=True, timeout=60, env=None, input=None):
        """Run cmd (list, or str for sh -c) on the node; returns CompletedProcess (text)."""
        if isinstance(cmd, str):
            cmd = ["/bin/sh", "-c", cmd]
        return _run(self._ns_cmd(cmd), check=check, timeout=timeout, env=env, input=input)

    def popen(self, cmd, env=None, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self._ns_cmd(cmd), env=env, start_new_session=True, **kw)

    def write(self, node_path, text):
        hp = self.path(node_path)
        os.makedirs(os.path.dirname(hp), exist_ok=True)
        with open(hp, "w") as f:
            f.write(text)
        return node_path

    def pgrep(self, pattern):
        """PIDs (in the node's namespace) of processes whose command line matches."""
        p = self.run(["pgrep", "-f", pattern], check=False)
        return sorted(int(x) for x in p.stdout.split())

    def host_pgrep(self, regex):
        """Machine PIDs of the node's processes whose command line (args joined by spaces)
        matches regex (re.search); reads /proc directly, no process is forked."""
        rx = re.compile(regex)
        out = []
        for pid in self._machine_pids():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if rx.search(cmd) and _pid_alive(pid):
                out.append(pid)
        return sorted(out)

    def _machine_pids(self):
        """Machine PIDs of the processes in this node's PID namespace."""
        my_ns = os.readlink(f"/proc/{self.pid}/ns/pid")
        for d in os.listdir("/proc"):
            try:
                if d.isdigit() and os.readlink(f"/proc/{d}/ns/pid") == my_ns:
                    yield int(d)
            except OSError:
                continue

    def host_pid_of(self, pid):
        """The machine's PID of a process known by its PID inside the node."""
        for host_pid in self._machine_pids():
            try:
                if ns_pid(host_pid) == pid:
                    return host_pid
            except (OSError, LabError):
                continue
        return None

    def addresses(self, dev="eth0"):
        out = self.run(["ip", "-j", "addr", "show", "dev", dev]).stdout
        return [f"{a['local']}/{a['prefixlen']}" for i in json.loads(out)
                for a in i.get("addr_info", [])]

    def crash(self):
        """Power off: link down, then SIGKILL of the node's PID 1."""
        _run(["ip", "-n", self.lab.bridge_ns, "link", "set", self.bridge_port, "down"],
             check=False)
        self.kill_holder()

    def kill_holder(self):
        pid = self.pid
        if pid is None and self.holder is not None:  # interrupted while starting
            pid = next((c for c in _descendants(self.holder.pid) if _comm(c) == "tini"), None)
        if pid and _pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.holder is not None:
            # unshare (the holder) reaps tini and exits; kill it only if it does not, since an
            # orphaned tini would stay a zombie where the machine's PID 1 does not reap
            try:
                self.holder.wait(10 if pid else 0.5)
            except subprocess.TimeoutExpired:
                try:  # the holder's own session: ip netns exec/unshare and its children
                    os.killpg(self.holder.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                self.holder.wait(10)
        for d in self.daemons:
            try:
                d.proc.wait(10)
            except subprocess.TimeoutExpired:
                d.proc.kill()
        self.pid = None


class Node(Host):
    """A vigil node: runs vigild and the vigil CLI."""

    def start_vigild(self, config=None, args=(), config_path="/etc/vigil/cluster.yaml",
                     socket=None, data_dir=None, env=None, wait_ready=True, timeout=30):
        """Start vigild in the foreground. config: YAML text written to config_path."""
        if config is not None:
            self.write(config_path, config)
        argv = ["-c", config_path, "-n", self.name, "--foreground"]
        if socket:
            argv += ["--socket", socket]
        if data_dir:
            argv += ["--data-dir", data_dir]
        argv += list(args)
        e = dict(os.environ)
        e["OCF_ROOT"] = self.lab.ocf_root
        if env:
            e.update(env)
        k = sum(1 for d in self.daemons if isinstance(d, Vigild)) + 1
        # one directory per vigild: inside every node the PIDs are alike (asan.PID)
        sdir = os.path.join(self.lab.sanitizer_dir, f"{self.name}-vigild-{k}")
        os.makedirs(sdir, exist_ok=True)
        e.update(sanitizer_env(sdir, e))
        log = os.path.join(self.lab.dir, f"{self.name}-vigild-{len(self.daemons) + 1}.log")
        d = Vigild(self, argv, log, e)
        self.daemons.append(d)
        if wait_ready:
            d.wait_pid()
            wait_until(lambda: self.vigil("status", "--json", socket=socket,
                                          check=False).returncode == 0,
                       timeout, 0.1, f"vigild on {self.name} to answer")
        return d

    def vigil(self, *args, socket=None, check=True, timeout=60):
        cmd = [VIGIL] + (["-s", socket] if socket else []) + list(args)
        # the node's installed agents are those of the lab's OCF_ROOT (the CLI reads it too)
        return self.run(cmd, check=check, timeout=timeout,
                        env=dict(os.environ, OCF_ROOT=self.lab.ocf_root))

    def vigil_json(self, *args, socket=None):
        p = self.vigil(*args, "--json", socket=socket, check=False)
        if p.returncode != 0:
            raise VigilError(f"vigil {' '.join(args)} --json -> {p.returncode}\n"
                           f"stdout: {p.stdout}\nstderr: {p.stderr}")
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise VigilError(f"vigil {' '.join(args)} --json printed no JSON ({e}):\n{p.stdout}")

    def status(self, socket=None):
        return self.vigil_json("status", socket=socket)

    def resource(self, name, socket=None):
        """The resource object named `name` in `vigil status --json` (None if absent)."""
        for r in self.status(socket)["resources"]:
            if r["name"] == name:
                return r
        return None

    def wait_state(self, names, state="running", timeout=60, socket=None):
        """Wait until every resource in names has `state`; returns the status."""
        if isinstance(names, str):
            names = [names]

        def ok():
            st = self.status(socket)
            by = {r["name"]: r for r in st["resources"]}
            return st if all(n in by and by[n]["state"] == state for n in names) else None
        try:
            return wait_until(ok, timeout, 0.1, f"{names} to be {state} on {self.name}")
        except AssertionError as e:
            try:
                last = json.dumps(self.status(socket)["resources"], indent=1)
            except Exception as e2:  # noqa: BLE001
                last = repr(e2)
            raise AssertionError(f"{e}\nstatus resources: {last}") from None


class Lab:
    """The LAN: a bridge namespace, nodes and (optionally) a client.

    Use as a context manager, or call close(); atexit closes whatever is left."""

    def __init__(self, nodes=("n1",), client=True):
        self.rid = "%06x" % random.randrange(1 << 24)
        self.subnet_octet = random.randrange(1, 255)
        self.net = ipaddress.ip_network(f"10.213.{self.subnet_octet}.0/24")
        self.net6 = ipaddress.ip_network(f"fd13:213:{self.subnet_octet:x}::/64")
        self.dir = tempfile.mkdtemp(prefix=f"vigil-lab-{self.rid}-")
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "owner"), "w") as f:
            f.write(f"{os.getpid()}\n")
        self.bridge_ns = f"vgl{self.rid}-br"
        self.node_names = list(nodes)
        self.nodes = {}
        self.client = None
        self._want_client = client
        self._closed = False
        self.hosts_file = os.path.join(self.dir, "hosts")
        self.ocf_root = None
        self.sanitizer_dir = os.path.join(self.dir, "sanitizer")
        os.makedirs(self.sanitizer_dir)
        self.sanitizer_reports = []  # [(file name, text)], read by close()
        self.unstopped = []  # "node: why" for each vigild SIGTERM did not end in time
        _live_labs.append(self)

    def ip(self, host_part):
        return str(self.net.network_address + host_part)

    def ip6(self, host_part):
        """The lab's IPv6 unique-local address for host_part (fd13:213:X::/64)."""
        return str(self.net6.network_address + host_part)

    def start(self):
        try:
            self.ocf_root = make_ocf_root(self.dir)
            with open(self.hosts_file, "w") as f:
                f.write("127.0.0.1\tlocalhost\n")
                for i, n in enumerate(self.node_names):
                    f.write(f"{self.ip(10 + i)}\t{n}\n")
                f.write(f"{self.ip(2)}\tclient\n")
            _run(["ip", "netns", "add", self.bridge_ns])
            _run(["ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge"])
            _run(["ip", "-n", self.bridge_ns, "link", "set", "br0", "up"])
            _run(["ip", "-n", self.bridge_ns, "link", "set", "lo", "up"])
            for i, n in enumerate(self.node_names):
                node = Node(self, n, i + 1, self.ip(10 + i))
                self.nodes[n] = node
                node.start()
            if self._want_client:
                self.client = Host(self, "client", 0, self.ip(2))
                self.client.start()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def node(self, name=None):
        return self.nodes[name or self.node_names[0]]

    def hosts(self):
        return list(self.nodes.values()) + ([self.client] if self.client else [])

    def logs(self, suffix=".log", tail=None):
        """The logs of this lab whose names end in suffix (the last `tail` characters of
        each, or all), for printing on failure."""
        out = []
        for f in sorted(os.listdir(self.dir)) if os.path.isdir(self.dir) else []:
            if f.endswith(suffix):
                with open(os.path.join(self.dir, f), errors="replace") as fh:
                    text = fh.read()
                out.append(f"===== {f}\n{text[-tail:] if tail else text}")
        return "\n".join(out)

    STOP_TIMEOUT = 30.0

    def stop_vigilds(self, timeout=None):
        """SIGCONT every process of every powered-on node (a test may have stopped some), then
        SIGTERM to each running vigild at once and wait for them (bounded); the ones that did
        not exit are listed in self.unstopped (close() kills them with their node)."""
        timeout = self.STOP_TIMEOUT if timeout is None else timeout
        running = []
        for h in self.hosts():
            if h.pid is None or not _pid_alive(h.pid):
                continue
            # nsenter stops itself when its child stops: continue both, or nobody reaps
            pids = list(h._machine_pids()) + [d.proc.pid for d in h.daemons
                                              if d.proc.poll() is None]
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            for d in h.daemons:
                if isinstance(d, Vigild) and d.alive():
                    pid = d.host_pid or d._find_pid()
                    if pid is None:
                        continue
                    try:
                        os.kill(pid, signal.SIGTERM)
                        running.append(d)
                    except ProcessLookupError:
                        pass
        deadline = time.monotonic() + timeout
        for d in running:
            try:
                d.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.unstopped.append(f"{d.node.name}: vigild did not exit within "
                                      f"{timeout:.0f}s of SIGTERM")
        return running

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self.stop_vigilds()
        except Exception as e:  # noqa: BLE001 - keep cleaning up
            self.unstopped.append(f"stopping vigild: {e!r}")
        for h in self.hosts():
            try:
                h.kill_holder()
            except Exception:  # noqa: BLE001 - keep cleaning up
                pass
        for h in self.hosts():
            _run(["ip", "netns", "del", h.netns], check=False)
        _run(["ip", "netns", "del", self.bridge_ns], check=False)
        self.sanitizer_reports = (read_sanitizer_dir(self.sanitizer_dir)
                                  + sanitizer_lines_in_logs(self.dir))
        _closed_reports.extend(self.sanitizer_reports)
        _closed_unstopped.extend(self.unstopped)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live_labs:
            _live_labs.remove(self)


def _close_all():
    for lab in list(_live_labs):
        lab.close()


atexit.register(_close_all)


def cluster_yaml(lab, resources="", name="test", extra=""):
    """A cluster.yaml for the lab's nodes (all servers) with the given `resources:` items.

    resources: YAML text of the list items, each starting with "  - name: ..."."""
    out = [f"cluster:\n  name: {name}\n", "nodes:\n"]
    for n in lab.nodes.values():
        out.append(f"  - {{name: {n.name}, address: {n.addr}, role: server}}\n")
    if resources.strip():
        out.append("resources:\n" + resources.rstrip("\n") + "\n")
    out.append(extra)
    return "".join(out)


def yaml_line_of(text, needle, nth=1):
    """1-based line number of the nth line of text containing needle."""
    seen = 0
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == nth:
                return i
    raise ValueError(f"{needle!r} not in text")


def cleanup_stale(tmp=None):
    """Remove what labs of dead processes left behind (their owner was SIGKILLed): kill the
    processes in their namespaces by PID, delete the namespaces and the lab directories.
    Returns the run ids cleaned."""
    tmp = tmp or tempfile.gettempdir()
    cleaned = []
    for d in sorted(os.listdir(tmp)):
        m = re.match(r"vigil-lab-([0-9a-f]{6})-", d)
        if not m:
            continue
        path = os.path.join(tmp, d)
        try:
            with open(os.path.join(path, "owner")) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        rid = m.group(1)
        names = _run(["ip", "netns", "list"], check=False).stdout.split("\n")
        for ns in [n.split()[0] for n in names if n.startswith(f"vgl{rid}-")]:
            for pid in _run(["ip", "netns", "pids", ns], check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(path, ignore_errors=True)
        cleaned.append(rid)
    return cleaned


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--cleanup-stale"]:
        for r in cleanup_stale():
            print(f"netlab: removed the leftovers of lab {r}")
    else:
        sys.exit("usage: netlab.py --cleanup-stale")
