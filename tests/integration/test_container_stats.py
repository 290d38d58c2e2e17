"""Container stats and resource updates: a running container's cgroup usage
and writable layer, the list filters and the stream, UpdateContainerResources
through the runtime (and ContainerStatus.resources after it), the user a
container runs as, and UpdatePodSandboxResources on the pod cgroup."""
import grpc
import pytest

from conftest import api_pb2, container_cgroup, pod_cgroup, wait_for
from test_container_lifecycle import (  # noqa: F401  (fixtures)
    create, cstatus, ctr_config, image_ref, pod, wait_exited)

ALLOC = ("sh", "-c", "x=$(head -c 20000000 /dev/zero | tr '\\0' a); sleep 1000")


def start(b, cid):
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))


def run(b, pod_id, pcfg, image, name, cmd=("sleep", "1000"), **kw):
    cid = create(b, pod_id, pcfg, ctr_config(image, name=name, cmd=cmd, **kw))
    start(b, cid)
    return cid


def stats(b, cid):
    return b.runtime.ContainerStats(api_pb2.ContainerStatsRequest(container_id=cid)).stats


def test_stats_of_a_running_container(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = run(b, pod_id, pcfg, image_ref, "alloc", cmd=ALLOC, labels={"k": "v"})
    st = wait_for(lambda: (s := stats(b, cid)).memory.working_set_bytes.value > 15_000_000
                  and s, timeout=15, what="memory allocated")
    assert st.attributes.id == cid
    assert st.attributes.metadata.name == "alloc"
    assert dict(st.attributes.labels) == {"k": "v"}
    assert dict(st.attributes.annotations) == {"a": "b"}
    assert st.cpu.timestamp > 0 and st.cpu.usage_core_nano_seconds.value > 0
    assert st.memory.timestamp > 0 and st.memory.usage_bytes.value >= \
        st.memory.working_set_bytes.value
    assert st.memory.rss_bytes.value > 0 and st.memory.page_faults.value > 0
    assert st.writable_layer.timestamp > 0
    assert st.writable_layer.fs_id.mountpoint.endswith(f"/{cid}/upper")
    assert st.writable_layer.inodes_used.value >= 1


def test_writable_layer_grows(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = run(b, pod_id, pcfg, image_ref, "writer")
    before = stats(b, cid).writable_layer
    b.runtime.ExecSync(api_pb2.ExecSyncRequest(
        container_id=cid, cmd=["sh", "-c", "head -c 3000000 /dev/zero > /big; mkdir -p /d/e"],
        timeout=10))
    # The layer is walked at most every 10 s: the figure catches up within
    # that, and stays put in between.
    assert stats(b, cid).writable_layer.used_bytes.value == before.used_bytes.value
    after = wait_for(lambda: (lambda w: w.used_bytes.value >= before.used_bytes.value
                              + 3_000_000 and w)(stats(b, cid).writable_layer),
                     timeout=15, step=0.5, what="writable layer figure")
    assert after.inodes_used.value >= before.inodes_used.value + 3


def test_list_filters_and_stream(pod, image_ref):
    b, pod_id, pcfg = pod
    a = run(b, pod_id, pcfg, image_ref, "one", labels={"app": "x"})
    c = create(b, pod_id, pcfg, ctr_config(image_ref, name="two", labels={"app": "y"}))

    def ids(flt=None):
        r = b.runtime.ListContainerStats(api_pb2.ListContainerStatsRequest(filter=flt))
        return {s.attributes.id for s in r.stats}

    assert ids() == {a, c}  # created containers answer too
    assert ids(api_pb2.ContainerStatsFilter(id=a[:12])) == {a}
    assert ids(api_pb2.ContainerStatsFilter(pod_sandbox_id=pod_id[:8])) == {a, c}
    assert ids(api_pb2.ContainerStatsFilter(pod_sandbox_id="ffff0000")) == set()
    assert ids(api_pb2.ContainerStatsFilter(label_selector={"app": "y"})) == {c}
    pages = list(b.runtime.StreamContainerStats(api_pb2.StreamContainerStatsRequest()))
    got = [s.attributes.id for p in pages for s in p.container_stats]
    assert sorted(got) == sorted([a, c]) and all(p.container_stats for p in pages)
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.ContainerStats(api_pb2.ContainerStatsRequest(container_id="nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_update_container_resources(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = run(b, pod_id, pcfg, image_ref, "upd")
    limit = 64 * 1024 * 1024
    b.runtime.UpdateContainerResources(api_pb2.UpdateContainerResourcesRequest(
        container_id=cid, linux=api_pb2.LinuxContainerResources(
            memory_limit_in_bytes=limit, cpu_shares=512)))
    cg = container_cgroup(b, cid)
    assert cg.memory_limit() == limit
    assert cg.cpu_weight() == cg.cpu_weight_of_shares(512)
    r = cstatus(b, cid).status.resources.linux
    assert r.memory_limit_in_bytes == limit and r.cpu_shares == 512
    for bad in (dict(windows=api_pb2.WindowsContainerResources()), {}):
        with pytest.raises(grpc.RpcError) as e:
            b.runtime.UpdateContainerResources(api_pb2.UpdateContainerResourcesRequest(
                container_id=cid, **bad))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.UpdateContainerResources(api_pb2.UpdateContainerResourcesRequest(
            container_id=cid, linux=api_pb2.LinuxContainerResources(memory_limit_in_bytes=limit)))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    st = stats(b, cid)  # exited: still answers
    assert st.attributes.id == cid and st.writable_layer.timestamp > 0


def test_update_created_container_applies_at_start(pod, image_ref):
    """A created container has met no runtime yet: its new limits go into
    its spec, and the runtime applies them when it starts it."""
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, name="updc", cmd=("sleep", "1000")))
    limit = 48 * 1024 * 1024
    b.runtime.UpdateContainerResources(api_pb2.UpdateContainerResourcesRequest(
        container_id=cid, linux=api_pb2.LinuxContainerResources(
            memory_limit_in_bytes=limit, cpu_shares=256)))
    r = cstatus(b, cid).status.resources.linux
    assert r.memory_limit_in_bytes == limit and r.cpu_shares == 256
    start(b, cid)
    cg = container_cgroup(b, cid)
    assert cg.memory_limit() == limit
    assert cg.cpu_weight() == cg.cpu_weight_of_shares(256)
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))


