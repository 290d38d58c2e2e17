"""What a kubelet with evented PLEG and the CRI stats provider reads from a
pod in one call: PodSandboxStatus with its timestamp and every container's
status, container events that carry the same, and pod stats that list each
container's stats (PodSandboxStats, ListPodSandboxStats and the stream)."""
import threading
import time

import grpc

from conftest import api_pb2, wait_for
from test_container_lifecycle import (  # noqa: F401  (fixtures)
    create, cstatus, ctr_config, image_ref, pod)


def start(b, cid):
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))


def pod_status(b, pod_id):
    return b.runtime.PodSandboxStatus(
        api_pb2.PodSandboxStatusRequest(pod_sandbox_id=pod_id))


def test_pod_status_lists_its_containers_with_the_timestamp(pod, image_ref):
    b, pod_id, pcfg = pod
    running = create(b, pod_id, pcfg, ctr_config(image_ref, name="runs",
                                                  cmd=("sleep", "1000")))
    start(b, running)
    created = create(b, pod_id, pcfg, ctr_config(image_ref, name="waits"))
    r = pod_status(b, pod_id)
    assert r.timestamp > 0
    got = {s.id: s for s in r.containers_statuses}
    assert set(got) == {running, created}
    for cid in (running, created):
        want = cstatus(b, cid).status
        assert got[cid].state == want.state
        assert got[cid].metadata == want.metadata
        assert got[cid].image_ref == want.image_ref
        assert got[cid].created_at == want.created_at
    assert got[running].state == api_pb2.CONTAINER_RUNNING
    assert got[created].state == api_pb2.CONTAINER_CREATED


def test_pod_status_without_containers_is_complete_too(pod):
    b, pod_id, _ = pod
    r = pod_status(b, pod_id)
    assert r.timestamp > 0
    assert list(r.containers_statuses) == []


def test_container_events_carry_the_pod_and_its_containers(pod, image_ref):
    b, pod_id, pcfg = pod
    first = create(b, pod_id, pcfg, ctr_config(image_ref, name="first"))
    events = []
    stream = b.runtime.GetContainerEvents(api_pb2.GetEventsRequest())

    def reader():
        try:
            for ev in stream:
                events.append(ev)
        except grpc.RpcError:
            pass
    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    second = create(b, pod_id, pcfg, ctr_config(image_ref, name="second"))
    wait_for(lambda: any(e.container_id == second for e in events),
             what="the second container's event")
    stream.cancel()
    t.join(10)
    ev = next(e for e in events if e.container_id == second)
    assert ev.container_event_type == api_pb2.CONTAINER_CREATED_EVENT
    assert ev.pod_sandbox_status.id == pod_id
    assert {s.id for s in ev.containers_statuses} == {first, second}


def test_pod_stats_list_each_container(pod, image_ref):
    b, pod_id, pcfg = pod
    a = create(b, pod_id, pcfg, ctr_config(image_ref, name="a", cmd=("sleep", "1000")))
    start(b, a)
    c = create(b, pod_id, pcfg, ctr_config(image_ref, name="c"))

    def ids(stats):
        return {s.attributes.id for s in stats.linux.containers}

    one = b.runtime.PodSandboxStats(
        api_pb2.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats
    assert ids(one) == {a, c}
    mine = next(s for s in one.linux.containers if s.attributes.id == a)
    assert mine.attributes.metadata.name == "a"
    wait_for(lambda: next(s for s in b.runtime.PodSandboxStats(
        api_pb2.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats.linux.containers
        if s.attributes.id == a).cpu.usage_core_nano_seconds.value > 0,
        timeout=10, what="cpu usage of the running container")
    listed = b.runtime.ListPodSandboxStats(api_pb2.ListPodSandboxStatsRequest())
    assert {s.attributes.id: ids(s) for s in listed.stats}[pod_id] == {a, c}
    streamed = [s for page in b.runtime.StreamPodSandboxStats(
        api_pb2.StreamPodSandboxStatsRequest()) for s in page.pod_sandbox_stats]
    assert {s.attributes.id: ids(s) for s in streamed}[pod_id] == {a, c}
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=c))
    one = b.runtime.PodSandboxStats(
        api_pb2.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats
    assert ids(one) == {a}
