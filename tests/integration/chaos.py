#!/usr/bin/python3
"""chaos - a seeded random fault campaign on a three-server vigil cluster (real namespaces, real
Corosync), watched throughout for a must-run-once resource on two live nodes.

Owns: the campaign (run_campaign): faults drawn from faults.KINDS by a random.Random(seed),
each injected, held for a drawn time, healed; then the cluster gets a bounded time to heal
(every server online and quorate in every server's `vigil status`, all agreeing, the web
service and the VIP running together on one node, the watcher seeing the VIP and the service on
that node only, and the client answered through the VIP by that node). A watch.Watcher sees
every node's addresses (netlink events) and service processes throughout; its split-brain
samples (a sample where two live nodes held the VIP or ran the service) must be 0. The
command line (`make chaos FAULTS=N SEED=S [KINDS=a,b]`) builds its own lab, runs a long
campaign and prints: faults survived, time to heal per fault (median and p99 when there are at
least 300, else the max of N), split-brain samples; exit 0 only if every fault healed and no
split-brain sample was seen.

Must not: wait without a bound (each heal has HEAL_TIMEOUT_S; every wait goes through
netlab.wait_until), leave anything behind (the lab is closed in a finally, also on Ctrl-C), or
signal anything but this lab's processes (faults.py does it by PID).
"""

import argparse
import json
import math
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
import faults  # noqa: E402
import netlab  # noqa: E402
import watch  # noqa: E402
from clusterlab import node_state, resource, running_on  # noqa: E402

NAMES = ["n1", "n2", "n3"]
START_S = 60
HEAL_TIMEOUT_S = 90.0
SLOW_S = 10.0  # a heal slower than this is reported with what was missing then
HOLD_S = (2.0, 6.0)  # how long a fault lasts before it is healed (drawn)


def cluster_yaml(lab, web_args=faults.web_args_slow_stop(), fence_devices="", options=None):
    """Three servers, the web service and its VIP (both `requires: quorum`) in a group."""
    req = "    requires: quorum\n"
    return cl.cluster_yaml(lab, resources=cl.web_resources(lab, web_extra=req, vip_extra=req,
                                                           web_args=web_args),
                           groups=cl.web_group(), fence_devices=fence_devices,
                           options=options)


def start_cluster(lab):
    c = cl.start(lab, yaml_text=cluster_yaml(lab))
    return c


def _settled(names):
    def pred(st):
        c = st.get("cluster", {})
        if c.get("mode") != "cluster" or c.get("quorate") is not True:
            return False
        if not all(node_state(st, n) == "online" for n in names):
            return False
        web, vip = running_on(st, "web"), running_on(st, "vip")
        if len(web) != 1 or web != vip:
            return False
        return resource(st, "web")["state"] == "running" == resource(st, "vip")["state"]
    return pred


def _picture(st):
    return (st["cluster"]["leader"], sorted((n["name"], n["state"]) for n in st["nodes"]),
            sorted((r["name"], running_on(st, r["name"])) for r in st["resources"]))


def whole(cluster, watcher, poller, since, why=None):
    """The holder if the cluster is whole again, else None: every server live, online and
    quorate in every server's status, all agreeing, web and vip running together on one node;
    the watcher sees the VIP and the service on that node only; the client's last answer
    through the VIP, to a request sent after `since`, came from it. why: a list that gets
    what was missing (for a slow or failed heal's report)."""
    def no(reason):
        if why is not None:
            why[:] = [reason]
        return None
    sts = {}
    for n in cluster.nodes():
        if not cl.live(n):
            return no(f"{n.name} is powered off")
        st = cl.status(n)
        if not _settled(cluster.names)(st):
            return no(f"{n.name} not settled: quorate {st.get('cluster', {}).get('quorate')}, "
                      f"nodes {[(x['name'], x['state']) for x in st.get('nodes', [])]}, "
                      f"web {running_on(st, 'web')}, vip {running_on(st, 'vip')}")
        sts[n.name] = st
    if len({json.dumps(_picture(st), sort_keys=True) for st in sts.values()}) != 1:
        return no(f"servers disagree: {[_picture(st) for st in sts.values()]}")
    holder = running_on(next(iter(sts.values())), "web")[0]
    h = watcher.holders()
    if h["vip"] != (holder,) or h["web"] != (holder,):
        return no(f"status says {holder}, the watcher sees {h}")
    answers = poller.answers(since)
    if not answers or answers[-1][1] != holder:
        return no(f"client's last answer {answers[-1:] or None}, holder {holder}; last "
                  f"records {poller.snapshot(since)[-2:]}")
    return holder


def wait_whole(cluster, watcher, poller, since, timeout, why=None):
    why = [] if why is None else why
    try:
        return netlab.wait_until(lambda: whole(cluster, watcher, poller, since, why), timeout,
                                 0.2, "the cluster to be whole again")
    except AssertionError as e:
        raise AssertionError(f"{e}\nmissing: {why[0] if why else '?'}") from None


