"""kill -9 of berthd in the middle of CreateContainer, StartContainer,
StopContainer and RemoveContainer. The calls are caught mid-way by a
runtime handler that wraps runc and sleeps before the subcommand a test
names; after the restart every container is in a state that the runtime
agrees with, a repeated call finishes the job, and nothing is left behind
once the container is removed. Also: a start that fails."""
import os
import signal
import subprocess
import threading
import time

import grpc
import pytest

from conftest import api_pb2, edit_record, wait_for
from test_container_lifecycle import create, cstatus, ctr_config, image_ref  # noqa: F401
from test_pod_lifecycle import pod_config, run_pod

WRAPPER = r'''#!/bin/sh
# runc, slowed down: sleeps before the subcommand named by a file
# slow-<subcommand> beside this script (its content: seconds). Each
# subcommand and the last argument (the container's id) are appended to
# the file verbs beside it. berthd's probe at its start is never slowed.
d=$(dirname "$0")
for last; do :; done
for a in "$@"; do
    case "$a" in
    create|run|start|kill|delete)
        echo "$a $last" >> "$d/verbs"
        # Not berthd's probe of the runtime at its start.
        case "$last" in berth-probe-*) ;; *)
            [ -e "$d/slow-$a" ] && sleep "$(cat "$d/slow-$a")";;
        esac
        break;;
    esac
done
exec /usr/bin/runc "$@"
'''


def slow_runtime_berthd(make_berthd, image_ref, tmp_path, conf=""):  # noqa: F811
    """A berthd (conf: more of its config) with runtime handler `slow`, the
    image pulled and a pod on that handler."""
    d = tmp_path / "slowrt"
    d.mkdir()
    w = d / "slowrunc"
    w.write_text(WRAPPER)
    w.chmod(0o755)
    conf += f'[berth.runtime.runtimes.slow]\nruntime_path = "{w}"\n'
    b = make_berthd(conf_text=conf,
                    extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    cfg = pod_config(name="slowpod")
    cfg.log_directory = str(tmp_path / "logs")
    pod_id = b.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
        config=cfg, runtime_handler="slow")).pod_sandbox_id
    return b, pod_id, cfg, d


@pytest.fixture
def slow(make_berthd, image_ref, tmp_path):  # noqa: F811
    return slow_runtime_berthd(make_berthd, image_ref, tmp_path)


def kill9_and_restart(b):
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    b.start()


def in_background(fn):
    """Runs fn on a thread; the call is expected to fail (berthd dies)."""
    t = threading.Thread(target=lambda: pytest.raises(grpc.RpcError, fn), daemon=True)
    t.start()
    return t


def runtime_ids(b):
    root = os.path.join(b.runroot, "runtimes", "slow")
    r = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True, text=True)
    return set(r.stdout.split())


def monitors_of(cid):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"berth-conmon") and cid.encode() in argv:
            found.append(int(pid))
    return found


def ctr_dirs(b, cid):
    return [p for p in (os.path.join(b.root, "containers", cid),
                        os.path.join(b.runroot, "containers", cid)) if os.path.exists(p)]


def mounted(b, cid):
    with open("/proc/self/mountinfo") as f:
        return cid in f.read()


def gone(b, cid):
    ids = {c.id for c in b.runtime.ListContainers(api_pb2.ListContainersRequest()).containers}
    return cid not in ids and cid not in runtime_ids(b) and not monitors_of(cid) and \
        not ctr_dirs(b, cid) and not mounted(b, cid)


def set_record_state(b, cid, state):
    edit_record(os.path.join(b.root, "containers", cid, "container.json"), state=state)


def assert_gone(b, cid):
    """Gone, allowing a monitor a moment to exit after its container's
    exit (under ASan its leak check takes that long)."""
    wait_for(lambda: gone(b, cid), timeout=10, what=f"container {cid} gone")


def test_half_made_container_is_undone(slow, image_ref):  # noqa: F811
    """CreateContainer runs no runtime, so it is too quick to be caught
    mid-way: its first record (creating) is put back by hand after a kill,
    as a kill between that record and the last would leave it. The
    restarted berthd undoes the rootfs mount and the directories."""
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "600")))
    assert mounted(b, cid)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    set_record_state(b, cid, "creating")
    b.start()
    wait_for(lambda: gone(b, cid), timeout=20, what="the half-made container undone")
    assert "create" not in verbs(d, cid) and "run" not in verbs(d, cid)
    # And the pod takes new containers as before.
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "600")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_RUNNING


