"""pytest fixtures for vigil's integration tests: a fresh namespace LAN per test (netlab.py).

Must not: leave holders, namespaces or temp dirs behind (the fixture closes the lab even when
the test fails; netlab also closes leftovers at exit). Adds the vigild logs to a failed
test's report. Every test, whatever fixture made its labs, fails when a vigild of a lab closed
during it wrote a sanitizer report (netlab: log_path=LAB/sanitizer/, read at close, after
vigild was stopped with SIGTERM so LeakSanitizer ran).
"""
import os
import sys
import warnings

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("vigil's integration tests need root (network namespaces)")
    for b in (netlab.VIGILD, netlab.VIGIL):
        if not os.access(b, os.X_OK):
            raise pytest.UsageError(f"{b} is not built (set VIGIL_BUILD_DIR)")
    netlab.cleanup_stale()  # what an earlier, SIGKILLed run left behind


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    lab = item.funcargs.get("lab") if hasattr(item, "funcargs") else None
    if rep.failed and lab is not None:
        rep.sections.append(("vigild logs", lab.logs()))


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_reports(text):
    """Lines where ASan, LSan or UBSan reported something in a vigild log."""
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKS)]


@pytest.fixture(autouse=True)
def sanitizer_logs():
    """Fail the test on any sanitizer report (ASan, LSan, UBSan) that a vigild of a lab
    closed during the test wrote to the lab's sanitizer directory; warn about each vigild
    that SIGTERM did not end (no leak check ran for it)."""
    mark = netlab.sanitizer_mark()
    yield
    for why in netlab.unstopped_since(mark):
        warnings.warn(f"no leak check: {why}")
    reports = netlab.sanitizer_reports_since(mark)
    if reports:
        pytest.fail("sanitizer reports of vigild (LAB/sanitizer/):\n"
                    + "\n".join(f"===== {f}\n{text[-6000:]}" for f, text in reports[:5]),
                    pytrace=False)


@pytest.fixture
def lab(request):
    """One node (n1) and a client on a private LAN. A sanitizer report in any vigild log
    of the test fails it, whatever the test itself asserted."""
    lab = netlab.Lab(nodes=["n1"], client=True)
    lab.start()
    logs = ""
    try:
        yield lab
        logs = lab.logs()
    finally:
        lab.close()
    reports = sanitizer_reports(logs)
    if reports:
        pytest.fail("sanitizer reports in vigild's log:\n" + "\n".join(reports[:20]) +
                    "\n\n" + logs[-20000:], pytrace=False)


@pytest.fixture
def node(lab):
    return lab.node("n1")