def test_status_user(pod, image_ref):
    b, pod_id, pcfg = pod
    sc = api_pb2.LinuxContainerSecurityContext(
        run_as_user=api_pb2.Int64Value(value=1000),
        namespace_options=api_pb2.NamespaceOption(pid=api_pb2.CONTAINER))
    cfg = ctr_config(image_ref, name="usr", cmd=("id",))
    cfg.linux.security_context.CopyFrom(sc)
    cid = create(b, pod_id, pcfg, cfg)
    u = cstatus(b, cid).status.user.linux
    assert u.uid == 1000 and u.gid == 1000
    assert set(u.supplemental_groups) == {1000, 2000}
    root = create(b, pod_id, pcfg, ctr_config(image_ref, name="root", cmd=("id",)))
    u = cstatus(b, root).status.user.linux
    assert u.uid == 0 and u.gid == 0


def test_update_pod_sandbox_resources(pod, image_ref):
    b, pod_id, pcfg = pod
    run(b, pod_id, pcfg, image_ref, "inpod")
    limit = 200 * 1024 * 1024
    b.runtime.UpdatePodSandboxResources(api_pb2.UpdatePodSandboxResourcesRequest(
        pod_sandbox_id=pod_id,
        overhead=api_pb2.LinuxContainerResources(memory_limit_in_bytes=1024 * 1024),
        resources=api_pb2.LinuxContainerResources(memory_limit_in_bytes=limit,
                                                  cpu_shares=256)))
    cg = pod_cgroup(b, pod_id)
    assert cg.memory_limit() == limit + 1024 * 1024
    assert cg.cpu_weight() == cg.cpu_weight_of_shares(256)
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.UpdatePodSandboxResources(api_pb2.UpdatePodSandboxResourcesRequest(
            pod_sandbox_id=pod_id))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
