#!/usr/bin/python3
"""demo.py - the three-server vigil demo (run by scripts/demo.sh, i.e. `make demo`).

Owns: the story the demo tells. Builds a namespace LAN with servers n1, n2, n3 and a client
(netlab.py), starts Corosync and vigild on each server (clusterlab.py) with a web service that
answers with its node's name and a virtual IP in one group, shows `vigil status` as an operator
sees it, has the client poll the service through the VIP, crashes the server holding the VIP
(power off: its link down, kill -9 of everything on it), shows the client's view of the gap
(how long nothing answered, who answered before and after) and the cluster's view of the
recovery (vigild's log lines and `vigil status`), boots the node back, shows the status again
and cleans up. Exits 1 when the story does not happen (no recovery, the VIP on two live nodes,
the node not rejoining).

Must not: leave anything behind, even when a step fails or the demo is interrupted (the lab is
a context manager, netlab also cleans up at exit, SIGTERM/SIGHUP are turned into an exit;
the client poller and the VIP sampler are stopped before the lab closes).
"""
import datetime
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
import netlab  # noqa: E402

NAMES = ["n1", "n2", "n3"]
TTY = sys.stdout.isatty()
LOG_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (\S+) +(\w+) +(.*)$")
# vigild's log lines that tell the recovery
STORY_RE = re.compile(r"^(membership: \[|node \S+ left|start |stop |\S+: started|\S+: stopped|"
                      r"stopping every|resources may run|fencing|waiting)")


class DemoFailed(Exception):
    pass


def say(msg):
    print(f"\n\033[1m==> {msg}\033[0m" if TTY else f"\n==> {msg}", flush=True)


def show(node, *args):
    p = cl.vigil(node, *args)
    print(f"[{node.name}]$ vigil {' '.join(args)}")
    print((p.stdout + p.stderr).rstrip("\n"), flush=True)
    return p


def ms(s):
    return f"{s * 1000:.0f} ms"


def settled(st, holder=None):
    h = cl.running_on(st, "vip")
    return (cl.nodes_online(st, NAMES) and len(h) == 1 and cl.running_on(st, "web") == h
            and (holder is None or h == [holder]))


def log_story(lab, cluster, names, since_wall):
    """vigild's log lines about the recovery on the named nodes since since_wall, merged
    in time order: (wall time, node, message)."""
    out = []
    for n in names:
        d = cluster.vigild.get(n)
        if d is None:
            continue
        for line in netlab.read_text(d.log_path).splitlines():
            m = LOG_RE.match(line)
            if not m or not STORY_RE.match(m.group(4)):
                continue
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            if t >= since_wall - 0.001:
                out.append((t, m.group(2), m.group(4)))
    return sorted(out)


