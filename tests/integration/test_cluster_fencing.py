"""Issue 8, items 3 to 5, on real Corosync and vigild (clusterlab.py), three servers.

- Fencing records are ordered, not timed: a restarted vigild does not take the record of a
  node it has not seen since its start (kept in its state file) for fencing: the node is
  unclean there until fenced or confirmed down again.

- A clean stop is clean only when everything is stopped: a vigild stopped (SIGTERM) while a
  resource's stop fails (vigiltest:Hang, hanging in stop past its timeout, so it ends
  blocked) sends no goodbye: the others keep its node `unclean`, never `offline`.
- The watchdog deadline the others trust is the one the node armed: every node reports the
  device and the timeout it armed (a regular file stands in for the device: it is "fed" by
  a NUL byte written to it), shown in the others' `vigil status --json`; and a vigild that
  starts under running resources (adopted) and cannot become a member in step (its Corosync
  is down) does not arm or feed the watchdog until it has stopped them; a watchdog that
  cannot be armed still stops vigild (exit 1).

Must not: leave anything behind (the cluster_lab fixture cleans up also on failure), or wait
without a bound; time bounds are generous (the machine is shared), the checks exact.
"""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
from clusterlab import node_state, running_on, status, wait_status  # noqa: E402
from netlab import wait_until  # noqa: E402

NAMES = ["n1", "n2", "n3"]
START_S = 60
SETTLE_S = 30
WEB_PATTERN = r"webnode\.py"


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


def node_entry(st, name):
    return next(n for n in st["nodes"] if n["name"] == name)


def test_restarted_vigild_does_not_trust_an_old_record(lab3):
    cl.start(lab3, yaml_text=cl.cluster_yaml(lab3))
    n1, n2, n3 = (lab3.nodes[n] for n in NAMES)
    wait_status([n1, n2, n3], lambda st: st["cluster"].get("quorate") is True
                and all(node_state(st, n) == "online" for n in NAMES), START_S, "online")
    cl.crash(n3)
    wait_status([n1, n2], lambda st: node_state(st, "n3") == "unclean", SETTLE_S,
                "n3 unclean")
    p = cl.vigil(n1, "node", "confirm-down", "n3")
    assert p.returncode == 0, (p.stdout, p.stderr)
    wait_status([n1, n2], lambda st: node_state(st, "n3") == "fenced", SETTLE_S, "n3 fenced")
    # the coordinator's vigild restarts: its state file has the record, but it has not seen
    # n3 since its start
    assert lab3.cluster.stop_vigild("n1") == 0
    d = lab3.cluster.start_vigild("n1")
    lab3.cluster.wait_answering(["n1"])
    st = wait_status([n1], lambda st: st["cluster"].get("synced") is True
                     and st["cluster"].get("leader") == "n1"
                     and node_state(st, "n2") == "online"
                     and node_state(st, "n3") in ("unclean", "fenced"), SETTLE_S,
                     "n1 back in step")["n1"]
    assert node_state(st, "n3") == "unclean", node_entry(st, "n3")
    assert "not seen since start-up" in node_entry(st, "n3")["reason"], node_entry(st, "n3")
    # n2, which saw n3 go and the record come after, still counts it fenced
    assert node_state(status(n2), "n3") == "fenced"
    # confirmed down again (after this start): fenced for n1 too
    p = cl.vigil(n1, "node", "confirm-down", "n3")
    assert p.returncode == 0, (p.stdout, p.stderr)
    wait_status([n1, n2], lambda st: node_state(st, "n3") == "fenced", SETTLE_S,
                "n3 fenced again", agree=lambda st: node_state(st, "n3"))
    assert d.alive()


