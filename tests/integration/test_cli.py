"""Issue 2: the vigil CLI against a running vigild: resource and agents commands, exit codes."""
import json
import os
import time

import netlab
from common import API_PATTERN, one_pid, res_api, res_dummy
from netlab import cluster_yaml, wait_until


def _find(obj, pred):
    """Every dict nested anywhere in obj for which pred(dict) holds."""
    out = []
    if isinstance(obj, dict):
        if pred(obj):
            out.append(obj)
        for v in obj.values():
            out += _find(v, pred)
    elif isinstance(obj, list):
        for v in obj:
            out += _find(v, pred)
    return out


def test_resource_commands(lab, node):
    node.start_vigild(cluster_yaml(lab, res_api() + res_dummy()))
    node.wait_state(["api", "dummy"])
    lst = node.vigil_json("resource", "list")
    names = sorted(r["name"] for r in (lst["resources"] if isinstance(lst, dict) else lst))
    assert names == ["api", "dummy"]
    show = node.vigil_json("resource", "show", "api")
    assert show["name"] == "api" and show["type"] == "process" and show["state"] == "running"
    assert "api" in node.vigil("resource", "show", "api").stdout
    old = one_pid(node, API_PATTERN)
    node.vigil("resource", "restart", "api")

    def restarted():
        p = node.pgrep(API_PATTERN)
        r = node.resource("api")
        return r if len(p) == 1 and p[0] != old and r["state"] == "running" else None
    r = wait_until(restarted, 60, 0.1, "api restarted by the CLI")
    assert r["failcount"] == 0, r  # an operator's restart is not a failure
    # an unknown name is refused (1 or 2: SPEC.md does not pin which), never "ok/unreachable"
    assert node.vigil("resource", "show", "nosuch", check=False).returncode in (1, 2)
    assert node.vigil("resource", "restart", "nosuch", check=False).returncode in (1, 2)


def test_agents_commands(lab, node):
    node.start_vigild(cluster_yaml(lab, res_dummy()))
    lst = node.vigil_json("agents", "list")
    text = repr(lst)
    for a in ("ocf:heartbeat:IPaddr2", "ocf:heartbeat:Dummy", "ocf:heartbeat:anything",
              "ocf:pacemaker:Dummy", "ocf:vigiltest:Hang"):
        assert a in text, a
    assert "ocf:heartbeat:IPaddr2" in node.vigil("agents", "list").stdout
    show = node.vigil_json("agents", "show", "ocf:heartbeat:IPaddr2")
    ip = _find(show, lambda d: d.get("name") == "ip")
    assert len(ip) == 1 and ip[0].get("required") is True, ip
    nic = _find(show, lambda d: d.get("name") == "nic")
    assert len(nic) == 1 and nic[0].get("required") is False, nic
    assert node.vigil("agents", "show", "ocf:heartbeat:NoSuchAgent", check=False).returncode != 0


def test_exit_codes(lab, node):
    assert node.vigil("status", socket="/run/vigil/nobody.sock", check=False).returncode == 3
    node.start_vigild(cluster_yaml(lab, res_dummy()))
    assert node.vigil("status", check=False).returncode == 0
    assert node.vigil("no-such-command", check=False).returncode == 2
    assert node.vigil("resource", check=False).returncode == 2
    assert node.vigil("status", "--no-such-flag", check=False).returncode == 2


def test_cleanup_of_a_running_resource_keeps_it_running(lab, node):
    node.start_vigild(cluster_yaml(lab, res_api()))
    node.wait_state("api")
    node.run(["kill", "-9", str(one_pid(node, API_PATTERN))])
    r = wait_until(lambda: (lambda r: r if r["failcount"] == 1 and r["state"] == "running"
                            else None)(node.resource("api")), 60, 0.1, "api back, failcount 1")
    pid = one_pid(node, API_PATTERN)
    node.vigil("resource", "cleanup", "api")
    r = wait_until(lambda: (lambda r: r if r["failcount"] == 0 else None)(node.resource("api")),
                   30, 0.1, "failcount reset by cleanup")
    assert r["state"] == "running" and r["last_error"] is None, r
    time.sleep(2)
    assert node.pgrep(API_PATTERN) == [pid]


