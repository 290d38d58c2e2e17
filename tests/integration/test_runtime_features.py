"""What berth advertises to a Kubernetes 1.36 kubelet, and that each
advertised feature works: Status features (supplemental groups policy),
per-handler recursive read-only mounts as the start-up probe found them,
an rro mount that keeps a sub-mount read-only, Merge/Strict groups, and
the stop signal a container status reports and stop sends."""
import json
import platform
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from conftest import api_pb2, wait_for
from test_container_lifecycle import create, cstatus, ctr_config, log_lines, wait_exited
from test_pod_lifecycle import pod_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import images  # noqa: E402
import registry  # noqa: E402


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    built = images.build_all(tmp_path_factory.mktemp("images"))
    r = registry.Registry()
    r.start()
    try:
        registry.push(built["busybox"].layout, "latest", r, "berth/busybox")
        registry.push(built["app"].layout, "latest", r, "berth/app")
        yield {"busybox": f"{r.host}/berth/busybox:latest",
               "app": f"{r.host}/berth/app:latest"}
    finally:
        r.stop()


@pytest.fixture
def bd(make_berthd, refs):
    b = make_berthd(extra_args=["--insecure-registry", refs["busybox"].split("/")[0]]).start()
    for ref in refs.values():
        b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=ref)))
    return b


def kernel_has_mount_setattr():
    major, minor = (int(x) for x in platform.release().split(".")[:2])
    return (major, minor) >= (5, 12)


def runtime_lists_rro(path):
    """The test's own reading of `<runtime> features`."""
    p = subprocess.run([path, "features"], capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        return False
    return "rro" in json.loads(p.stdout).get("mountOptions", [])


def handlers(b):
    return {h.name: h for h in b.runtime.Status(api_pb2.StatusRequest()).runtime_handlers}


def runtimes_info(b):
    st = b.runtime.Status(api_pb2.StatusRequest(verbose=True))
    return {r["name"]: r for r in json.loads(st.info["runtimes"])}


def test_status_features(bd):
    st = bd.runtime.Status(api_pb2.StatusRequest())
    assert st.features.supplemental_groups_policy
    hs = handlers(bd)
    rts = runtimes_info(bd)
    # "" and exactly the configured handlers that work.
    assert "" in hs
    assert set(hs) - {""} == {n for n, r in rts.items() if r["works"]}
    for name, h in hs.items():
        if name:
            assert h.features.user_namespaces == rts[name]["userNamespaces"]
        if name == "":
            continue
        want = runtime_lists_rro(rts[name]["path"]) and kernel_has_mount_setattr()
        assert h.features.recursive_read_only_mounts == want, name
        assert rts[name]["recursiveReadOnlyMounts"] == want
    # "" has the features of the runtime it stands for: crun when it
    # works here, else runc.
    default = hs["crun" if "crun" in hs else "runc"]
    assert hs[""].features.recursive_read_only_mounts == \
        default.features.recursive_read_only_mounts
    logs = bd.logs()
    assert "mount_setattr" in logs
    assert "recursive read-only mounts" in logs


@pytest.fixture
def submount(tmp_path):
    """A host dir with a tmpfs mounted inside it."""
    top = tmp_path / "top"
    sub = top / "sub"
    sub.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(sub)], check=True)
    yield top
    subprocess.run(["umount", "-l", str(sub)], check=False)


def run_with_mount(b, refs, tmp_path, handler, mount, name):
    pcfg = pod_config(name=f"rro-{name}")
    pcfg.log_directory = str(tmp_path / "logs")
    pod_id = b.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
        config=pcfg, runtime_handler=handler)).pod_sandbox_id
    cfg = ctr_config(refs["busybox"], name=name, mounts=[mount], cmd=(
        "sh", "-c", "touch /data/sub/x && echo sub-writable || echo sub-readonly; "
                    "touch /data/y && echo top-writable || echo top-readonly"))
    cid = create(b, pod_id, pcfg, cfg)
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    st = wait_exited(b, cid)
    return [m for _, _, _, m in log_lines(st.log_path)], cid


