"""Issue 8 item 9 (meta-data): vigild reads its agents' meta-data off its loop, and caches it.

With a test agent whose meta-data action takes 3 s (agents/ocf/vigiltest/SlowMeta, which
records each run in $OCF_ROOT/SlowMeta.runs with the node and the program that ran it):
- a cluster server: while `vigil apply` of a configuration using it waits for the agent's
  meta-data, `vigil status` on the same daemon answers within 200 ms, and the apply then
  succeeds; every server reads the meta-data once; a second apply using the agent again runs
  no meta-data in any vigild (the cache);
- a committed configuration that arrives while a server still reads the meta-data for an
  older one replaces it there: that server switches once, to the newer one;
- a standalone vigild starting with such a resource answers on its control socket while it
  reads the meta-data, then starts the resource.
Must not: leave anything behind (the lab fixtures clean up) or wait without a bound.
"""
import json
import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
from clusterlab import running_on, wait_status  # noqa: E402
import netlab  # noqa: E402
from netlab import wait_until  # noqa: E402

NAMES = ["n1", "n2", "n3"]
ANSWER_S = 0.2  # a status reply while meta-data is read, at most
SLOW = "  - name: slow\n    type: ocf:vigiltest:SlowMeta\n"
DUMMY = "  - name: db\n    type: ocf:heartbeat:Dummy\n"
DUMMY2 = "  - name: db2\n    type: ocf:heartbeat:Dummy\n"
SWITCH = "switching to the committed configuration"


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


def meta_runs(lab):
    """The SlowMeta meta-data runs so far: [(node, caller, start, end or None)]."""
    path = os.path.join(lab.ocf_root, "SlowMeta.runs")
    if not os.path.exists(path):
        return []
    runs, open_runs = [], {}
    with open(path) as f:
        for line in f:
            what, node, caller, t = line.split()
            if what == "start":
                open_runs.setdefault((node, caller), []).append(len(runs))
                runs.append([node, caller, float(t), None])
            else:
                runs[open_runs[(node, caller)].pop(0)][3] = float(t)
    return [tuple(r) for r in runs]


def daemon_runs(lab, node=None):
    return [r for r in meta_runs(lab) if r[1] == "vigild" and (node is None or r[0] == node)]


def poll_status(node, vigil, stop):
    """Call `vigil status --json` on node until stop is set: [(start, end, returncode)]."""
    out = []
    while not stop.is_set():
        t0 = time.time()
        p = vigil(node)
        out.append((t0, time.time(), p.returncode))
        time.sleep(0.05)
    return out


def run_in_thread(fn):
    box = {}
    t = threading.Thread(target=lambda: box.update(result=fn()))
    t.start()
    return t, box


def check_answers_during(calls, run, what):
    """Every status call answered within ANSWER_S, and at least three fell wholly inside the
    daemon's meta-data run (start, end)."""
    slow = [(round(b - a, 3), rc) for a, b, rc in calls if b - a > ANSWER_S]
    assert not slow, f"{what}: status calls slower than {ANSWER_S}s: {slow}"
    inside = [c for c in calls if run[2] <= c[0] and c[1] <= run[3]]
    assert len(inside) >= 3, (what, run, calls)
    return inside


