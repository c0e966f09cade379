"""A message larger than libcpg sends without blocking (over its 1 MiB IPC buffer libcpg sends in
fragments, each waiting for Corosync's answer without a timeout: a hung Corosync would stall
vigild's loop): membership.c sends it in pieces of at most 256 KiB (src/core/frag.c) and every
member gets it whole, once, in the same agreed order as the small messages around it, on three
real Corosyncs (vigil-member-probe, as test_membership.py).

Run alone: VIGIL_BUILD=$PWD/build /usr/bin/python3 -m pytest -q -p no:cacheprovider \\
    tests/integration/test_large_message.py

Must not: leave anything behind (the lab fixture of test_membership.py closes it).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corolab  # noqa: E402
import netlab  # noqa: E402
from test_membership import NAMES, PROBE, Probe, _is_members, lab3  # noqa: E402,F401


def test_large_message_arrives_whole_in_order(lab3):
    assert os.access(PROBE, os.X_OK), f"{PROBE} is not built"
    corolab.start_cluster(lab3)
    probes = {n: Probe(lab3.node(n)) for n in NAMES}
    lab3.probes.extend(probes.values())
    for p in probes.values():
        p.wait_event(_is_members([1, 2, 3]), 30, "3-member quorate membership")
    big = "".join(chr(ord("a") + i % 26) for i in range(1_500_000))  # 6 pieces
    probes["n2"].send("before")
    probes["n1"].send(big)
    probes["n3"].send("during")
    probes["n1"].send("after")
    for p in probes.values():
        netlab.wait_until(lambda: len(p.messages()) >= 4, 30, 0.05,
                          f"4 messages on {p.node.name}")
    orders = {n: [(f, d if len(d) < 100 else f"<{len(d)}>") for f, d in p.messages()]
              for n, p in probes.items()}
    assert len({str(o) for o in orders.values()}) == 1, orders  # one agreed order
    for p in probes.values():
        got = [d for f, d in p.messages() if f == 1]
        assert got == [big, "after"], [len(d) for d in got]  # whole, once, in order
