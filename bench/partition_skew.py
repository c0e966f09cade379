#!/usr/bin/python3
"""bench/partition_skew: how far apart the two sides of a partition see the same membership
change, the figure `cluster.quorum_loss_delay` must cover (issue 4: "never start before the
other side has stopped").

Three servers (real Corosync + vigild in namespace nodes, clusterlab.py) run the web group with
a native VIP. Each round isolates the VIP holder (unreachable neighbour entries both ways),
then reads the vigild logs: when the isolated node saw quorum go ("membership: ... NO QUORUM")
and removed the VIP ("vip: stopped"), and when the first majority node saw the new membership.
It prints, over the rounds, the median and p99 of
  skew      = isolated side's quorum loss - majority's membership change
  stop      = isolated side's VIP removed - majority's membership change
  recovery  = VIP started on the majority - majority's membership change
A positive stop value is time the isolated node still held the VIP after the majority knew;
recovery must exceed it in every round (the run fails otherwise).

Usage: bench/partition_skew.py [--runs N] [--token MS]
"""
import argparse
import datetime
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("VIGIL_BUILD", os.path.join(HERE, "..", "build"))

import clusterlab as cl  # noqa: E402
import netlab  # noqa: E402

LINE = re.compile(r"^(\S+Z) (\S+) (\S+)\s+(.*)$")


def log_events(lab, name, since):
    """(time, message) of every vigild log line of node `name` at or after `since` (epoch s)."""
    out = []
    for f in sorted(os.listdir(lab.dir)):
        if not (f.startswith(name + "-vigild") and f.endswith(".log")):
            continue
        with open(os.path.join(lab.dir, f), errors="replace") as fh:
            for line in fh:
                m = LINE.match(line)
                if not m:
                    continue
                t = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
                if t.timestamp() >= since:
                    out.append((t.timestamp(), m.group(4)))
    return out


def first(lab, name, since, pattern):
    for t, msg in log_events(lab, name, since):
        if re.search(pattern, msg):
            return t
    return None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--token", type=int, default=None, help="Corosync token in ms")
    a = ap.parse_args()
    lab = netlab.Lab(nodes=("n1", "n2", "n3"))
    lab.start()
    skews, stops, recs = [], [], []
    try:
        token = f"{a.token}ms" if a.token else None
        cl.start(lab, token=token, log_level="debug")
        nodes = [lab.nodes[n] for n in lab.node_names]
        for rnd in range(a.runs):
            st = cl.wait_status(nodes, lambda s: len(cl.running_on(s, "vip")) == 1
                                and cl.nodes_online(s, lab.node_names), 60, "settled")
            holder = cl.running_on(next(iter(st.values())), "vip")[0]
            others = [n for n in lab.node_names if n != holder]
            t0 = time.time()
            cl.partition(lab, [[holder], others])
            st = cl.wait_status([lab.nodes[others[0]]],
                                lambda s: cl.running_on(s, "vip") not in ([], [holder]), 30,
                                "VIP on the majority")
            newh = cl.running_on(next(iter(st.values())), "vip")[0]
            netlab.wait_until(lambda: first(lab, holder, t0, r"vip: stopped"), 10, 0.05,
                              "the isolated node's VIP stop in its log")
            lost = first(lab, holder, t0, r"NO QUORUM")
            stopped = first(lab, holder, t0, r"vip: stopped")
            maj = min(t for t in (first(lab, o, t0, r"membership: \[") for o in others) if t)
            started = first(lab, newh, t0, r"vip: started")
            skews.append((lost - maj) * 1000)
            stops.append((stopped - maj) * 1000)
            recs.append((started - maj) * 1000)
            print(f"round {rnd + 1}: isolated {holder}: skew {skews[-1]:+.0f} ms, VIP stopped "
                  f"{stops[-1]:+.0f} ms, VIP started on {newh} {recs[-1]:+.0f} ms "
                  f"(after the majority's membership change)", flush=True)
            if recs[-1] <= stops[-1]:
                print("FAIL: the majority started the VIP before the isolated node stopped it")
                return 1
            cl.heal(lab)
            cl.wait_status(nodes, lambda s: cl.nodes_online(s, lab.node_names)
                           and len(cl.running_on(s, "vip")) == 1, 60, "healed")
    finally:
        lab.close()
    print(f"\npartition skew over {len(skews)} partitions (token "
          f"{a.token or 500} ms; + = isolated side later):")
    for name, xs in (("quorum loss skew", skews), ("VIP stopped", stops),
                     ("VIP started (majority)", recs)):
        print(f"  {name:24s} median {statistics.median(xs):+7.1f} ms  p99 {pct(xs, 99):+7.1f} ms"
              f"  max {max(xs):+7.1f} ms")
    print(f"  margin (started - stopped) min {min(r - s for r, s in zip(recs, stops)):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