def test_apply_reads_metadata_off_the_loop_and_caches_it(lab3):
    cl.start(lab3, yaml_text=cl.cluster_yaml(lab3, resources=DUMMY))
    n1 = lab3.nodes["n1"]
    wait_status(lab3.nodes.values(), lambda st: len(running_on(st, "db")) == 1, 60, "db runs")
    assert meta_runs(lab3) == []

    n1.write("/etc/vigil/next.yaml", cl.cluster_yaml(lab3, resources=DUMMY + SLOW))
    stop = threading.Event()
    poller, polled = run_in_thread(lambda: poll_status(
        n1, lambda n: cl.vigil(n, "status", "--json", timeout=10), stop))
    t0 = time.time()
    p = cl.vigil(n1, "apply", "/etc/vigil/next.yaml", timeout=60)
    took = time.time() - t0
    stop.set()
    poller.join(30)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert "slow" in p.stdout, p.stdout  # the diff
    # the CLI checked the file first (its own run), then vigild read it on its loop
    cli_runs = [r for r in meta_runs(lab3) if r[1] == "vigil"]
    assert len(cli_runs) == 1, meta_runs(lab3)
    mine = daemon_runs(lab3, "n1")
    assert len(mine) == 1 and mine[0][3] is not None, meta_runs(lab3)
    assert mine[0][3] - mine[0][2] >= 2.9 and took >= 5.8, (mine, took)
    inside = check_answers_during(polled["result"], mine[0], "n1 during apply")
    assert all(rc == 0 for _, _, rc in inside), inside

    # the change reaches every server: each reads the meta-data once, then runs it
    wait_status(lab3.nodes.values(), lambda st: len(running_on(st, "slow")) == 1, 60,
                "slow running")
    wait_until(lambda: all(len(daemon_runs(lab3, n)) == 1 for n in NAMES), 30, 0.2,
               "each vigild read SlowMeta's meta-data once")

    # a second apply with the agent again: from the cache, in every vigild
    n1.write("/etc/vigil/next2.yaml", cl.cluster_yaml(
        lab3, resources=DUMMY + SLOW + "    params: {tag: again}\n"
        "  - name: slow2\n    type: ocf:vigiltest:SlowMeta\n"))
    p = cl.vigil(n1, "apply", "/etc/vigil/next2.yaml", timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    wait_status(lab3.nodes.values(), lambda st: len(running_on(st, "slow2")) == 1, 60,
                "slow2 running")
    assert len([r for r in meta_runs(lab3) if r[1] == "vigil"]) == 2, meta_runs(lab3)
    assert all(len(daemon_runs(lab3, n)) == 1 for n in NAMES), meta_runs(lab3)


def raw_apply(node, path):
    node.write("/etc/vigil/raw_apply.py", cl.RAW_APPLY)
    p = node.run(["/usr/bin/python3", "/etc/vigil/raw_apply.py", path], check=False, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return json.loads(p.stdout)


def test_newer_committed_config_supersedes_one_waiting_for_metadata(lab3):
    cl.start(lab3, yaml_text=cl.cluster_yaml(lab3, resources=DUMMY))
    n1 = lab3.nodes["n1"]
    wait_status(lab3.nodes.values(), lambda st: len(running_on(st, "db")) == 1, 60, "db runs")
    logs = lab3.cluster.vigild
    before = {n: logs[n].log().count(SWITCH) for n in NAMES}
    n1.write("/etc/vigil/a.yaml", cl.cluster_yaml(lab3, resources=DUMMY + SLOW))
    n1.write("/etc/vigil/b.yaml", cl.cluster_yaml(lab3, resources=DUMMY + SLOW + DUMMY2))
    t0 = time.time()
    r = raw_apply(n1, "/etc/vigil/a.yaml")
    assert r.get("code") == 0 and time.time() - t0 >= 2.9, r
    # n1 has SlowMeta cached now: B is committed at once, while n2 and n3 still read it for A
    t1 = time.time()
    r = raw_apply(n1, "/etc/vigil/b.yaml")
    t2 = time.time()
    assert r.get("code") == 0 and t2 - t1 < 1.0, r
    wait_status(lab3.nodes.values(), lambda st: len(running_on(st, "slow")) == 1
                and len(running_on(st, "db2")) == 1, 60, "slow and db2 running")
    for n in ("n2", "n3"):
        runs = daemon_runs(lab3, n)
        assert len(runs) == 1 and t2 < runs[0][3], (n, runs, t2)  # B came during the run
        text = logs[n].log()
        # one switch, straight to B (A was superseded while its agents were read)
        assert text.count(SWITCH) == before[n] + 1, (n, text[-4000:])
        assert "db2" in text[text.rindex(SWITCH):], (n, text[-4000:])
    assert len(daemon_runs(lab3, "n1")) == 1


def test_standalone_start_answers_while_reading_metadata(lab, node):
    node.write("/etc/vigil/cluster.yaml", netlab.cluster_yaml(lab, SLOW))
    stop = threading.Event()
    d = node.start_vigild(wait_ready=False)
    d.wait_pid()
    wait_until(lambda: daemon_runs(lab), 10, 0.02, "vigild to run SlowMeta meta-data")
    poller, polled = run_in_thread(lambda: poll_status(
        node, lambda n: n.vigil("status", "--json", check=False, timeout=10), stop))
    wait_until(lambda: daemon_runs(lab)[0][3] is not None, 10, 0.05, "the meta-data run")
    stop.set()
    poller.join(30)
    calls = polled["result"]
    inside = check_answers_during(calls, daemon_runs(lab)[0], "standalone start-up")
    # it answered (starting), not unreachable
    assert all(rc == 1 for _, _, rc in inside), inside
    node.wait_state(["slow"])
    assert len(daemon_runs(lab)) == 1 and [r for r in meta_runs(lab) if r[1] != "vigild"] == []
    assert d.alive(), d.log()
