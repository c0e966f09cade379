"""A `process` resource with a `check` is started only once its check passes: until then it is
`starting`, and what is ordered after it (the VIP of its group) waits. That is what makes a
failed-over VIP answer at once instead of pointing clients at a port nobody listens on yet.
A process that dies before it is ready is a failed start.
"""
import time

from common import has_addr, vip_addr
from netlab import cluster_yaml, wait_until

PORT = 8097
SLOW = (f"  - name: slow\n    type: process\n"
        f"    params: {{command: \"/bin/sh -c 'sleep 1.5; exec /usr/bin/python3 -m http.server "
        f"{PORT} --bind 127.0.0.1'\"}}\n"
        f"    check: {{type: tcp, port: {PORT}}}\n"
        f"    ops: {{monitor: {{interval: 1s, timeout: 5s}}, start: {{timeout: 20s}}}}\n")


def vip(lab):
    return (f"  - name: vip\n    type: vip\n"
            f"    params: {{address: {vip_addr(lab)}/24, interface: eth0}}\n")


def state_of(node, name):
    return node.resource(name)["state"]


def test_start_waits_for_the_check_and_the_group_waits_for_the_start(lab, node):
    node.start_vigild(cluster_yaml(lab, SLOW + vip(lab),
                                   extra="groups:\n  - {name: g, members: [slow, vip]}\n"))
    t0 = time.monotonic()
    wait_until(lambda: state_of(node, "slow") == "starting", 10, 0.05, "slow starting")
    seen_starting = 0
    while time.monotonic() - t0 < 1.0:
        assert state_of(node, "slow") == "starting"
        assert not has_addr(node, vip_addr(lab)), "the VIP came up before its service"
        seen_starting += 1
        time.sleep(0.1)
    assert seen_starting >= 3
    node.wait_state(["slow", "vip"], "running", timeout=30)
    # running means answering
    node.run(["curl", "-sf", "-o", "/dev/null", "--max-time", "5", f"http://127.0.0.1:{PORT}/"])
    assert has_addr(node, vip_addr(lab))


def test_dying_before_ready_is_a_failed_start(lab, node):
    dies = ("  - name: dies\n    type: process\n"
            "    params: {command: \"/bin/sh -c 'sleep 0.3; exit 3'\"}\n"
            f"    check: {{type: tcp, port: {PORT + 1}}}\n"
            "    migration_threshold: 2\n")
    node.start_vigild(cluster_yaml(lab, dies))
    wait_until(lambda: node.resource("dies")["state"] == "failed", 30, 0.1, "dies failed")
    r = node.resource("dies")
    assert r["failcount"] == 2, r
    assert "before it was ready" in (r["last_error"] or ""), r
