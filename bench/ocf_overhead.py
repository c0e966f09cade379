#!/usr/bin/python3
"""bench/ocf_overhead.py - time per `ocf:heartbeat:Dummy monitor` run by vigild vs. directly.

Owns: the issue-2 benchmark "overhead per OCF operation (fork/exec/wait)". One node in a
namespace LAN (tests/integration/netlab.py) runs vigild at debug level with Dummy resources
whose monitor recurs every 200 ms; vigild logs each operation's duration, measured from spawn
to reaped exit ("NAME: monitor -> ok (rc 0, N us)"). The same agent, with the same OCF
environment, is then run directly on the node N times from this script (fork/exec/wait by
Python's subprocess, through one nsenter'd helper shell so nsenter is not counted) and from a
plain shell loop. Prints median and p99 of each and the difference of the medians (vigild's
overhead per operation).

Must not: leave anything behind (netlab cleans up), or wait without a bound.
Run as root: /usr/bin/python3 bench/ocf_overhead.py [--runs 50]
"""
import argparse
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import netlab  # noqa: E402
from benchstat import percentile  # noqa: E402

OP_RE = re.compile(r" (d\d+): monitor -> ok \(rc 0, (\d+) us\)")

# Runs the agent RUNS times on the node and prints one duration (us) per run, measured around
# fork/exec/wait by Python, like an executor would; then the shell loop's total.
DIRECT = r"""
import os, subprocess, sys, time
agent, runs = sys.argv[1], int(sys.argv[2])
env = dict(os.environ, OCF_RESOURCE_INSTANCE="direct", OCF_RESKEY_CRM_meta_interval="0",
           OCF_RESKEY_CRM_meta_timeout="10000")
open("/run/resource-agents/Dummy-direct.state", "w").close()
for _ in range(runs):
    t = time.perf_counter()
    rc = subprocess.run([agent, "monitor"], env=env, stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    d = time.perf_counter() - t
    assert rc == 0, rc
    print("py", int(d * 1e6))
for _ in range(runs):
    t = time.perf_counter()
    rc = subprocess.run(["/bin/sh", "-c", agent + " monitor >/dev/null 2>&1"], env=env).returncode
    d = time.perf_counter() - t
    assert rc == 0, rc
    print("sh", int(d * 1e6))
"""


def line(label, xs):
    ms = [x / 1000.0 for x in xs]
    return (f"  {label:<44} median {statistics.median(ms):6.2f} ms   p99 "
            f"{percentile(ms, 99):6.2f} ms   ({len(ms)} runs)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--resources", type=int, default=1,
                    help="Dummy resources monitored at once by vigild")
    a = ap.parse_args()
    if a.runs < 20:
        ap.error("--runs must be at least 20")

    with netlab.Lab(nodes=["n1"], client=False) as lab:
        node = lab.node()
        names = [f"d{i}" for i in range(a.resources)]
        res = "".join(f"  - name: {n}\n    type: ocf:heartbeat:Dummy\n    requires: quorum\n"
                      f"    ops: {{monitor: {{interval: 200ms, timeout: 10s}}}}\n" for n in names)
        d = node.start_vigild(netlab.cluster_yaml(lab, res), args=["--log-level", "debug"])
        node.wait_state(names, timeout=60)

        def enough():
            got = [int(m.group(2)) for m in OP_RE.finditer(d.log())]
            return got if len(got) >= a.runs + 2 else None
        vig = netlab.wait_until(enough, 0.2 * (a.runs + 2) + 60, 0.2,
                                f"{a.runs} monitors in vigild's log")[2:a.runs + 2]
        d.stop()

        agent = os.path.join(lab.ocf_root, "resource.d", "heartbeat", "Dummy")
        out = node.run(["/usr/bin/python3", "-c", DIRECT, agent, str(a.runs)], timeout=600,
                       env=dict(os.environ, OCF_ROOT=lab.ocf_root)).stdout.split("\n")
        py = [int(x.split()[1]) for x in out if x.startswith("py ")]
        sh = [int(x.split()[1]) for x in out if x.startswith("sh ")]

    print("ocf:heartbeat:Dummy monitor, time per operation (fork/exec/wait):")
    print(line("run by vigild (its logged op duration)", vig))
    print(line("run directly (Python fork/exec/wait)", py))
    print(line("run directly through /bin/sh -c", sh))
    print(f"  vigild overhead per operation (median - direct median): "
          f"{(statistics.median(vig) - statistics.median(py)) / 1000.0:+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