def story(lab):
    vip = cl.vip_addr(lab)
    say("A LAN in network namespaces: servers "
        + ", ".join(f"{n.name} {n.addr}" for n in lab.nodes.values())
        + f"; a client at {lab.client.addr}; the service's virtual IP is {vip}")
    text = cl.web_cluster_yaml(lab, NAMES, name="demo")
    say("cluster.yaml (the same on every server)")
    print(text, end="")

    say("Starting Corosync and vigild on each server (each its own `corosync -f`)")
    t0 = time.monotonic()
    cluster = cl.start(lab, NAMES, yaml_text=text, log_level="info")
    sts = cl.wait_status(cluster.nodes(), settled, 60, "the cluster to start web + VIP")
    holder = cl.running_on(next(iter(sts.values())), "vip")[0]
    print(f"cluster formed and the service started in {time.monotonic() - t0:.1f} s")
    show(lab.nodes["n1"], "status")

    sampler = cl.VipSampler(lab, vip, interval=0.02).start()
    poller = cl.ClientPoller(lab, vip, interval=0.02, timeout=0.05).start()
    say(f"The client polls http://{vip}:{cl.WEB_PORT}/ every 20 ms (a new connection each "
        "time, given up after 50 ms)")
    poller.wait_answer(10, what="a first answer through the VIP")
    time.sleep(1.5)
    by, errors = poller.summary(time.monotonic() - 1.0)
    print(f"answers in the last second: {by}, failed requests: {errors}")
    if set(by) != {holder}:
        raise DemoFailed(f"the client should be answered by {holder} only, got {by}")

    leader = next(iter(sts.values()))["cluster"].get("leader")
    say(f"Crashing {holder}, which holds the VIP"
        + (" and is the leader (the coordinator)" if leader == holder else "")
        + ": power off (its link down, kill -9 of every process on it)")
    survivors = [n for n in NAMES if n != holder]
    t_wall, t_crash = time.time(), time.monotonic()
    cluster.crash(holder)
    print(f"{holder} is down; the client keeps polling")
    time.sleep(0.3)
    say(f"`vigil status` on {survivors[0]} {ms(time.monotonic() - t_crash)} after the crash "
        "(Corosync has not declared the node lost yet)")
    show(lab.nodes[survivors[0]], "status")
    try:
        t_ans, new = poller.wait_answer(30, since=t_crash, exclude=(holder,),
                                        what="an answer from another node")
    except AssertionError as e:
        raise DemoFailed(f"no recovery: {e}") from None
    last = poller.last_answer_before(t_crash)
    time.sleep(0.5)

    say("The client's view")
    recs = poller.snapshot(t_crash)
    failed = sum(1 for r in recs if r[2] is None and r[0] < t_ans)
    if last:
        print(f"last answer before the crash: from {last[1]}, {ms(t_crash - last[0])} before it")
    print(f"first answer after the crash: from {new}, {ms(t_ans - t_crash)} after it")
    if last:
        print(f"no answer for {ms(t_ans - last[0])} ({failed} failed requests); "
              f"measured to about 50 ms (a request waits that long for a dead node)")

    say("The cluster's view (vigild's log on the survivors, time since the crash)")
    for t, node, msg in log_story(lab, cluster, survivors, t_wall):
        print(f"  +{(t - t_wall) * 1000:5.0f} ms  {node}  {msg}")
    show(lab.nodes[new], "status")
    n_samples, _ = sampler.assert_never_two()

    say(f"Booting {holder} again (a new holder over the same disks; Corosync, vigild)")
    t_boot = time.monotonic()
    cluster.restart(holder)
    cl.wait_status(cluster.nodes(), lambda st: settled(st, new), 60,
                   f"{holder} online again, the service still on {new}")
    print(f"{holder} is back online after {time.monotonic() - t_boot:.1f} s; it takes nothing "
          "back (stickiness and location do not ask for it)")
    time.sleep(1.0)
    show(lab.nodes[holder], "status")
    by, _ = poller.summary(time.monotonic() - 0.8)
    print(f"answers in the last 0.8 s: {by}")
    if set(by) != {new}:
        raise DemoFailed(f"the client should be answered by {new} only, got {by}")
    poller.stop()
    sampler.stop()
    n_samples, _ = sampler.assert_never_two()
    print(f"the VIP was never on two live servers ({n_samples} samples of every server's "
          "addresses)")


def main():
    def bye(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGHUP, bye)

    t0 = time.monotonic()
    rc = 0
    with netlab.Lab(nodes=NAMES, client=True) as lab:
        try:
            story(lab)
        except (DemoFailed, AssertionError, netlab.LabError, netlab.VigilError) as e:
            print(f"\ndemo FAILED: {e}", file=sys.stderr)
            print(cl.vigild_logs(lab, tail=3000), file=sys.stderr)
            rc = 1
        finally:
            for t in getattr(lab, "cluster_threads", []):
                t.stop()
            r = getattr(lab, "addr_reader", None)
            if r is not None:
                r.close()
            say("Cleaning up: every server's processes, the namespaces, the files")
    print(f"{'done' if rc == 0 else 'FAILED'} in {time.monotonic() - t0:.0f} s.")
    return rc


if __name__ == "__main__":
    sys.exit(main())
