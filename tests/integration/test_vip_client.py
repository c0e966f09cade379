"""Issue 2: a client in another namespace reaches the native VIP and sees its announcement."""
import os
import re
import subprocess

from common import API_PORT, has_addr, res_api, res_vip, tcp_ok, vip_addr
from netlab import cluster_yaml, wait_until


def test_client_reaches_vip_and_sees_gratuitous_arp(lab, node):
    client = lab.client
    vip = vip_addr(lab)
    out_path = os.path.join(lab.dir, "tcpdump.out")
    err_path = os.path.join(lab.dir, "tcpdump.err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        dump = client.popen(["tcpdump", "-i", "eth0", "-n", "-e", "-l", "-U", "arp"],
                            stdout=out, stderr=err)
    try:
        wait_until(lambda: "listening on" in open(err_path).read(), 20, 0.05,
                   "tcpdump on the client to listen")
        assert not has_addr(node, vip)
        node.start_vigild(cluster_yaml(lab, res_vip(lab) + res_api()))
        node.wait_state(["vip", "api"])
        assert has_addr(node, vip)
        # the announcement arrives without the client asking: a broadcast ARP from the node's
        # MAC that binds the VIP to it (request "who-has VIP tell VIP" or reply "VIP is-at MAC")
        garp = re.compile(
            rf"^\S+ {re.escape(node.mac)} > ff:ff:ff:ff:ff:ff, ethertype ARP.*"
            rf"(Request who-has {re.escape(vip)} tell {re.escape(vip)}"
            rf"|Reply {re.escape(vip)} is-at {re.escape(node.mac)})", re.M)
        wait_until(lambda: garp.search(open(out_path).read()), 20, 0.05,
                   "a gratuitous ARP for the VIP on the client's link")
        # and the client gets to the service through the VIP (a `process` is "running" once
        # spawned; python needs a moment more to listen)
        wait_until(lambda: tcp_ok(client, vip, API_PORT), 15, 0.1, "the service on the VIP")
        client.run(["curl", "-sf", "-o", "/dev/null", "--max-time", "5",
                    f"http://{vip}:{API_PORT}/"])
        neigh = client.run(["ip", "neigh", "show", vip]).stdout
        assert node.mac in neigh, neigh
    finally:
        dump.terminate()
        try:
            dump.wait(10)
        except subprocess.TimeoutExpired:
            dump.kill()


def test_ipv6_vip_is_announced_and_reachable(lab, node):
    client = lab.client
    vip6 = lab.ip6(100)
    out_path = os.path.join(lab.dir, "tcpdump6.out")
    err_path = os.path.join(lab.dir, "tcpdump6.err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        dump = client.popen(["tcpdump", "-i", "eth0", "-n", "-e", "-l", "-U", "-vv",
                             "icmp6 and ip6[40] == 136"], stdout=out, stderr=err)
    try:
        wait_until(lambda: "listening on" in open(err_path).read(), 20, 0.05,
                   "tcpdump on the client to listen")
        cmd = f"/usr/bin/python3 -m http.server {API_PORT} --bind ::"
        node.start_vigild(cluster_yaml(lab, res_vip(lab, addr=f"{vip6}/64")
                                       + res_api(cmd=cmd)))
        node.wait_state(["vip", "api"])
        assert has_addr(node, vip6)
        # an unsolicited neighbour advertisement for the VIP from the node's MAC
        na = re.compile(rf"^\S+ {re.escape(node.mac)} > \S+, ethertype IPv6.*\n?.*"
                        rf"neighbor advertisement, length \d+, tgt is {re.escape(vip6)}", re.M)
        wait_until(lambda: na.search(open(out_path).read()), 20, 0.05,
                   "an unsolicited neighbour advertisement for the VIP")
        wait_until(lambda: tcp_ok(client, vip6, API_PORT), 15, 0.1, "the service on the VIP")
    finally:
        dump.terminate()
        try:
            dump.wait(10)
        except subprocess.TimeoutExpired:
            dump.kill()
