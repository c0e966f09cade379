"""Issue 2: an agent that hangs is killed at its timeout; one that always fails ends failed
after migration_threshold tries. Uses the test agents of tests/integration/agents/ocf/vigiltest.
"""
import os
import time

import pytest

from common import alive, read_file, record_dir
from netlab import cluster_yaml, wait_until


@pytest.mark.parametrize("action", ["start", "monitor"])
def test_hanging_agent_is_killed_at_its_timeout(lab, node, action):
    d = record_dir(lab, "hang")
    res = (f"  - name: hang\n    type: ocf:vigiltest:Hang\n"
           f"    params: {{dir: {d}, hang_on: {action}}}\n"
           f"    migration_threshold: 1\n"
           f"    ops:\n      start: {{timeout: 2s}}\n"
           f"      monitor: {{interval: 1s, timeout: 2s}}\n      stop: {{timeout: 10s}}\n")
    node.start_vigild(cluster_yaml(lab, res))
    pidf, childf, beganf = (os.path.join(d, f"{action}.{x}") for x in ("pid", "child", "began"))
    wait_until(lambda: read_file(childf).strip() and read_file(beganf).strip(), 30, 0.05,
               f"the agent's {action} to hang")
    agent, child = int(read_file(pidf)), int(read_file(childf))
    began = float(read_file(beganf))
    assert alive(node, agent) and alive(node, child)
    wait_until(lambda: not alive(node, agent) and not alive(node, child), 30, 0.05,
               "the hanging agent and its child to be killed")
    killed_after = time.time() - began
    # killed at its 2 s timeout: not before, and not much later (noisy machines: generous)
    assert 1.9 <= killed_after <= 8, killed_after
    r = wait_until(lambda: (lambda r: r if r["state"] == "failed" else None)(node.resource("hang")),
                   30, 0.1, "hang to be failed")
    assert r["failcount"] >= 1, r
    assert r["last_error"], r
    # the operation that hung counts as failed, so with migration_threshold 1 nothing more runs
    calls = _calls(d)
    hung = [c for c in calls if c[0] == action and (action != "monitor" or c[1] != "0")]
    assert len(hung) == 1, calls
    assert [c[0] for c in calls].count("start") == 1, calls
    time.sleep(3)
    later = _calls(d)
    assert [c for c in later if c[0] == "start" or c[1] != "0"] == \
        [c for c in calls if c[0] == "start" or c[1] != "0"], \
        f"more starts or monitors on a resource at its threshold: {calls} -> {later}"
    assert node.resource("hang")["state"] == "failed"


def _calls(d):
    """The agent's record of its calls: [(action, interval_ms), ...]."""
    return [tuple(line.split()) for line in read_file(os.path.join(d, "calls")).splitlines()]


def test_always_failing_agent_ends_failed_after_migration_threshold(lab, node):
    d = record_dir(lab, "fail")
    res = (f"  - name: fail\n    type: ocf:vigiltest:Fail\n    params: {{dir: {d}}}\n"
           f"    migration_threshold: 3\n"
           f"    ops: {{monitor: {{interval: 1s, timeout: 5s}}, start: {{timeout: 5s}}}}\n")
    node.start_vigild(cluster_yaml(lab, res))
    calls = os.path.join(d, "calls")
    # (state "failed" also shows between a failure and its restart: wait for the threshold)
    r = wait_until(lambda: (lambda r: r if r["state"] == "failed" and r["failcount"] >= 3
                            else None)(node.resource("fail")), 60, 0.1, "fail to be failed")
    assert r["failcount"] == 3, r
    assert read_file(calls).split().count("start") == 3
    assert r["last_error"], r
    # it stays failed: no more tries
    time.sleep(4)
    assert read_file(calls).split().count("start") == 3
    r = node.resource("fail")
    assert r["state"] == "failed" and r["failcount"] == 3, r
    # cleanup forgets the failures and it is tried again, migration_threshold more times
    node.vigil("resource", "cleanup", "fail")
    wait_until(lambda: read_file(calls).split().count("start") >= 6, 60, 0.1,
               "three more tries after cleanup")
    wait_until(lambda: (lambda r: r if r["state"] == "failed" and r["failcount"] >= 3
                        else None)(node.resource("fail")), 60, 0.1, "fail to be failed again")
    time.sleep(2)
    assert read_file(calls).split().count("start") == 6
    assert node.resource("fail")["failcount"] == 3


def test_operation_ends_when_the_agent_exits_not_when_its_output_closes(lab, node):
    """Agents often leave a daemon behind that inherited their stdout/stderr; and some print
    more than a pipe holds. The start must end when the agent exits, and succeed."""
    d = record_dir(lab, "spawner")
    res = (f"  - name: spawner\n    type: ocf:vigiltest:Spawner\n    params: {{dir: {d}}}\n"
           f"    ops:\n      start: {{timeout: 20s}}\n"
           f"      monitor: {{interval: 1s, timeout: 5s}}\n")
    t0 = time.monotonic()
    node.start_vigild(cluster_yaml(lab, res))
    r = node.wait_state("spawner", "running", timeout=60)
    took = time.monotonic() - t0
    assert took < 10, f"start took {took:.1f}s: it waited for the daemon's copy of the pipes"
    r = [x for x in r["resources"] if x["name"] == "spawner"][0]
    assert r["failcount"] == 0, r
    daemon = int(read_file(os.path.join(d, "daemon.pid")))
    assert alive(node, daemon)


def test_alerts_run_pacemakers_agent_and_a_hanging_one_is_killed(lab, node):
    """Issue 10, alerts: Pacemaker's shipped alert_file agent, unchanged, gets a resource's
    start and, when its process is killed, the failure (a monitor that finds it not running);
    a second alert whose script hangs is killed at its 1 s timeout while vigild answers."""
    from common import API_PATTERN, one_pid, res_api
    d = record_dir(lab, "alerts")
    log = os.path.join(d, "alerts.log")
    hang = os.path.join(d, "vigil-hang-alert.sh")
    with open(hang, "w") as f:
        f.write("#!/bin/sh\necho \"$CRM_alert_kind $CRM_alert_task\" >> \"$0.calls\"\n"
                "exec sleep 61.7\n")
    os.chmod(hang, 0o755)
    alerts = ("alerts:\n"
              "  - {name: file, path: /usr/share/pacemaker/alerts/alert_file.sh.sample,\n"
              f"     recipients: [{log}]}}\n"
              f"  - {{name: hang, path: {hang}, timeout: 1s, kinds: [resource]}}\n")
    node.start_vigild(cluster_yaml(lab, res_api(), extra=alerts))
    node.wait_state("api")
    wait_until(lambda: "Resource operation 'start' for 'api' on 'n1': ok" in read_file(log),
               30, 0.1, "the start's alert")
    node.run(["kill", "-9", str(one_pid(node, API_PATTERN))])
    want = "Resource operation 'monitor (1000)' for 'api' on 'n1': not running"
    wait_until(lambda: want in read_file(log), 30, 0.1, "the failure's alert")
    # the hanging ones: each killed at its timeout; vigild answered all along
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2:
        assert node.status()["cluster"]["mode"] == "standalone"
    wait_until(lambda: node.pgrep("sleep 61[.]7") == [], 15, 0.1, "the hanging alerts killed")
    assert len(read_file(hang + ".calls").splitlines()) >= 2, read_file(hang + ".calls")
