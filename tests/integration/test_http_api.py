"""Issue 10: the HTTP API on real vigilds (three servers, real Corosync, clusterlab.py), asked
from the lab's client host over the namespace LAN: every read view answers the same JSON as the
control socket; a write without the token (or with another) is refused with 401 and changes
nothing; an authenticated malformed body gets 400 with a JSON error; an authenticated standby
goes through the cluster (a deferred reply) and shows in every node's status; an isolated
server answers a write with 503 (no quorum); HTTPS with api.tls_cert/tls_key.
Must not: leave anything behind (the cluster_lab fixture cleans up also on failure) or wait
without a bound.
"""
import json
import os
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clusterlab as cl  # noqa: E402
from clusterlab import node_state, running_on, wait_status  # noqa: E402

NAMES = ["n1", "n2", "n3"]
PORT = 7480
TOKEN_FILE = "/etc/vigil/api-token"
CERT, KEY = "/etc/vigil/api.crt", "/etc/vigil/api.key"

# Run inside the client host: one request, its answer as JSON on stdout.
CLIENT = r"""
import json, ssl, sys, urllib.request, urllib.error
method, url, token, body, cafile = sys.argv[1:6]
req = urllib.request.Request(url, method=method,
                             data=body.encode() if body != "-" else None)
if token != "-":
    req.add_header("Authorization", "Bearer " + token)
if body != "-":
    req.add_header("Content-Type", "application/json")
ctx = ssl.create_default_context(cafile=cafile) if cafile != "-" else None
try:
    r = urllib.request.urlopen(req, timeout=20, context=ctx)
    status, headers, text = r.status, dict(r.headers), r.read().decode()
except urllib.error.HTTPError as e:
    status, headers, text = e.code, dict(e.headers), e.read().decode()
try:
    body = json.loads(text)
except ValueError:
    body = text
print(json.dumps({"status": status, "headers": headers, "body": body}))
"""


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


def http(lab, method, node, path, token=None, body=None, https=False):
    scheme = "https" if https else "http"
    host = node if https else lab.nodes[node].addr
    p = lab.client.run(["/usr/bin/python3", "-c", CLIENT, method,
                        f"{scheme}://{host}:{PORT}{path}", token or "-",
                        body if body is not None else "-", ca_bundle(lab) if https else "-"],
                       check=False, timeout=40)
    assert p.returncode == 0, (method, path, p.stdout, p.stderr)
    return json.loads(p.stdout)


def ca_bundle(lab):
    return os.path.join(lab.dir, "api-ca.pem")


def api_yaml(lab, tls=False):
    extra = (f"api:\n  listen: \"0.0.0.0:{PORT}\"\n  token_file: {TOKEN_FILE}\n"
             + (f"  tls_cert: {CERT}\n  tls_key: {KEY}\n" if tls else ""))
    return cl.web_cluster_yaml(lab) + extra


def write_token(lab):
    token = "t" * 8 + os.urandom(24).hex()
    for n in NAMES:
        lab.nodes[n].run(["sh", "-c", f"umask 077; cat > {TOKEN_FILE}"], input=token + "\n")
    return token


