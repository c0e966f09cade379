"""Issue 4: vigil's cluster mode over real Corosync on the namespace LAN (clusterlab.py). Three
servers (two for two_node) each run `corosync -f` and `vigild`; a web service that answers with
its node name runs in a group with a native VIP, and a client host polls it through the VIP.

What is checked: one coordinator and one placement that every server reports; failover of the
VIP holder's hard crash with the client answered again by another node; crashes of the
coordinator and of another server, and the way back (nothing taken back with stickiness); a 1|2
partition (the isolated node drops the VIP before the majority takes it); two_node clusters
going through fencing, with fence_delay deciding the fence race; `requires: fencing` waiting
for a failing fence device (level 2 after level 1); committed configuration surviving a
full-cluster crash, refused bad files and changes without quorum; vigild adopting its running
resources after a SIGKILL. Throughout, a sampler reads every live node's addresses every 20 ms:
two live nodes holding the VIP at once fails the test (safety rule 1).

Must not: weaken a safety check into a timing one (time bounds are generous, the noisy machine;
the "never two holders" check is exact), leave anything behind (the fixture stops samplers and
pollers, closes the PDUs and the lab also on failure), or wait without a bound.
"""
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
from clusterlab import node_state, resource, running_on, status, wait_status  # noqa: E402
from netlab import wait_until  # noqa: E402
from common import read_file  # noqa: E402
from pdu import Pdu  # noqa: E402

NAMES = ["n1", "n2", "n3"]
START_S = 60  # first quorate, settled cluster (vigild waits for its Corosync)
FAILOVER_S = 15  # crash -> client answered by another node (2.1 x token is about 1 s)
FENCED_FAILOVER_S = 30  # the same when recovery goes through a fence device
SETTLE_S = 30  # a membership change (or a heal) -> every server reports the same picture
WEB_PATTERN = r"webnode\.py"


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


@pytest.fixture
def lab2(request):
    yield from cl.cluster_lab(request, ["n1", "n2"])


# ---- what the tests expect of `vigil status --json` ---------------------------------------

def settled(online, leader=None, placed=None, offline=()):
    """A predicate on one server's status: cluster mode, quorate, the `online` nodes online
    (and the `offline` ones not), web and vip running together on exactly one node (on
    `placed` when given), the coordinator `leader` when given."""
    def pred(st):
        c = st.get("cluster", {})
        if c.get("mode") != "cluster" or c.get("quorate") is not True:
            return False
        if leader is not None and c.get("leader") != leader:
            return False
        if not all(node_state(st, n) == "online" for n in online):
            return False
        if any(node_state(st, n) == "online" for n in offline):
            return False
        web, vip = running_on(st, "web"), running_on(st, "vip")
        if len(web) != 1 or web != vip:
            return False
        if resource(st, "web")["state"] != "running" or resource(st, "vip")["state"] != "running":
            return False
        return placed is None or web == [placed]
    return pred


def picture(st):
    """What every server must agree on: coordinator, node states and placement."""
    return (st["cluster"]["leader"], sorted((n["name"], n["state"]) for n in st["nodes"]),
            sorted((r["name"], running_on(st, r["name"])) for r in st["resources"]))


def wait_settled(lab, names, timeout=SETTLE_S, **kw):
    """Wait until every server in names reports settled(online=names, **kw) and they all agree;
    returns (the holder of the web group, {name: status})."""
    sts = wait_status([lab.nodes[n] for n in names], settled(names, **kw), timeout,
                      f"{names} settled ({kw})", agree=picture)
    st = next(iter(sts.values()))
    return running_on(st, "web")[0], sts


def web_pids(lab):
    """{node: machine PIDs of the web service} for every live node."""
    return {n.name: n.host_pgrep(WEB_PATTERN) for n in lab.nodes.values() if cl.live(n)}


