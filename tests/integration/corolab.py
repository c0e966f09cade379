"""corolab - real Corosync on the nodes of a netlab LAN, for vigil's cluster tests.

Owns: giving each server node the corosync.conf and authkey that `vigil corosync-conf` makes
from the cluster's YAML (run on the node itself, as an operator would), a private /dev/shm per
node, running `corosync -f` there, and reading membership and quorum back with
`corosync-quorumtool` and `corosync-cmapctl` (run inside the node: Corosync's IPC is private to
the node's network and mount namespaces).

Why a private /dev/shm: Corosync keeps an 8 MiB blackbox in /dev/shm named after its PID
(qb-corosync-PID-blackbox-*). Inside the nodes' PID namespaces every Corosync gets the same small
PID, so with the machine's shared /dev/shm the nodes would write one blackbox together and a
SIGKILLed Corosync would leave its files behind. A tmpfs mounted in the node's own mount
namespace is freed by the kernel when the node's last process dies, crash or not.

Must not: touch the machine's /dev/shm, interfaces or addresses; leave processes behind (every
Corosync runs inside a netlab holder and dies with it; stop() ends one by its PID); wait without
a bound (every wait goes through netlab.wait_until).
"""

import os
import re
import signal
import subprocess
import time

import netlab
from netlab import LabError, wait_until

CLUSTER_YAML = "/etc/vigil/cluster.yaml"
CLUSTER_KEY = "/etc/vigil/authkey"
COROSYNC_CONF = "/etc/corosync/corosync.conf"
COROSYNC_AUTHKEY = "/etc/corosync/authkey"


def cluster_yaml(lab, names=None, name="test", token=None, key_file=CLUSTER_KEY):
    """cluster.yaml naming the lab's nodes (or those in names) as servers."""
    nodes = [lab.nodes[n] for n in (names or lab.node_names)]
    out = [f"cluster:\n  name: {name}\n  key_file: {key_file}\n"]
    if token is not None:
        out.append(f"  token: {token}\n")
    out.append("nodes:\n")
    for n in nodes:
        out.append(f"  - {{name: {n.name}, address: {n.addr}, role: server}}\n")
    return "".join(out)


def keygen(lab, name="authkey"):
    """A new cluster key made by `vigil keygen`, in the lab's directory; returns its path."""
    path = os.path.join(lab.dir, name)
    netlab._run([netlab.VIGIL, "keygen", path])
    return path


