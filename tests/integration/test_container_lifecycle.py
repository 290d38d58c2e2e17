"""Containers under berth-conmon with a real OCI runtime and an image pulled
from the fixture registry: create, start, logs in the CRI format, exit
codes, stop with a process that ignores SIGTERM, exec, status, list and
filters, events, removal with the pod, and recovery after kill -9."""
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from conftest import api_pb2, wait_for
from test_pod_lifecycle import pod_config, run_pod

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import images  # noqa: E402
import registry  # noqa: E402

LOG_LINE = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (stdout|stderr) ([FP]) (.*)$")


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
def pod(make_berthd, image_ref, tmp_path):
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    cfg = pod_config(name="ctrpod")
    cfg.log_directory = str(tmp_path / "logs")
    return b, run_pod(b, cfg), cfg


def ctr_config(image_ref, name="c", cmd=("sh", "-c", "echo hello"), pid=api_pb2.CONTAINER,
               **kw):
    """kubelet sends the pod's PID mode; the test pods do not share one."""
    linux = api_pb2.LinuxContainerConfig(security_context=api_pb2.LinuxContainerSecurityContext(
        namespace_options=api_pb2.NamespaceOption(pid=pid)))
    return api_pb2.ContainerConfig(
        metadata=api_pb2.ContainerMetadata(name=name), linux=linux,
        image=api_pb2.ImageSpec(image=image_ref),
        command=list(cmd), log_path=f"{name}.log",
        labels=kw.pop("labels", {"ctr": name}),
        annotations=kw.pop("annotations", {"a": "b"}), **kw)


def create(b, pod_id, sandbox_cfg, cfg):
    return b.runtime.CreateContainer(api_pb2.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=cfg, sandbox_config=sandbox_cfg)).container_id


def cstatus(b, cid, verbose=False):
    return b.runtime.ContainerStatus(api_pb2.ContainerStatusRequest(
        container_id=cid, verbose=verbose))


def wait_exited(b, cid, timeout=20):
    return wait_for(lambda: cstatus(b, cid).status.state == api_pb2.CONTAINER_EXITED and
                    cstatus(b, cid).status, timeout=timeout, what="container exit")


def log_lines(path):
    with open(path, "rb") as f:
        return [LOG_LINE.match(line).groups() for line in f.read().split(b"\n") if line]


def test_run_to_completion_with_cri_log(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(
        image_ref, cmd=("sh", "-c", "echo out1; echo err1 >&2; printf partial; exit 3")))
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_CREATED
    assert st.created_at > 0 and st.started_at == 0
    assert st.image.image == image_ref
    assert st.image_ref.startswith("sha256:") and st.image_id == st.image_ref
    assert dict(st.labels) == {"ctr": "c"} and dict(st.annotations) == {"a": "b"}
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    st = wait_exited(b, cid)
    assert st.exit_code == 3
    assert st.reason == "Error"
    assert st.finished_at >= st.started_at > st.created_at
    lines = log_lines(st.log_path)
    got = {(s, t, m) for _, s, t, m in lines}
    assert (b"stdout", b"F", b"out1") in got
    assert (b"stderr", b"F", b"err1") in got
    assert (b"stdout", b"P", b"partial") in got


def nice_of(pid, tid=None):
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    with open(path) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def test_only_the_poller_is_reniced(pod, image_ref):
    """The gRPC poller thread, which answers the cheap RPCs, runs 5 nice
    levels ahead of berthd; every other thread, the monitor and the
    container keep berthd's own."""
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "600")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    base = nice_of(b.proc.pid)
    threads = {}
    for tid in os.listdir(f"/proc/{b.proc.pid}/task"):
        with open(f"/proc/{b.proc.pid}/task/{tid}/comm") as f:
            threads.setdefault(f.read().strip(), set()).add(nice_of(b.proc.pid, tid))
    assert threads.pop("cri-poller") == {max(base - 5, -20)}
    assert all(n == {base} for n in threads.values()), threads
    info = json.loads(cstatus(b, cid, verbose=True).info["info"])
    assert nice_of(info["pid"]) == base
    with open(os.path.join(b.runroot, "containers", cid, "conmon.pid")) as f:
        assert nice_of(int(f.read())) == base


