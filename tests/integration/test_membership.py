"""The membership module (src/cluster/membership.c) against three real Corosyncs: vigil-member-probe
runs it on each node and prints every event as a JSON line. All probes see the same quorate
3-member group; messages multicast concurrently from every node arrive everywhere in one
agreed order; a crashed node leaves the other two with the same 2-member quorate ring; a probe
whose Corosync is SIGKILLed reports the loss and reconnects when Corosync is back.

Must not: leave probes, Corosyncs, holders or namespaces behind (the lab is closed also on
failure, and the probes run inside the nodes and die with them), wait without a bound.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corolab  # noqa: E402
import netlab  # noqa: E402
from conftest import sanitizer_reports  # noqa: E402

PROBE = os.environ.get("VIGIL_MEMBER_PROBE", os.path.join(netlab.BUILD_DIR, "vigil-member-probe"))
GROUP = "vigil-test"
NAMES = ["n1", "n2", "n3"]
IDS = {"n1": 1, "n2": 2, "n3": 3}


class Probe:
    """vigil-member-probe on one node; events are read by a thread into self.events."""

    def __init__(self, node):
        self.node = node
        self.log_path = os.path.join(node.lab.dir, f"{node.name}-probe.log")
        self._log = open(self.log_path, "ab")
        self.proc = node.popen([PROBE, GROUP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=self._log)
        node.daemons.append(self)  # netlab waits for it when the node goes down
        self.events = []
        self.bad_lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                with self._lock:
                    self.bad_lines.append(line)
                continue
            with self._lock:
                self.events.append(ev)

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def send(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()

    def memberships(self, since=0):
        return [e for e in self.snapshot()[since:] if e["event"] == "membership"]

    def messages(self):
        return [(e["from"], e["data"]) for e in self.snapshot() if e["event"] == "message"]

    def wait_event(self, pred, timeout, what, since=0):
        def found():
            if self.proc.poll() is not None:
                raise netlab.LabError(f"probe on {self.node.name} exited with "
                                      f"{self.proc.returncode}:\n{self.log()}")
            for e in self.snapshot()[since:]:
                if pred(e):
                    return e
            return None
        try:
            return netlab.wait_until(found, timeout, 0.02, f"{what} on {self.node.name}")
        except AssertionError as e:
            raise AssertionError(f"{e}\nevents: {self.snapshot()[since:]}\n"
                                 f"log: {self.log()[-3000:]}") from None

    def stop(self, timeout=15):
        """SIGTERM (the probe frees everything and exits 0); returns the exit code."""
        if self.proc.poll() is None:
            pid = None
            for c in netlab._descendants(self.proc.pid):
                if netlab._comm(c) == "vigil-member-pr":
                    pid = c
            if pid:
                os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        self.close()
        return self.proc.returncode

    def close(self):
        for f in (self.proc.stdin, self._log):
            try:
                f.close()
            except (OSError, ValueError):
                pass

    def log(self):
        return netlab.read_text(self.log_path)


def _close_probes(lab):
    for p in getattr(lab, "probes", []):
        p.close()


@pytest.fixture
def lab3(request):
    for lab in corolab.server_lab(request, NAMES, extra_logs=("-probe.log",),
                                  after_close=_close_probes):
        lab.probes = []
        yield lab


def _is_members(ids, quorate=True):
    return lambda e: (e["event"] == "membership" and e["members"] == ids
                      and e["quorate"] == quorate)


def test_membership_order_crash_reconnect(lab3):
    assert os.access(PROBE, os.X_OK), f"{PROBE} is not built"
    cs = corolab.start_cluster(lab3)
    nodes = {n: lab3.node(n) for n in NAMES}
    probes = {n: Probe(nodes[n]) for n in NAMES}
    lab3.probes.extend(probes.values())

    # (1) the same quorate 3-member group everywhere, each probe knowing its own node id
    for n, p in probes.items():
        p.wait_event(lambda e: e["event"] == "connected", 20, "connected")
        ev = p.wait_event(_is_members([1, 2, 3]), 30, "3-member quorate membership")
        assert ev["local"] == IDS[n], ev
    rings = {p.memberships()[-1]["ring_id"] for p in probes.values()}
    assert len(rings) == 1, [p.memberships() for p in probes.values()]

    # (2) 20 messages from every node at once: all 60 arrive everywhere in one order
    def burst(n):
        for i in range(20):
            probes[n].send(f"{n}-{i}")
    threads = [threading.Thread(target=burst, args=(n,)) for n in NAMES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for p in probes.values():
        netlab.wait_until(lambda: len(p.messages()) >= 60, 20, 0.02,
                          f"60 messages on {p.node.name}")
    seqs = {n: p.messages() for n, p in probes.items()}
    for n, s in seqs.items():
        assert len(s) == 60, (n, s)
        assert s == seqs["n1"], f"{n} saw another order:\n{s}\nn1:\n{seqs['n1']}"
        # each sender's own messages keep their order, and come from the right node
        for src in NAMES:
            mine = [d for f, d in s if d.startswith(src + "-")]
            assert mine == [f"{src}-{i}" for i in range(20)], (n, src, mine)
            assert all(f == IDS[src] for f, d in s if d.startswith(src + "-")), s
    assert not any(e["event"] == "send_failed" for p in probes.values() for e in p.snapshot())

    # (4) SIGKILL n3's Corosync under its probe: it reports the loss, then reconnects to a new
    # Corosync and sees the 3-member group again (the others see it leave and come back)
    p3 = probes["n3"]
    mark = len(p3.snapshot())
    marks = {n: len(probes[n].snapshot()) for n in ("n1", "n2")}
    os.kill(cs["n3"].wait_pid(), signal.SIGKILL)
    cs["n3"].proc.wait(10)
    cs["n3"].close_log()
    p3.wait_event(lambda e: e["event"] == "disconnected", 10, "disconnected", since=mark)
    for n in ("n1", "n2"):
        ev = probes[n].wait_event(_is_members([1, 2]), 20,
                                  "2-member membership after n3's corosync", since=marks[n])
        assert ev["ring_id"] > max(rings), ev
    time.sleep(1.0)  # the probe keeps retrying while Corosync is down
    assert p3.proc.poll() is None
    mark = len(p3.snapshot())
    cs["n3"] = corolab.Corosync(nodes["n3"])
    cs["n3"].wait_pid()
    p3.wait_event(lambda e: e["event"] == "connected", 20, "reconnected", since=mark)
    back = p3.wait_event(_is_members([1, 2, 3]), 30, "3-member membership after reconnect",
                         since=mark)
    for n in ("n1", "n2"):
        probes[n].wait_event(_is_members([1, 2, 3]), 30, "n3 back in the group",
                             since=marks[n])
    # messages still flow after the reconnect
    p3.send("after-reconnect")
    for p in probes.values():
        p.wait_event(lambda e: e["event"] == "message" and e["data"] == "after-reconnect"
                     and e["from"] == 3, 10, "message after reconnect")

    # (3) crash n2: n1 and n3 report a 2-member quorate group on one and the same ring
    marks = {n: len(probes[n].snapshot()) for n in ("n1", "n3")}
    nodes["n2"].crash()
    evs = {n: probes[n].wait_event(_is_members([1, 3]), 30, "2-member quorate membership",
                                   since=marks[n]) for n in ("n1", "n3")}
    assert evs["n1"]["ring_id"] == evs["n3"]["ring_id"], evs
    # the ring is the new one, not the ring of the 3-member group it replaces
    assert evs["n1"]["ring_id"] > back["ring_id"], (evs, back)

    # clean exit, nothing for the sanitizers to report
    for n in ("n1", "n3"):
        assert probes[n].stop() == 0, probes[n].log()
    for n, p in probes.items():
        assert not p.bad_lines, (n, p.bad_lines)
        reports = sanitizer_reports(p.log())
        assert not reports, (n, reports, p.log()[-5000:])
    for n in ("n1", "n3"):
        assert cs[n].stop() == 0, cs[n].log()[-3000:]
