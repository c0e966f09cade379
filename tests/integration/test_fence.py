"""The test fence agent against the namespace topology: fence_vigiltest, configured as a fence
device in a cluster.yaml that vigil validates, runs inside node n1 with the stdin that vigil's
fencing sends and powers n2 off through the test PDU (pdu.py): every process of n2 is gone, its
link is down, n1 lives on. A failing or hanging PDU makes the agent fail within its bound and
leaves the target alone. Command-line options, status, list, monitor and metadata work as in
real fence agents.

Must not: leave holders, namespaces or sockets behind (the lab and the PDU are closed also when
a test fails).
"""
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402
from pdu import AGENT, Pdu  # noqa: E402

CLUSTER_YAML = "/etc/vigil/cluster.yaml"


@pytest.fixture
def lab():
    """Two server nodes on a private LAN, no client."""
    lab = netlab.Lab(nodes=["n1", "n2"], client=False)
    lab.start()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def pdu(lab):
    with Pdu(lab) as p:
        yield p


def install_config(lab, pdu, extra_params=""):
    """Write cluster.yaml with the PDU as fence device on n1, check that vigil accepts it, and
    return the fence device as vigil reads it (a dict from the YAML)."""
    n1 = lab.node("n1")
    text = netlab.cluster_yaml(lab, extra="fence_devices:\n" +
                               pdu.device_yaml(timeout="15s", extra=extra_params))
    n1.write(CLUSTER_YAML, text)
    p = n1.vigil("simulate", "--config", CLUSTER_YAML, check=False)
    assert p.returncode == 0, f"vigil rejected the config:\n{text}\n{p.stdout}\n{p.stderr}"
    devices = yaml.safe_load(text)["fence_devices"]
    assert len(devices) == 1 and devices[0]["agent"] == AGENT
    return devices[0]


def agent_stdin(device, action, target):
    """What vigil's fencing writes to an agent's stdin (src/node/fence.c)."""
    params = device.get("params") or {}
    lines = [f"{k}={v}" for k, v in params.items() if k != "action"]
    lines.append(f"action={action}")
    if "plug" not in params and "port" not in params:
        lines.append(f"plug={target}")
    return "\n".join(lines) + "\n"


def run_agent(node, device, action, target, timeout=30):
    """Run the device's agent on node the way vigil does (stdin only, no arguments)."""
    return node.run([device["agent"]], input=agent_stdin(device, action, target), check=False,
                    timeout=timeout)


def bridge_port_up(host):
    out = netlab._run(["ip", "-j", "-n", host.lab.bridge_ns, "link", "show",
                       host.bridge_port]).stdout
    return "UP" in json.loads(out)[0]["flags"]


def test_off_powers_the_other_node_off(lab, pdu):
    n1, n2 = lab.node("n1"), lab.node("n2")
    dev = install_config(lab, pdu)
    # something running on n2, and the socket really reached from inside n1's namespaces
    sleeper = n2.popen(["sleep", "1000"])
    try:
        victims = netlab.wait_until(lambda: n2.host_pgrep(r"^sleep 1000$"), 10, 0.02,
                                    "sleep on n2")
        holder = n2.pid
        assert n1.run(["ping", "-c", "1", "-W", "2", n2.addr], check=False).returncode == 0

        st = run_agent(n1, dev, "status", "n2")
        assert st.returncode == 0 and "Status: ON" in st.stdout, st

        t0 = time.monotonic()
        off = run_agent(n1, dev, "off", "n2")
        assert off.returncode == 0, off
        assert "powered off" in off.stdout

        # everything of n2 is gone (no zombies either: tini's death takes the namespace)
        for pid in victims + [holder]:
            assert not netlab._pid_alive(pid), f"pid {pid} of n2 survived the fence"
        assert n2.pid is None
        assert not bridge_port_up(n2)
        assert n1.run(["ping", "-c", "1", "-W", "1", n2.addr], check=False).returncode != 0
        # the requester lives on
        assert n1.run(["true"]).returncode == 0

        st = run_agent(n1, dev, "status", "n2")
        assert st.returncode == 2 and "Status: OFF" in st.stdout, st
        again = run_agent(n1, dev, "off", "n2")
        assert again.returncode == 0 and "already off" in again.stdout, again

        assert pdu.actions() == [("status", "n2"), ("off", "n2"), ("status", "n2"),
                                 ("off", "n2")]
        assert pdu.requests[1][2] >= t0
        assert pdu.errors == []
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        sleeper.wait(10)


