"""Issue 2: the executor's contract: OCF environment, resources in parallel, stop escalation,
crash-loop back-off, failure expiry, on_fail, recovery of what died while vigild was down."""
import os
import re
import signal
import time

from common import (API_PATTERN, alive, one_pid, read_file, record_dir, res_api, res_dummy)
from netlab import cluster_yaml, wait_until


def _state(node, name, want, timeout=60):
    return wait_until(lambda: (lambda r: r if r and r["state"] == want else None)(
        node.resource(name)), timeout, 0.1, f"{name} to be {want}")


def _envs(path):
    """The Recorder's environment records: [(action, {VAR: value})]."""
    out = []
    for block in read_file(path).split("== ")[1:]:
        lines = block.splitlines()
        env = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
        if "PGID" in env:  # complete (the agent may be writing the last one)
            out.append((lines[0].strip(), env))
    return out


def test_ocf_environment(lab, node):
    d = record_dir(lab, "env")
    envfile, log = os.path.join(d, "env"), os.path.join(d, "log")
    res = (f"  - name: rec\n    type: ocf:vigiltest:Recorder\n"
           f"    params: {{log: {log}, envfile: {envfile}}}\n"
           f"    ops:\n      start: {{timeout: 7s}}\n"
           f"      monitor: {{interval: 1s, timeout: 3s}}\n")
    node.start_vigild(cluster_yaml(lab, res))
    _state(node, "rec", "running")
    envs = wait_until(lambda: (lambda e: e if any(a == "monitor" and v.get(
        "OCF_RESKEY_CRM_meta_interval") == "1000" for a, v in e) else None)(_envs(envfile)),
        30, 0.1, "a recurring monitor")
    start = [v for a, v in envs if a == "start"]
    assert len(start) == 1
    s = start[0]
    assert s["OCF_ROOT"] == lab.ocf_root
    assert s["OCF_RA_VERSION_MAJOR"] == "1"
    assert s["OCF_RESOURCE_INSTANCE"] == "rec"
    assert s["OCF_RESOURCE_TYPE"] == "Recorder"
    assert s["OCF_RESKEY_log"] == log and s["OCF_RESKEY_envfile"] == envfile
    assert s["OCF_RESKEY_CRM_meta_timeout"] == "7000"
    assert s["OCF_RESKEY_CRM_meta_interval"] == "0"
    assert s["UNAME"] == "n1"
    mon = [v for a, v in envs if a == "monitor" and v["OCF_RESKEY_CRM_meta_interval"] == "1000"]
    assert mon[0]["OCF_RESKEY_CRM_meta_timeout"] == "3000"
    # each operation runs in a process group of its own (what the timeout kills)
    for _, v in envs:
        pg, pid = re.match(r"(\d+) PID=(\d+)", v["PGID"]).groups()
        assert pg == pid, v["PGID"]


def test_a_hung_operation_does_not_block_other_resources(lab, node):
    d = record_dir(lab, "hang")
    res = (f"  - name: hang\n    type: ocf:vigiltest:Hang\n    params: {{dir: {d}}}\n"
           f"    migration_threshold: 1\n    ops: {{start: {{timeout: 15s}}}}\n"
           + res_api() + res_dummy())
    node.start_vigild(cluster_yaml(lab, res))
    wait_until(lambda: read_file(os.path.join(d, "start.pid")), 30, 0.05, "hang's start")
    t0 = time.monotonic()
    node.wait_state(["api", "dummy"], timeout=30)
    # api and dummy are up while hang's start still hangs, and the CLI still answers
    assert time.monotonic() - t0 < 10
    assert node.resource("hang")["state"] == "starting"
    assert alive(node, int(read_file(os.path.join(d, "start.pid"))))


def test_stop_kills_a_process_that_ignores_sigterm(lab, node):
    cmd = "/bin/sh -c 'trap \\\"\\\" TERM; exec sleep 1001'"
    res = (f"  - name: stubborn\n    type: process\n    params: {{command: \"{cmd}\"}}\n"
           f"    ops: {{stop: {{timeout: 3s}}}}\n")
    d = node.start_vigild(cluster_yaml(lab, res))
    _state(node, "stubborn", "running")
    pid = one_pid(node, "^sleep 1001")
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    rc = d.wait(60)
    took = time.monotonic() - t0
    assert not alive(node, pid)
    assert rc == 0, d.log()
    assert took < 3 + 10, took


