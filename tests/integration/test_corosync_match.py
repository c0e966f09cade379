"""vigild refuses to run against a local Corosync whose nodelist does not match cluster.yaml
(SPEC "Interfaces": `vigild` refuses to start against a running Corosync whose membership does
not match the file). membership.c reads the running Corosync's nodelist and cluster_name from
cmap at connect time; corosync_match.c compares them with the file's servers.

What is checked, on a three-server lab (clusterlab.py) with real `corosync -f` per node: each
server's Corosync is configured by `vigil corosync-conf` from a cluster.yaml that differs from
the one vigild is then given (n1: a fourth server; n2: another address for n3; n3: another
cluster name), each with its own key so that the three do not form one ring; every vigild exits
with 1 and logs the difference. Then, with Corosync made from the same file, the three vigild run
quorate and log that the nodelist they read has the three servers.

Must not: leave anything behind (the fixture closes the lab also on failure), or wait without a
bound.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
import corolab  # noqa: E402
from clusterlab import node_state, wait_status  # noqa: E402
import netlab  # noqa: E402

NAMES = ["n1", "n2", "n3"]
EXIT_S = 20  # vigild connects (it retries every 500 ms), compares, stops, exits
START_S = 30  # three servers quorate and online
REFUSAL = "the local Corosync's nodelist does not match the configuration: "


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES, client=False)


def with_server(yaml_text, name, addr):
    """yaml_text (cluster_yaml's, ending in its node list) with one more server."""
    assert yaml_text.rstrip("\n").splitlines()[-1].startswith("  - {name:"), yaml_text
    return yaml_text + f"  - {{name: {name}, address: {addr}, role: server}}\n"


def start_mismatched(lab, real, corosync_yaml):
    """On each node: corosync.conf (and authkey, from a key of the node's own) made from
    corosync_yaml[node], then cluster.yaml replaced by real; Corosync started, then vigild.
    Returns the Cluster."""
    c = cl.Cluster(lab, NAMES, real, corolab.keygen(lab))
    lab.cluster = c
    for n in NAMES:
        node = lab.nodes[n]
        corolab.install(node, corosync_yaml[n], corolab.keygen(lab, f"authkey-{n}"))
        node.write(corolab.CLUSTER_YAML, real)
    for n in NAMES:
        c.start_corosync(n)
    for n in NAMES:
        c.start_vigild(n)
    return c


def test_vigild_refuses_a_corosync_with_another_nodelist(lab3):
    real = cl.cluster_yaml(lab3)
    n3 = lab3.nodes["n3"]
    wrong_n3 = lab3.ip(41)
    corosync_yaml = {
        "n1": with_server(real, "n4", lab3.ip(40)),
        "n2": real.replace(f"address: {n3.addr},", f"address: {wrong_n3},"),
        "n3": real.replace("  name: test\n", "  name: other\n"),
    }
    assert corosync_yaml["n2"] != real and corosync_yaml["n3"] != real
    c = start_mismatched(lab3, real, corosync_yaml)
    want = {
        "n1": f"Corosync's nodelist has node id 4 (n4, {lab3.ip(40)}) that the configuration "
              "does not have",
        "n2": f"n3 is node id 3 at {n3.addr} in the configuration but node id 3 is at "
              f"{wrong_n3} in Corosync",
        "n3": "Corosync's cluster_name is 'other' but the configuration's cluster.name is "
              "'test'",
    }
    for n in NAMES:
        d = c.vigild[n]
        rc = d.wait(EXIT_S)
        log = d.log()
        assert rc == 1, f"vigild on {n} exited with {rc}:\n{log[-3000:]}"
        assert REFUSAL + want[n] + ". " in log, f"{n}:\n{log[-3000:]}"
        assert "refusing to run" in log
        assert c.corosync[n].alive(), f"corosync on {n} died:\n{c.corosync[n].log()[-2000:]}"


def test_vigild_runs_on_a_corosync_made_from_its_file(lab3):
    cl.start(lab3, yaml_text=cl.cluster_yaml(lab3))

    def online(st):
        cs = st.get("cluster", {})
        return (cs.get("mode") == "cluster" and cs.get("quorate") is True
                and all(node_state(st, n) == "online" for n in NAMES))
    wait_status(list(lab3.nodes.values()), online, START_S, "three servers online")
    for n in NAMES:
        d = lab3.cluster.vigild[n]
        assert d.alive(), f"vigild on {n} exited:\n{d.log()[-3000:]}"
        log = d.log()
        # the nodelist was read from the running Corosync (not skipped as unknown)
        assert "corosync's nodelist has 3 nodes, cluster_name test" in log, log[-3000:]
        assert "cannot read corosync's nodelist" not in log, log[-3000:]
        assert REFUSAL not in log, log[-3000:]
        # vigil corosync-conf's hold (20 ms) is within quorum_loss_delay: no longer wait
        assert "Corosync's totem hold is" not in log, log[-3000:]


def test_an_operators_corosync_with_a_long_hold_lengthens_the_wait(lab3):
    """An operator's corosync.conf without vigil's `hold: 20`: Corosync derives 85 ms at token
    500 (read back from cmap), so the two sides of a cut may see it 85 ms apart; vigild
    allows hold + 30 ms (quorum_loss_delay 0) for that skew instead of 20 + 30 and says so."""
    yaml_text = cl.cluster_yaml(lab3)
    c = cl.Cluster(lab3, NAMES, yaml_text, corolab.keygen(lab3))
    lab3.cluster = c
    for n in NAMES:
        node = lab3.nodes[n]
        conf = corolab.install(node, yaml_text, c.key_path)
        assert "\thold: 20\n" in conf, conf
        node.write(corolab.COROSYNC_CONF, conf.replace("\thold: 20\n", ""))
    for n in NAMES:
        c.start_corosync(n)
    for n in NAMES:
        c.start_vigild(n)
    want = ("Corosync's totem hold is 85 ms (vigil corosync-conf writes hold: 20): a lost "
            "node's requires: quorum resources count as stopped 115 ms after it left at the "
            "earliest")
    for n in NAMES:
        d = c.vigild[n]
        netlab.wait_until(lambda d=d: want in d.log(), EXIT_S, 0.1, f"{n} to raise the wait")
        assert d.alive(), d.log()[-3000:]
    hold = lab3.nodes["n1"].run(["corosync-cmapctl", "-g", "runtime.config.totem.hold"]).stdout
    assert hold.strip().endswith("= 85"), hold