def test_failing_pdu_fails_and_leaves_the_node(lab, pdu):
    n1, n2 = lab.node("n1"), lab.node("n2")
    dev = install_config(lab, pdu)
    pdu.fail = True
    off = run_agent(n1, dev, "off", "n2")
    assert off.returncode == 1, off
    assert "PDU failure" in off.stderr
    assert n2.pid is not None and netlab._pid_alive(n2.pid)
    assert bridge_port_up(n2)
    assert pdu.actions() == [("off", "n2")]
    # an unknown node is an error too, not a success
    pdu.fail = False
    bad = run_agent(n1, dev, "off", "n9")
    assert bad.returncode == 1 and "unknown node" in bad.stderr, bad


def test_hanging_pdu_is_bounded_by_the_agent_timeout(lab, pdu):
    n1, n2 = lab.node("n1"), lab.node("n2")
    dev = install_config(lab, pdu, extra_params=", timeout: 1")
    pdu.hang = True
    t0 = time.monotonic()
    off = run_agent(n1, dev, "off", "n2", timeout=20)
    took = time.monotonic() - t0
    assert off.returncode == 1, off
    assert "cannot talk to the PDU" in off.stderr
    assert 0.9 <= took < 8, took
    assert netlab._pid_alive(n2.pid)
    assert pdu.actions() == [("off", "n2")]


def test_no_pdu_listening_fails(lab, pdu):
    n1 = lab.node("n1")
    dev = install_config(lab, pdu)
    pdu.close()
    off = run_agent(n1, dev, "off", "n2")
    assert off.returncode == 1 and "cannot talk to the PDU" in off.stderr, off


def test_command_line_list_monitor_metadata(lab, pdu):
    n1, n2 = lab.node("n1"), lab.node("n2")
    install_config(lab, pdu)
    # options on the command line, as an operator types them
    st = n1.run([AGENT, "--action=status", "--plug=n2", f"--socket={pdu.path}"], check=False)
    assert st.returncode == 0 and "Status: ON" in st.stdout, st
    st = n1.run([AGENT, "-o", "status", "-n", "n2", "--socket", pdu.path], check=False)
    assert st.returncode == 0, st
    lst = n1.run([AGENT, "-o", "list", f"--socket={pdu.path}"], check=False)
    assert lst.returncode == 0 and lst.stdout.split() == ["n1,n1", "n2,n2"], lst
    mon = n1.run([AGENT], input=f"action=monitor\nsocket={pdu.path}\n", check=False)
    assert mon.returncode == 0, mon
    # metadata needs no PDU, and is a fence-agent description
    md = subprocess.run([AGENT], input="action=metadata\n", capture_output=True, text=True,
                        timeout=10)
    assert md.returncode == 0, md
    root = ET.fromstring(md.stdout)
    assert root.tag == "resource-agent" and root.get("name") == "fence_vigiltest"
    assert {p.get("name") for p in root.iter("parameter")} >= {"action", "plug", "socket"}
    assert {a.get("name") for a in root.iter("action")} >= {"on", "off", "reboot", "status",
                                                           "monitor", "list", "metadata"}
    # a missing plug is refused before the PDU is asked
    noplug = n1.run([AGENT], input=f"action=off\nsocket={pdu.path}\n", check=False)
    assert noplug.returncode == 1 and "needs plug" in noplug.stderr
    assert pdu.actions() == [("status", "n2"), ("status", "n2"), ("list", "-"),
                             ("monitor", "-")]
    assert netlab._pid_alive(n2.pid)
