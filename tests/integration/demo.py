#!/usr/bin/python3
"""demo.py - the one-node vigil demo (run by scripts/demo.sh, i.e. `make demo`).

Owns: the story the demo tells. Builds a namespace LAN with one node n1 and a client
(netlab.py), runs vigild on n1 with a virtual IP and a web service, shows `vigil status`, has
the client fetch the page through the VIP, kills the web service and shows it back with the time
it took, shows `vigil status` again, stops vigild and cleans up.

Must not: leave anything behind, even when a step fails or the demo is interrupted (the lab is
a context manager, netlab also cleans up at exit, SIGTERM/SIGHUP are turned into an exit).
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

PORT = 8080


def say(msg):
    print(f"\n\033[1m==> {msg}\033[0m" if sys.stdout.isatty() else f"\n==> {msg}", flush=True)


def show(cmd_text, out):
    print(f"$ {cmd_text}")
    print(out.rstrip("\n"), flush=True)


def web_pids(node):
    return node.pgrep(f"^/usr/bin/python3 -m http.server {PORT}")


def main():
    def bye(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGHUP, bye)

    with netlab.Lab(nodes=["n1"], client=True) as lab:
        node, client = lab.node("n1"), lab.client
        vip = lab.ip(100)
        site = os.path.join(lab.dir, "site")
        os.makedirs(site)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("<h1>Hello from vigil: this page is served by n1 through the VIP</h1>\n")
        config = f"""cluster:
  name: demo
nodes:
  - {{name: n1, address: {node.addr}, role: server}}
resources:
  - name: vip
    type: vip
    params: {{address: {vip}/24, interface: eth0}}
  - name: web
    type: process
    params: {{command: "/usr/bin/python3 -m http.server {PORT} --bind 0.0.0.0 --directory {site}"}}
    check: {{type: tcp, port: {PORT}}}
    ops:
      monitor: {{interval: 2s, timeout: 5s}}
"""
        say(f"A LAN in network namespaces: node n1 at {node.addr}, a client at {client.addr}")
        say("cluster.yaml on n1")
        print(config, end="")

        say("Starting vigild on n1 (standalone: one server, no Corosync peers)")
        d = node.start_vigild(config)
        node.wait_state(["vip", "web"], timeout=60)
        show("vigil status", node.vigil("status").stdout)

        say(f"The client fetches the page through the VIP {vip}")
        url = f"http://{vip}:{PORT}/"

        def fetch():
            p = client.run(["curl", "-sS", "--max-time", "2", url], check=False, timeout=20)
            return p.stdout if p.returncode == 0 else None
        page = netlab.wait_until(fetch, 30, 0.05, "the page through the VIP")
        show(f"curl {url}", page)

        say("Killing the web service (kill -9)")
        old = web_pids(node)
        if len(old) != 1:
            raise SystemExit(f"expected one web server process, found {old}")
        host_pid = node.host_pid_of(old[0])
        t0 = time.monotonic()
        os.kill(host_pid, signal.SIGKILL)
        print(f"$ kill -9 {old[0]}")

        pattern = f"^/usr/bin/python3 -m http.server {PORT}"

        def new_pid():
            p = node.host_pgrep(pattern)
            return p[0] if len(p) == 1 and p[0] != host_pid else None
        new_host = netlab.wait_until(new_pid, 30, 0.001, "a new web server process")
        t_proc = time.monotonic() - t0
        new = netlab.ns_pid(new_host)
        page = netlab.wait_until(fetch, 30, 0.01, "the page through the VIP again")
        t_page = time.monotonic() - t0
        say(f"Back: new process {new} running {t_proc * 1000:.0f} ms after the kill "
            f"(seen by polling /proc); the client got the page again after "
            f"{t_page * 1000:.0f} ms (python needs a moment to listen)")
        show(f"curl {url}", page)
        show("vigil status", node.vigil("status").stdout)

        say("Stopping vigild (SIGTERM): it stops web, then the VIP")
        rc = d.stop(60)
        gone = not any(a.split("/")[0] == vip for a in node.addresses())
        print(f"vigild exited with {rc}; VIP {'removed' if gone else 'STILL PRESENT'}; "
              f"web processes left: {len(web_pids(node))}")
        say("Cleaning up the namespaces")
    print("done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