def only_on(lab, holder):
    """The web service runs on holder only (one process there); returns its PID."""
    pids = web_pids(lab)
    assert len(pids.get(holder, [])) == 1, pids
    assert all(not p for n, p in pids.items() if n != holder), pids
    return pids[holder][0]


def location(group, node, score):
    return f"  - location: {{resource: {group}, node: {node}, score: {score}}}\n"


# ---- 1. three servers online -----------------------------------------------------------------

def test_three_servers_one_leader_one_vip(lab3):
    cl.start(lab3)
    holder, sts = wait_settled(lab3, NAMES, timeout=START_S, leader="n1")
    for name, st in sts.items():
        assert st["cluster"]["name"] == "test", st
        assert sorted(n["name"] for n in st["nodes"]) == NAMES, st
        assert all(n["role"] == "server" for n in st["nodes"]), st
        assert resource(st, "web")["type"] == "process"
        assert resource(st, "vip")["type"] == "vip"
    vip = cl.vip_addr(lab3)
    assert cl.vip_holders(lab3, vip) == [holder]
    only_on(lab3, holder)
    with cl.ClientPoller(lab3, vip) as poller:
        _, who = poller.wait_answer(15)
    assert who == holder


# ---- 2. hard crash of the VIP holder -----------------------------------------------------------

def test_crash_of_vip_holder_fails_over_without_overlap(lab3):
    cl.start(lab3)
    holder, _ = wait_settled(lab3, NAMES, timeout=START_S)
    vip = cl.vip_addr(lab3)
    with cl.VipSampler(lab3, vip) as sampler, cl.ClientPoller(lab3, vip) as poller:
        poller.wait_answer(15)
        t0 = time.monotonic()
        cl.crash(lab3.nodes[holder])
        t_answer, who = poller.wait_answer(FAILOVER_S, since=t0, exclude=(holder,),
                                           what="an answer from another node after the crash")
        held = sampler.first_holder_after(t0, exclude=(holder,))
        print(f"crash of {holder}: VIP on {held} after "
              f"{(held[0] - t0) if held else float('nan'):.3f}s, client answered by {who} "
              f"after {t_answer - t0:.3f}s")
        survivors = [n for n in NAMES if n != holder]
        new, sts = wait_settled(lab3, survivors, offline=(holder,))
        assert new == who
        assert cl.vip_holders(lab3, vip) == [who]
        only_on(lab3, who)
        time.sleep(1.0)  # and it stays that way
        assert cl.vip_holders(lab3, vip) == [who]
    sampler.assert_never_two()


# ---- 3. crash of the coordinator, of another server, and the way back ------------------------

def test_coordinator_crash_other_crash_and_rejoin(lab3):
    # the group never runs on n1, the coordinator; it lands on n2 or n3 (whichever the first
    # placement picks) and moving it costs 100 (stickiness)
    cl.start(lab3, options={"stickiness": 100}, constraints=location("frontend", "n1", "-inf"))
    holder, _ = wait_settled(lab3, NAMES, timeout=START_S, leader="n1")
    assert holder in ("n2", "n3")
    other = "n3" if holder == "n2" else "n2"
    pid = only_on(lab3, holder)
    vip = cl.vip_addr(lab3)
    with cl.VipSampler(lab3, vip) as sampler, cl.ClientPoller(lab3, vip) as poller:
        poller.wait_answer(15)
        # the coordinator (n1) crashes: n2 coordinates, the group is not touched
        t0 = time.monotonic()
        cl.crash(lab3.nodes["n1"])
        wait_settled(lab3, ["n2", "n3"], leader="n2", placed=holder, offline=("n1",))
        assert only_on(lab3, holder) == pid, "the web service was restarted"
        assert [h for _, h in sampler.history(t0)] in ([], [(holder,)]), sampler.history(t0)
        # n1 comes back: online, coordinator again (lowest id), nothing moves
        lab3.cluster.restart("n1")
        wait_settled(lab3, NAMES, leader="n1", placed=holder)
        assert only_on(lab3, holder) == pid, "the web service was restarted"
        # another server crashes, the holder: the group moves to the last allowed node
        t1 = time.monotonic()
        cl.crash(lab3.nodes[holder])
        _, who = poller.wait_answer(FAILOVER_S, since=t1, exclude=(holder,))
        assert who == other
        wait_settled(lab3, ["n1", other], leader="n1", placed=other, offline=(holder,))
        pid_other = only_on(lab3, other)
        # the old holder comes back, shows online and takes nothing back (stickiness)
        lab3.cluster.restart(holder)
        wait_settled(lab3, NAMES, leader="n1", placed=other)
        time.sleep(2.0)  # a late move back would show now
        wait_settled(lab3, NAMES, leader="n1", placed=other)
        assert only_on(lab3, other) == pid_other, "the web service was restarted"
        assert cl.vip_holders(lab3, vip) == [other]
        _, who = poller.wait_answer(5)
        assert who == other
    sampler.assert_never_two()