def test_exit_zero_is_completed(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("true",)))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    st = wait_exited(b, cid)
    assert st.exit_code == 0 and st.reason == "Completed"


def test_stop_escalates_to_sigkill(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(
        image_ref, cmd=("sh", "-c", "trap '' TERM; while true; do sleep 1; done")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_RUNNING
    t0 = time.monotonic()
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=2))
    took = time.monotonic() - t0
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_EXITED
    assert st.exit_code == 137
    assert 1.5 < took < 15
    # Idempotent.
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=2))


def test_stop_timeout_zero_kills_at_once(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "1000")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    t0 = time.monotonic()
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    assert time.monotonic() - t0 < 5
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_EXITED


def test_exec_sync(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "1000")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(
        container_id=cid, cmd=["sh", "-c", "echo hi; echo oops >&2; exit 7"], timeout=10))
    assert r.stdout == b"hi\n" and r.stderr == b"oops\n" and r.exit_code == 7
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["hostname"]))
    assert r.stdout.strip() == b"ctrpod"
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["sleep", "100"],
                                                   timeout=1))
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - t0 < 10
    # The timed-out process was killed (at most a zombie: PID 1 here is
    # sleep, which reaps nothing).
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=["ps", "-o", "args"]))
    assert b"sleep 100\n" not in r.stdout.replace(b"sleep 1000\n", b"")
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=[]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_filters_and_remove(pod, image_ref):
    b, pod_id, pcfg = pod
    a = create(b, pod_id, pcfg, ctr_config(image_ref, name="a", cmd=("sleep", "1000"),
                                           labels={"tier": "x"}))
    c = create(b, pod_id, pcfg, ctr_config(image_ref, name="b", cmd=("true",),
                                           labels={"tier": "y"}))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=a))

    def ids(**kw):
        f = api_pb2.ContainerFilter(**kw) if kw else None
        return {x.id for x in b.runtime.ListContainers(
            api_pb2.ListContainersRequest(filter=f)).containers}
    assert ids() == {a, c}
    assert ids(id=a[:10]) == {a}
    assert ids(pod_sandbox_id=pod_id) == {a, c}
    assert ids(pod_sandbox_id="0" * 64) == set()
    assert ids(state=api_pb2.ContainerStateValue(state=api_pb2.CONTAINER_RUNNING)) == {a}
    assert ids(state=api_pb2.ContainerStateValue(state=api_pb2.CONTAINER_CREATED)) == {c}
    assert ids(label_selector={"tier": "y"}) == {c}
    got = [x.id for m in b.runtime.StreamContainers(api_pb2.StreamContainersRequest())
           for x in m.containers]
    assert sorted(got) == sorted([a, c])
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, ctr_config(image_ref, name="a"))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=a))
    assert ids() == {c}
    with pytest.raises(grpc.RpcError) as e:
        cstatus(b, a)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=a))
    # Removing the pod removes its containers.
    b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    b.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    assert ids() == set()


def test_create_errors(pod, image_ref):
    b, pod_id, pcfg = pod
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, ctr_config("127.0.0.1:1/none/such:tag"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        create(b, "f" * 64, pcfg, ctr_config(image_ref))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, ctr_config(image_ref, name="bad/name"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad_mount = ctr_config(image_ref, name="m")
    bad_mount.mounts.add(container_path="relative", host_path="/tmp")
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, bad_mount)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    group_only = ctr_config(image_ref, name="g")
    group_only.linux.security_context.run_as_group.value = 1000
    with pytest.raises(grpc.RpcError) as e:
        create(b, pod_id, pcfg, group_only)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "run_as_group is set without run_as_user or run_as_username" in e.value.details()
    assert {x.id for x in b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers} == set()
    # With a user, the group is fine (by uid or by name).
    for name, user in (("u", {"run_as_user": 1000}), ("n", {"run_as_username": "root"})):
        ok = ctr_config(image_ref, name=name)
        sc = ok.linux.security_context
        sc.run_as_group.value = 1000
        if "run_as_user" in user:
            sc.run_as_user.value = user["run_as_user"]
        else:
            sc.run_as_username = user["run_as_username"]
        b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(
            container_id=create(b, pod_id, pcfg, ok)))


