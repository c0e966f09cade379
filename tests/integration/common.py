"""Shared pieces of vigil's integration tests: resource snippets for cluster.yaml and
helpers that look at what really runs on a node (/proc, pidfiles, addresses).

Must not: start or stop anything itself; the tests do that through vigild.
"""
import os
import time

from netlab import wait_until

WEB_PORT = 8080  # ocf:heartbeat:anything running python3 -m http.server
API_PORT = 9000  # native process running python3 -m http.server
API_CMD = f"/usr/bin/python3 -m http.server {API_PORT} --bind 0.0.0.0"
API_PATTERN = f"^/usr/bin/python3 -m http.server {API_PORT}"
WEB_PATTERN = f"^/usr/bin/python3 -m http.server {WEB_PORT}"

# Where the agents keep their state on a node (HA_RSCTMP, HA_VARRUN).
DUMMY_STATE = "/run/resource-agents/Dummy-dummy.state"
PDUMMY_STATE = "/run/Dummy-pdummy.state"
WEB_PIDFILE = "/run/anything_web.pid"


def vip_addr(lab):
    return lab.ip(100)


def ip2_addr(lab):
    return lab.ip(50)


def res_dummy(name="dummy", interval="1s"):
    return (f"  - name: {name}\n    type: ocf:heartbeat:Dummy\n"
            f"    ops: {{monitor: {{interval: {interval}, timeout: 10s}}}}\n")


def res_pdummy(name="pdummy", interval="1s"):
    return (f"  - name: {name}\n    type: ocf:pacemaker:Dummy\n"
            f"    ops: {{monitor: {{interval: {interval}, timeout: 10s}}}}\n")


def res_web(name="web", interval="1s"):
    return (f"  - name: {name}\n    type: ocf:heartbeat:anything\n"
            f"    params: {{binfile: /usr/bin/python3, "
            f"cmdline_options: \"-m http.server {WEB_PORT} --bind 0.0.0.0\"}}\n"
            f"    ops:\n      monitor: {{interval: {interval}, timeout: 10s}}\n"
            f"      start: {{timeout: 20s}}\n")


def res_ip2(lab, name="ip2"):
    return (f"  - name: {name}\n    type: ocf:heartbeat:IPaddr2\n"
            f"    params: {{ip: {ip2_addr(lab)}, cidr_netmask: \"24\", nic: eth0}}\n"
            f"    ops: {{monitor: {{interval: 2s, timeout: 20s}}}}\n")


def res_vip(lab, name="vip", interval="1s", addr=None):
    a = addr or f"{vip_addr(lab)}/24"
    return (f"  - name: {name}\n    type: vip\n"
            f"    params: {{address: {a}, interface: eth0}}\n"
            f"    ops: {{monitor: {{interval: {interval}}}}}\n")


def res_api(name="api", interval="1s", cmd=API_CMD, port=API_PORT):
    s = (f"  - name: {name}\n    type: process\n"
         f"    params: {{command: \"{cmd}\"}}\n"
         f"    ops: {{monitor: {{interval: {interval}, timeout: 5s}}}}\n")
    if port:
        s += f"    check: {{type: tcp, port: {port}}}\n"
    return s


def all_types(lab):
    """Every resource type issue 2 names, each with a short monitor interval."""
    return (res_dummy() + res_pdummy() + res_web() + res_ip2(lab) + res_vip(lab) + res_api())


ALL_NAMES = ["dummy", "pdummy", "web", "ip2", "vip", "api"]


def one_pid(node, pattern, timeout=30):
    """The single PID (node namespace) matching pattern, waiting until there is exactly one."""
    return wait_until(lambda: (lambda p: p[0] if len(p) == 1 else None)(node.pgrep(pattern)),
                      timeout, 0.1, f"exactly one process matching {pattern!r}")


def pidfile_pid(node, path):
    p = node.run(["cat", path], check=False)
    return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip() else None


def alive(node, pid):
    """Is PID (node namespace) a live, non-zombie process on the node?"""
    p = node.run(["cat", f"/proc/{pid}/stat"], check=False)
    if p.returncode != 0:
        return False
    st = p.stdout
    return st[st.rindex(")") + 2] != "Z"


def stat_of(node, path):
    """(inode, mtime ns) of a file on the node, or None."""
    p = node.run(["stat", "-c", "%i %.9Y", path], check=False)
    return p.stdout.split() if p.returncode == 0 else None


def has_addr(node, addr):
    return any(a.split("/")[0] == addr for a in node.addresses())


def by_name(status):
    return {r["name"]: r for r in status["resources"]}


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def now():
    return time.time()


def record_dir(lab, name):
    d = os.path.join(lab.dir, name)
    os.makedirs(d, exist_ok=True)
    return d


def tcp_ok(host_obj, addr, port, timeout=3):
    """Can host_obj open a TCP connection to addr:port?"""
    code = (f"import socket; socket.create_connection(({addr!r}, {port}), {timeout}).close()")
    return host_obj.run(["/usr/bin/python3", "-c", code], check=False,
                        timeout=timeout + 10).returncode == 0
