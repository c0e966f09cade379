"""Integration: the replicated history is identified, not just counted.

Two servers with two_node (no fencing) are cut apart: both halves keep quorum, and each
commits (and acknowledges) a change of its own. When they meet again their histories have
diverged; every server continues with the same one (vigild's merge rule, history.h), and
what the other side committed is recorded as lost in `vigil events` (history_diverged),
never silently: both servers end with the same state and the same events.
"""
import json
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import clusterlab as cl  # noqa: E402
from clusterlab import node_state, status, wait_status  # noqa: E402
from netlab import wait_until  # noqa: E402

START_S = 60
SETTLE_S = 30
NAMES = ["n1", "n2"]


@pytest.fixture
def lab2(request):
    yield from cl.cluster_lab(request, NAMES)


def vigil_json(node, *args):
    p = cl.vigil(node, *args, "--json")
    assert p.returncode == 0, (node.name, args, p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout)


def version(node):
    """(epoch, version, history id) of node's state."""
    o = vigil_json(node, "config", "show")
    return o["epoch"], o["version"], o["history"]


def test_two_node_split_commits_are_reconciled_and_reported(lab2):
    cl.start(lab2)
    n1, n2 = (lab2.nodes[n] for n in NAMES)
    wait_status([n1, n2], lambda st: st["cluster"].get("quorate") is True
                and all(node_state(st, n) == "online" for n in NAMES), START_S,
                "both servers online")
    wait_until(lambda: version(n1) == version(n2), SETTLE_S, 0.2, "the same state")
    cl.partition(lab2, [["n1"], ["n2"]])
    for me, other in ((n1, "n2"), (n2, "n1")):
        wait_until(lambda me=me, other=other: node_state(status(me), other) != "online"
                   and status(me)["cluster"].get("quorate") is True, SETTLE_S, 0.2,
                   f"{me.name} alone and quorate (two_node)")
    # each half commits a change of its own and tells its client so
    for me, target in ((n1, "n1"), (n2, "n2")):
        deadline = time.monotonic() + SETTLE_S
        while True:
            p = cl.vigil(me, "node", "maintenance", target)
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)  # catching up after the membership change
        assert p.returncode == 0, (me.name, p.returncode, p.stdout, p.stderr)
    v1, v2 = version(n1), version(n2)
    print(f"apart: n1 at {v1}, n2 at {v2}")
    assert v1[2] != v2[2], (v1, v2)  # two histories, whatever their counts
    cl.heal(lab2)
    wait_status([n1, n2], lambda st: all(node_state(st, n) != "offline" for n in NAMES)
                and st["cluster"].get("quorate") is True, START_S, "together again")
    # one history on both, and the lost side's changes named in the events of both
    def reconciled():
        if version(n1) != version(n2):
            return False
        e1 = vigil_json(n1, "events")["events"]
        e2 = vigil_json(n2, "events")["events"]
        return e1 == e2 and any(e["kind"] == "history_diverged" for e in e1)
    wait_until(reconciled, SETTLE_S, 0.3, "one history, the lost changes reported")
    lost = [e["text"] for e in vigil_json(n1, "events")["events"]
            if e["kind"] == "history_diverged"]
    print("history_diverged:", lost)
    assert len(lost) == 1, lost
    text = lost[0]
    # the rule: the higher (epoch, version), then (equal previous views) the lowest node id
    m = re.match(r"(n\d)'s history \(epoch (\d+), version (\d+), id \w+\) diverged from "
                 r"(n\d)'s \(epoch (\d+), version (\d+),", text)
    assert m, text
    loser, winner = m.group(1), m.group(4)
    lost_v = (int(m.group(2)), int(m.group(3)))
    kept_v = (int(m.group(5)), int(m.group(6)))
    assert {loser, winner} == set(NAMES), text
    assert kept_v > lost_v or (kept_v == lost_v and winner == "n1"), text
    assert "node_admin" in text, text
    # the loser's maintenance flag is gone, the winner's kept, on both servers
    for n in (n1, n2):
        st = status(n)
        assert node_state(st, winner) == "maintenance", (n.name, st["nodes"])
        assert node_state(st, loser) != "maintenance", (n.name, st["nodes"])


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, ["n1", "n2", "n3"])


def test_minority_never_acknowledges_a_change(lab3):
    """A change sent by a server just cut off from the majority (it still thinks it is quorate;
    Corosync has not noticed yet) is delivered only on its own side: the client is never told
    it was applied, and it is not part of the cluster's history afterwards."""
    names = ["n1", "n2", "n3"]
    cl.start(lab3)
    n1, n2, n3 = (lab3.nodes[n] for n in names)
    wait_status([n1, n2, n3], lambda st: st["cluster"].get("quorate") is True
                and all(node_state(st, n) == "online" for n in names), START_S,
                "three servers online")
    wait_until(lambda: version(n1) == version(n2) == version(n3), SETTLE_S, 0.2,
               "the same state")
    assert status(n3)["cluster"].get("quorate") is True
    cl.partition(lab3, [["n1", "n2"], ["n3"]])
    p = cl.vigil(n3, "node", "maintenance", "n3")  # at once: n3 still counts itself quorate
    print("minority change:", p.returncode, p.stdout.strip(), p.stderr.strip())
    assert p.returncode != 0, (p.returncode, p.stdout, p.stderr)
    assert "quorum" in (p.stdout + p.stderr), (p.stdout, p.stderr)
    wait_until(lambda: status(n3)["cluster"].get("quorate") is False, SETTLE_S, 0.2,
               "n3 to lose quorum")
    cl.heal(lab3)
    wait_status([n1, n2, n3], lambda st: st["cluster"].get("quorate") is True
                and all(node_state(st, n) == "online" for n in names), START_S,
                "together again")
    wait_until(lambda: version(n1) == version(n2) == version(n3), SETTLE_S, 0.2,
               "one state")
    for n in (n1, n2, n3):
        assert node_state(status(n), "n3") != "maintenance", n.name


def test_large_state_goes_in_chunks(lab3):
    """A state over 512 KiB (here a committed configuration with a long comment) reaches a
    server that was away in chunks, reassembled and verified: it ends at the same state."""
    names = ["n1", "n2", "n3"]
    cl.start(lab3)
    n1, n2, n3 = (lab3.nodes[n] for n in names)
    wait_status([n1, n2, n3], lambda st: st["cluster"].get("quorate") is True
                and all(node_state(st, n) == "online" for n in names), START_S,
                "three servers online")
    lab3.cluster.stop_vigild("n3")
    wait_until(lambda: node_state(status(n1), "n3") != "online", SETTLE_S, 0.2,
               "n3's vigild gone")
    comment = "".join(f"# {i:07d} {'x' * 60}\n" for i in range(12000))  # ~830 KB
    n1.write("/etc/vigil/big.yaml",
             comment + cl.web_cluster_yaml(lab3, options={"stickiness": 100}))
    p = cl.vigil(n1, "apply", "/etc/vigil/big.yaml", timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert "stickiness" in p.stdout, p.stdout  # committed, not an empty change
    lab3.cluster.start_vigild("n3")
    wait_until(lambda: version(n3) == version(n1) and
               vigil_json(n3, "config", "show")["yaml"].startswith("# 0000000"),
               START_S, 0.3, "n3 to receive the large state")
    logs = lab3.cluster.logs(tail=None)
    assert "sent the cluster state in 2 chunks" in logs, logs[-3000:]
    assert "dropped a state transfer" not in logs
