"""Issue 2: every resource type runs for real, and what dies comes back."""
import signal
import time

from common import (ALL_NAMES, API_PATTERN, API_PORT, DUMMY_STATE, PDUMMY_STATE, WEB_PIDFILE,
                    WEB_PORT, all_types, alive, by_name, has_addr, ip2_addr, one_pid,
                    pidfile_pid, res_api, tcp_ok, res_vip, res_web, stat_of, vip_addr)
from netlab import cluster_yaml, wait_until


def test_all_types_reach_running(lab, node):
    node.start_vigild(cluster_yaml(lab, all_types(lab)))
    st = node.wait_state(ALL_NAMES, "running", timeout=90)
    assert st["cluster"]["name"] == "test"
    assert st["cluster"]["mode"] == "standalone"
    assert st["cluster"]["quorate"] is True
    assert [(n["name"], n["role"], n["state"]) for n in st["nodes"]] == [("n1", "server", "online")]
    res = by_name(st)
    assert sorted(res) == sorted(ALL_NAMES)
    for name in ALL_NAMES:
        r = res[name]
        assert r["failcount"] == 0, r
        assert [(i["node"], i["role"], i["state"]) for i in r["instances"]] == \
            [("n1", "started", "running")], r
    assert res["dummy"]["type"] == "ocf:heartbeat:Dummy"
    assert res["pdummy"]["type"] == "ocf:pacemaker:Dummy"
    assert res["vip"]["type"] == "vip" and res["api"]["type"] == "process"
    # ... and they really run
    assert stat_of(node, DUMMY_STATE) is not None
    assert stat_of(node, PDUMMY_STATE) is not None
    assert alive(node, pidfile_pid(node, WEB_PIDFILE))
    assert has_addr(node, vip_addr(lab)) and has_addr(node, ip2_addr(lab))
    one_pid(node, API_PATTERN)
    for port in (WEB_PORT, API_PORT):
        wait_until(lambda: tcp_ok(node, "127.0.0.1", port), 15, 0.1, f"port {port}")
        node.run(["curl", "-sf", "-o", "/dev/null", "--max-time", "5",
                  f"http://127.0.0.1:{port}/"])
    # the same in the human table
    out = node.vigil("status").stdout
    for name in ALL_NAMES:
        assert name in out


def _running_again(node, name, old_pid, find):
    def ok():
        pid = find()
        r = node.resource(name)
        if pid and pid != old_pid and alive(node, pid) and r["state"] == "running":
            return pid, r
        return None
    return wait_until(ok, 60, 0.1, f"{name} running again with a new PID")


def test_killed_process_resource_comes_back(lab, node):
    node.start_vigild(cluster_yaml(lab, res_api()))
    node.wait_state("api")
    old = one_pid(node, API_PATTERN)
    node.run(["kill", "-9", str(old)])
    new, r = _running_again(node, "api", old, lambda: (node.pgrep(API_PATTERN) or [None])[0])
    assert r["failcount"] == 1, r
    assert node.pgrep(API_PATTERN) == [new]
    wait_until(lambda: tcp_ok(node, "127.0.0.1", API_PORT), 15, 0.1, "api to listen")
    node.run(["curl", "-sf", "-o", "/dev/null", "--max-time", "5", f"http://127.0.0.1:{API_PORT}/"])


def test_killed_ocf_anything_server_comes_back(lab, node):
    node.start_vigild(cluster_yaml(lab, res_web()))
    node.wait_state("web")
    old = pidfile_pid(node, WEB_PIDFILE)
    assert old and alive(node, old)
    node.run(["kill", "-9", str(old)])
    new, r = _running_again(node, "web", old, lambda: pidfile_pid(node, WEB_PIDFILE))
    assert r["failcount"] == 1, r
    wait_until(lambda: tcp_ok(node, "127.0.0.1", WEB_PORT), 15, 0.1, "web to listen")
    node.run(["curl", "-sf", "-o", "/dev/null", "--max-time", "5", f"http://127.0.0.1:{WEB_PORT}/"])


