"""Issue 8, "On real namespaces": each row of the issue's table of faults that put a VIP and its
service on two live nodes, on three servers (real Corosync, real vigild) with the web service
(a `process`) and its VIP in a group, both `requires: quorum`. In (b) the holder cannot stop
anything itself (its vigild is gone), so only fencing can make recovery safe: that test has a
fence device, the lab's PDU (pdu.py) taking 2 s to power a node off, as real ones take time;
(a) and (c) have none (the lost side must stop by itself within a bound the others can count on).

- (a) the holder is cut off from the two others while its service takes 2 s to exit after
  SIGTERM (webnode.py --term-delay 2);
- (b) the holder's vigild is killed (-9), then, 1 s later, its Corosync;
- (c) the holder's Corosync hangs (SIGSTOP) for 6 s.

Throughout, a watch.Watcher sees every node's addresses (netlink events) and processes: each
test fails if the VIP or the service was on two live nodes at any moment (a node powered off,
e.g. by the fence device, is not live; a node whose vigild or Corosync is dead or stopped is),
and passes only if the service also came back, answering the client through the VIP from
another node within RECOVER_S, and the cluster was whole again after the fault was healed.

Run alone: VIGIL_BUILD=$PWD/build /usr/bin/python3 -m pytest -q -p no:cacheprovider \\
    tests/integration/test_safety_faults.py

Must not: weaken the safety check (overlap must be exactly 0, whatever the timing), wait
without a bound, or leave anything behind (the cluster_lab fixture closes the lab, the PDU is
closed by its context manager, faults are healed also on failure).
"""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402
import clusterlab as cl  # noqa: E402
import faults  # noqa: E402
import watch  # noqa: E402
from pdu import Pdu  # noqa: E402

NAMES = ["n1", "n2", "n3"]
START_S = 60
RECOVER_S = 60  # fault -> the client answered through the VIP by another node (generous)
WHOLE_S = 90  # fault healed -> every server back, one holder
OBSERVE_S = 12  # how long a fault is watched (the issue saw 11 s of overlap)


class SlowPdu(Pdu):
    """The lab's PDU taking POWER_OFF_S to power a node off, as a real IPMI or PDU does (a
    fence device answers `off` only once the node is off)."""

    POWER_OFF_S = 2.0

    def _answer(self, action, node):
        if action in ("off", "reboot") and not self.fail:
            time.sleep(self.POWER_OFF_S)
        return super()._answer(action, node)


@pytest.fixture
def lab3(request):
    yield from cl.cluster_lab(request, NAMES)


def run_row(lab, row, make_fault, hold_s, after_s=0.0, web_args="", fencing=False):
    """Start the cluster (with the slow PDU as fence device when fencing), inject
    make_fault(cluster, holder) on the VIP holder, heal it hold_s later, keep watching after_s
    more, then wait for the cluster to be whole. Asserts no overlap first (the safety rule),
    then the recovery on another node, then the heal."""
    with SlowPdu(lab) as pdu:
        c = cl.start(lab, yaml_text=chaos.cluster_yaml(lab, web_args=web_args,
                                                       fence_devices=pdu.device_yaml()
                                                       if fencing else "",
                                                       options={"stickiness": 100}))
        vip = cl.vip_addr(lab)
        w = watch.Watcher(lab, vip)
        poller = cl.ClientPoller(lab, vip)
        w.start()
        poller.start()
        fault = holder = back = whole = None
        t0 = time.monotonic()
        errors = []
        try:
            holder = chaos.wait_whole(c, w, poller, t0, START_S)
            fault = make_fault(c, holder)
            t0 = time.monotonic()
            fault.inject()
            time.sleep(max(0.0, t0 + hold_s - time.monotonic()))
            fault.heal()
            time.sleep(after_s)
            try:
                back = poller.wait_answer(max(0.1, t0 + RECOVER_S - time.monotonic()),
                                          since=t0, exclude=(holder,),
                                          what="an answer through the VIP from another node")
            except AssertionError as e:
                errors.append(str(e))
            t_heal = time.monotonic()
            try:
                whole = chaos.wait_whole(c, w, poller, t_heal, WHOLE_S)
            except (AssertionError, cl.LabError, cl.VigilError) as e:
                errors.append(f"not whole after the heal: {e}"[-3000:])
        finally:
            try:
                if fault is not None:
                    fault.heal()
            except (AssertionError, cl.LabError, OSError) as e:
                errors.append(f"healing {fault}: {e}")
            poller.stop()
            w.stop()
        rep = w.report()
        fenced = [n for a, n in pdu.actions() if a in ("off", "reboot")]
        print(f"row ({row}): holder {holder}; VIP on two live nodes "
              f"{rep['vip']['overlap_s']:.3f}s, service {rep['web']['overlap_s']:.3f}s; "
              f"answered by {back[1] if back else None} "
              f"{(back[0] - t0) if back else float('nan'):.2f}s after the fault; "
              f"fenced: {fenced}; whole again: {whole}")
        print(w.summary())
        w.assert_never_two()
        assert back is not None, "\n".join(errors)
        assert whole is not None, "\n".join(errors)
        assert pdu.errors == []


def test_a_holder_cut_off_while_its_service_is_slow_to_stop(lab3):
    run_row(lab3, "a", lambda c, h: faults.Partition(c, h), OBSERVE_S, after_s=2.0,
            web_args=f"--term-delay {faults.SLOW_STOP_S}")


def test_b_holder_vigild_killed_then_its_corosync(lab3):
    run_row(lab3, "b", lambda c, h: faults.VigildThenCorosyncKill(c, h), OBSERVE_S,
            after_s=2.0, fencing=True)


def test_c_holder_corosync_hangs_for_6s(lab3):
    run_row(lab3, "c", lambda c, h: faults.CorosyncHang(c, h), 6.0, after_s=6.0)