def install(node, yaml_text, key_path):
    """Put cluster.yaml and the cluster key on node, then run `vigil corosync-conf` there to
    write /etc/corosync/corosync.conf and /etc/corosync/authkey. Returns the conf text."""
    node.write(CLUSTER_YAML, yaml_text)
    with open(key_path, "rb") as f:
        key = f.read()
    hp = node.path(CLUSTER_KEY)
    if os.path.exists(hp):
        os.unlink(hp)
    fd = os.open(hp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    p = node.run([netlab.VIGIL, "corosync-conf", "-c", CLUSTER_YAML, "-n", node.name,
                  "--authkey", COROSYNC_AUTHKEY], check=False,
                 env=dict(os.environ, OCF_ROOT=node.lab.ocf_root))
    if p.returncode != 0:
        raise LabError(f"vigil corosync-conf on {node.name} -> {p.returncode}\n"
                       f"stdout: {p.stdout}\nstderr: {p.stderr}")
    node.write(COROSYNC_CONF, p.stdout)
    return p.stdout


def private_shm(node):
    """Mount a tmpfs over /dev/shm in the node's mount namespace (see the module comment)."""
    node.run(["mount", "-t", "tmpfs", "-o", "mode=1777,size=64m", "tmpfs", "/dev/shm"])


class Corosync:
    """`corosync -f` on one node; output goes to LAB/NODE-corosync.log."""

    def __init__(self, node):
        self.node = node
        self.log_path = os.path.join(node.lab.dir, f"{node.name}-corosync.log")
        self._log = open(self.log_path, "ab")
        self.proc = node.popen(["corosync", "-f"], stdout=self._log, stderr=subprocess.STDOUT)
        # netlab waits for node.daemons' .proc when it kills the holder
        node.daemons.append(self)
        self.host_pid = None

    def wait_pid(self, timeout=10):
        """The machine's PID of corosync (nsenter forks it into the node's PID namespace)."""
        if self.host_pid is None:
            def found():
                if self.proc.poll() is not None:
                    raise LabError(f"corosync on {self.node.name} exited with "
                                   f"{self.proc.returncode}:\n{self.log()}")
                for c in netlab._descendants(self.proc.pid):
                    if netlab._comm(c) == "corosync":
                        return c
                return None
            self.host_pid = wait_until(found, timeout, 0.01, f"corosync's pid on {self.node.name}")
        return self.host_pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM to corosync itself and wait for it; returns nsenter's exit code."""
        if self.alive():
            try:
                os.kill(self.wait_pid(), signal.SIGTERM)
            except (ProcessLookupError, LabError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.close_log()
        return self.proc.returncode

    def close_log(self):
        if not self._log.closed:
            self._log.close()

    def log(self):
        return netlab.read_text(self.log_path)


def start_cluster(lab, names=None, token=None, key_path=None, keys=None):
    """Install conf and key on each named node (all by default) and start Corosync there.

    keys: optional {node name: key path} overriding key_path for some nodes.
    Returns {name: Corosync}."""
    names = list(names or lab.node_names)
    key_path = key_path or keygen(lab)
    text = cluster_yaml(lab, names, token=token)
    out = {}
    for n in names:
        node = lab.nodes[n]
        private_shm(node)
        install(node, text, (keys or {}).get(n, key_path))
    for n in names:
        out[n] = Corosync(lab.nodes[n])
    for c in out.values():
        c.wait_pid()
    return out


_MEMBER = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\S+)")


def quorum(node):
    """`corosync-quorumtool -s` on node, parsed: {quorate, expected, total, members{id: name},
    node_id, ring_id}; None when Corosync does not answer."""
    p = node.run(["corosync-quorumtool", "-s"], check=False, timeout=10)
    text = p.stdout
    if "Quorate:" not in text:
        return None
    q = {"members": {}, "raw": text}
    section = None
    for line in text.splitlines():
        if line.startswith("Membership information"):
            section = "members"
            continue
        if ":" in line and section != "members":
            k, _, v = line.partition(":")
            q[k.strip()] = v.strip()
        elif section == "members":
            m = _MEMBER.match(line)
            if m:
                q["members"][int(m.group(1))] = m.group(3)
    return {"quorate": q.get("Quorate") == "Yes",
            "expected": int(q.get("Expected votes", "0") or 0),
            "total": int(q.get("Total votes", "0") or 0),
            "node_id": int(q.get("Node ID", "0") or 0),
            "ring_id": q.get("Ring ID"),
            "members": q["members"],
            "raw": text}


def cmap(node, key):
    """The value of a cmap key on node (string), via corosync-cmapctl -g."""
    p = node.run(["corosync-cmapctl", "-g", key], check=False, timeout=10)
    if p.returncode != 0:
        return None
    return p.stdout.strip().rpartition(" = ")[2]


def wait_members(nodes, member_names, quorate=True, timeout=20, interval=0.05):
    """Wait until every node in nodes sees exactly member_names with the given quorum state;
    returns {node name: quorum()}."""
    want = sorted(member_names)

    def ok():
        seen = {}
        for n in nodes:
            q = quorum(n)
            if q is None or sorted(q["members"].values()) != want or q["quorate"] != quorate:
                return None
            seen[n.name] = q
        return seen
    try:
        return wait_until(ok, timeout, interval,
                          f"{[n.name for n in nodes]} to see members {want} "
                          f"({'quorate' if quorate else 'not quorate'})")
    except AssertionError as e:
        last = "\n".join(f"--- {n.name}:\n{(quorum(n) or {}).get('raw', '(no answer)')}"
                         for n in nodes if netlab._pid_alive(n.pid))
        raise AssertionError(f"{e}\n{last}") from None


def server_lab(request, names, extra_logs=(), after_close=None):
    """A fixture body: a lab of server nodes (no client), closed after the test; on failure
    the Corosync logs (and the lab's logs ending in each of extra_logs) are printed.
    after_close(lab) runs once the lab is closed."""
    lab = netlab.Lab(nodes=names, client=False)
    lab.start()
    try:
        yield lab
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(logs(lab))
            for suffix in extra_logs:
                print(lab.logs(suffix, tail=4000))
        lab.close()
        if after_close:
            after_close(lab)


def logs(lab):
    """Every Corosync log of the lab, for a failed test's report."""
    return lab.logs("-corosync.log", tail=6000)


def now():
    return time.monotonic()
