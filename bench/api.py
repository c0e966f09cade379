#!/usr/bin/python3
"""bench/api.py - the HTTP API's latency and vigild's memory (issue 10's benchmark).

Owns: two measurements on one node in a namespace LAN (tests/integration/netlab.py), each
with real `process` resources:
  1. vigild's resident memory (VmRSS, VmHWM) with 100 resources and the API on, once they all
     run and after 300 GET /metrics and 300 GET /v1/status (budget: under 20 MB);
  2. GET /metrics and GET /v1/status latency at 1,000 resources (N requests each, one at a
     time, from a client inside the node's namespace on a kept-alive connection), measured
     while a churn kills one resource's process every 20 ms (each is restarted: the status
     and the metrics change under the requests, as in a failover).
Prints median and p99 when N >= 300, else "max of N". Exits 1 with --strict when RSS is over
budget.

Must not: leave anything behind (netlab cleans up), or wait without a bound.
Run as root: /usr/bin/python3 bench/api.py [--requests 300] [--strict]
"""
import argparse
import json
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import netlab  # noqa: E402
from benchstat import summary  # noqa: E402

RSS_BUDGET_KB = 20 * 1024

CLIENT = r"""
import http.client, json, sys, time
n = int(sys.argv[1])
out = {}
c = http.client.HTTPConnection("127.0.0.1", 7480, timeout=30)
for path in ("/metrics", "/v1/status"):
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        xs.append((time.perf_counter() - t) * 1000.0)
        if r.status != 200 or not body:
            raise SystemExit(f"{path}: {r.status}")
    out[path] = {"ms": xs, "bytes": len(body)}
print(json.dumps(out))
"""


def resources(lab, n):
    return "".join(f"  - name: p{i}\n    type: process\n"
                   f"    params: {{command: \"/bin/sleep 86400\"}}\n"
                   f"    ops: {{monitor: {{interval: 5s, timeout: 5s}}}}\n" for i in range(n))


def memory_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def requests(node, n):
    p = node.run(["/usr/bin/python3", "-c", CLIENT, str(n)], timeout=600)
    return json.loads(p.stdout)


def sleeper_pids(node):
    return node.host_pgrep(r"^/bin/sleep 86400$")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=300, help="requests per path")
    ap.add_argument("--strict", action="store_true", help="exit 1 if RSS is over budget")
    a = ap.parse_args()
    rc = 0
    with netlab.Lab(nodes=["n1"], client=False) as lab:
        node = lab.node()
        # 1. memory with 100 resources and the API on
        names = [f"p{i}" for i in range(100)]
        d = node.start_vigild(netlab.cluster_yaml(lab, resources(lab, 100)))
        node.wait_state(names, timeout=120)
        d.wait_pid()
        time.sleep(2)
        m0 = memory_kb(d.host_pid)
        requests(node, a.requests)
        m1 = memory_kb(d.host_pid)
        print(f"vigild memory, 100 process resources, API on: RSS {m0['VmRSS'] / 1024:.1f} MB "
              f"running; {m1['VmRSS'] / 1024:.1f} MB after {a.requests} GET /metrics and "
              f"{a.requests} GET /v1/status (peak {m1['VmHWM'] / 1024:.1f} MB); budget 20 MB: "
              + ("ok" if m1["VmHWM"] < RSS_BUDGET_KB else "OVER"))
        if m1["VmHWM"] >= RSS_BUDGET_KB and a.strict:
            rc = 1
        d.stop(120)

        # 2. latency at 1,000 resources while they churn
        names = [f"p{i}" for i in range(1000)]
        d = node.start_vigild(netlab.cluster_yaml(lab, resources(lab, 1000)))
        node.wait_state(names, timeout=300)
        stop = threading.Event()
        kills = [0]

        def churn():
            rnd = random.Random(7)
            pids = sleeper_pids(node)
            while not stop.is_set():
                if not pids:
                    pids = sleeper_pids(node)
                    continue
                p = pids.pop(rnd.randrange(len(pids)))
                try:
                    os.kill(p, signal.SIGKILL)
                    kills[0] += 1
                except ProcessLookupError:
                    pass
                stop.wait(0.02)

        t = threading.Thread(target=churn, daemon=True)
        t.start()
        try:
            got = requests(node, a.requests)
        finally:
            stop.set()
            t.join(10)
        print(f"HTTP API at 1,000 process resources, one killed every 20 ms "
              f"({kills[0]} kills during the run):")
        for path in ("/metrics", "/v1/status"):
            print(f"  GET {path:11s} {summary(got[path]['ms'], what='requests')}   "
                  f"({got[path]['bytes'] / 1024:.0f} KiB)")
        d.wait_pid()
        m = memory_kb(d.host_pid)
        if m:
            print(f"  vigild RSS at 1,000 resources: {m['VmRSS'] / 1024:.1f} MB "
                  f"(peak {m['VmHWM'] / 1024:.1f} MB)")
        d.stop(300)
    return rc


if __name__ == "__main__":
    sys.exit(main())