def start_slowly(slow, image_ref, seconds):  # noqa: F811
    """A new container whose StartContainer, on a thread, has its runtime
    run wait the given seconds; its id."""
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "600")))
    (d / "slow-run").write_text(str(seconds))
    in_background(lambda: b.runtime.StartContainer(
        api_pb2.StartContainerRequest(container_id=cid)))
    return cid


def test_kill9_during_start(slow, image_ref):  # noqa: F811
    """StartContainer's one runtime call (run) outlives berthd with its
    monitor. A StartContainer after the restart, while that run is still
    under way, waits for it and takes its container: no second run."""
    b, pod_id, pcfg, d = slow
    cid = start_slowly(slow, image_ref, 2)
    time.sleep(0.5)
    kill9_and_restart(b)
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_CREATED
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_RUNNING and st.started_at > 0
    assert verbs(d, cid).count("run") == 1
    (d / "slow-run").unlink()
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    assert cstatus(b, cid).status.exit_code == 137
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)


def test_kill9_during_start_seen_running_after_restart(slow, image_ref):  # noqa: F811
    """The run ended while berthd was down: the restarted berthd finds the
    container running from the runtime's pid file, asking no runtime."""
    b, pod_id, pcfg, d = slow
    cid = start_slowly(slow, image_ref, 1)
    time.sleep(0.3)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    wait_for(lambda: os.path.exists(os.path.join(b.runroot, "containers", cid, "container.pid")),
             timeout=10, what="the run finished")
    (d / "slow-run").unlink()
    before = verbs(d, cid)
    b.start()
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_RUNNING and st.started_at >= st.created_at
    assert verbs(d, cid) == before
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)


def test_start_error(slow, image_ref):  # noqa: F811
    """A command that is not in the image: CreateContainer succeeds (no
    runtime runs), StartContainer fails with the runtime's message, and the
    container is exited with reason StartError, as kubelet knows from
    containerd. Nothing of the start is left."""
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("/no/such/binary",)))
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert "/no/such/binary" in e.value.details()
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_EXITED
    assert (st.exit_code, st.reason) == (128, "StartError")
    assert "/no/such/binary" in st.message and st.finished_at >= st.created_at
    # The monitor reported the error and exits (under ASan its leak check
    # takes a moment).
    assert cid not in runtime_ids(b)
    wait_for(lambda: not monitors_of(cid), timeout=10, what="the monitor gone")
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)


def test_stop_created_container(slow, image_ref):  # noqa: F811
    """A created container has no process: stopping it makes it exited at
    once (never to start), and a stopped pod's created containers cannot
    start."""
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "600")))
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=30))
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_EXITED and st.exit_code == 137
    assert st.message == "stopped before it was started"
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    cid2 = create(b, pod_id, pcfg, ctr_config(image_ref, name="later", cmd=("sleep", "600")))
    b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    assert cstatus(b, cid2).status.state == api_pb2.CONTAINER_EXITED
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid2))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert verbs(d, cid) == [] and verbs(d, cid2) == []
    for c in (cid, cid2):
        b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=c))
        assert_gone(b, c)


def test_kill9_during_stop(slow, image_ref):  # noqa: F811
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(
        image_ref, cmd=("sh", "-c", "trap '' TERM; while true; do sleep 0.2; done")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    in_background(lambda: b.runtime.StopContainer(
        api_pb2.StopContainerRequest(container_id=cid, timeout=30)))
    time.sleep(1)
    kill9_and_restart(b)
    assert cstatus(b, cid).status.state == api_pb2.CONTAINER_RUNNING
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=1))
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_EXITED and st.exit_code == 137
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)


def test_kill9_during_stop_while_it_exits(slow, image_ref):  # noqa: F811
    """The container ends while berthd is down: its exit is picked up."""
    b, pod_id, pcfg, d = slow
    # TERM reaches it at once (through its monitor); it takes 1.5 s to go.
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=(
        "sh", "-c", "trap 'sleep 1.5; exit 143' TERM; while true; do sleep 0.2; done")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    in_background(lambda: b.runtime.StopContainer(
        api_pb2.StopContainerRequest(container_id=cid, timeout=30)))
    time.sleep(0.5)
    kill9_and_restart(b)
    st = wait_for(lambda: cstatus(b, cid).status.state == api_pb2.CONTAINER_EXITED and
                  cstatus(b, cid).status, timeout=15, what="the exit picked up")
    assert st.exit_code == 143 and st.finished_at >= st.started_at
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)


