"""Image volumes (KEP-4639): a CRI mount that names an image mounts that
image's root filesystem, or a sub path of it, read-only in the container.
The image stays in use (RemoveImage refuses) while a container mounts it,
the mount survives kill -9 of berthd, and removal leaves no mount behind."""
import os
import signal
import sys
from pathlib import Path

import grpc
import pytest

from conftest import api_pb2
from test_container_lifecycle import create, cstatus, ctr_config
from test_pod_lifecycle import pod_config, run_pod

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import images  # noqa: E402
import registry  # noqa: E402


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    """busybox to run, "layers" (data/ with files and symlinks) to mount."""
    built = images.build_all(tmp_path_factory.mktemp("images"))
    r = registry.Registry()
    r.start()
    try:
        registry.push(built["busybox"].layout, "latest", r, "berth/busybox")
        registry.push(built["layers"].layout, "latest", r, "berth/layers")
        yield f"{r.host}/berth/busybox:latest", f"{r.host}/berth/layers:latest"
    finally:
        r.stop()


@pytest.fixture
def pod(make_berthd, refs, tmp_path):
    run, vol = refs
    b = make_berthd(extra_args=["--insecure-registry", run.split("/")[0]]).start()
    for ref in refs:
        b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=ref)))
    cfg = pod_config(name="volpod")
    cfg.log_directory = str(tmp_path / "logs")
    return b, run_pod(b, cfg), cfg


def image_mount(path, image, sub_path="", readonly=False):
    return api_pb2.Mount(container_path=path, image=api_pb2.ImageSpec(image=image),
                         image_sub_path=sub_path, readonly=readonly)


def run_with(b, pod_id, pcfg, run, mounts, name="c"):
    cid = create(b, pod_id, pcfg, ctr_config(run, name=name, cmd=("sleep", "1000"),
                                             mounts=mounts))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    return cid


def sh(b, cid, script):
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["sh", "-c", script],
                                                   timeout=10))
    return r.exit_code, r.stdout.decode(), r.stderr.decode()


def create_error(b, pod_id, pcfg, run, mounts):
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, ctr_config(run, cmd=("true",), mounts=mounts))
    return e.value


def volume_mounts(b):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if "/image-volumes/" in line and b.root in line]


def image_id(b, ref):
    return b.image.ImageStatus(api_pb2.ImageStatusRequest(
        image=api_pb2.ImageSpec(image=ref))).image.id


def remove_image(b, ref):
    b.image.RemoveImage(api_pb2.RemoveImageRequest(image=api_pb2.ImageSpec(image=ref)))


def test_whole_image_is_read_only(pod, refs):
    b, pod_id, pcfg = pod
    run, vol = refs
    cid = run_with(b, pod_id, pcfg, run, [image_mount("/vol", vol, readonly=False)])
    code, out, _ = sh(b, cid, "cat /vol/data/keep.txt /vol/data/opaque/upper.txt")
    assert code == 0 and out == "keep\nupper\n"
    code, _, err = sh(b, cid, "echo x > /vol/data/keep.txt")
    assert code != 0 and "Read-only" in err
    code, _, err = sh(b, cid, "touch /vol/new")
    assert code != 0 and "Read-only" in err
    assert sh(b, cid, "cat /vol/data/keep.txt")[1] == "keep\n"
    m = [m for m in cstatus(b, cid).status.mounts if m.container_path == "/vol"]
    assert len(m) == 1 and m[0].image.image == vol and m[0].image_sub_path == ""
    assert len(volume_mounts(b)) == 1


