"""Version, Status, RuntimeConfig, UpdateRuntimeConfig and ImageFsInfo
against a real berthd."""
import json
import os
import shutil
import stat

import grpc
import pytest

from conftest import REPO, api_pb2, wait_for


def version_file():
    with open(os.path.join(REPO, "VERSION")) as f:
        return f.read().strip()


def conditions(resp):
    return {c.type: c for c in resp.status.conditions}


def test_version(berthd):
    v = berthd.runtime.Version(api_pb2.VersionRequest(version="v1"))
    assert v.runtime_name == "berth"
    assert v.runtime_api_version == "v1"
    assert v.runtime_version == version_file()
    assert v.version == "0.1.0"


def test_status_ready(berthd):
    st = berthd.runtime.Status(api_pb2.StatusRequest())
    c = conditions(st)
    assert c["RuntimeReady"].status, c["RuntimeReady"].message
    assert c["NetworkReady"].status, c["NetworkReady"].message
    assert len(st.info) == 0
    names = [h.name for h in st.runtime_handlers]
    assert "" in names
    assert "runc" in names  # runc works on every test host


def test_status_verbose_has_effective_config(berthd):
    st = berthd.runtime.Status(api_pb2.StatusRequest(verbose=True))
    cfg = json.loads(st.info["config"])
    assert cfg["berth"]["root"] == berthd.root
    assert cfg["berth"]["listen"] == berthd.sock
    assert cfg["berth.network"]["cni_conf_dir"] == berthd.cni_dir
    rts = {r["name"]: r for r in json.loads(st.info["runtimes"])}
    assert rts["runc"]["works"] is True
    # A runtime that does not work says why.
    for r in rts.values():
        assert r["works"] or r["problem"]


def test_network_not_ready_then_ready_without_restart(make_berthd):
    b = make_berthd(cni_conf=False).start()
    c = conditions(b.runtime.Status(api_pb2.StatusRequest()))
    assert not c["NetworkReady"].status
    assert c["NetworkReady"].reason == "NetworkPluginNotReady"
    assert b.cni_dir in c["NetworkReady"].message
    assert c["RuntimeReady"].status
    b.install_cni_conf()
    wait_for(lambda: conditions(b.runtime.Status(api_pb2.StatusRequest()))["NetworkReady"].status,
             timeout=10, what="NetworkReady after adding a CNI config")
    for f in os.listdir(b.cni_dir):
        os.unlink(os.path.join(b.cni_dir, f))
    wait_for(lambda: not conditions(b.runtime.Status(api_pb2.StatusRequest()))["NetworkReady"].status,
             timeout=10, what="NetworkReady false after removing it")


def test_runtime_not_ready_names_the_problem(make_berthd):
    b = make_berthd(conf_text='[berth.runtime]\ndefault_runtime = "broken"\n'
                    '[berth.runtime.runtimes.broken]\nruntime_path = "/nonexistent/runtime"\n').start()
    c = conditions(b.runtime.Status(api_pb2.StatusRequest()))
    assert not c["RuntimeReady"].status
    assert c["RuntimeReady"].reason == "RuntimeNotReady"
    assert "/nonexistent/runtime" in c["RuntimeReady"].message


def test_runtime_config_cgroup_driver(make_berthd):
    b = make_berthd().start()
    r = b.runtime.RuntimeConfig(api_pb2.RuntimeConfigRequest())
    assert r.linux.cgroup_driver == api_pb2.CGROUPFS
    # The suite's per-berthd parent is a path: systemd wants a slice.
    b2 = make_berthd("b2", extra_args=["--cgroup-manager", "systemd",
                                       "--default-cgroup-parent", "berth-it.slice"]).start()
    r = b2.runtime.RuntimeConfig(api_pb2.RuntimeConfigRequest())
    assert r.linux.cgroup_driver == api_pb2.SYSTEMD
    # Where systemd is not PID 1 (these hosts) a pod cannot be made on it:
    # refused, and nothing is left.
    if not os.path.isdir("/run/systemd/system"):
        cfg = api_pb2.PodSandboxConfig(metadata=api_pb2.PodSandboxMetadata(
            name="sd", uid="sd-uid", namespace="default"))
        with pytest.raises(grpc.RpcError) as e:
            b2.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=cfg))
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "systemd is not running on this host" in e.value.details()
        assert list(b2.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest()).items) == []


def test_update_runtime_config_keeps_pod_cidr(berthd):
    req = api_pb2.UpdateRuntimeConfigRequest(runtime_config=api_pb2.RuntimeConfig(
        network_config=api_pb2.NetworkConfig(pod_cidr="10.244.3.0/24,fd00:10:244:3::/64")))
    berthd.runtime.UpdateRuntimeConfig(req)
    st = berthd.runtime.Status(api_pb2.StatusRequest(verbose=True))
    assert json.loads(st.info["network"])["podCIDR"] == "10.244.3.0/24,fd00:10:244:3::/64"
    # An empty config changes nothing.
    berthd.runtime.UpdateRuntimeConfig(api_pb2.UpdateRuntimeConfigRequest())
    st = berthd.runtime.Status(api_pb2.StatusRequest(verbose=True))
    assert json.loads(st.info["network"])["podCIDR"] == "10.244.3.0/24,fd00:10:244:3::/64"


@pytest.mark.parametrize("cidr", ["10.244.0.0", "10.244.0.0/33", "nonsense/8", "fd00::/129"])
def test_update_runtime_config_rejects_bad_cidr(berthd, cidr):
    req = api_pb2.UpdateRuntimeConfigRequest(runtime_config=api_pb2.RuntimeConfig(
        network_config=api_pb2.NetworkConfig(pod_cidr=cidr)))
    with pytest.raises(grpc.RpcError) as e:
        berthd.runtime.UpdateRuntimeConfig(req)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "pod_cidr" in e.value.details()


def test_image_fs_info_measures_the_store(make_berthd):
    b = make_berthd()
    storage = os.path.join(b.root, "storage")
    os.makedirs(os.path.join(storage, "sub"))
    with open(os.path.join(storage, "sub", "blob"), "wb") as f:
        f.write(os.urandom(1 << 20))
    os.link(os.path.join(storage, "sub", "blob"), os.path.join(storage, "hardlink"))
    b.start()
    r = b.image.ImageFsInfo(api_pb2.ImageFsInfoRequest())
    assert len(r.image_filesystems) == 1
    fs = r.image_filesystems[0]
    assert fs.fs_id.mountpoint == storage
    assert fs.timestamp > 0
    # The 1 MiB blob counted once despite the hardlink, plus the empty
    # image store berthd made beside it.
    assert (1 << 20) <= fs.used_bytes.value < (2 << 20)
    assert (fs.used_bytes.value, fs.inodes_used.value) == du(storage)


def du(top):
    """Bytes (allocated blocks) and inodes under top, each inode once."""
    seen, used, inodes = set(), 0, 0
    for d, dirs, files in os.walk(top):
        links = [n for n in dirs if os.path.islink(os.path.join(d, n))]
        for p in [d] + [os.path.join(d, n) for n in files + links]:
            st = os.lstat(p)
            if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            used += st.st_blocks * 512
            inodes += 1
    return used, inodes