def test_stop_and_remove_unknown_are_ok_status_is_not_found(pod):
    b, _, _ = pod
    # kubelet's cleanup stops containers that may be gone (critest >= 1.29).
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id="f" * 64, timeout=0))
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id="f" * 64))
    with pytest.raises(grpc.RpcError) as e:
        cstatus(b, "f" * 64)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=""))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_entry_follows_state(pod, image_ref):
    """ListContainers packs each entry once per state: every list after a
    change shows the new state, and an entry agrees with ContainerStatus."""
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, name="s", cmd=("sleep", "1000"),
                                             labels={"k": "v", "n": "2"},
                                             annotations={"x": "y" * 300}))

    def entry():
        got = [x for x in b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers
               if x.id == cid]
        assert len(got) == 1
        return got[0]

    for want in (api_pb2.CONTAINER_CREATED, api_pb2.CONTAINER_RUNNING,
                 api_pb2.CONTAINER_EXITED):
        if want == api_pb2.CONTAINER_RUNNING:
            b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
        elif want == api_pb2.CONTAINER_EXITED:
            b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
        for _ in range(2):  # the second list is served from the packed entry
            e = entry()
            st = cstatus(b, cid).status
            assert e.state == want == st.state
            assert (e.pod_sandbox_id, e.metadata, e.image, e.image_ref, e.created_at) == (
                pod_id, st.metadata, st.image, st.image_ref, st.created_at)
            assert dict(e.labels) == {"k": "v", "n": "2"} == dict(st.labels)
            assert dict(e.annotations) == {"x": "y" * 300} == dict(st.annotations)
        state = api_pb2.ContainerStateValue(state=want)
        assert [x.id for x in b.runtime.ListContainers(api_pb2.ListContainersRequest(
            filter=api_pb2.ContainerFilter(state=state))).containers] == [cid]
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert len(b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers) == 0


def test_events_in_order(pod, image_ref):
    b, pod_id, pcfg = pod
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
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("true",)))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    wait_exited(b, cid)
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    wait_for(lambda: len([e for e in events if e.container_id == cid]) >= 4, what="4 events")
    stream.cancel()
    t.join(10)
    mine = [e for e in events if e.container_id == cid]
    assert [e.container_event_type for e in mine] == [
        api_pb2.CONTAINER_CREATED_EVENT, api_pb2.CONTAINER_STARTED_EVENT,
        api_pb2.CONTAINER_STOPPED_EVENT, api_pb2.CONTAINER_DELETED_EVENT]
    assert mine[0].pod_sandbox_status.id == pod_id
    assert all(e.created_at > 0 for e in mine)