def test_crash_loop_backs_off(lab, node):
    d = record_dir(lab, "loop")
    starts = os.path.join(d, "starts")
    cmd = f"/bin/sh -c 'date +%s.%N >> {starts}; exit 1'"
    res = f"  - name: loop\n    type: process\n    params: {{command: \"{cmd}\"}}\n"
    node.start_vigild(cluster_yaml(lab, res))
    wait_until(lambda: read_file(starts), 30, 0.05, "the first start")
    time.sleep(8)
    t = [float(x) for x in read_file(starts).split()]
    gaps = [b - a for a, b in zip(t, t[1:])]
    # restarted, but not in a tight loop: the delays grow
    assert 4 <= len(t) <= 15, gaps
    assert gaps[-1] >= 0.8 and gaps[-1] > gaps[0], gaps
    assert node.resource("loop")["failcount"] >= len(t) - 1


def test_failure_timeout_expires_failures(lab, node):
    res = res_api() + "    failure_timeout: 3s\n"
    node.start_vigild(cluster_yaml(lab, res))
    _state(node, "api", "running")
    node.run(["kill", "-9", str(one_pid(node, API_PATTERN))])
    t0 = time.monotonic()
    wait_until(lambda: node.resource("api")["failcount"] == 1, 30, 0.05, "failcount 1")
    wait_until(lambda: node.resource("api")["failcount"] == 0, 30, 0.1, "failcount to expire")
    took = time.monotonic() - t0
    assert took >= 2.5, took
    assert node.resource("api")["state"] == "running"


def test_on_fail_stop_leaves_it_stopped(lab, node):
    res = res_api() + "    on_fail: stop\n"
    node.start_vigild(cluster_yaml(lab, res))
    _state(node, "api", "running")
    node.run(["kill", "-9", str(one_pid(node, API_PATTERN))])
    r = wait_until(lambda: (lambda r: r if r["failcount"] == 1 and r["state"] in
                            ("stopped", "failed") else None)(node.resource("api")),
                   30, 0.1, "api stopped after its failure")
    time.sleep(3)
    assert node.pgrep(API_PATTERN) == []
    assert node.resource("api")["state"] == r["state"]


def test_what_died_while_vigild_was_down_is_started_again(lab, node):
    d = node.start_vigild(cluster_yaml(lab, res_api() + res_dummy()))
    node.wait_state(["api", "dummy"])
    old = one_pid(node, API_PATTERN)
    d.kill9()
    node.run(["kill", "-9", str(old)])
    node.run(["rm", "-f", "/run/resource-agents/Dummy-dummy.state"])
    wait_until(lambda: node.pgrep(API_PATTERN) == [], 10, 0.05, "api gone")
    node.start_vigild()
    node.wait_state(["api", "dummy"])
    new = one_pid(node, API_PATTERN)
    assert new != old
    assert node.run(["test", "-e", "/run/resource-agents/Dummy-dummy.state"],
                    check=False).returncode == 0


def test_unknown_node_name_is_refused(lab, node):
    node.write("/etc/vigil/cluster.yaml", cluster_yaml(lab, res_api()))
    d = node.start_vigild(wait_ready=False, args=["-n", "nX"])
    assert d.wait(30) == 2, d.log()
    assert node.pgrep(API_PATTERN) == []


def test_json_log_format(lab, node):
    import json
    d = node.start_vigild(cluster_yaml(lab, res_api()), args=["--log-format", "json"])
    _state(node, "api", "running")
    d.stop()
    lines = [ln for ln in d.log().splitlines() if not ln.startswith("---- vigild")]
    assert lines
    for ln in lines:
        j = json.loads(ln)
        assert j["node"] == "n1" and j["level"] in ("error", "warn", "info", "debug") and j["msg"]
