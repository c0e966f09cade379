"""Two servers with a real corosync-qnetd arbiter (cluster.qnetd): each server runs its own
corosync and corosync-qdevice, a third host runs corosync-qnetd, and the TLS between them is set
up with Corosync's own certutil tools, as an operator would.

What it shows:
- `vigil corosync-conf` writes quorum.device (model net) instead of two_node, and the real
  Corosync counts the arbiter's vote (3 expected votes);
- a partition of the two servers (both still reach the arbiter) leaves exactly one side
  quorate: the other stops its resources, is fenced by the winner (no fence race: the winner
  does not wait fence_delay, the loser fences nobody) and the VIP group runs on the winner,
  never on two nodes at once;
- the crash of one server: the survivor keeps quorum through the arbiter's vote, fences the
  crashed node and runs the group.

Must not: leave processes or namespaces behind (all run inside the lab's nodes, closed by the
fixture), or wait without a bound.
"""
import os
import shutil
import signal
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
import corolab  # noqa: E402
import netlab  # noqa: E402
from clusterlab import node_state, running_on, wait_status  # noqa: E402
from netlab import LabError, wait_until  # noqa: E402
from pdu import Pdu  # noqa: E402

SERVERS = ["n1", "n2"]
START_S = 90
FENCED_FAILOVER_S = 45
QNETD_DB = "/etc/corosync/qnetd/nssdb"
QDEVICE_DB = "/etc/corosync/qdevice/net/nssdb"


@pytest.fixture
def labq(request):
    yield from cl.cluster_lab(request, SERVERS + ["q"])


def _copy(src_node, src, dst_node, dst):
    shutil.copyfile(src_node.path(src), dst_node.path(dst))


def setup_tls(lab, cluster):
    """The certificate exchange of corosync-qnetd-certutil(8) / corosync-qdevice-net-certutil(8):
    a CA on the qnetd host, a client certificate signed for the cluster, shared by both servers."""
    q, n1, n2 = lab.nodes["q"], lab.nodes["n1"], lab.nodes["n2"]
    q.run(["corosync-qnetd-certutil", "-i"])
    for n in (n1, n2):
        _copy(q, f"{QNETD_DB}/qnetd-cacert.crt", n, "/etc/corosync/qnetd-cacert.crt")
        n.run(["corosync-qdevice-net-certutil", "-i", "-c", "/etc/corosync/qnetd-cacert.crt"])
    n1.run(["corosync-qdevice-net-certutil", "-r", "-n", cluster])
    _copy(n1, f"{QDEVICE_DB}/qdevice-net-node.crq", q, "/etc/corosync/qdevice-net-node.crq")
    q.run(["corosync-qnetd-certutil", "-s", "-c", "/etc/corosync/qdevice-net-node.crq",
           "-n", cluster])
    _copy(q, f"{QNETD_DB}/cluster-{cluster}.crt", n1, f"/etc/corosync/cluster-{cluster}.crt")
    n1.run(["corosync-qdevice-net-certutil", "-M", "-c", f"/etc/corosync/cluster-{cluster}.crt"])
    _copy(n1, f"{QDEVICE_DB}/qdevice-net-node.p12", n2, "/etc/corosync/qdevice-net-node.p12")
    n2.run(["corosync-qdevice-net-certutil", "-m", "-c", "/etc/corosync/qdevice-net-node.p12"])