FLAKY = """
import signal, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
def deaf(*_):
    s.close()
signal.signal(signal.SIGUSR1, deaf)
while True:
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        time.sleep(3600)
"""


def test_tcp_check_is_the_monitor(lab, node):
    """A process that stays alive but stops listening is restarted by its tcp check."""
    script = lab.dir + "/flaky.py"
    with open(script, "w") as f:
        f.write(FLAKY)
    port = 9100
    cmd = f"/usr/bin/python3 {script} {port}"
    node.start_vigild(cluster_yaml(lab, res_api(name="flaky", cmd=cmd, port=port)))
    node.wait_state("flaky")
    pattern = f"^/usr/bin/python3 {script}"
    old = one_pid(node, pattern)
    wait_until(lambda: tcp_ok(node, "127.0.0.1", port), 10, 0.2, "flaky to listen")
    node.run(["kill", "-USR1", str(old)])
    new, r = _running_again(node, "flaky", old, lambda: (node.pgrep(pattern) or [None])[0])
    assert r["failcount"] >= 1, r
    assert not alive(node, old), "the deaf process was not stopped before the restart"


def test_vip_monitor_puts_a_removed_address_back(lab, node):
    node.start_vigild(cluster_yaml(lab, res_vip(lab)))
    node.wait_state("vip")
    node.run(["ip", "addr", "del", f"{vip_addr(lab)}/24", "dev", "eth0"])
    assert not has_addr(node, vip_addr(lab))
    wait_until(lambda: has_addr(node, vip_addr(lab)), 30, 0.1, "the VIP to be added back")
    r = wait_until(lambda: (lambda r: r if r["state"] == "running" else None)(node.resource("vip")),
                   30, 0.1, "vip running")
    assert r["failcount"] == 1, r


def test_sigterm_stops_everything(lab, node):
    d = node.start_vigild(cluster_yaml(lab, all_types(lab)))
    node.wait_state(ALL_NAMES, timeout=90)
    web = pidfile_pid(node, WEB_PIDFILE)
    api = one_pid(node, API_PATTERN)
    d.signal(signal.SIGTERM)
    assert d.wait(60) == 0, d.log()
    assert not has_addr(node, vip_addr(lab))
    assert not has_addr(node, ip2_addr(lab))
    assert not alive(node, api) and node.pgrep(API_PATTERN) == []
    assert not alive(node, web)
    assert stat_of(node, DUMMY_STATE) is None
    assert stat_of(node, PDUMMY_STATE) is None
    assert node.run(["test", "-S", "/run/vigil/vigild.sock"], check=False).returncode != 0


def test_http_check(lab, node):
    """An http check passes on the expected status and fails (restart) otherwise."""
    good = ("  - name: good\n    type: process\n"
            "    params: {command: \"/usr/bin/python3 -m http.server 9201 --bind 127.0.0.1\"}\n"
            "    ops: {monitor: {interval: 1s, timeout: 5s}}\n"
            "    check: {type: http, port: 9201, path: /, expect: 200}\n")
    bad = ("  - name: bad\n    type: process\n"
           "    params: {command: \"/usr/bin/python3 -m http.server 9202 --bind 127.0.0.1\"}\n"
           "    ops: {monitor: {interval: 1s, timeout: 5s}}\n"
           "    check: {type: http, port: 9202, path: /no/such/page, expect: 200}\n")
    node.start_vigild(cluster_yaml(lab, good + bad))
    wait_until(lambda: node.resource("bad")["failcount"] >= 2, 60, 0.1,
               "the http check of bad to fail (404 != 200)")
    wait_until(lambda: tcp_ok(node, "127.0.0.1", 9201), 15, 0.1, "good to listen")
    time.sleep(3)
    r = node.resource("good")
    assert r["state"] == "running" and r["failcount"] == 0, r
