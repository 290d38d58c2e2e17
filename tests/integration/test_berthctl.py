"""berthctl, berth's own CRI client, against a real berthd: every command
compared with what the gRPC stubs return, crictl's output where crictl is
installed, and `berthctl bench` with small counts for every scenario."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BIN_DIR, api_pb2, wait_for
from test_pod_lifecycle import pod_config, run_pod  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import images  # noqa: E402
import registry  # noqa: E402

BERTHCTL = os.path.join(BIN_DIR, "berthctl")
CRICTL = os.environ.get("CRICTL", "/opt/cri-tools/bin/crictl")
LATENCY_KEYS = {"scenario", "variant", "count", "p50_ms", "p90_ms", "p99_ms", "max_ms",
                "throughput_per_s"}
MEMORY_KEYS = {"scenario", "variant", "server_rss_kib", "server_pss_kib", "helpers_rss_kib",
               "helpers_pss_kib", "helpers"}


@pytest.fixture(scope="module")
def image_ref(tmp_path_factory):
    built = images.build_all(tmp_path_factory.mktemp("images"))
    r = registry.Registry()
    r.start()
    try:
        registry.push(built["busybox"].layout, "latest", r, "berth/busybox")
        yield f"{r.host}/berth/busybox:latest"
    finally:
        r.stop()


@pytest.fixture
def b(make_berthd, image_ref):
    return make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()


def ctl(b, *args, rc=0, timeout=120):
    r = subprocess.run([BERTHCTL, "-r", "unix://" + b.sock, *args], capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == rc, f"rc {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def crictl(b, *args):
    ep = "unix://" + b.sock
    r = subprocess.run([CRICTL, "--runtime-endpoint", ep, "--image-endpoint", ep,
                        "--timeout", "10s", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def contains(mine, theirs, path="$"):
    """Every key crictl prints, with the same value, is in ours."""
    if isinstance(theirs, dict):
        assert isinstance(mine, dict), path
        for k, v in theirs.items():
            assert k in mine, f"{path}.{k} missing"
            contains(mine[k], v, f"{path}.{k}")
    elif isinstance(theirs, list):
        assert isinstance(mine, list) and len(mine) == len(theirs), path
        for i, (a, t) in enumerate(zip(mine, theirs)):
            contains(a, t, f"{path}[{i}]")
    else:
        assert mine == theirs, f"{path}: {mine!r} != {theirs!r}"


have_crictl = pytest.mark.skipif(not os.access(CRICTL, os.X_OK), reason="no crictl")


def write_configs(tmp_path, image_ref, name="web", cmd=("sh", "-c", "echo hello; echo oops >&2; sleep 1000")):
    pod = {"metadata": {"name": name, "namespace": "default", "uid": name + "-uid", "attempt": 0},
           "log_directory": str(tmp_path / "logs"), "labels": {"app": name},
           # camelCase is accepted too
           "linux": {"securityContext": {"namespaceOptions": {"pid": "CONTAINER"}}}}
    ctr = {"metadata": {"name": "c1"}, "image": {"image": image_ref}, "command": list(cmd),
           "log_path": "c1.log", "labels": {"ctr": "c1"},
           "linux": {"security_context": {"namespace_options": {"pid": 1}}}}
    (tmp_path / "logs").mkdir(exist_ok=True)
    pf, cf = tmp_path / "pod.json", tmp_path / "ctr.json"
    pf.write_text(json.dumps(pod))
    cf.write_text(json.dumps(ctr))
    return str(pf), str(cf)


def test_version_and_info(b):
    out = ctl(b, "version").stdout
    v = b.runtime.Version(api_pb2.VersionRequest())
    assert f"RuntimeName:  {v.runtime_name}\n" in out
    assert f"RuntimeVersion:  {v.runtime_version}\n" in out
    info = json.loads(ctl(b, "info").stdout)
    conds = {c["type"]: c["status"] for c in info["status"]["conditions"]}
    assert conds == {"RuntimeReady": True, "NetworkReady": True}
    assert info["config"]["berth"]["root"] == b.root


def test_errors_and_usage(b, tmp_path):
    r = ctl(b, "inspectp", "doesnotexist", rc=1)
    assert r.stderr.startswith("berthctl: NOT_FOUND: ")
    ctl(b, "nosuchcommand", rc=2)
    ctl(b, "stop", "-x", "id", rc=2)
    r = subprocess.run([BERTHCTL, "-r", str(tmp_path / "none.sock"), "version"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("berthctl: UNAVAILABLE: ")
    env = dict(os.environ, BERTH_ENDPOINT="unix://" + b.sock)
    r = subprocess.run([BERTHCTL, "version"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "RuntimeName" in r.stdout


def test_pod_and_container_lifecycle(b, image_ref, tmp_path):
    pf, cf = write_configs(tmp_path, image_ref)
    assert "Image is up to date for sha256:" in ctl(b, "pull", image_ref).stdout
    ids = ctl(b, "images", "-q").stdout.split()
    assert ids == [i.id for i in b.image.ListImages(api_pb2.ListImagesRequest()).images]
    table = ctl(b, "images").stdout.splitlines()
    assert table[0].split()[:3] == ["IMAGE", "TAG", "IMAGE"]
    insp = json.loads(ctl(b, "inspecti", image_ref).stdout)
    assert insp["status"]["id"] == ids[0] and "info" in insp

    pod_id = ctl(b, "runp", pf).stdout.strip()
    st = b.runtime.PodSandboxStatus(api_pb2.PodSandboxStatusRequest(pod_sandbox_id=pod_id)).status
    assert st.metadata.name == "web" and st.labels["app"] == "web"
    assert ctl(b, "pods", "-q").stdout.split() == [pod_id]
    assert ctl(b, "pods", "-q", "--name", "^nomatch$").stdout == ""
    assert ctl(b, "pods", "-q", "--label", "app=web", "--state", "ready").stdout.split() == [pod_id]
    pods = json.loads(ctl(b, "pods", "-o", "json").stdout)
    assert pods["items"][0]["id"] == pod_id and pods["items"][0]["state"] == "SANDBOX_READY"
    assert "web" in ctl(b, "pods").stdout.splitlines()[1]
    inspp = json.loads(ctl(b, "inspectp", pod_id[:8]).stdout)
    assert inspp["status"]["id"] == pod_id

    cid = ctl(b, "create", pod_id[:6], cf, pf).stdout.strip()
    assert ctl(b, "ps", "-q").stdout == ""
    assert ctl(b, "ps", "-a", "-q").stdout.split() == [cid]
    assert ctl(b, "start", cid[:10]).stdout.strip() == cid
    assert ctl(b, "ps", "-q", "--pod", pod_id).stdout.split() == [cid]
    ps = json.loads(ctl(b, "ps", "-o", "json").stdout)
    assert ps["containers"][0]["state"] == "CONTAINER_RUNNING"
    assert ps["containers"][0]["labels"] == {"ctr": "c1"}
    r = ctl(b, "exec", "-s", cid, "sh", "-c", "echo out; echo err >&2; exit 3", rc=3)
    assert r.stdout == "out\n" and r.stderr == "err\n"
    wait_for(lambda: "hello" in ctl(b, "logs", cid).stdout, what="log line")
    r = ctl(b, "logs", cid)
    assert r.stdout == "hello\n" and r.stderr == "oops\n"
    assert ctl(b, "logs", "--tail", "1", cid).stderr == "oops\n"
    insp = json.loads(ctl(b, "inspect", cid).stdout)
    got = b.runtime.ContainerStatus(api_pb2.ContainerStatusRequest(container_id=cid)).status
    assert insp["status"]["id"] == cid and insp["status"]["state"] == "CONTAINER_RUNNING"
    assert insp["status"]["createdAt"].startswith(time.strftime("%Y-%m-%dT", time.localtime(got.created_at // 10**9)))
    assert "info" in insp
    stats = json.loads(ctl(b, "stats", "-o", "json").stdout)
    assert stats["stats"][0]["attributes"]["id"] == cid
    assert ctl(b, "stop", "-t", "0", cid).stdout.strip() == cid
    assert ctl(b, "rm", cid).stdout.strip() == cid
    assert ctl(b, "stopp", pod_id).stdout.strip() == f"Stopped sandbox {pod_id}"
    assert ctl(b, "rmp", pod_id).stdout.strip() == f"Removed sandbox {pod_id}"
    assert list(b.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest()).items) == []


@have_crictl
def test_matches_crictl(b, image_ref, tmp_path):
    pf, cf = write_configs(tmp_path, image_ref)
    ctl(b, "pull", image_ref)
    pod_id = ctl(b, "runp", pf).stdout.strip()
    cid = ctl(b, "create", pod_id, cf, pf).stdout.strip()
    ctl(b, "start", cid)
    assert ctl(b, "pods", "-q").stdout == crictl(b, "pods", "-q")
    assert ctl(b, "ps", "-q").stdout == crictl(b, "ps", "-q")
    assert ctl(b, "ps", "-a", "-q").stdout == crictl(b, "ps", "-a", "-q")
    assert ctl(b, "images", "-q").stdout == crictl(b, "images", "-q")
    # crictl v1.26 knows an older runtime.v1: what it prints must be ours
    # exactly; fields added since appear only in ours.
    mine, theirs = json.loads(ctl(b, "inspect", cid).stdout), json.loads(crictl(b, "inspect", cid))
    assert set(mine) == set(theirs)
    contains(mine["status"], theirs["status"])
    mine, theirs = json.loads(ctl(b, "inspectp", pod_id).stdout), json.loads(crictl(b, "inspectp", pod_id))
    assert set(mine) == set(theirs)
    contains(mine["status"], theirs["status"])
    contains(json.loads(ctl(b, "pods", "-o", "json").stdout),
             json.loads(crictl(b, "pods", "-o", "json")))
    contains(json.loads(ctl(b, "ps", "-o", "json").stdout),
             json.loads(crictl(b, "ps", "-o", "json")))
    ctl(b, "rmp", "-f", pod_id)


def test_bench_every_scenario(b, image_ref, tmp_path):
    out = tmp_path / "bench.json"
    conmon = os.path.join(BIN_DIR, "berth-conmon")
    r = ctl(b, "bench", "-n", "2", "--samples", "5", "--clients", "2", "--pull-runs", "1",
            "--image", image_ref, "--json", str(out), "--server-pid", str(b.proc.pid),
            "--helper-exe", conmon, "--helper-match", b.runroot, "--cgroup-parent",
            b.cgroup_parent, "all", timeout=600)
    rep = json.loads(out.read_text())
    assert set(rep) == {"endpoint", "server", "runtime_handler", "results"}
    assert rep["server"]["runtime_name"] == "berth" and rep["runtime_handler"] == ""
    got = {(x["scenario"], x["variant"]) for x in rep["results"]}
    assert got == {("version", "sequential"), ("version", "concurrent-8"),
                   ("pod", "run"), ("pod", "stop"), ("pod", "remove"),
                   ("pod", "run-shared-pid"), ("pod", "stop-shared-pid"),
                   ("pod", "remove-shared-pid"), ("container", "create"), ("container", "start"), ("container", "stop"),
                   ("container", "remove"), ("start-to-running", "sequential"),
                   ("start-to-running", "concurrent-8"), ("churn", "clients-2"),
                   ("density", "list-containers"), ("density", "list-pods"),
                   ("density", "container-status"), ("density", "list-container-stats"),
                   ("density", "list-pod-stats"), ("pull", "cold"), ("pull", "warm"),
                   ("exec", "sync"), ("memory", "idle"), ("memory", "running-2"),
                   ("memory", "after-churn")}
    for x in rep["results"]:
        if x["scenario"] == "memory":
            assert set(x) == MEMORY_KEYS
            assert x["server_rss_kib"] >= x["server_pss_kib"] > 0
        else:
            assert set(x) == LATENCY_KEYS
            want = {"density": 5, "pull": 1}.get(x["scenario"], 2)
            assert x["count"] == want, x
            assert 0 < x["p50_ms"] <= x["p90_ms"] <= x["p99_ms"] <= x["max_ms"]
            assert x["throughput_per_s"] > 0
    mem = {x["variant"]: x for x in rep["results"] if x["scenario"] == "memory"}
    assert mem["running-2"]["helpers"] >= 2 and mem["idle"]["helpers"] == 0
    assert "SCENARIO" in r.stdout and "start-to-running" in r.stdout
    print(r.stdout)
    # Everything cleaned up.
    assert list(b.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest()).items) == []
    assert list(b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers) == []


def test_bench_storm(b, image_ref, tmp_path):
    """storm: n pods started at once by --clients clients, with Version
    probed all the while; the first figure is the one wall time."""
    out = tmp_path / "storm.json"
    ctl(b, "bench", "-n", "4", "--clients", "2", "--image", image_ref, "--json", str(out),
        "--cgroup-parent", b.cgroup_parent, "storm", timeout=300)
    res = {x["variant"]: x for x in json.loads(out.read_text())["results"]}
    assert set(res) == {"all-running-2", "each-pod", "version-during"}
    assert res["all-running-2"]["count"] == 1 and res["each-pod"]["count"] == 4
    assert res["version-during"]["count"] >= 1
    assert res["each-pod"]["max_ms"] <= res["all-running-2"]["p50_ms"]
    assert list(b.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest()).items) == []


def test_bench_usage(b):
    ctl(b, "bench", rc=2)
    ctl(b, "bench", "nosuch", rc=2)
    ctl(b, "bench", "--settle", "soon", "version", rc=2)
    r = ctl(b, "bench", "-n", "5", "version")
    assert "version" in r.stdout and "CPUs" not in r.stderr


def test_bench_settle_waits_before_each_scenario(b):
    # With --settle, each scenario first waits for idle CPUs and says how
    # long that took, or that they stayed busy (a loaded CI machine).
    r = ctl(b, "bench", "-n", "2", "--settle", "2", "version", "version")
    lines = [x for x in r.stderr.splitlines() if x.startswith("bench: version: ")]
    assert len(lines) == 2, r.stderr
    for x in lines:
        assert re.fullmatch(r"bench: version: (CPUs idle after \d+\.\d s|"
                            r"the CPUs are still busy after 2 s; measuring anyway)", x), x