class Daemon:
    """A foreground daemon on a node, its output in LAB/NODE-NAME.log."""

    def __init__(self, node, name, cmd):
        self.log_path = os.path.join(node.lab.dir, f"{node.name}-{name}.log")
        self._log = open(self.log_path, "ab")
        self.proc = node.popen(cmd, stdout=self._log, stderr=self._log)
        node.daemons.append(self)  # netlab waits for .proc when it kills the holder

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def host_pid(self, comm):
        """The machine's PID of the daemon itself (nsenter forks it into the node)."""
        return wait_until(lambda: next((c for c in netlab._descendants(self.proc.pid)
                                        if netlab._comm(c) == comm), None), 10, 0.01,
                          f"{comm}'s pid")

    def signal_all(self, comm, sig):
        """sig to the daemon and to the nsenter that started it (nsenter stops itself when its
        child stops, and both must go on again, see faults._cont)."""
        for pid in (self.host_pid(comm), self.proc.pid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def quorumtool(node):
    return node.run(["corosync-quorumtool", "-s"], check=False).stdout


def votes_with_qdevice(node):
    """corosync-quorumtool says the arbiter's vote is counted (3 votes, Qdevice flagged)."""
    out = quorumtool(node)
    return "Qdevice" in out and "Total votes:      3" in out and "Quorate:          Yes" in out


def start_qdevice(lab, name):
    """corosync-qdevice on a server, once its Corosync answers (qdevice exits otherwise)."""
    node = lab.nodes[name]
    wait_until(lambda: node.run(["corosync-cmapctl", "totem.cluster_name"],
                                check=False).returncode == 0, 30, 0.1,
               f"{name}'s Corosync to answer")
    d = Daemon(node, "qdevice", ["corosync-qdevice", "-f"])
    lab.qdevices[name] = d
    return d


def wait_qdevice_vote(lab, name, what, timeout=60):
    try:
        wait_until(lambda: votes_with_qdevice(lab.nodes[name]), timeout, 0.2, what)
    except (LabError, AssertionError):
        print(quorumtool(lab.nodes[name]), lab.qnetd.log(),
              *(d.log() for d in lab.qdevices.values()))
        raise


def vigild_log(lab, name):
    """Everything the node's vigild wrote in this lab (each run's LAB/NODE-vigild-K.log)."""
    return "".join(netlab.read_text(os.path.join(lab.dir, f)) for f in sorted(os.listdir(lab.dir))
                   if f.startswith(f"{name}-vigild-") and f.endswith(".log"))


def group_on(node_name):
    def pred(st):
        return (st["cluster"]["quorate"] is True and running_on(st, "web") == [node_name]
                == running_on(st, "vip") and cl.resource(st, "vip")["state"] == "running")
    return pred


def test_two_servers_with_a_qnetd_arbiter(labq):
    lab = labq
    q = lab.nodes["q"]
    lab.qdevices = {}
    with Pdu(lab) as pdu:
        yaml_text = cl.web_cluster_yaml(
            lab, SERVERS, options={"qnetd": f"{{host: {q.addr}}}", "stickiness": 100,
                                   "fence_delay": "3s"},
            constraints="  - location: {resource: frontend, node: n2, score: 50}\n",
            fence_devices=pdu.device_yaml(targets=SERVERS))
        c = cl.start(lab, SERVERS, yaml_text=yaml_text, vigild=False)
        conf = open(lab.nodes["n1"].path(corolab.COROSYNC_CONF)).read()
        assert "\t\tmodel: net\n" in conf and f"\t\t\thost: {q.addr}\n" in conf, conf
        assert "two_node" not in conf, conf
        setup_tls(lab, "test")
        qnetd = Daemon(q, "qnetd", ["corosync-qnetd", "-f"])
        for n in SERVERS:
            start_qdevice(lab, n)
        lab.qnetd = qnetd
        for n in SERVERS:
            wait_qdevice_vote(lab, n, f"{n}'s votequorum counting qnetd's vote")
        for n in SERVERS:
            c.start_vigild(n)
        c.wait_answering(SERVERS)
        nodes = [lab.nodes[n] for n in SERVERS]
        wait_status(nodes, group_on("n2"), START_S, "the group on n2 (its location)")
        vip = cl.vip_addr(lab)

        with cl.VipSampler(lab, vip) as sampler, cl.ClientPoller(lab, vip) as poller:
            poller.wait_answer(15)
            # (a) cut n1 from n2; both reach qnetd, which gives its vote to one side only
            # (equal halves: the lowest node id, n1). n2, which holds the group, loses quorum
            # and stops it; n1 fences n2 at once and then runs the group. qnetd is stopped
            # for 3 s across the cut, so votequorum on both sides waits for qdevice's answer
            # (Corosync serves only votequorum's IPC meanwhile): a slow arbiter, not a hung
            # Corosync, and n1's lease must not halt it.
            qnetd.signal_all("corosync-qnetd", signal.SIGSTOP)
            try:
                t0 = time.monotonic()
                cl.partition(lab, [["n1"], ["n2"]])
                time.sleep(3.0)
            finally:
                qnetd.signal_all("corosync-qnetd", signal.SIGCONT)
            wait_until(lambda: not cl.live(lab.nodes["n2"]), FENCED_FAILOVER_S, 0.05,
                       "n2 (the side without qnetd's vote) to be fenced by n1")
            fenced_after = time.monotonic() - t0
            off = [(a, n, t) for a, n, t in pdu.requests if a in ("off", "reboot")]
            assert [n for _, n, _ in off] == ["n2"], pdu.requests
            _, who = poller.wait_answer(FENCED_FAILOVER_S, since=t0, exclude=("n2",))
            assert who == "n1"
            held = sampler.first_holder_after(t0, exclude=("n2",))
            assert held and held[0] >= off[0][2], (held, off, sampler.history(t0))
            wait_status([lab.nodes["n1"]], lambda st: group_on("n1")(st)
                        and node_state(st, "n2") in ("fenced", "offline"), 30,
                        "n1 running the group, n2 fenced")
            # no fence race: n1 ran less than n2, yet did not wait fence_delay (3 s): only one
            # side is quorate, so only one side fences
            print(f"qnetd partition: n2 fenced {fenced_after:.3f}s after the cut")
            assert "waiting fence_delay" not in c.logs(), "n1 waited fence_delay"
            time.sleep(4.0)  # past fence_delay: n1 is still there, nobody fenced it
            assert cl.live(lab.nodes["n1"]), pdu.requests
            assert [n for a, n, _ in pdu.requests if a in ("off", "reboot")] == ["n2"]
            # the survivor's Corosync answered throughout (votequorum waited for qdevice's
            # poll after the cut, but that is no hang): its lease never halted it
            assert "lease expired" not in vigild_log(lab, "n1"), vigild_log(lab, "n1")[-6000:]

            # (b) n2 comes back (the cut healed) and rejoins; it takes nothing back
            cl.heal(lab)
            c.restart("n2", vigild=False)
            start_qdevice(lab, "n2")
            wait_qdevice_vote(lab, "n2", "n2 back with qnetd's vote")
            c.start_vigild("n2")
            c.wait_answering(["n2"])
            wait_status(nodes, lambda st: group_on("n1")(st) and node_state(st, "n2")
                        == "online", 60, "n2 online, the group still on n1", agree=None)

            # (c) n1 crashes: n2 alone keeps quorum through qnetd's vote (no two_node), fences
            # n1 and runs the group
            mark = len(pdu.requests)
            t1 = time.monotonic()
            cl.crash(lab.nodes["n1"])
            _, who = poller.wait_answer(FENCED_FAILOVER_S, since=t1, exclude=("n1",))
            assert who == "n2"
            assert [n for a, n, _ in pdu.requests[mark:] if a in ("off", "reboot")] == ["n1"]
            st = wait_status([lab.nodes["n2"]], group_on("n2"), 30, "n2 running the group")
            assert st["n2"]["cluster"]["quorate"] is True
            out = quorumtool(lab.nodes["n2"])
            assert "Quorate:          Yes" in out and "Qdevice" in out, out
        sampler.assert_never_two()
        assert pdu.errors == []
