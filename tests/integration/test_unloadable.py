"""Issue 8 item 8: a committed configuration a node cannot fully run is applied there anyway.

Three servers; n2's vigild has an OCF_ROOT of its own that lacks the agent ocf:vigiltest:Recorder
(every other agent is there). `vigil apply` on n1 of a configuration with a Recorder resource
(preferring n2) and a Dummy resource (preferring n2) commits; then:
- the Recorder resource runs on a node that has the agent, never on n2;
- every server's `vigil status` shows its instance on n2 failed, "unrunnable", with a reason
  saying the agent is not installed; the text status has a "cannot run" line for it;
- n2 never runs any operation of it (no probe, start or stop in its vigild's log);
- the Dummy resource of the same configuration runs on n2 (n2 switched to the new
  configuration instead of keeping its old one);
- the history has the failure on n2;
- the same configuration applied on n2 itself is refused there (apply validates with the
  applying node's own agents).
Must not: leave anything behind (the lab fixtures clean up) or wait without a bound.
"""
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
from clusterlab import running_on, wait_status  # noqa: E402
import netlab  # noqa: E402

NAMES = ["n1", "n2", "n3"]
DUMMY = "  - name: db\n    type: ocf:heartbeat:Dummy\n"
MISSING = "Recorder"


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


def ocf_root_without(lab, agent):
    """An OCF_ROOT like the lab's, but whose vigiltest provider lacks `agent`."""
    root = os.path.join(lab.dir, "ocf-without-" + agent)
    os.makedirs(os.path.join(root, "resource.d"))
    os.symlink(os.path.join(lab.ocf_root, "lib"), os.path.join(root, "lib"))
    for prov in sorted(os.listdir(os.path.join(lab.ocf_root, "resource.d"))):
        src = os.path.join(lab.ocf_root, "resource.d", prov)
        dst = os.path.join(root, "resource.d", prov)
        if prov != "vigiltest":
            os.symlink(src, dst)
            continue
        os.makedirs(dst)
        for a in sorted(os.listdir(src)):
            if a != agent:
                os.symlink(os.path.join(src, a), os.path.join(dst, a))
    assert not os.path.exists(os.path.join(root, "resource.d", "vigiltest", agent))
    assert os.path.exists(os.path.join(root, "resource.d", "vigiltest", "SlowMeta"))
    return root


def instance(st, res, node):
    r = cl.resource(st, res) or {}
    for i in r.get("instances", []):
        if i.get("node") == node:
            return i
    return None


def ops_of(log, res):
    """The operations vigild logged for resource res (its debug line for every op's end)."""
    return [line for line in log.splitlines() if f" {res}: " in line and " -> " in line
            and ("probe" in line or "start" in line or "stop" in line or "monitor" in line)]


def wait_kept_off_n2(nodes, name):
    """Wait until `name` runs once, not on n2 (which cannot run it: failed there, unrunnable),
    while db2 runs on n2 (so n2 did take the configuration); the statuses by node."""
    def settled(st):
        i = instance(st, name, "n2")
        return (len(running_on(st, name)) == 1 and running_on(st, name) != ["n2"]
                and running_on(st, "db2") == ["n2"] and i is not None
                and i.get("state") == "failed" and i.get("unrunnable") is True)
    return wait_status(nodes, settled, 60, f"{name} runs off n2, db2 on n2, {name} failed on n2")


