"""Issue 4: the operator's commands in cluster mode, on real Corosync and vigild (clusterlab.py):
node standby/unstandby moves the web group and lets it back; `node confirm-down` is refused for
a member and, for a crashed node without a fence device, releases a `requires: fencing`
resource that waits for it; Debian's own fence_dummy fences a crashed node through vigil's
fence path (`vigil node fence` and the coordinator's automatic fencing); `resource restart`
restarts in place; `events` records what happened; every command works on any server.
Must not: leave anything behind (the cluster_lab fixture cleans up also on failure) or wait
without a bound.
"""
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
from clusterlab import node_state, resource, running_on, status, wait_status  # noqa: E402
import netlab  # noqa: E402
from netlab import wait_until  # noqa: E402

NAMES = ["n1", "n2", "n3"]
START_S = 60
SETTLE_S = 30

DUMMY = ("  - name: db\n    type: ocf:heartbeat:Dummy\n"
         "    ops: {monitor: {interval: 1s, timeout: 10s}}\n")


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


def vigil_ok(node, *args):
    p = cl.vigil(node, *args)
    assert p.returncode == 0, (node.name, args, p.returncode, p.stdout, p.stderr)
    return p.stdout


def events(node):
    return json.loads(vigil_ok(node, "events", "--json"))["events"]


def everywhere(lab, pred, what, timeout=SETTLE_S):
    return wait_status(lab.nodes.values(), pred, timeout, what)


def test_standby_confirm_down_events_restart(lab3):
    cl.start(lab3, yaml_text=cl.web_cluster_yaml(
        lab3, resources=DUMMY,
        constraints="  - location: {resource: db, node: n3, score: 100}\n"
                    "  - location: {resource: frontend, node: n2, score: 100}\n"))
    n1, n2, n3 = (lab3.nodes[n] for n in NAMES)
    everywhere(lab3, lambda st: running_on(st, "web") == ["n2"] and running_on(st, "db") == ["n3"]
               and running_on(st, "vip") == ["n2"], "settled", START_S)

    # standby (asked on n3, not the coordinator): the group leaves n2, and may come back after
    vigil_ok(n3, "node", "standby", "n2")
    st = everywhere(lab3, lambda st: node_state(st, "n2") == "standby"
                    and len(running_on(st, "web")) == 1 and running_on(st, "web") != ["n2"]
                    and running_on(st, "vip") == running_on(st, "web"), "group off n2")
    assert cl.vip_holders(lab3, cl.vip_addr(lab3)) != ["n2"]
    vigil_ok(n1, "node", "unstandby", "n2")
    everywhere(lab3, lambda st: node_state(st, "n2") == "online"
               and running_on(st, "web") == ["n2"], "group back on n2 (location 100)")

    # restart in place: a new process on the same node
    before = n2.host_pgrep(r"webnode\.py")
    assert len(before) == 1, before
    vigil_ok(n3, "resource", "restart", "web")
    wait_until(lambda: n2.host_pgrep(r"webnode\.py") not in ([], before), SETTLE_S, 0.1,
               "web restarted on n2")
    everywhere(lab3, lambda st: running_on(st, "web") == ["n2"], "web running on n2")

    # confirm-down of a member is refused and records nothing
    p = cl.vigil(n1, "node", "confirm-down", "n3")
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "member" in p.stdout + p.stderr

    # a crash of the db holder with no fence device: db waits for an operator
    cl.crash(n3)
    survivors = [n1, n2]

    def waiting(st):
        r = resource(st, "db")
        return (node_state(st, "n3") == "unclean" and r.get("waiting")
                and "confirm-down" in r["waiting"] and "n3" in r["waiting"]
                and running_on(st, "db") in ([], ["n3"]))
    wait_status(survivors, waiting, SETTLE_S, "db waiting for confirm-down of n3")
    time.sleep(2)
    for n in survivors:
        assert n.run(["test", "-e", "/run/resource-agents/Dummy-db.state"],
                     check=False).returncode != 0, f"db started on {n.name} without fencing"
    out = vigil_ok(n2, "node", "confirm-down", "n3")
    assert "n3" in out
    wait_status(survivors, lambda st: node_state(st, "n3") == "fenced"
                and len(running_on(st, "db")) == 1 and running_on(st, "db") != ["n3"]
                and not resource(st, "db").get("waiting"), SETTLE_S, "db recovered")
    kinds = [(e["kind"], e["text"]) for e in events(n1)]
    assert any(k == "node_lost" and t.startswith("n3 ") for k, t in kinds), kinds
    assert any(k == "fenced" and t.startswith("n3:") for k, t in kinds), kinds
    # the text view names the reason too
    p = cl.vigil(n1, "node", "list")
    assert p.returncode == 0 and "fenced" in p.stdout, p.stdout


def test_fence_dummy_through_vigil(lab3):
    """Debian's fence_dummy (type=file) as the fence device: `vigil node fence` runs it and
    reports; a crashed holder of a requires: fencing resource is fenced automatically."""
    fd = ("  - name: dummydev\n    agent: fence_dummy\n"
          "    params: {type: file, status_file: /var/lib/vigil/fence_dummy.status}\n"
          "    targets: [n1, n2, n3]\n    level: 1\n    timeout: 20s\n")
    cl.start(lab3, yaml_text=cl.web_cluster_yaml(
        lab3, resources=DUMMY, fence_devices=fd,
        constraints="  - location: {resource: db, node: n3, score: 100}\n"))
    n1, n2, n3 = (lab3.nodes[n] for n in NAMES)
    everywhere(lab3, lambda st: running_on(st, "db") == ["n3"], "db on n3", START_S)
    for n in (n1, n2, n3):  # fence_dummy's power state: on
        n.write("/var/lib/vigil/fence_dummy.status", "on")

    # an explicit fence of n2 (a member: fence_dummy only records it) answers when done
    p = cl.vigil(n3, "node", "fence", "n2", timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    coord = status(n1)["cluster"]["leader"]
    assert netlab.read_text(lab3.nodes[coord].path("/var/lib/vigil/fence_dummy.status")).strip() == "off"
    kinds = [(e["kind"], e["text"]) for e in events(n1)]
    assert any(k == "fenced" and "n2: fenced by dummydev" in t for k, t in kinds), kinds

    # the crash of db's holder: fenced by fence_dummy, then db recovered elsewhere
    lab3.nodes[coord].write("/var/lib/vigil/fence_dummy.status", "on")
    cl.crash(n3)
    st = wait_status([n1, n2], lambda st: node_state(st, "n3") == "fenced"
                     and len(running_on(st, "db")) == 1 and running_on(st, "db") != ["n3"],
                     SETTLE_S, "db recovered after fence_dummy fenced n3")
    kinds = [(e["kind"], e["text"]) for e in events(n2)]
    assert any(k == "fenced" and "n3: fenced by dummydev" in t for k, t in kinds), kinds
