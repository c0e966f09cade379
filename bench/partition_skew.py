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

With --stress, the whole run happens under `stress-ng --cpu 2 --vm 1 --vm-bytes 1G --hdd 1`
(the soak's load). Each round also checks that the isolated node's whole group (web and VIP)
had stopped before the majority started any of it, and prints that margin; the run fails on
any round where it did not. Medians and p99 are printed from 300 rounds on; below that the
worst case ("max of N", and the smallest margin).

Usage: bench/partition_skew.py [--runs N] [--token MS] [--stress]
"""
import subprocess
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
import corolab  # noqa: E402
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


def explain_no_heal(lab, since):
    """What each node's Corosync and vigild saw since the heal began (a heal that does not
    come back must say whose fault it is): the totem view, the neighbour entries, the last
    membership lines of vigild and of Corosync."""
    for name in lab.node_names:
        node = lab.nodes[name]
        q = corolab.quorum(node)
        print(f"--- {name}: corosync-quorumtool: "
              + (f"quorate {q['quorate']}, members {q['members']}" if q else "no answer"))
        p = subprocess.run(["ip", "-n", node.netns, "neigh", "show", "dev", "eth0"],
                           capture_output=True, text=True, timeout=10)
        print("    neighbours: " + "; ".join(p.stdout.split("\n")).strip("; "))
        for t, msg in log_events(lab, name, since)[-400:]:
            if msg.startswith(("membership", "lease", "corosync", "cluster state")):
                print(f"    vigild {t - since:+8.3f} s: {msg}")
    print(corolab.logs(lab))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--token", type=int, default=None, help="Corosync token in ms")
    ap.add_argument("--stress", action="store_true", help="run under stress-ng CPU, memory "
                    "and disk load")
    a = ap.parse_args()
    lab = netlab.Lab(nodes=("n1", "n2", "n3"))
    lab.start()
    skews, stops, recs, margins = [], [], [], []
    stress = None
    try:
        if a.stress:
            tmp = os.path.join(lab.dir, "stress")
            os.makedirs(tmp)
            stress = subprocess.Popen(
                ["stress-ng", "--cpu", "2", "--vm", "1", "--vm-bytes", "1G", "--hdd", "1",
                 "--temp-path", tmp, "--timeout", f"{a.runs * 60 + 120}s", "--quiet"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            print(f"under stress-ng (pid {stress.pid}: --cpu 2 --vm 1 --vm-bytes 1G --hdd 1)",
                  flush=True)
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
            netlab.wait_until(lambda: first(lab, holder, t0, r"^web: stopped"), 10, 0.05,
                              "the isolated node's web stop in its log")
            lost = first(lab, holder, t0, r"NO QUORUM")
            stopped = first(lab, holder, t0, r"vip: stopped")
            group_down = max(stopped, first(lab, holder, t0, r"^web: stopped"))
            # the majority begins the start when its coordinator issues it (logged there)
            group_up = min(t for t in (first(lab, o, t0, r"^start (web|vip) on \S+:")
                                       for o in others) if t)
            maj = min(t for t in (first(lab, o, t0, r"membership: \[") for o in others) if t)
            started = first(lab, newh, t0, r"vip: started")
            skews.append((lost - maj) * 1000)
            stops.append((stopped - maj) * 1000)
            recs.append((started - maj) * 1000)
            margins.append((group_up - group_down) * 1000)
            print(f"round {rnd + 1}: isolated {holder}: skew {skews[-1]:+.0f} ms, VIP stopped "
                  f"{stops[-1]:+.0f} ms, VIP started on {newh} {recs[-1]:+.0f} ms "
                  f"(after the majority's membership change)", flush=True)
            print(f"         group stopped on {holder} {margins[-1]:.0f} ms before the majority "
                  f"began starting it", flush=True)
            if recs[-1] <= stops[-1] or margins[-1] <= 0:
                print("FAIL: the majority started the group before the isolated node had "
                      "stopped it")
                return 1
            t_heal = time.time()
            cl.heal(lab)
            try:
                cl.wait_status(nodes, lambda s: cl.nodes_online(s, lab.node_names)
                               and len(cl.running_on(s, "vip")) == 1, 60, "healed")
            except AssertionError:
                explain_no_heal(lab, t_heal)
                raise
    finally:
        if stress is not None:
            try:
                os.killpg(stress.pid, 15)
            except ProcessLookupError:
                pass
            stress.wait(timeout=30)
        lab.close()
    print(f"\npartition skew over {len(skews)} partitions (token "
          f"{a.token or 500} ms; + = isolated side later):")
    n = len(skews)
    for name, xs in (("quorum loss skew", skews), ("VIP stopped", stops),
                     ("VIP started (majority)", recs)):
        if n >= 300:
            print(f"  {name:24s} median {statistics.median(xs):+7.1f} ms  p99 {pct(xs, 99):+7.1f} ms"
                  f"  max {max(xs):+7.1f} ms")
        else:
            print(f"  {name:24s} max of {n}: {max(xs):+7.1f} ms")
    print(f"  margin (majority's first start - isolated group stopped): smallest of {n} "
          f"{min(margins):.1f} ms" + (f", median {statistics.median(margins):.1f} ms"
                                      if n >= 300 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