def restarts(node):
    p = cl.vigil(node, "resource", "show", "web", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["restarts"]


def test_views_tokens_bodies_and_a_deferred_write(lab3):
    token = write_token(lab3)
    cl.start(lab3, yaml_text=api_yaml(lab3))
    nodes = [lab3.nodes[n] for n in NAMES]
    wait_status(nodes, lambda st: len(running_on(st, "vip")) == 1
                and cl.nodes_online(st, NAMES), 60, "settled")

    # every read view, from every server, is the control socket's JSON
    for n in NAMES:
        a = http(lab3, "GET", n, "/v1/status")
        assert a["status"] == 200, a
        assert a["headers"]["Content-Type"] == "application/json", a
        st = a["body"]["result"]
        assert a["body"]["ok"] is True and st["cluster"]["node"] == n, a
        assert set(st) == set(cl.status(lab3.nodes[n])), (st, n)
    for path in ("/v1/ping", "/v1/config", "/v1/events", "/v1/resources/web"):
        a = http(lab3, "GET", "n1", path)
        assert a["status"] == 200 and a["body"]["ok"] is True, (path, a)
    assert http(lab3, "GET", "n1", "/v1/resources/web")["body"]["result"]["name"] == "web"
    a = http(lab3, "GET", "n1", "/v1/resources/nosuch")
    assert a["status"] == 404 and "no resource named 'nosuch'" in a["body"]["error"], a
    assert http(lab3, "GET", "n1", "/v1/nothing")["status"] == 404
    a = http(lab3, "GET", "n1", "/v1/resources/web/restart")
    assert a["status"] == 405 and a["headers"]["Allow"] == "POST", a

    # /metrics parses, with the exporter's names: every node, its statuses, the VIP's holder
    a = http(lab3, "GET", "n1", "/metrics")
    assert a["status"] == 200 and a["headers"]["Content-Type"].startswith("text/plain"), a
    fams = {f.name: f for f in text_string_to_metric_families(a["body"])}
    nodes_fam = fams["ha_cluster_pacemaker_nodes"].samples
    assert len(nodes_fam) == 3 * 8, nodes_fam
    leader = cl.status(lab3.nodes["n1"])["cluster"]["leader"]
    assert {s.labels["node"] for s in nodes_fam if s.labels["status"] == "dc" and s.value} == \
        {leader}, nodes_fam
    assert all(s.value == 1 for s in nodes_fam if s.labels["status"] == "online"), nodes_fam
    holder_now = running_on(cl.status(lab3.nodes["n1"]), "vip")
    vip = [s for s in fams["ha_cluster_pacemaker_resources"].samples
           if s.labels["resource"] == "vip"]
    assert [(s.labels["node"], s.labels["status"], s.labels["group"]) for s in vip] == \
        [(holder_now[0], "active", "frontend")], vip
    assert fams["ha_cluster_corosync_quorate"].samples[0].value == 1
    assert fams["ha_cluster_pacemaker_resources_total"].samples[0].value == 2

    # writes without the token, or with another, change nothing
    before = restarts(lab3.nodes["n1"])
    a = http(lab3, "POST", "n1", "/v1/resources/web/restart", body="{}")
    assert a["status"] == 401 and a["headers"]["WWW-Authenticate"] == "Bearer", a
    a = http(lab3, "POST", "n2", "/v1/resources/web/restart", token=token + "x", body="{}")
    assert a["status"] == 401, a
    # an authenticated malformed body: 400, a JSON error, nothing done
    a = http(lab3, "POST", "n2", "/v1/nodes/n3/standby", token=token, body='{"x": ')
    assert a["status"] == 400 and "malformed body" in a["body"]["error"], a
    st = cl.status(lab3.nodes["n1"])
    assert node_state(st, "n3") == "online", st
    assert restarts(lab3.nodes["n1"]) == before

    # an authenticated write goes through the cluster and answers once committed
    holder = running_on(st, "vip")[0]
    other = next(n for n in NAMES if n != holder)
    a = http(lab3, "POST", other, f"/v1/nodes/{holder}/standby", token=token, body="{}")
    assert a["status"] == 200 and a["body"]["ok"] is True, a
    wait_status(nodes, lambda s: node_state(s, holder) == "standby"
                and running_on(s, "vip") not in ([], [holder]), 60, "standby moved the VIP")
    a = http(lab3, "POST", holder, f"/v1/nodes/{holder}/unstandby", token=token)
    assert a["status"] == 200, a
    wait_status(nodes, lambda s: node_state(s, holder) == "online", 30, "unstandby")

    # an isolated server has no quorum: a write is refused with 503 and the CLI's code 3
    lone = NAMES[2]
    cl.partition(lab3, [[lone], NAMES[:2]])
    wait_status([lab3.nodes[lone]], lambda s: s["cluster"]["quorate"] is False, 30,
                "the isolated server lost quorum")
    a = http(lab3, "POST", lone, f"/v1/nodes/{NAMES[0]}/standby", token=token)
    assert a["status"] == 503 and a["body"]["code"] == 3, a
    cl.heal(lab3)
    wait_status(nodes, lambda s: cl.nodes_online(s, NAMES) and node_state(s, NAMES[0]) ==
                "online", 60, "healed, nothing changed by the refused write")


def make_cert(lab):
    """A self-signed certificate for each node's name (the lab's /etc/hosts has them), its
    key, and the client's copy to trust."""
    for n in NAMES:
        node = lab.nodes[n]
        node.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                  "-subj", f"/CN={n}", "-addext", f"subjectAltName=DNS:{n}",
                  "-keyout", KEY, "-out", CERT], timeout=60)
    # the client trusts every node's certificate (one bundle)
    with open(ca_bundle(lab), "w") as f:
        f.write("".join(lab.nodes[n].run(["cat", CERT]).stdout for n in NAMES))


def test_https(lab3):
    token = write_token(lab3)
    make_cert(lab3)
    cl.start(lab3, yaml_text=api_yaml(lab3, tls=True))
    nodes = [lab3.nodes[n] for n in NAMES]
    wait_status(nodes, lambda st: cl.nodes_online(st, NAMES), 60, "settled")
    a = http(lab3, "GET", "n2", "/v1/status", https=True)
    assert a["status"] == 200 and a["body"]["result"]["cluster"]["node"] == "n2", a
    a = http(lab3, "POST", "n2", "/v1/resources/web/cleanup", token=token, https=True)
    assert a["status"] == 200, a
    # plain HTTP is not answered on an HTTPS port
    p = lab3.client.run(["/usr/bin/python3", "-c", CLIENT, "GET",
                         f"http://{lab3.nodes['n2'].addr}:{PORT}/v1/status", "-", "-", "-"],
                        check=False, timeout=40)
    assert p.returncode != 0, p.stdout