# ---- 4. partition 1 | 2 ---------------------------------------------------------------------

def test_partition_isolated_holder_drops_vip_majority_takes_over(lab3):
    # the holder (wherever the first placement put it) is cut off from the two others
    cl.start(lab3, options={"stickiness": 100})
    holder, _ = wait_settled(lab3, NAMES, timeout=START_S, leader="n1")
    majority = [n for n in NAMES if n != holder]
    iso = lab3.nodes[holder]
    vip = cl.vip_addr(lab3)
    with cl.VipSampler(lab3, vip) as sampler, cl.ClientPoller(lab3, vip) as poller:
        poller.wait_answer(15)
        t0 = time.monotonic()
        cl.partition(lab3, [[holder], majority])
        _, who = poller.wait_answer(FAILOVER_S, since=t0, exclude=(holder,),
                                    what="an answer from the majority")
        new, _ = wait_settled(lab3, majority, leader=majority[0], offline=(holder,))
        assert new == who
        # the isolated node knows it has no quorum, and runs nothing
        wait_until(lambda: status(iso)["cluster"]["quorate"] is False, SETTLE_S, 0.2,
                   f"{holder} to report no quorum")
        wait_until(lambda: not iso.host_pgrep(WEB_PATTERN), SETTLE_S, 0.1,
                   f"the web service to stop on {holder}")
        assert cl.vip_holders(lab3, vip) == [new]
        dropped = [t for t, h in sampler.history(t0) if holder not in h]
        taken = sampler.first_holder_after(t0, exclude=(holder,))
        assert dropped and taken, sampler.history(t0)
        print(f"partition: {holder} dropped the VIP after {dropped[0] - t0:.3f}s, {taken[1]} "
              f"took it after {taken[0] - t0:.3f}s")
        # heal: one VIP, all online, nothing moves back (stickiness)
        cl.heal(lab3)
        wait_settled(lab3, NAMES, leader="n1", placed=new)
        only_on(lab3, new)
        assert cl.vip_holders(lab3, vip) == [new]
    sampler.assert_never_two()


# ---- 5. two servers (two_node) --------------------------------------------------------------