def test_kill9_keeps_containers_running(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(
        image_ref, cmd=("sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    short = create(b, pod_id, pcfg, ctr_config(image_ref, name="short", cmd=("sleep", "2")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=short))
    pid = json.loads(cstatus(b, cid, verbose=True).info["info"])["pid"]
    log = cstatus(b, cid).status.log_path
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    time.sleep(3)  # "short" exits while berthd is down
    n_before = len(log_lines(log))
    b.start()
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_RUNNING
    assert os.path.exists(f"/proc/{pid}")
    wait_for(lambda: len(log_lines(log)) > n_before, what="logs keep flowing")
    st = cstatus(b, short).status
    assert st.state == api_pb2.CONTAINER_EXITED and st.exit_code == 0
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_EXITED


def test_remove_image_in_use_refused(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("true",)))
    with pytest.raises(grpc.RpcError) as e:
        b.image.RemoveImage(api_pb2.RemoveImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    b.image.RemoveImage(api_pb2.RemoveImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    st = b.image.ImageStatus(api_pb2.ImageStatusRequest(image=api_pb2.ImageSpec(image=image_ref)))
    assert not st.HasField("image")


def test_monitor_killed_reports_exit_with_reason(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "1000")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    pid = json.loads(cstatus(b, cid, verbose=True).info["info"])["pid"]
    with open(os.path.join(b.runroot, "containers", cid, "conmon.pid")) as f:
        monitor = int(f.read())
    os.kill(monitor, signal.SIGKILL)
    st = wait_exited(b, cid, timeout=15)
    assert st.reason == "ContainerMonitorLost"
    assert "monitor" in st.message
    # The container does not live on unmonitored.
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split()[2] == "Z", what="container gone")


def test_termination_message(pod, image_ref):
    b, pod_id, pcfg = pod
    cid = create(b, pod_id, pcfg, ctr_config(
        image_ref, cmd=("sh", "-c", "printf 'goodbye from the app' > /dev/termination-log; exit 2")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    st = wait_exited(b, cid)
    assert st.exit_code == 2 and st.reason == "Error"
    assert st.message == "goodbye from the app"


def runtime_works(b, name):
    st = b.runtime.Status(api_pb2.StatusRequest())
    return name in [h.name for h in st.runtime_handlers]


def test_probe_results_kept_for_a_restart(make_berthd, tmp_path):
    """The runtime probes run once per boot: a restart finds what they
    found in the runroot and runs no probe container; a runtime whose
    binary changed is probed again, and one that does not work is never
    kept."""
    wrapper = tmp_path / "wrapped-runc"
    wrapper.write_text('#!/bin/sh\nexec runc "$@"\n')
    wrapper.chmod(0o755)
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    b = make_berthd(conf_text=f'[berth.runtime.runtimes.wrapped]\nruntime_path = "{wrapper}"\n'
                    f'[berth.runtime.runtimes.broken]\nruntime_path = "{broken}"\n').start()

    def probed_since(mark):
        with open(b.log_path, "rb") as f:
            text = f.read()[mark:].decode()
        return {n for n in ("crun", "runc", "wrapped", "broken")
                if f"runtime {n} (" in text and "probed earlier" not in
                text.split(f"runtime {n} (", 1)[1].split("\n", 1)[0]}

    assert probed_since(0) == {"crun", "runc", "wrapped", "broken"}
    with open(os.path.join(b.runroot, "probe-cache.json")) as f:
        assert set(json.load(f)) == {"crun", "runc", "wrapped"}
    for touch_wrapper, want in ((False, {"broken"}), (True, {"wrapped", "broken"})):
        b.stop(signal.SIGKILL)
        if touch_wrapper:
            wrapper.write_text('#!/bin/sh\n# changed\nexec runc "$@"\n')
        mark = os.path.getsize(b.log_path)
        b.start()
        assert probed_since(mark) == want
        assert {h.name for h in b.runtime.Status(api_pb2.StatusRequest()).runtime_handlers} \
            >= {"runc", "wrapped"}


@pytest.mark.parametrize("handler", ["crun", "runc"])
def test_runtime_handlers(make_berthd, image_ref, tmp_path, handler):
    """Pods and containers run with either runtime, chosen per pod by
    runtime_handler (the suite's host preparation lets crun run here)."""
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()
    if not runtime_works(b, handler):
        pytest.skip(f"{handler} cannot run containers on this host")
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    pcfg = pod_config(name=f"rt-{handler}", pid=api_pb2.POD)
    pcfg.log_directory = str(tmp_path / "logs")
    pod_id = b.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
        config=pcfg, runtime_handler=handler)).pod_sandbox_id
    st = b.runtime.PodSandboxStatus(api_pb2.PodSandboxStatusRequest(
        pod_sandbox_id=pod_id, verbose=True))
    assert json.loads(st.info["info"])["runtime"] == handler
    assert st.status.runtime_handler == handler
    cid = create(b, pod_id, pcfg, ctr_config(
        image_ref, cmd=("sh", "-c", "echo via-runtime; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; exit 4"),
        pid=api_pb2.POD))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    st = wait_exited(b, cid)
    assert st.exit_code == 4
    lines = [m for _, _, _, m in log_lines(st.log_path)]
    assert b"via-runtime" in lines