class Campaign:
    """A fault campaign on a started Cluster; the watcher and client poller are its own."""

    def __init__(self, cluster, seed, kinds=faults.SAFE_KINDS, hold=HOLD_S,
                 heal_timeout=HEAL_TIMEOUT_S, log=print):
        self.cluster = cluster
        self.lab = cluster.lab
        self.rng = random.Random(seed)
        self.seed = seed
        self.kinds = list(kinds)
        for k in self.kinds:
            if k not in faults.KINDS:
                raise ValueError(f"unknown fault kind {k!r} (known: {', '.join(faults.KINDS)})")
        self.hold = hold
        self.heal_timeout = heal_timeout
        self.log = log
        self.results = []  # dicts: kind, node, hold_s, heal_s (None: did not heal), error
        self.vip = cl.vip_addr(self.lab)
        self.watcher = watch.Watcher(self.lab, self.vip)
        self.poller = cl.ClientPoller(self.lab, self.vip)

    def healthy(self, since):
        return whole(self.cluster, self.watcher, self.poller, since)

    def wait_healthy(self, since, timeout, why=None):
        return wait_whole(self.cluster, self.watcher, self.poller, since, timeout, why)

    def leader(self):
        for n in self.cluster.nodes():
            if cl.live(n):
                try:
                    return cl.status(n)["cluster"].get("leader")
                except (netlab.VigilError, netlab.LabError):
                    continue
        return None

    def run(self, n_faults):
        """Inject n_faults faults one after the other; returns self.results. Stops at the
        first fault the cluster does not heal from (its result has heal_s None)."""
        self.watcher.start()
        self.poller.start()
        try:
            holder = self.wait_healthy(time.monotonic(), START_S)
            for i in range(n_faults):
                kind = self.rng.choice(self.kinds)
                hold = round(self.rng.uniform(*self.hold), 2)
                f = faults.make(kind, self.cluster, self.rng, holder=holder,
                                leader=self.leader())
                res = {"i": i + 1, "kind": kind, "node": f.node, "holder": holder,
                       "hold_s": hold, "heal_s": None, "error": None}
                self.results.append(res)
                try:
                    f.inject()
                    time.sleep(hold)
                    f.heal()
                    t_heal = f.t_heal
                    why = []
                    try:  # what is missing after SLOW_S is worth a line in the report
                        holder = self.wait_healthy(t_heal, min(SLOW_S, self.heal_timeout), why)
                    except AssertionError:
                        res["slow"] = why[0] if why else "?"
                        holder = self.wait_healthy(
                            t_heal, max(0.1, t_heal + self.heal_timeout - time.monotonic()), why)
                    res["heal_s"] = time.monotonic() - t_heal
                    res["new_holder"] = holder
                except (AssertionError, netlab.LabError, netlab.VigilError) as e:
                    res["error"] = str(e)[-3000:]
                    faults.heal_all(self.lab)
                self.log(f"fault {i + 1}/{n_faults}: {kind} on {res['node']} (holder "
                         f"{res['holder']}) for {hold:.2f}s: "
                         + (f"healed in {res['heal_s']:.2f}s, holder {res['new_holder']}"
                            if res["heal_s"] is not None else "NOT HEALED")
                         + f"; split-brain samples so far {self.watcher.split_brain_samples()}"
                         + (f"\n  slow: after {SLOW_S:.0f}s still missing: {res['slow']}"
                            if res.get("slow") else ""))
                if res["heal_s"] is None:
                    break
        finally:
            faults.heal_all(self.lab)
            self.poller.stop()
            self.watcher.stop()
        return self.results

    def survived(self):
        return sum(1 for r in self.results if r["heal_s"] is not None)

    def heal_times(self):
        return [r["heal_s"] for r in self.results if r["heal_s"] is not None]

    def split_brain_samples(self):
        return self.watcher.split_brain_samples()

    def summary(self, n_faults):
        times = sorted(self.heal_times())
        if len(times) >= 300:
            p99 = times[math.ceil(0.99 * len(times)) - 1]  # nearest rank
            heal = f"median {statistics.median(times):.2f}s, p99 {p99:.2f}s"
        elif times:
            heal = f"max of {len(times)} {times[-1]:.2f}s"
        else:
            heal = "no fault healed"
        rep = self.watcher.report()
        lines = [f"chaos: seed {self.seed}, kinds {','.join(self.kinds)}",
                 f"faults survived: {self.survived()}/{n_faults}",
                 f"time to heal (heal action to one VIP answering and every node back): {heal}",
                 f"split-brain samples: {self.split_brain_samples()} (must be 0); overlap "
                 f"vip {rep['vip']['overlap_s']:.3f}s, web {rep['web']['overlap_s']:.3f}s",
                 self.watcher.summary()]
        failed = [r for r in self.results if r["heal_s"] is None]
        for r in failed:
            lines.append(f"not healed: fault {r['i']} {r['kind']} on {r['node']}: "
                         f"{(r['error'] or '')[-1500:]}")
        return "\n".join(lines)

    def ok(self, n_faults):
        return self.survived() == n_faults and self.split_brain_samples() == 0 and \
            self.watcher.overlap_s() == 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faults", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(faults.SAFE_KINDS),
                    help=f"comma-separated, from: {', '.join(faults.KINDS)}")
    ap.add_argument("--heal-timeout", type=float, default=HEAL_TIMEOUT_S)
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("chaos: needs root (network namespaces)")
    kinds = [k for k in a.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in faults.KINDS]
    if unknown or not kinds or a.faults < 1:
        sys.exit(f"chaos: unknown fault kinds {unknown} (known: {', '.join(faults.KINDS)})"
                 if unknown or not kinds else "chaos: --faults must be at least 1")
    netlab.cleanup_stale()
    lab = netlab.Lab(nodes=NAMES, client=True)
    ok = False
    camp = None
    try:
        lab.start()
        c = start_cluster(lab)
        camp = Campaign(c, a.seed, kinds, heal_timeout=a.heal_timeout,
                        log=lambda line: print(line, flush=True))
        camp.run(a.faults)
        print(camp.summary(a.faults))
        ok = camp.ok(a.faults)
        if not ok:
            print(cl.vigild_logs(lab, tail=4000))
    finally:
        cl.heal(lab)
        lab.close()
        for f, text in lab.sanitizer_reports:
            print(f"===== sanitizer report {f}\n{text[-4000:]}")
        if lab.sanitizer_reports:
            ok = False
        if lab.unstopped:
            print("teardown:", "; ".join(lab.unstopped))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