def test_two_node_crash_and_partition_go_through_fencing(lab2):
    names = ["n1", "n2"]
    # Pacemaker's own alert agent, as shipped (pacemaker-common): the survivor, coordinator
    # of the new view, runs it for the lost node and for the fencing
    alert_log = os.path.join(lab2.dir, "alerts.log")
    alerts = ("  - {name: file, path: /usr/share/pacemaker/alerts/alert_file.sh.sample,\n"
              f"     recipients: [{alert_log}], kinds: [node, fencing]}}\n")
    with Pdu(lab2) as pdu:
        cl.start(lab2, fence_devices=pdu.device_yaml(), alerts=alerts,
                 options={"stickiness": 100, "fence_delay": "3s"})
        holder, _ = wait_settled(lab2, names, timeout=START_S)
        other = next(n for n in names if n != holder)
        vip = cl.vip_addr(lab2)
        with cl.VipSampler(lab2, vip) as sampler, cl.ClientPoller(lab2, vip) as poller:
            poller.wait_answer(15)
            # (a) the holder crashes: the survivor fences it, then recovers the group
            t0 = time.monotonic()
            cl.crash(lab2.nodes[holder])
            _, who = poller.wait_answer(FENCED_FAILOVER_S, since=t0, exclude=(holder,))
            assert who == other
            fences = [a for a, n in pdu.actions(holder) if a in ("off", "reboot")]
            assert fences, f"{holder} was not fenced: {pdu.actions()}"
            off_t = min(t for a, n, t in pdu.requests if n == holder and a in ("off", "reboot"))
            held = sampler.first_holder_after(t0, exclude=(holder,))
            assert held and held[0] >= off_t, (held, off_t, sampler.history(t0))
            wait_status([lab2.nodes[other]],
                        lambda st: running_on(st, "web") == [other] == running_on(st, "vip")
                        and node_state(st, holder) in ("fenced", "offline"), SETTLE_S,
                        f"{other} running the group, {holder} fenced")
            lost = f"Node '{holder}' is now 'lost'"
            fenced = f"Fencing Operation off of {holder} by "
            wait_until(lambda: lost in read_file(alert_log)
                       and fenced in read_file(alert_log), 30, 0.1,
                       "the node and fencing alerts")
            assert f"for vigild@{other}: OK" in read_file(alert_log), read_file(alert_log)
            assert "is now 'member'" in read_file(alert_log), read_file(alert_log)
            # (b) it comes back; then the two are cut apart: both keep quorum (two_node), the
            # holder fences the other at once, the other waits fence_delay and is shot first
            lab2.cluster.restart(holder)
            wait_settled(lab2, names, placed=other)
            pdu_mark = len(pdu.actions())
            t1 = time.monotonic()
            cl.partition(lab2, [["n1"], ["n2"]])
            wait_until(lambda: not cl.live(lab2.nodes[holder]), FENCED_FAILOVER_S, 0.05,
                       f"{holder} (no resources) to be fenced by {other}")
            print(f"two_node partition: {holder} fenced after {time.monotonic() - t1:.3f}s")
            time.sleep(2 * 3.0)  # past fence_delay: the survivor is still there
            assert cl.live(lab2.nodes[other]), f"{other} was fenced too: {pdu.actions()}"
            shot = [n for a, n in pdu.actions()[pdu_mark:] if a in ("off", "reboot")]
            assert shot and set(shot) == {holder}, pdu.actions()
            cl.heal(lab2)
            wait_status([lab2.nodes[other]],
                        lambda st: running_on(st, "web") == [other] == running_on(st, "vip")
                        and node_state(st, other) == "online", SETTLE_S,
                        f"{other} running the group")
            only_on(lab2, other)
            assert cl.vip_holders(lab2, vip) == [other]
            _, who = poller.wait_answer(5)
            assert who == other
        sampler.assert_never_two()
        assert pdu.errors == []


# ---- 6. requires: fencing and a failing fence device ----------------------------------------

