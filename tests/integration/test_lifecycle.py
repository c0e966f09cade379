"""Issue 2: restart of vigild adopts what runs; SIGTERM stops in reverse order; a bad config
changes nothing."""
import os
import re
import time

import pytest

from common import (API_PATTERN, DUMMY_STATE, PDUMMY_STATE, WEB_PIDFILE, alive, by_name,
                    has_addr, ip2_addr, one_pid, pidfile_pid, read_file, record_dir, res_api,
                    res_dummy, res_ip2, res_pdummy, res_vip, res_web, stat_of, vip_addr)
import netlab
from netlab import cluster_yaml, wait_until, yaml_line_of


def _recorder(name, log, vip="", proc=""):
    return (f"  - name: {name}\n    type: ocf:vigiltest:Recorder\n"
            f"    params: {{log: {log}, vip: \"{vip}\", proc: \"{proc}\"}}\n"
            f"    ops: {{monitor: {{interval: 1s, timeout: 10s}}}}\n")


def _records(log, action):
    return [line.split() for line in read_file(log).splitlines() if line.startswith(action + " ")]


def test_restarted_vigild_adopts_without_restarting(lab, node):
    log = os.path.join(record_dir(lab, "rec"), "log")
    names = ["dummy", "pdummy", "web", "ip2", "vip", "api", "rec"]
    cfg = cluster_yaml(lab, res_dummy() + res_pdummy() + res_web() + res_ip2(lab)
                       + res_vip(lab) + res_api() + _recorder("rec", log))
    d = node.start_vigild(cfg)
    node.wait_state(names, timeout=90)
    api, web = one_pid(node, API_PATTERN), pidfile_pid(node, WEB_PIDFILE)
    dummy, pdummy = stat_of(node, DUMMY_STATE), stat_of(node, PDUMMY_STATE)
    assert dummy and pdummy and len(_records(log, "start")) == 1

    d.kill9()
    time.sleep(1.5)  # more than a monitor interval: nothing must notice vigild's death
    assert alive(node, api) and alive(node, web)
    assert has_addr(node, vip_addr(lab)) and has_addr(node, ip2_addr(lab))

    d2 = node.start_vigild()
    st = node.wait_state(names, timeout=90)
    for r in st["resources"]:
        assert r["failcount"] == 0, r
    assert "adopted" in d2.log()
    time.sleep(3)  # a few monitor intervals later, still the same processes
    st = node.status()
    assert all(r["state"] == "running" and r["failcount"] == 0 for r in st["resources"]), st
    assert node.pgrep(API_PATTERN) == [api]
    assert pidfile_pid(node, WEB_PIDFILE) == web and alive(node, web)
    assert stat_of(node, DUMMY_STATE) == dummy
    assert stat_of(node, PDUMMY_STATE) == pdummy
    assert len(_records(log, "start")) == 1 and _records(log, "stop") == []
    assert has_addr(node, vip_addr(lab)) and has_addr(node, ip2_addr(lab))


def test_adopted_process_is_still_supervised(lab, node):
    d = node.start_vigild(cluster_yaml(lab, res_api()))
    node.wait_state("api")
    api = one_pid(node, API_PATTERN)
    d.kill9()
    node.start_vigild()
    node.wait_state("api")
    assert node.pgrep(API_PATTERN) == [api]
    node.run(["kill", "-9", str(api)])

    def back():
        p = node.pgrep(API_PATTERN)
        r = node.resource("api")
        return (p, r) if len(p) == 1 and p[0] != api and r["state"] == "running" else None
    p, r = wait_until(back, 60, 0.1, "the adopted process to be restarted")
    assert r["failcount"] == 1, r


def test_sigterm_stops_in_reverse_order(lab, node):
    log = os.path.join(record_dir(lab, "rec"), "log")
    vip = vip_addr(lab)
    # file order: rec1, vip, rec2, api, rec3 -> stop order: rec3, api, rec2, vip, rec1
    res = (_recorder("rec1", log, vip, API_PATTERN) + res_vip(lab)
           + _recorder("rec2", log, vip, API_PATTERN) + res_api()
           + _recorder("rec3", log, vip, API_PATTERN))
    d = node.start_vigild(cluster_yaml(lab, res))
    node.wait_state(["rec1", "vip", "rec2", "api", "rec3"])
    assert d.stop(60) == 0, d.log()
    stops = [(r[1], r[2], r[3]) for r in _records(log, "stop")]
    assert stops == [("rec3", "vip=1", "proc=1"), ("rec2", "vip=1", "proc=0"),
                     ("rec1", "vip=0", "proc=0")], stops
    assert not has_addr(node, vip) and node.pgrep(API_PATTERN) == []