def test_node_without_an_agent_applies_the_committed_config(lab3):
    cluster = cl.start(lab3, yaml_text=cl.cluster_yaml(lab3, resources=DUMMY), vigild=False)
    alt = ocf_root_without(lab3, MISSING)
    for n in NAMES:
        node = lab3.nodes[n]
        env = {"OCF_ROOT": alt} if n == "n2" else None
        d = node.start_vigild(args=["--log-level", "debug"], env=env, wait_ready=False)
        cluster.vigild[n] = d
        d.wait_pid()
    cluster.wait_answering(NAMES)
    nodes = list(lab3.nodes[n] for n in NAMES)
    wait_status(nodes, lambda st: len(running_on(st, "db")) == 1, 60, "db runs")

    reclog = os.path.join(lab3.dir, "rec.log")
    new = cl.cluster_yaml(
        lab3, resources=DUMMY + f"  - name: rec\n    type: ocf:vigiltest:{MISSING}\n"
        f"    params: {{log: {reclog}}}\n"
        "  - name: db2\n    type: ocf:heartbeat:Dummy\n",
        constraints="  - location: {resource: rec, node: n2, score: 100}\n"
        "  - location: {resource: db2, node: n2, score: 100}\n")
    n1, n2 = lab3.nodes["n1"], lab3.nodes["n2"]

    # on n2 itself the daemon refuses it: apply checks with the applying node's agents
    n2.write("/etc/vigil/next.yaml", new)
    n2.write("/etc/vigil/raw_apply.py", cl.RAW_APPLY)
    p = n2.run(["/usr/bin/python3", "/etc/vigil/raw_apply.py", "/etc/vigil/next.yaml"],
               check=False, timeout=60)
    r = json.loads(p.stdout)
    assert r.get("code") != 0 and "not installed" in json.dumps(r), r

    # on n1 (which has it) it commits
    n1.write("/etc/vigil/next.yaml", new)
    p = cl.vigil(n1, "apply", "/etc/vigil/next.yaml", timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)

    sts = wait_kept_off_n2(nodes, "rec")
    for name, st in sts.items():
        i = instance(st, "rec", "n2")
        assert "is not installed" in (i.get("reason") or ""), (name, i)
        assert f"ocf:vigiltest:{MISSING}" in i["reason"], (name, i)
    # n2 runs the committed configuration: it knows db2 and rec
    text = cl.vigil(n2, "status", timeout=30).stdout
    assert "cannot run:" in text and "rec on n2:" in text, text
    # the scheduler keeps it off n2 although it prefers n2 (no move after a while either)
    time.sleep(3)
    st = cl.status(n1)
    assert running_on(st, "rec") and running_on(st, "rec") != ["n2"], st
    log2 = cluster.vigild["n2"].log()
    assert ops_of(log2, "rec") == [], ops_of(log2, "rec")
    assert "cannot run on this node" in log2, log2[-3000:]
    assert "keeping the previous one" not in log2 and "cannot be loaded" not in log2
    # the others did run it (the agent records its start on the node that has it)
    assert os.path.exists(reclog) and "start" in open(reclog).read()
    ev = json.loads(cl.vigil(n1, "events", "--json", timeout=30).stdout)
    texts = [e["text"] for e in ev.get("events", [])]
    # a hard failure, as OCF's "not installed" is: the failcount is migration_threshold
    assert any(t.startswith("rec on n2:") and "not installed" in t
               and t.endswith("(failcount 1000000)") for t in texts), texts

    # n2's vigild restarted: it follows the saved committed configuration (not its file's,
    # which has neither rec nor db2), with rec still marked, and runs nothing of rec
    cluster.stop_vigild("n2")
    d = n2.start_vigild(args=["--log-level", "debug"], env={"OCF_ROOT": alt},
                        wait_ready=False)
    cluster.vigild["n2"] = d
    d.wait_pid()
    cluster.wait_answering(["n2"])
    wait_kept_off_n2(nodes, "rec")
    log2 = d.log()
    assert ops_of(log2, "db2"), log2[-3000:]  # the pattern sees operations
    assert ops_of(log2, "rec") == [], ops_of(log2, "rec")
    assert "cannot be loaded" not in log2 and "cannot be used" not in log2, log2[-3000:]

    # the agent installed on n2, then a cleanup: n2 looks again, probes it, and (preferring
    # n2, no stickiness) it moves there
    os.symlink(os.path.join(lab3.ocf_root, "resource.d", "vigiltest", MISSING),
               os.path.join(alt, "resource.d", "vigiltest", MISSING))
    p = cl.vigil(n1, "resource", "cleanup", "rec", timeout=30)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    sts = wait_status(nodes, lambda st: running_on(st, "rec") == ["n2"]
                      and instance(st, "rec", "n2").get("unrunnable") is None, 60,
                      "rec runs on n2 once its agent is there")
    assert running_on(sts["n1"], "db2") == ["n2"], sts["n1"]


def test_probe_answering_not_installed(lab3):
    """A probe that answers OCF's "not installed" (the agent is there, the tool it needs is
    not: vigiltest:NeedsTool): not running there, may not start there, no stop attempted."""
    cluster = cl.start(lab3, yaml_text=cl.cluster_yaml(lab3, resources=DUMMY))
    nodes = list(lab3.nodes[n] for n in NAMES)
    for n in ("n1", "n3"):
        lab3.nodes[n].write("/etc/vigil/tool", "")
    wait_status(nodes, lambda st: len(running_on(st, "db")) == 1, 60, "db runs")
    calls_dir = os.path.join(lab3.dir, "needstool")
    os.makedirs(calls_dir)
    new = cl.cluster_yaml(
        lab3, resources=DUMMY + "  - name: nt\n    type: ocf:vigiltest:NeedsTool\n"
        f"    params: {{tool: /etc/vigil/tool, dir: {calls_dir}}}\n"
        "  - name: db2\n    type: ocf:heartbeat:Dummy\n",
        constraints="  - location: {resource: nt, node: n2, score: 100}\n"
        "  - location: {resource: db2, node: n2, score: 100}\n")
    n1 = lab3.nodes["n1"]
    n1.write("/etc/vigil/next.yaml", new)
    p = cl.vigil(n1, "apply", "/etc/vigil/next.yaml", timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)

    sts = wait_kept_off_n2(nodes, "nt")
    for name, st in sts.items():
        assert "not installed" in (instance(st, "nt", "n2").get("reason") or ""), (name, st)
    time.sleep(3)
    assert running_on(cl.status(n1), "nt") != ["n2"]
    calls = open(os.path.join(calls_dir, "calls")).read().split("\n")
    on_n2 = [c for c in calls if c.endswith(" n2")]
    assert on_n2 == ["monitor n2"], calls  # the probe, and nothing after it
    assert any(c.startswith("start ") for c in calls), calls
    log2 = cluster.vigild["n2"].log()
    assert "nt: cannot run on this node" in log2, log2[-3000:]