def test_sub_paths_and_symlinks_stay_inside(pod, refs):
    b, pod_id, pcfg = pod
    run, vol = refs
    by_id = image_id(b, vol)
    cid = run_with(b, pod_id, pcfg, run, [
        image_mount("/sub", vol, "data/opaque"),
        # An absolute symlink resolves inside the image, not on the host.
        image_mount("/passwd", by_id, "data/abs-symlink", readonly=True),
    ])
    code, out, _ = sh(b, cid, "ls /sub; cat /passwd")
    assert code == 0
    # data/opaque as the image has it: an opaque whiteout hid the rest.
    assert out.split("\n")[0] == "upper.txt"
    assert out.split("\n")[1] == "root:x:0:0:root:/root:/bin/sh"
    assert "app:x:1000" in out
    st = cstatus(b, cid).status
    subs = {m.container_path: (m.image.image, m.image_sub_path) for m in st.mounts}
    assert subs["/sub"] == (vol, "data/opaque")
    assert subs["/passwd"] == (by_id, "data/abs-symlink")


@pytest.mark.parametrize("sub_path,code,words", [
    ("../x", grpc.StatusCode.INVALID_ARGUMENT, ['"../x"', '".."']),
    ("data/../../etc", grpc.StatusCode.INVALID_ARGUMENT, ['".."']),
    ("/data", grpc.StatusCode.INVALID_ARGUMENT, ["relative"]),
    ("data/missing", grpc.StatusCode.NOT_FOUND, ['"data/missing"', "does not exist"]),
])
def test_bad_sub_path(pod, refs, sub_path, code, words):
    b, pod_id, pcfg = pod
    run, vol = refs
    e = create_error(b, pod_id, pcfg, run, [image_mount("/vol", vol, sub_path)])
    assert e.code() == code, e.details()
    for w in words:
        assert w in e.details()
    assert "/vol" in e.details()
    # Undone: nothing mounted, the image free to go.
    assert volume_mounts(b) == []
    assert not b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers


def test_later_step_failing_undoes_the_volume(pod, refs):
    """The volume is mounted, then the OCI spec step fails (a host path
    that does not exist): the undo unmounts it and frees the image."""
    b, pod_id, pcfg = pod
    run, vol = refs
    e = create_error(b, pod_id, pcfg, run, [
        image_mount("/vol", vol, "data"),
        api_pb2.Mount(container_path="/host", host_path="/nonexistent/berth-imgvol")])
    assert e.code() == grpc.StatusCode.NOT_FOUND and "/nonexistent/berth-imgvol" in e.details()
    assert volume_mounts(b) == []
    remove_image(b, vol)


def test_image_not_present(pod, refs):
    b, pod_id, pcfg = pod
    run, vol = refs
    e = create_error(b, pod_id, pcfg, run, [image_mount("/vol", vol + "-nope")])
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert vol + "-nope" in e.details()


def test_mounted_image_cannot_be_removed(pod, refs):
    b, pod_id, pcfg = pod
    run, vol = refs
    cid = run_with(b, pod_id, pcfg, run, [image_mount("/vol", vol)])
    with pytest.raises(grpc.RpcError) as e:
        remove_image(b, vol)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert volume_mounts(b) == []
    remove_image(b, vol)
    st = b.image.ImageStatus(api_pb2.ImageStatusRequest(image=api_pb2.ImageSpec(image=vol)))
    assert not st.HasField("image")


def test_kill9_keeps_the_mount(pod, refs):
    b, pod_id, pcfg = pod
    run, vol = refs
    cid = run_with(b, pod_id, pcfg, run, [image_mount("/vol", vol, "data")])
    assert len(volume_mounts(b)) == 1
    checkout = os.path.join(b.root, "storage", "checkouts", image_id(b, vol).split(":")[1])
    assert os.path.isdir(checkout)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    b.start()
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_RUNNING
    assert sh(b, cid, "cat /vol/keep.txt")[1] == "keep\n"
    assert len(volume_mounts(b)) == 1
    # Still counted as in use after the restart.
    with pytest.raises(grpc.RpcError) as e:
        remove_image(b, vol)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert volume_mounts(b) == []
    remove_image(b, vol)
    with open("/proc/self/mountinfo") as f:
        assert cid not in f.read()
    # The volume was counted again after the restart and released once.
    assert not os.path.exists(checkout)
    assert "released more often than taken" not in open(b.log_path).read()
