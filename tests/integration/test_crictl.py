"""crictl, as kubelet's own CLI peer, against berthd. cri-tools is built out
of tree (see docs/testing.md); without it these tests are skipped."""
import json
import os
import subprocess

import pytest

CRICTL = os.environ.get("CRICTL", "/opt/cri-tools/bin/crictl")

pytestmark = pytest.mark.skipif(not os.access(CRICTL, os.X_OK),
                                reason=f"crictl not found at {CRICTL}")


def crictl(b, *args):
    ep = "unix://" + b.sock
    r = subprocess.run([CRICTL, "--runtime-endpoint", ep, "--image-endpoint", ep,
                        "--timeout", "10s", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_crictl_version(berthd):
    out = crictl(berthd, "version")
    assert "RuntimeName:  berth" in out
    assert "RuntimeApiVersion:  v1" in out


def test_crictl_info(berthd):
    info = json.loads(crictl(berthd, "info"))
    conds = {c["type"]: c["status"] for c in info["status"]["conditions"]}
    assert conds == {"RuntimeReady": True, "NetworkReady": True}
    assert info["config"]["berth"]["root"] == berthd.root


def test_crictl_imagefsinfo(berthd):
    fs = json.loads(crictl(berthd, "imagefsinfo"))["status"]
    assert fs["fsId"]["mountpoint"] == os.path.join(berthd.root, "storage")
    assert int(fs["usedBytes"]["value"]) > 0
    assert int(fs["timestamp"]) > 0