def test_socket_from_option_and_environment(lab, node):
    sock = "/run/vigil/alt.sock"
    node.start_vigild(cluster_yaml(lab, res_dummy()), socket=sock)
    node.wait_state("dummy", socket=sock)
    assert node.vigil("status", check=False).returncode == 3  # nobody on the default socket
    p = node.run(["env", f"VIGIL_SOCKET={sock}", netlab.VIGIL, "status", "--json"], check=False)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["resources"][0]["name"] == "dummy"


def test_keygen(lab, node):
    node.vigil("keygen", "/etc/vigil/authkey")
    node.vigil("keygen", "/etc/vigil/authkey2")
    a, b = node.path("/etc/vigil/authkey"), node.path("/etc/vigil/authkey2")
    assert os.stat(a).st_mode & 0o077 == 0  # secret: no group or other access
    ka, kb = open(a, "rb").read(), open(b, "rb").read()
    assert len(ka) >= 32 and ka != kb


BAD_MONITOR = ("cluster:\n  name: t\nnodes:\n  - {name: n1, address: 10.0.0.1, role: server}\n"
               "resources:\n  - name: web\n    type: process\n"
               "    params: {command: /bin/true}\n"
               "    ops: {monitor: {interval: 5x}}\n")  # line 9: not a duration


def test_apply_validates_locally_before_any_daemon_contact(lab, node):
    # No vigild runs: contacting one would exit 3, so exit 2 shows the file was refused here.
    node.write("/etc/vigil/bad.yaml", BAD_MONITOR)
    for args in (["apply", "/etc/vigil/bad.yaml"], ["config", "apply", "/etc/vigil/bad.yaml"],
                 ["config", "diff", "/etc/vigil/bad.yaml"]):
        p = node.vigil(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert "/etc/vigil/bad.yaml:9: resources[0].ops.monitor.interval:" in p.stderr, p.stderr
        assert "cannot reach" not in p.stderr, p.stderr
        assert p.stdout == "", p.stdout
    p = node.vigil("apply", "/etc/vigil/missing.yaml", check=False)
    assert p.returncode == 2 and "/etc/vigil/missing.yaml" in p.stderr, (p.returncode, p.stderr)
    # a valid file does go to the daemon: here nobody answers, so 3
    node.write("/etc/vigil/good.yaml", BAD_MONITOR.replace("5x", "5s"))
    p = node.vigil("apply", "/etc/vigil/good.yaml", check=False)
    assert p.returncode == 3 and "cannot reach vigild" in p.stderr, (p.returncode, p.stderr)


def test_cluster_command_usage_errors(lab, node):
    # Usage errors are found before the daemon is asked (none runs: that would be exit 3).
    for args in (["node"], ["node", "bogus", "n1"], ["node", "standby"],
                 ["node", "standby", "n1", "n2"], ["node", "fence"], ["node", "confirm-down"],
                 ["node", "maintenance"], ["node", "standby", "n1", "--off"],
                 ["node", "list", "extra"], ["status", "--off"], ["events", "extra"],
                 ["apply"], ["apply", "a.yaml", "b.yaml"], ["config"], ["config", "bogus"],
                 ["config", "show", "extra"], ["config", "diff"], ["config", "apply"]):
        p = node.vigil(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr.startswith("vigil: "), (args, p.stderr)
    p = node.vigil("availability", check=False)
    assert p.returncode == 1 and "not available" in p.stderr, (p.returncode, p.stderr)


def test_node_list_standalone(lab, node):
    node.start_vigild(cluster_yaml(lab, res_dummy()))
    nodes = node.vigil_json("node", "list")
    assert [(n["name"], n["role"], n["state"]) for n in nodes] == [("n1", "server", "online")]
    lines = node.vigil("node", "list").stdout.splitlines()
    assert lines[0].split() == ["NODE", "ROLE", "STATE", "REASON"], lines
    assert lines[1].split()[:3] == ["n1", "server", "online"], lines
    # the standalone status view keeps its three node columns
    assert "REASON" not in node.vigil("status").stdout
