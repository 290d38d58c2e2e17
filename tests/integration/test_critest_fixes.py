"""Regression tests for what critest v1.26.1 found in berth (see
tests/critest/README.md). Each test names the critest spec it stands for."""
import socket

import grpc
import pytest

from conftest import api_pb2
from test_container_lifecycle import create, ctr_config, image_ref  # noqa: F401
from test_pod_lifecycle import in_netns, pod_config, run_pod, status


@pytest.fixture(params=["runc", "crun"])
def pod(request, make_berthd, image_ref, tmp_path):  # noqa: F811
    """A pod on a berthd whose default runtime is runc, then crun, with
    the fixture busybox image pulled."""
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0],
                                "--default-runtime", request.param]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    cfg = pod_config(name="fixpod")
    cfg.log_directory = str(tmp_path / "logs")
    return b, run_pod(b, cfg), cfg


def image_ref_of(b):
    """The image the `pod` fixture pulled."""
    return b.image.ListImages(api_pb2.ListImagesRequest()).images[0].repo_tags[0]


def test_pod_without_hostname_gets_the_node_hostname(berthd):
    """critest's pods have no hostname and names longer than 64 characters
    (every spec's RunPodSandbox failed): the pod gets the node's hostname,
    as in CRI-O and containerd, not its name."""
    name = "create-PodSandbox-for-container-" + "0123456789abcdef" * 3
    cfg = pod_config(name=name, hostname="")
    pod_id = run_pod(berthd, cfg)
    st = status(berthd, pod_id, verbose=True)
    assert in_netns(st, "hostname").stdout.strip() == socket.gethostname()


def test_exec_sync_timeout_kills_the_process(pod):
    """critest "runtime should support execSync with timeout": after a
    timed-out ExecSync, the command must be gone from the container."""
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref_of(b), cmd=("top",)))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["sleep", "4321"],
                                                   timeout=1))
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(
        container_id=cid, cmd=["sh", "-c", "pidof sleep || true"], timeout=10))
    assert r.stdout == b"" and r.exit_code == 0


def test_create_container_with_untagged_image_name(pod):
    """critest "runtime should add SupplementalGroups to them" creates its
    container with "gcr.io/.../test-image-predefined-group" (no tag) after
    pulling ":latest": CreateContainer must find the image as ImageStatus
    does, and echo the name as given."""
    b, pod_id, pcfg = pod
    tagged = image_ref_of(b)
    assert tagged.endswith(":latest")
    untagged = tagged[:-len(":latest")]
    cid = create(b, pod_id, pcfg, ctr_config(untagged, cmd=("true",)))
    st = b.runtime.ContainerStatus(api_pb2.ContainerStatusRequest(container_id=cid)).status
    assert st.image.image == untagged
    img = b.image.ImageStatus(api_pb2.ImageStatusRequest(
        image=api_pb2.ImageSpec(image=tagged))).image
    assert st.image_ref == img.id


def test_masked_path_hides_a_file(pod):
    """What critest "runtime should support MaskedPaths" checks, without
    its `sh -c ls` (busybox-static's sh runs applets in-process, so a
    masked /bin/ls is never executed): a masked file reads as /dev/null."""
    b, pod_id, pcfg = pod
    cfg = ctr_config(image_ref_of(b), cmd=("top",))
    cfg.linux.security_context.masked_paths.append("/etc/group")
    cid = create(b, pod_id, pcfg, cfg)
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(
        container_id=cid, cmd=["stat", "-c", "%t,%T", "/etc/group"], timeout=10))
    assert r.exit_code == 0 and r.stdout == b"1,3\n"  # the char device 1:3


def test_exec_sync_runs_as_the_container_user(pod):
    """critest RunAsUser, RunAsUserName and SupplementalGroups with crun:
    `crun exec` without a process file ran the command as 0:0; the exec
    must get the container's user and supplementary groups."""
    b, pod_id, pcfg = pod
    cfg = ctr_config(image_ref_of(b), cmd=("top",))
    sc = cfg.linux.security_context
    sc.run_as_user.value = 1001
    sc.supplemental_groups.extend([1234, 5678])
    cid = create(b, pod_id, pcfg, cfg)
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["id", "-u"], timeout=10))
    assert r.stdout == b"1001\n"
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["id", "-G"], timeout=10))
    assert {"1234", "5678"} <= set(r.stdout.decode().split())