def test_requires_fencing_waits_for_a_failing_device_level_two(lab3):
    dummy = ("  - name: dummy\n    type: ocf:heartbeat:Dummy\n    requires: fencing\n"
             "    ops: {monitor: {interval: 1s, timeout: 10s}}\n")
    with Pdu(lab3) as pdu1, Pdu(lab3, path=os.path.join(lab3.dir, "pdu2.sock")) as pdu2:
        devices = (pdu1.device_yaml(name="pdu1", level=1, timeout="5s")
                   + pdu2.device_yaml(name="pdu2", level=2, timeout="5s"))
        text = cl.cluster_yaml(lab3, resources=dummy, fence_devices=devices,
                               constraints=location("dummy", "n3", 50))
        cl.start(lab3, yaml_text=text)
        wait_status(lab3.nodes.values(),
                    lambda st: st["cluster"].get("quorate") is True
                    and all(node_state(st, n) == "online" for n in NAMES)
                    and running_on(st, "dummy") == ["n3"], START_S, "dummy running on n3",
                    agree=picture)
        pdu1.fail = pdu2.fail = True
        t0 = time.monotonic()
        cl.crash(lab3.nodes["n3"])
        survivors = [lab3.nodes["n1"], lab3.nodes["n2"]]

        def waiting(st):
            r = resource(st, "dummy")
            n3 = next(n for n in st["nodes"] if n["name"] == "n3")
            # n3 may still run it as far as anyone knows: it is shown there, nowhere else
            return (st["cluster"].get("quorate") is True and n3["state"] == "unclean"
                    and n3.get("reason") and running_on(st, "dummy") in ([], ["n3"])
                    and r.get("waiting") and "fenc" in r["waiting"].lower())
        sts = wait_status(survivors, waiting, SETTLE_S, "dummy waiting for fencing of n3")
        print("waiting:", {k: resource(v, "dummy")["waiting"] for k, v in sts.items()})
        # both levels were tried, level 1 first
        wait_until(lambda: pdu1.actions("n3") and pdu2.actions("n3"), SETTLE_S, 0.1,
                   "both fence levels to be tried on n3")
        first1 = min(t for a, n, t in pdu1.requests if n == "n3")
        first2 = min(t for a, n, t in pdu2.requests if n == "n3")
        assert t0 <= first1 <= first2, (pdu1.requests, pdu2.requests)
        # and it keeps waiting: nothing starts the dummy elsewhere while n3 is unclean
        time.sleep(3.0)
        sts = wait_status(survivors, waiting, 5, "dummy still waiting")
        for n in survivors:
            assert n.run(["test", "-e", "/run/resource-agents/Dummy-dummy.state"],
                         check=False).returncode != 0, f"dummy started on {n.name}"
        # level 2 comes back: n3 is fenced through it and the dummy is recovered
        mark2 = len(pdu2.requests)
        pdu2.fail = False
        sts = wait_status(survivors,
                          lambda st: len(running_on(st, "dummy")) == 1
                          and node_state(st, "n3") in ("fenced", "offline")
                          and not resource(st, "dummy").get("waiting"), FENCED_FAILOVER_S,
                          "dummy recovered after n3 was fenced by level 2", agree=picture)
        ok_fence = [(a, t) for a, n, t in pdu2.requests[mark2:]
                    if n == "n3" and a in ("off", "reboot")]
        assert ok_fence, pdu2.requests
        where = running_on(next(iter(sts.values())), "dummy")[0]
        assert where in ("n1", "n2")
        assert pdu1.errors == [] and pdu2.errors == []


# ---- 7. committed configuration: apply, bad files, full-cluster restart, no quorum ----------

def config_show(node):
    p = cl.vigil(node, "config", "show")
    assert p.returncode == 0, (node.name, p.returncode, p.stdout, p.stderr)
    return p.stdout


def config_version(node):
    p = cl.vigil(node, "config", "show", "--json")
    assert p.returncode == 0, (node.name, p.returncode, p.stdout, p.stderr)
    o = json.loads(p.stdout)
    return (o["epoch"], o["version"]), o["yaml"]


EXTRA = ("  - name: extra\n    type: process\n    params: {command: \"/bin/sleep 100000\"}\n"
         "    ops: {monitor: {interval: 1s, timeout: 5s}}\n")
EXTRA2 = EXTRA.replace("name: extra", "name: extra2")
BAD = ("  - name: broken\n    type: process\n    params: {command: \"/bin/sleep 100000\"}\n"
       "    ops: {monitor: {interval: soon, timeout: 5s}}\n")


