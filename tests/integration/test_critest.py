"""critest v1.26.1 against berth (tests/critest/run.py), offline.

Skipped when critest is missing ($CRITEST, default
/opt/cri-tools/bin/critest) or there is no C compiler for the nonewprivs
image. By default the whole suite runs once, on berthd's default runtime
(crun on a prepared host), minus the specs run.py skips (streaming, the
digest-pinned image, MaskedPaths with busybox-static's sh): about three
minutes on the 2-core test VMs. BERTH_CRITEST_RUNTIMES="crun runc" runs
it per runtime; BERTH_CRITEST_FOCUS narrows it to a ginkgo regex."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN_DIR, PYSTUBS

REPO = Path(__file__).resolve().parents[2]
CRITEST = os.environ.get("CRITEST", "/opt/cri-tools/bin/critest")
RUNTIMES = os.environ.get("BERTH_CRITEST_RUNTIMES", "default").split()

pytestmark = [
    pytest.mark.skipif(not os.access(CRITEST, os.X_OK), reason=f"no critest at {CRITEST}"),
    pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")),
                       reason="the nonewprivs look-alike image needs cc"),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_critest(runtime):
    cmd = [sys.executable, str(REPO / "tests" / "critest" / "run.py")]
    if runtime != "default":
        cmd += ["--runtime", runtime]
    if os.environ.get("BERTH_CRITEST_FOCUS"):
        cmd += ["--focus", os.environ["BERTH_CRITEST_FOCUS"]]
    env = dict(os.environ, BERTH_BIN_DIR=BIN_DIR, BERTH_PYSTUBS=PYSTUBS, CRITEST=CRITEST)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    summary = r.stdout[r.stdout.find("=== critest specs ==="):]
    assert r.returncode == 0, f"critest failed:\n{summary or r.stdout[-5000:]}\n{r.stderr[-3000:]}"


CRITEST_132 = os.environ.get("CRITEST_132", "/opt/cri-tools-1.32/bin/critest")


@pytest.mark.skipif(not os.access(CRITEST_132, os.X_OK), reason=f"no critest at {CRITEST_132}")
@pytest.mark.parametrize("runtime", ["crun", "runc"])
def test_critest_132_user_namespaces(runtime):
    """critest v1.32.0's six UserNamespaces specs run (the handler says it
    has user namespaces, so none skips) and pass, on each runtime."""
    cmd = [sys.executable, str(REPO / "tests" / "critest" / "run.py"),
           "--runtime", runtime, "--focus", "UserNamespaces"]
    env = dict(os.environ, BERTH_BIN_DIR=BIN_DIR, BERTH_PYSTUBS=PYSTUBS, CRITEST=CRITEST_132)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    summary = r.stdout[r.stdout.find("=== critest specs ==="):]
    assert r.returncode == 0, f"critest failed:\n{summary or r.stdout[-5000:]}\n{r.stderr[-3000:]}"
    ran = [line for line in summary.splitlines() if "UserNamespaces" in line]
    assert len(ran) == 6 and all(line.startswith("passed") for line in ran), summary