def test_shutdown_with_a_blocked_resource_says_no_goodbye(lab3):
    hang = ("  - name: stuck\n    type: ocf:vigiltest:Hang\n"
            "    params: {dir: /var/lib/vigil/hang, hang_on: stop}\n"
            "    ops: {monitor: {interval: 1s, timeout: 10s}, stop: {timeout: 2s}}\n")
    for n in lab3.nodes.values():
        n.write("/var/lib/vigil/hang/.keep", "")
    text = cl.cluster_yaml(lab3, resources=hang,
                           constraints="  - location: {resource: stuck, node: n3, score: 100}\n")
    cl.start(lab3, yaml_text=text)
    wait_status(lab3.nodes.values(),
                lambda st: st["cluster"].get("quorate") is True
                and all(node_state(st, n) == "online" for n in NAMES)
                and running_on(st, "stuck") == ["n3"], START_S, "stuck running on n3")
    rc = lab3.cluster.stop_vigild("n3", timeout=60)
    others = [lab3.nodes["n1"], lab3.nodes["n2"]]
    sts = wait_status(others, lambda st: node_state(st, "n3") in ("unclean", "offline"),
                      SETTLE_S, "n3 gone from the membership")
    for name, st in sts.items():
        assert node_state(st, "n3") == "unclean", (name, node_entry(st, "n3"))
    log = lab3.cluster.vigild["n3"].log()
    assert "leaving without a goodbye" in log, log[-3000:]
    # and it stays so: nothing takes the goodbye that was never sent for a clean stop
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for n in others:
            st = status(n)
            assert node_state(st, "n3") == "unclean", (n.name, st["nodes"])
            assert running_on(st, "stuck") in ([], ["n3"]), st
        time.sleep(0.2)
    print("vigild on n3 exited with", rc)


def test_watchdog_reported_and_not_fed_while_starting_with_adopted_resources(lab3):
    wd = "/var/lib/vigil/wd"
    for n in lab3.nodes.values():
        n.write(wd, "")
    cl.start(lab3, options={"watchdog": wd, "watchdog_timeout": "10s"},
             constraints="  - location: {resource: frontend, node: n2, score: 50}\n")
    n1, n2, n3 = (lab3.nodes[n] for n in NAMES)

    def reported(st):
        return (st["cluster"].get("quorate") is True
                and running_on(st, "web") == ["n2"]
                and all(node_entry(st, n).get("watchdog") == {"device": wd, "timeout_s": 10}
                        for n in NAMES))
    wait_status([n1, n2, n3], reported, START_S, "every node's armed watchdog reported")
    size = lambda: os.path.getsize(n2.path(wd))  # noqa: E731
    wait_until(lambda: size() > 0, 10, 0.1, "n2's watchdog fed")
    # vigild on n2 dies (web keeps running), then its Corosync goes too
    lab3.cluster.kill_vigild("n2")
    pids = n2.host_pgrep(WEB_PATTERN)
    assert len(pids) == 1, pids
    lab3.cluster.corosync["n2"].stop()
    # a new vigild writes from offset 0 of the stand-in: empty it, so that any feed shows
    os.truncate(n2.path(wd), 0)
    fed = size()
    d = lab3.cluster.start_vigild("n2")
    # it adopts web and, with no Corosync, cannot be a member in step: it must not feed
    # until it gives up (connect grace, then it stops everything)
    wait_until(lambda: "web: found running, adopted" in d.log(), 20, 0.05, "web adopted")
    samples, bad = [0], []

    def halted():  # (wait_until keeps polling through exceptions: collect, assert after)
        samples[0] += 1
        if "Corosync is not reachable" in d.log():
            return True
        if size() != fed:
            bad.append("watchdog fed while running adopted resources, not a member")
        if n2.host_pgrep(WEB_PATTERN) != pids:
            bad.append("web stopped before the connect grace")
        return bool(bad)
    wait_until(halted, 30, 0.05, "vigild on n2 to give up waiting for Corosync")
    assert not bad, (bad, d.log()[-3000:])
    assert samples[0] > 10, samples
    # once everything is stopped it is safe to count on again: armed and fed
    wait_until(lambda: not n2.host_pgrep(WEB_PATTERN), 30, 0.1, "web stopped on n2")
    wait_until(lambda: size() > fed, 20, 0.1, "n2's watchdog fed once nothing runs")
    assert "watchdog /var/lib/vigil/wd armed" in d.log()


def test_watchdog_that_cannot_be_armed_stops_vigild(lab3):
    # armed lazily (once nothing runs, or once a member in step), yet refused at once
    cl.start(lab3, options={"watchdog": "/var/lib/vigil/no-such-wd", "watchdog_timeout": "5s"},
             vigild=False)
    for name in NAMES:
        d = lab3.nodes[name].start_vigild(args=["--log-level", "debug"], wait_ready=False)
        rc = d.wait(30)
        assert rc == 1, (name, rc, d.log()[-2000:])
        assert "refusing to run without it" in d.log(), d.log()[-2000:]
