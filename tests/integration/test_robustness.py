"""Issue 2, harder cases: shutdown during a hung operation, a second vigild on a busy socket,
many resources at once, and adoption that must not be fooled by a reused PID."""
import os
import signal
import time

from common import API_PATTERN, alive, one_pid, read_file, record_dir, res_api, res_dummy
from netlab import cluster_yaml, wait_until


def test_sigterm_during_a_hung_operation(lab, node):
    d = record_dir(lab, "hang")
    res = (f"  - name: hang\n    type: ocf:vigiltest:Hang\n    params: {{dir: {d}}}\n"
           f"    ops: {{start: {{timeout: 20s}}, stop: {{timeout: 5s}}}}\n" + res_api())
    v = node.start_vigild(cluster_yaml(lab, res))
    wait_until(lambda: read_file(os.path.join(d, "start.child")), 30, 0.05, "hang's start")
    node.wait_state("api")
    agent = int(read_file(os.path.join(d, "start.pid")))
    child = int(read_file(os.path.join(d, "start.child")))
    t0 = time.monotonic()
    v.signal(signal.SIGTERM)
    rc = v.wait(60)
    took = time.monotonic() - t0
    # whatever it does with the hung start, it ends within that start's timeout plus a stop,
    # kills the agent's process group and leaves nothing running
    assert took < 20 + 5 + 10, took
    assert not alive(node, agent) and not alive(node, child)
    assert node.pgrep(API_PATTERN) == []
    assert rc == 0, v.log()


def test_second_vigild_on_the_same_socket_is_refused(lab, node):
    cfg = cluster_yaml(lab, res_api() + res_dummy())
    node.start_vigild(cfg)
    node.wait_state(["api", "dummy"])
    api = one_pid(node, API_PATTERN)
    second = node.start_vigild(wait_ready=False)
    rc = second.wait(30)
    assert rc != 0, second.log()
    # the first one still answers on its socket and runs its resources once
    time.sleep(1)
    st = node.wait_state(["api", "dummy"], timeout=10)
    assert all(r["failcount"] == 0 for r in st["resources"]), st
    assert node.pgrep(API_PATTERN) == [api]


def test_many_resources_in_parallel(lab, node):
    n = 40
    names = [f"d{i}" for i in range(n)]
    res = "".join(res_dummy(name) for name in names)
    v = node.start_vigild(cluster_yaml(lab, res))
    node.wait_state(names, timeout=120)
    time.sleep(3)  # a few rounds of 40 monitors every second
    st = node.wait_state(names, timeout=30)
    assert all(r["failcount"] == 0 for r in st["resources"]), st
    assert v.stop(120) == 0, v.log()
    left = node.run("ls /run/resource-agents").stdout.split()
    assert [f for f in left if f.startswith("Dummy-")] == []


def test_adoption_is_not_fooled_by_a_reused_pid(lab, node):
    """vigild recorded the PID of its process; while vigild was down that process died and an
    unrelated one got the same PID. The restarted vigild must start the service again, not
    adopt the stranger (and not kill it either)."""
    v = node.start_vigild(cluster_yaml(lab, res_api()))
    node.wait_state("api")
    api = one_pid(node, API_PATTERN)
    v.kill9()
    node.run(["kill", "-9", str(api)])
    wait_until(lambda: not alive(node, api), 10, 0.05, "api gone")

    def squat():
        out = node.run(["/bin/sh", "-c",
                        f"echo {api - 1} > /proc/sys/kernel/ns_last_pid; "
                        "sleep 5000 </dev/null >/dev/null 2>&1 & echo $!"]).stdout
        return int(out) == api
    wait_until(squat, 10, 0.05, f"an unrelated process with PID {api}")
    assert alive(node, api) and node.pgrep(API_PATTERN) == []
    node.start_vigild()
    node.wait_state("api", timeout=60)
    wait_until(lambda: len(node.pgrep(API_PATTERN)) == 1, 30, 0.1, "the service started again")
    assert node.pgrep(API_PATTERN) != [api]
    assert alive(node, api), "vigild killed an unrelated process that had its old PID"


def test_second_vigild_on_the_same_data_dir_is_refused(lab, node):
    """Two daemons supervising the same resources would fight over them (double starts,
    stops of each other's processes): the data directory belongs to one vigild."""
    cfg = cluster_yaml(lab, res_api() + res_dummy())
    node.start_vigild(cfg)
    node.wait_state(["api", "dummy"])
    api = one_pid(node, API_PATTERN)
    second = node.start_vigild(wait_ready=False, socket="/run/vigil/other.sock")
    try:
        rc = second.wait(15)
    except AssertionError:
        second.kill9()
        raise AssertionError("a second vigild runs on the same data directory:\n"
                             + second.log())
    assert rc != 0, second.log()
    time.sleep(1)
    st = node.wait_state(["api", "dummy"], timeout=10)
    assert all(r["failcount"] == 0 for r in st["resources"]), st
    assert node.pgrep(API_PATTERN) == [api]


def test_data_dir_is_created(lab, node):
    node.start_vigild(cluster_yaml(lab, res_api()), data_dir="/var/lib/vigil/a/b")
    node.wait_state("api")
    assert os.listdir(node.path("/var/lib/vigil/a/b")), "nothing recorded in the data dir"