def test_order_cycle_is_decided_once_by_the_scheduler(lab, node):
    """Standalone is a cluster of one: the scheduler alone orders starts. Two orders that make
    a cycle (a then b, b then a): the scheduler drops the one that closes it (the second, b then
    a), so both run, a before b. (The standalone policy this replaced started
    neither: it waited on each for ever.)"""
    log = os.path.join(record_dir(lab, "rec"), "log")
    cons = ("constraints:\n  - {order: {first: a, then: b}}\n"
            "  - {order: {first: b, then: a}}\n")
    d = node.start_vigild(cluster_yaml(lab, _recorder("a", log) + _recorder("b", log),
                                       extra=cons))
    st = node.wait_state(["a", "b"], timeout=60)
    assert st["cluster"]["mode"] == "standalone", st["cluster"]
    starts = [r[1] for r in _records(log, "start")]
    assert starts == ["a", "b"], starts
    assert d.stop(60) == 0, d.log()
    stops = [r[1] for r in _records(log, "stop")]
    assert stops == ["b", "a"], stops


# (name, text of the bad resources, needle on the expected line, nth occurrence,
#  other acceptable needles, field substring)
BAD = [
    ("unknown_key", "  - name: bad\n    type: vip\n    colour: red\n"
     "    params: {address: @VIP2@/24, interface: eth0}\n", "colour", 1, [], "colour"),
    ("wrong_type", "  - name: bad\n    type: ocf:heartbeat:Dummy\n    migration_threshold: lots\n",
     "migration_threshold", 1, [], "migration_threshold"),
    ("missing_required", "  - name: bad\n    params: {command: /bin/true}\n",
     "name: bad", 1, [], "type"),
    ("duplicate_name", "  - name: sleeper\n    type: process\n    params: {command: /bin/true}\n",
     "name: sleeper", 2, [], "name"),
    ("yaml_syntax", "  - name: bad\n\ttype: vip\n", "\ttype", 1, [], "bad.yaml"),
    ("ocf_required_param", "  - name: bad\n    type: ocf:heartbeat:IPaddr2\n"
     "    params: {cidr_netmask: \"24\"}\n", "name: bad", 1, ["cidr_netmask"], "ip"),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_config_changes_nothing(lab, node, case):
    _, bad_res, needle, nth, alt, field = case
    node.start_vigild(cluster_yaml(lab, res_vip(lab) + res_api()))
    node.wait_state(["vip", "api"])
    api = one_pid(node, API_PATTERN)
    before = by_name(node.status())

    vip2 = lab.ip(200)
    good_part = ("  - name: sleeper\n    type: process\n    params: {command: \"sleep 4242\"}\n"
                 + res_vip(lab, name="vip2", addr=f"{vip2}/24"))
    text = cluster_yaml(lab, good_part + bad_res.replace("@VIP2@", lab.ip(201)))
    want = {yaml_line_of(text, needle, nth)} | {yaml_line_of(text, a) for a in alt}
    node.write("/etc/vigil/bad.yaml", text)
    p = node.run(["timeout", "30", netlab.VIGILD, "-c", "/etc/vigil/bad.yaml", "-n", "n1",
                  "--foreground", "--socket", "/run/vigil/bad.sock"], check=False, timeout=60,
                 env=dict(os.environ, OCF_ROOT=lab.ocf_root))
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = {int(m.group(1)) for m in re.finditer(r"bad\.yaml:(\d+): ", p.stderr)}
    assert lines & want, f"want line {sorted(want)} in: {p.stderr}"
    assert field in p.stderr, p.stderr
    # nothing started, nothing changed
    assert node.pgrep("^sleep 4242") == []
    assert not has_addr(node, vip2) and not has_addr(node, lab.ip(201))
    assert node.run(["test", "-e", "/run/vigil/bad.sock"], check=False).returncode != 0
    time.sleep(2)
    after = by_name(node.status())
    assert sorted(after) == sorted(before) == ["api", "vip"]
    for name in after:
        assert after[name]["state"] == "running" and after[name]["failcount"] == 0, after[name]
    assert node.pgrep(API_PATTERN) == [api]
    assert has_addr(node, vip_addr(lab))


def test_bad_config_alone_starts_nothing(lab, node):
    text = cluster_yaml(lab, res_api() + "  - name: api\n    type: vip\n")
    node.write("/etc/vigil/cluster.yaml", text)
    d = node.start_vigild(wait_ready=False)
    assert d.wait(30) == 2, d.log()
    assert re.search(rf"cluster\.yaml:{yaml_line_of(text, 'name: api', 2)}: ", d.log()), d.log()
    assert node.pgrep(API_PATTERN) == []
    assert node.run(["test", "-e", "/run/vigil/vigild.sock"], check=False).returncode != 0


def test_missing_config_file(lab, node):
    d = node.start_vigild(wait_ready=False, config_path="/etc/vigil/nope.yaml")
    assert d.wait(30) == 2, d.log()
    assert "/etc/vigil/nope.yaml" in d.log()
    assert node.run(["test", "-e", "/run/vigil/vigild.sock"], check=False).returncode != 0


def test_stop_of_a_vip_removed_behind_its_back(lab, node):
    """Stopping what is already gone succeeds (stop is idempotent)."""
    d = node.start_vigild(cluster_yaml(lab, res_vip(lab, interval="30s") + res_api()))
    node.wait_state(["vip", "api"])
    node.run(["ip", "addr", "del", f"{vip_addr(lab)}/24", "dev", "eth0"])
    assert d.stop(60) == 0, d.log()
    assert node.pgrep(API_PATTERN) == []