def test_applied_config_survives_full_restart_bad_file_and_no_quorum(lab3):
    cl.start(lab3)
    wait_settled(lab3, NAMES, timeout=START_S)
    n1, n2, n3 = (lab3.nodes[n] for n in NAMES)
    # apply on a server that is not the coordinator: every server has the change
    n2.write("/etc/vigil/next.yaml", cl.web_cluster_yaml(lab3, resources=EXTRA))
    p = cl.vigil(n2, "apply", "/etc/vigil/next.yaml")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "extra" in p.stdout, p.stdout  # the diff
    for n in (n1, n2, n3):
        wait_until(lambda n=n: "extra" in config_show(n), SETTLE_S, 0.2,
                   f"the change on {n.name}")
    wait_status([n1, n2, n3], lambda st: len(running_on(st, "extra")) == 1, SETTLE_S,
                "extra running", agree=picture)
    ver, yaml_before = config_version(n1)
    # a bad file: exit 2, naming the field, and nothing changes
    n3.write("/etc/vigil/bad.yaml", cl.web_cluster_yaml(lab3, resources=EXTRA + BAD))
    p = cl.vigil(n3, "apply", "/etc/vigil/bad.yaml")
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "interval" in p.stdout + p.stderr, (p.stdout, p.stderr)
    for n in (n1, n2, n3):
        assert config_version(n) == (ver, yaml_before), n.name
        assert "broken" not in config_show(n)
    # every server crashes; they come back with the file they were started with (without
    # `extra`), and the committed configuration wins
    for n in (n1, n2, n3):
        cl.crash(n)
    for n in NAMES:
        lab3.cluster.restart(n)
    wait_settled(lab3, NAMES, timeout=START_S)
    for n in (n1, n2, n3):
        wait_until(lambda n=n: "extra" in config_show(n), SETTLE_S, 0.2,
                   f"the applied change on {n.name} after the restart")
    wait_status([n1, n2, n3], lambda st: len(running_on(st, "extra")) == 1, SETTLE_S,
                "extra running after the restart", agree=picture)
    # without quorum: exit 3, nothing changes
    cl.crash(n2)
    cl.crash(n3)
    wait_until(lambda: status(n1)["cluster"]["quorate"] is False, SETTLE_S, 0.2,
               "n1 to lose quorum")
    n1.write("/etc/vigil/next2.yaml", cl.web_cluster_yaml(lab3, resources=EXTRA + EXTRA2))
    p = cl.vigil(n1, "apply", "/etc/vigil/next2.yaml")
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
    assert "extra2" not in config_show(n1)


# ---- 8. vigild restarted under running resources adopts them --------------------------------

def test_vigild_restart_adopts_running_resources(lab3):
    cl.start(lab3, constraints=location("frontend", "n2", 50))
    wait_settled(lab3, NAMES, timeout=START_S, leader="n1", placed="n2")
    pid = only_on(lab3, "n2")
    vip = cl.vip_addr(lab3)
    with cl.VipSampler(lab3, vip) as sampler, cl.ClientPoller(lab3, vip) as poller:
        poller.wait_answer(15)
        t0 = time.monotonic()
        lab3.cluster.kill_vigild("n2")
        lab3.cluster.start_vigild("n2")
        lab3.cluster.wait_answering(["n2"])
        wait_settled(lab3, NAMES, leader="n1", placed="n2")
        time.sleep(2.0)  # a late restart or move would show now
        wait_settled(lab3, NAMES, leader="n1", placed="n2")
        assert only_on(lab3, "n2") == pid, "the web service was restarted"
        assert [h for _, h in sampler.history(t0)] in ([], [("n2",)]), sampler.history(t0)
        assert cl.vip_holders(lab3, vip) == ["n2"]
        by, _errors = poller.summary(t0)
        assert set(by) == {"n2"}, by
    sampler.assert_never_two()