@pytest.mark.parametrize("handler", ["crun", "runc"])
def test_rro_mount(bd, refs, tmp_path, submount, handler):
    hs = handlers(bd)
    if handler not in hs:
        pytest.skip(f"{handler} cannot run containers on this host")
    rro = api_pb2.Mount(container_path="/data", host_path=str(submount), readonly=True,
                        recursive_read_only=True, propagation=api_pb2.PROPAGATION_PRIVATE)
    if not hs[handler].features.recursive_read_only_mounts:
        # Not advertised: refused with a reason, never a plain "ro".
        pcfg = pod_config(name="rro-refused")
        pod_id = bd.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
            config=pcfg, runtime_handler=handler)).pod_sandbox_id
        with pytest.raises(grpc.RpcError) as e:
            create(bd, pod_id, pcfg, ctr_config(refs["busybox"], name="r", mounts=[rro]))
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "recursive read-only is not supported by runtime handler " + handler \
            in e.value.details()
        return
    lines, cid = run_with_mount(bd, refs, tmp_path, handler, rro, "rro")
    assert b"sub-readonly" in lines and b"top-readonly" in lines, lines
    assert cstatus(bd, cid).status.mounts[0].recursive_read_only
    # The contrast: a plain read-only bind leaves the sub-mount writable.
    ro = api_pb2.Mount(container_path="/data", host_path=str(submount), readonly=True)
    lines, _ = run_with_mount(bd, refs, tmp_path, handler, ro, "ro")
    assert b"sub-writable" in lines and b"top-readonly" in lines, lines


def test_rro_needs_readonly(bd, refs):
    pcfg = pod_config(name="rro-bad")
    pod_id = bd.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg)).pod_sandbox_id
    m = api_pb2.Mount(container_path="/data", host_path="/tmp", readonly=False,
                      recursive_read_only=True)
    with pytest.raises(grpc.RpcError) as e:
        create(bd, pod_id, pcfg, ctr_config(refs["busybox"], name="r", mounts=[m]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "recursive read-only needs readonly" in e.value.details()


@pytest.mark.parametrize("policy,has_extra", [(api_pb2.Merge, True), (api_pb2.Strict, False)])
def test_supplemental_groups_policy(bd, refs, tmp_path, policy, has_extra):
    """The app image's /etc/group puts user app (1000) in group extra
    (2000): Merge adds it, Strict leaves only what the request names."""
    pcfg = pod_config(name=f"groups-{policy}")
    pcfg.log_directory = str(tmp_path / "logs")
    pod_id = bd.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg)).pod_sandbox_id
    cfg = ctr_config(refs["app"], name="g", cmd=("sh", "-c", "id -G"))
    sc = cfg.linux.security_context
    sc.run_as_user.value = 1000
    sc.supplemental_groups.extend([3000])
    sc.supplemental_groups_policy = policy
    cid = create(bd, pod_id, pcfg, cfg)
    bd.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    st = wait_exited(bd, cid)
    assert st.exit_code == 0
    gids = {int(g) for g in b" ".join(m for _, _, _, m in log_lines(st.log_path)).split()}
    assert 3000 in gids and 1000 in gids
    assert (2000 in gids) == has_extra, gids
    user = cstatus(bd, cid).status.user.linux
    assert user.uid == 1000
    assert (2000 in user.supplemental_groups) == has_extra


# --- stop signals (KEP-4960) ---------------------------------------------------

def test_stop_signal_reported_and_used(bd, refs, tmp_path):
    """ContainerStatus.stop_signal is the signal in effect: the config's,
    else the image's STOPSIGNAL (app: SIGINT), else SIGTERM; and stop
    sends that signal."""
    pcfg = pod_config(name="stopsig")
    pcfg.log_directory = str(tmp_path / "logs")
    pod_id = bd.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg)).pod_sandbox_id
    trap = ("sh", "-c", "trap 'exit 42' USR1; trap 'exit 43' INT; trap 'exit 44' TERM; "
                        "echo ready; while :; do sleep 0.1; done")
    cases = [
        ("cfg", refs["busybox"], api_pb2.SIGUSR1, api_pb2.SIGUSR1, 42),
        ("img", refs["app"], api_pb2.RUNTIME_DEFAULT, api_pb2.SIGINT, 43),
        ("none", refs["busybox"], api_pb2.RUNTIME_DEFAULT, api_pb2.SIGTERM, 44),
        ("rt", refs["busybox"], api_pb2.SIGRTMINPLUS1, api_pb2.SIGRTMINPLUS1, None),
    ]
    for name, ref, asked, want, code in cases:
        cfg = ctr_config(ref, name=name, cmd=trap, stop_signal=asked)
        cid = create(bd, pod_id, pcfg, cfg)
        assert cstatus(bd, cid).status.stop_signal == want, name
        if code is None:
            continue
        bd.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
        log = Path(cstatus(bd, cid).status.log_path)
        wait_for(lambda: log.exists() and b"ready" in log.read_bytes(), what="ready")
        bd.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=20))
        st = cstatus(bd, cid).status
        assert st.exit_code == code, (name, st.exit_code)
        assert st.stop_signal == want
