"""Issue 8: a short seeded random fault campaign (chaos.py) on three servers, the web service and
its VIP in a group (`requires: quorum`), watched throughout by a watch.Watcher (every node's
address events by netlink, every node's service processes).

What is checked: each of FAULTS faults drawn (seed SEED) from KINDS, the fault kinds today's
vigil survives (crash of any server, partition of one server from the others, loss of the
coordinator, kill -9 of a vigild that does not hold the VIP), is injected, held 2-6 s, healed,
and the cluster is whole again within chaos.HEAL_TIMEOUT_S (every server online, the VIP
answering the client from exactly one node, which alone has the VIP and the service); and the
VIP and the service were never on two live nodes: 0 split-brain samples, 0 s of overlap.
A longer campaign, any kinds: `make chaos FAULTS=N SEED=S [KINDS=a,b,...]`. And the watcher
itself: a second holder made by hand is seen, for about as long as it lasted; a crashed node's
leftover VIP is not counted.

Must not: draw kinds known to break today's safety (those are test_safety_faults.py's rows),
wait without a bound, or leave anything behind (the campaign heals its faults, the cluster_lab
fixture closes the lab, also on failure).
"""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402
import clusterlab as cl  # noqa: E402
import faults  # noqa: E402
import netlab  # noqa: E402
import watch  # noqa: E402

FAULTS = 6
SEED = 3  # draws partition, coordinator, vigild_kill, crash, coordinator, partition
KINDS = faults.SAFE_KINDS


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, chaos.NAMES)


def test_short_chaos_campaign_heals_every_fault_without_split_brain(lab3):
    c = chaos.start_cluster(lab3)
    camp = chaos.Campaign(c, SEED, KINDS)
    camp.run(FAULTS)
    summary = camp.summary(FAULTS)
    print(summary)
    kinds_drawn = {r["kind"] for r in camp.results}
    assert kinds_drawn == set(KINDS), camp.results  # the seed draws every kind
    assert camp.survived() == FAULTS, summary
    assert camp.split_brain_samples() == 0, summary
    camp.watcher.assert_never_two()


def test_watcher_sees_a_second_holder_and_ignores_a_crashed_one(lab3):
    """The detector itself: the VIP added by hand on a second node, and a process named like
    the service started there, are seen as overlaps of about the time they lasted; the VIP
    left on a crashed node (its network namespace keeps it) is not."""
    c = chaos.start_cluster(lab3)
    vip = cl.vip_addr(lab3)
    w = watch.Watcher(lab3, vip)
    poller = cl.ClientPoller(lab3, vip)
    with w, poller:
        holder = chaos.wait_whole(c, w, poller, time.monotonic(), chaos.START_S)
        other = next(n for n in chaos.NAMES if n != holder)
        node = lab3.nodes[other]
        netlab._run(["ip", "-n", node.netns, "addr", "add", f"{vip}/24", "dev", "eth0"])
        fake = node.popen(["/usr/bin/python3", "-c", "import time; time.sleep(1.2)",
                           "webnode.py"])
        try:
            netlab.wait_until(lambda: w.holders("web") == tuple(sorted((holder, other))), 5,
                              0.02, "the watcher to see the second service")
            time.sleep(0.8)
            assert w.holders("vip") == tuple(sorted((holder, other)))
        finally:
            netlab._run(["ip", "-n", node.netns, "addr", "del", f"{vip}/24", "dev", "eth0"],
                        check=False)
            fake.wait(10)
        netlab.wait_until(lambda: w.holders() == {"vip": (holder,), "web": (holder,)}, 5,
                          0.02, "the watcher to see one holder again")
        mid = w.report()
        # the VIP on a node that then crashes: no overlap from the crash on
        third = next(n for n in chaos.NAMES if n not in (holder, other))
        t3 = lab3.nodes[third]
        netlab._run(["ip", "-n", t3.netns, "addr", "add", f"{vip}/24", "dev", "eth0"])
        time.sleep(0.5)
        cl.crash(t3)
        time.sleep(1.0)
        assert w.holders("vip") == (holder,)
    rep = w.report()
    print(w.summary())
    assert 0.7 < mid["vip"]["overlap_s"] < 3.0, w.summary()
    assert 0.7 < mid["web"]["overlap_s"] < 2.0, w.summary()
    assert mid["vip"]["samples"] > 10 and mid["web"]["samples"] > 10, w.summary()
    crash_overlap = rep["vip"]["overlap_s"] - mid["vip"]["overlap_s"]
    assert 0.3 < crash_overlap < 1.0, w.summary()  # the 0.5 s before the crash, not after
    assert [iv[2] for iv in rep["vip"]["intervals"]] == [tuple(sorted((holder, other))),
                                                         tuple(sorted((holder, third)))]
    assert w.errors == []