def test_kill9_during_remove(slow, image_ref):  # noqa: F811
    """The monitor's `runtime delete` is slow: RemoveContainer waits for
    it and berthd is killed meanwhile."""
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "600")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    (d / "slow-delete").write_text("2")
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    in_background(lambda: b.runtime.RemoveContainer(
        api_pb2.RemoveContainerRequest(container_id=cid)))
    time.sleep(0.5)
    kill9_and_restart(b)
    time.sleep(2)
    (d / "slow-delete").unlink()
    # Either recovery finished the removal or a repeated call does.
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)
    with pytest.raises(grpc.RpcError) as e:
        cstatus(b, cid)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_remove_runs_no_runtime(slow, image_ref):  # noqa: F811
    """RemoveContainer runs no runtime process: a container never started
    has no runtime state, and the monitor of a started one deletes it once
    the container exited (before it exits itself). A remove that comes
    while that delete runs waits for it rather than run a second one."""
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=("sleep", "600")))
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)
    assert verbs(d, cid) == []
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, name="started", cmd=("sleep", "600")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    wait_for(lambda: not monitors_of(cid), timeout=10, what="the monitor gone")
    assert verbs(d, cid) == ["run", "delete"]
    assert cid not in runtime_ids(b)
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)
    assert verbs(d, cid) == ["run", "delete"]
    # The monitor's delete takes 1.5 s; the remove comes at once.
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, name="slowdel", cmd=("sleep", "600")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    (d / "slow-delete").write_text("1.5")
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
    t0 = time.monotonic()
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert time.monotonic() - t0 >= 1.0
    assert_gone(b, cid)
    assert verbs(d, cid) == ["run", "delete"] and cid not in runtime_ids(b)


def verbs(d, cid=None):
    """The runtime subcommands run so far (for container cid only)."""
    p = d / "verbs"
    lines = [ln.split() for ln in p.read_text().splitlines()] if p.exists() else []
    return [v for v, who in lines if cid is None or who == cid]


def test_stop_signals_through_the_monitor(slow, image_ref):  # noqa: F811
    """StopContainer runs no `runtime kill`: the monitor, which holds the
    container init as its unreaped child, sends the signal."""
    b, pod_id, pcfg, d = slow
    (d / "slow-kill").write_text("60")
    cfg = ctr_config(image_ref, cmd=(
        "sh", "-c", "trap 'exit 143' TERM; echo trapped; while true; do sleep 0.2; done"))
    cid = create(b, pod_id, pcfg, cfg)
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    # The shell is the pid namespace's init: a TERM that comes before its
    # trap is dropped by the kernel, and the stop would wait out the timeout.
    log = os.path.join(pcfg.log_directory, cfg.log_path)
    wait_for(lambda: os.path.exists(log) and "trapped" in open(log).read(),
             timeout=10, what="the shell's trap")
    t0 = time.monotonic()
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=30))
    assert time.monotonic() - t0 < 10
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_EXITED and st.exit_code == 143
    assert "kill" not in verbs(d)
    # Ignoring TERM: SIGKILL after the timeout, through the monitor too.
    cid2 = create(b, pod_id, pcfg, ctr_config(image_ref, name="deaf", cmd=(
        "sh", "-c", "trap '' TERM; while true; do sleep 0.2; done")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid2))
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid2, timeout=1))
    assert cstatus(b, cid2).status.exit_code == 137
    assert "kill" not in verbs(d)
    for c in (cid, cid2):
        b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=c))
        assert_gone(b, c)


def test_stop_without_monitor_socket_uses_the_runtime(slow, image_ref):  # noqa: F811
    """When no monitor answers on the control socket, `runtime kill` still
    stops the container."""
    b, pod_id, pcfg, d = slow
    cid = create(b, pod_id, pcfg, ctr_config(image_ref, cmd=(
        "sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.2; done")))
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    os.unlink(os.path.join(b.runroot, "containers", cid, "ctl"))
    b.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=30))
    st = cstatus(b, cid).status
    assert st.state == api_pb2.CONTAINER_EXITED and st.exit_code == 143
    assert "kill" in verbs(d)
    b.runtime.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    assert_gone(b, cid)
