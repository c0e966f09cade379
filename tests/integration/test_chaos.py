"""Issue 8: a short seeded random fault campaign (chaos.py) on three servers, the web service and
its VIP in a group (`requires: quorum`), watched throughout by a watch.Watcher (every node's
address events by netlink, every node's service processes).

What is checked: each of FAULTS faults drawn (seed SEED) from KINDS, the fault kinds today's
vigil survives (crash of any server, partition of one server from the others, loss of the
coordinator, kill -9 of a vigild that does not hold the VIP), is injected, held 2-6 s, healed,
and the cluster is whole again within chaos.HEAL_TIMEOUT_S (every server online, the VIP
answering the client from exactly one node, which alone has the VIP and the service); and the
VIP and the service were never on two live nodes: 0 split-brain samples, 0 s of overlap.
A longer campaign, any kinds: `make chaos FAULTS=N SEED=S [KINDS=a,b,...]`.

Must not: draw kinds known to break today's safety (those are test_safety_faults.py's rows),
wait without a bound, or leave anything behind (the campaign heals its faults, the cluster_lab
fixture closes the lab, also on failure).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402
import clusterlab as cl  # noqa: E402
import faults  # noqa: E402

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
