"""A hung Corosync (SIGSTOP) cannot stall vigild (issue 8): the calls that wait for Corosync's
answer without a timeout (connecting and joining, reading the nodelist, leaving and finalizing)
are made by threads of vigild's membership, never on its loop.

- vigild (re)started while its node's Corosync is stopped answers `vigil status` at once,
  showing the node not connected (no quorum, no leader); once Corosync is continued it
  connects, joins and the cluster is whole again;
- vigild told to stop while its node's Corosync is stopped exits within a bound (the leave
  that Corosync does not answer is waited for a bounded time only).

Run alone: VIGIL_BUILD_DIR=$PWD/build /usr/bin/python3 -m pytest -q -p no:cacheprovider \\
    tests/integration/test_corosync_hang.py

Must not: leave anything stopped or running (every process is signalled by PID and continued
in a finally; the cluster_lab fixture closes the lab), or wait without a bound.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
import faults  # noqa: E402
from clusterlab import nodes_online, wait_status  # noqa: E402
from netlab import LabError, VigilError  # noqa: E402

NAMES = ["n1", "n2", "n3"]
START_S = 60
ANSWER_S = 5.0  # vigild started beside a stopped Corosync -> `vigil status` answered (generous)
STOP_S = 20.0  # SIGTERM with a stopped Corosync -> vigild exited (LEAVE_WAIT_MS is 2 s)
WHOLE_S = 60


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


def whole(st):
    return (st["cluster"].get("quorate") is True and st["cluster"].get("leader") is not None
            and nodes_online(st, NAMES))


def status_within(node, bound):
    """`vigil status --json` on node, answered within bound seconds of now (retried while the
    control socket is not there yet); AssertionError if it was not."""
    t0 = time.monotonic()
    last = None
    while True:
        left = t0 + bound - time.monotonic()
        if left <= 0:
            raise AssertionError(f"vigil status on {node.name} did not answer within {bound}s: "
                                 f"{last}")
        try:
            return cl.status(node, timeout=max(0.2, left)), time.monotonic() - t0
        except (VigilError, LabError, subprocess.TimeoutExpired) as e:
            last = e
            time.sleep(0.1)


class StoppedCorosync:
    """SIGSTOP of a node's Corosync, by PID; SIGCONT (and its nsenter, see faults._cont) on
    exit, whatever happened."""

    def __init__(self, cluster, name):
        self.daemon = cluster.corosync[name]
        self.pid = self.daemon.wait_pid()

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        faults._cont(self.daemon, self.pid)


def test_vigild_started_beside_a_hung_corosync_answers_then_joins(lab3):
    lab = lab3
    c = cl.start(lab)
    nodes = c.nodes()
    wait_status(nodes, whole, START_S, "the cluster whole")
    n3 = lab.nodes["n3"]

    assert c.stop_vigild("n3") == 0, c.vigild["n3"].log()[-3000:]
    with StoppedCorosync(c, "n3"):
        d = c.start_vigild("n3")
        st, took = status_within(n3, ANSWER_S)
        print(f"vigil status answered {took:.2f}s after vigild started beside a stopped "
              f"Corosync: {st['cluster']}")
        assert st["cluster"]["quorate"] is False and st["cluster"]["leader"] is None, st
        # and it keeps answering while Corosync stays stopped
        time.sleep(2.5)
        st, took = status_within(n3, ANSWER_S)
        assert st["cluster"]["quorate"] is False and st["cluster"]["leader"] is None, st
        assert d.alive()
        assert "has not answered the connection" in d.log(), d.log()[-3000:]
    # Corosync goes on: the attempt that waited gets its answer, n3 joins, the cluster heals
    wait_status(nodes, whole, WHOLE_S, "the cluster whole again after SIGCONT",
                agree=lambda st: st["cluster"]["leader"])
    assert "connected to corosync as node 3" in c.vigild["n3"].log()


def test_vigild_stops_beside_a_hung_corosync(lab3):
    lab = lab3
    c = cl.start(lab)
    nodes = c.nodes()
    wait_status(nodes, whole, START_S, "the cluster whole")
    d = c.vigild["n3"]
    with StoppedCorosync(c, "n3"):
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"vigild on n3 did not exit within {STOP_S}s of SIGTERM with "
                                 f"its Corosync stopped:\n{d.log()[-3000:]}") from None
        print(f"vigild exited {time.monotonic() - t0:.2f}s after SIGTERM (rc {rc})")
    # n3 back: vigild started again beside its continued Corosync; the cluster heals
    c.start_vigild("n3")
    c.wait_answering(["n3"])
    wait_status(nodes, whole, WHOLE_S, "the cluster whole again",
                agree=lambda st: st["cluster"]["leader"])
