"""A failing step of RunPodSandbox undoes every earlier one; kill -9 of
berthd at several points and a simulated reboot leave nothing half-made;
kubelet's retry after a deadline gets the first attempt's pod."""
import json
import os
import shlex
import signal
import stat
import subprocess
import threading
import time

import grpc
import pytest

from conftest import api_pb2, edit_record, pod_cgroups, wait_for
from test_pod_lifecycle import pod_config, run_pod, status, list_ids

# A CNI plugin in Python: ADD sleeps BERTH_TEST_SLEEP seconds (from a file
# beside it), then fails when FAIL exists beside it, else passes prevResult on.
FAKE_PLUGIN = r'''#!/usr/bin/python3
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
conf = json.load(sys.stdin)
cmd = os.environ.get("CNI_COMMAND")
if cmd == "VERSION":
    print(json.dumps({"cniVersion": conf.get("cniVersion", "1.0.0"),
                      "supportedVersions": ["0.4.0", "1.0.0"]}))
    sys.exit(0)
if cmd == "ADD":
    try:
        time.sleep(float(open(os.path.join(here, "sleep")).read()))
    except FileNotFoundError:
        pass
    if os.path.exists(os.path.join(here, "fail")):
        print(json.dumps({"cniVersion": conf["cniVersion"], "code": 11,
                          "msg": "testfail refuses", "details": "as the test asked"}))
        sys.exit(1)
    print(json.dumps(conf.get("prevResult", {"cniVersion": conf["cniVersion"]})))
sys.exit(0)
'''


@pytest.fixture
def plugdir(tmp_path):
    d = tmp_path / "plugins"
    d.mkdir()
    p = d / "testplug"
    p.write_text(FAKE_PLUGIN)
    p.chmod(0o755)
    return d


def berthd_with_plugin(make_berthd, plugdir, name="b", extra=()):
    b = make_berthd(name, extra_args=["--cni-plugin-dir", "/usr/lib/cni",
                                      "--cni-plugin-dir", str(plugdir), *extra])
    b.install_cni_conf(plugins_after=[{"type": "testplug"}])
    return b


def nat_postrouting():
    out = subprocess.run(["iptables-save", "-t", "nat"], check=True, capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines() if line.startswith("-A POSTROUTING ")]


def nat_rules(b):
    """The bridge plugin's ipMasq rules for this berthd's pod addresses."""
    return [line for line in nat_postrouting() if f" -s {b.subnet}." in line]


def forget_nat_rules(pod_id):
    """What a reboot does to the kernel's NAT table: the pod's ipMasq rule
    and its chain are gone (the plugin finds them only through the netns,
    which the reboot took too)."""
    for line in nat_postrouting():
        args = shlex.split(line)
        if f'id: "{pod_id}"' not in " ".join(args):
            continue
        subprocess.run(["iptables", "-t", "nat", "-D", *args[1:]], check=True)
        chain = args[args.index("-j") + 1]
        subprocess.run(["iptables", "-t", "nat", "-F", chain], check=True)
        subprocess.run(["iptables", "-t", "nat", "-X", chain], check=True)


def nothing_left(b):
    assert list_ids(b) == set()
    assert os.listdir(os.path.join(b.root, "pods")) == []
    ns = os.path.join(b.runroot, "ns")
    assert not os.path.exists(ns) or os.listdir(ns) == []
    assert b.leases() == []
    with open("/proc/self/mountinfo") as f:
        assert b.runroot + "/ns/" not in f.read()
    assert pod_cgroups(b) == set()
    assert nat_rules(b) == []


def test_failing_cni_plugin_undoes_everything(make_berthd, plugdir):
    (plugdir / "fail").write_text("")
    b = berthd_with_plugin(make_berthd, plugdir).start()
    with pytest.raises(grpc.RpcError) as e:
        run_pod(b, pod_config(pid=api_pb2.POD))
    assert "testfail refuses" in e.value.details()
    assert "as the test asked" in e.value.details()
    nothing_left(b)
    # The name is free again.
    (plugdir / "fail").unlink()
    pod_id = run_pod(b, pod_config(pid=api_pb2.POD))
    assert status(b, pod_id).status.state == api_pb2.SANDBOX_READY


def test_failing_infra_undoes_network(make_berthd, tmp_path):
    wrapper = tmp_path / "failcreate"
    # Fails the infra's `run` (not the start-up probe's).
    wrapper.write_text('#!/bin/sh\ncase "$*" in *" run "*berth-infra-*) '
                       'echo "no containers today" >&2; exit 1;; esac\n'
                       'exec runc "$@"\n')
    wrapper.chmod(0o755)
    b = make_berthd(conf_text=f'[berth.runtime.runtimes.failcreate]\nruntime_path = "{wrapper}"\n')
    b.start()
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
            config=pod_config(pid=api_pb2.POD), runtime_handler="failcreate"))
    assert "infra" in e.value.details()
    assert "no containers today" in e.value.details()
    nothing_left(b)


def test_read_only_root_undoes_everything(make_berthd):
    b = make_berthd().start()
    pods = os.path.join(b.root, "pods")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", pods], check=True)
    try:
        with pytest.raises(grpc.RpcError) as e:
            run_pod(b, pod_config())
        assert "Read-only file system" in e.value.details()
    finally:
        subprocess.run(["umount", pods], check=True)
    nothing_left(b)


def kill9_and_restart(b):
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    b.start()


def test_kill9_during_run_leaves_nothing(make_berthd, plugdir):
    (plugdir / "sleep").write_text("3")
    b = berthd_with_plugin(make_berthd, plugdir).start()
    t = threading.Thread(target=lambda: pytest.raises(
        grpc.RpcError, run_pod, b, pod_config(pid=api_pb2.POD), timeout=30))
    t.start()
    # Wait until the pod has namespaces and an IP lease, then kill.
    wait_for(lambda: b.leases(), timeout=10, what="a lease during the run")
    kill9_and_restart(b)
    t.join(30)
    (plugdir / "sleep").unlink()
    nothing_left(b)


def test_kill9_keeps_running_pods(make_berthd):
    b = make_berthd().start()
    a = run_pod(b, pod_config(name="a", pid=api_pb2.POD))
    c = run_pod(b, pod_config(name="c"))
    b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=c))
    before = {i: status(b, i).status for i in (a, c)}
    pid = json.loads(status(b, a, verbose=True).info["info"])["pid"]
    kill9_and_restart(b)
    assert list_ids(b) == {a, c}
    after = {i: status(b, i).status for i in (a, c)}
    assert after[a].state == api_pb2.SANDBOX_READY
    assert after[a].network.ip == before[a].network.ip
    assert after[c].state == api_pb2.SANDBOX_NOTREADY
    assert dict(after[a].labels) == dict(before[a].labels)
    assert os.path.exists(f"/proc/{pid}")
    for i in (a, c):
        b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=i))
        b.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=i))
    nothing_left(b)


def test_stop_kills_only_the_infra_it_recorded(make_berthd):
    """StopPodSandbox kills the infra process itself (a pidfd) before the
    runtime's delete, but only a process that still is the pod's infra:
    a record naming another process (as after pid reuse) kills nothing,
    and the runtime's delete still stops the real infra."""
    b = make_berthd().start()
    a = run_pod(b, pod_config(name="a", pid=api_pb2.POD))
    infra = json.loads(status(b, a, verbose=True).info["info"])["pid"]
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    # /pause in a PID namespace of its own, but not in the pod's netns.
    other = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child",
                              "bash", "-c", "exec -a /pause sleep 600"])
    try:
        inner = wait_for(lambda: [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(other.pid)], capture_output=True,
            text=True).stdout.split()], timeout=10, what="the lookalike")[0]
        edit_record(os.path.join(b.root, "pods", a, "pod.json"), infra_pid=inner)
        b.start()
        b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=a))
        assert os.path.exists(f"/proc/{inner}") and other.poll() is None
        wait_for(lambda: not os.path.exists(f"/proc/{infra}"), timeout=10,
                 what="the real infra gone")
        b.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=a))
        nothing_left(b)
    finally:
        other.kill()
        other.wait()


def test_reboot_brings_pods_back_notready(make_berthd):
    b = make_berthd().start()
    a = run_pod(b, pod_config(name="a", pid=api_pb2.POD))
    info = json.loads(status(b, a, verbose=True).info["info"])
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    b.log.close()
    # What a reboot does to /run: the infra process, the pins and the
    # runtime state are gone.
    os.kill(info["pid"], signal.SIGKILL)
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if b.runroot in line]
    for m in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", m], check=True)
    subprocess.run(["rm", "-rf", b.runroot], check=True)
    forget_nat_rules(a)
    b.start()
    st = status(b, a).status
    assert st.state == api_pb2.SANDBOX_NOTREADY
    b.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=a))
    b.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=a))
    nothing_left(b)


def test_retry_after_deadline_gets_first_pod(make_berthd, plugdir):
    (plugdir / "sleep").write_text("2")
    b = berthd_with_plugin(make_berthd, plugdir).start()
    cfg = pod_config()
    with pytest.raises(grpc.RpcError) as e:
        run_pod(b, cfg, timeout=0.5)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    pod_id = run_pod(b, cfg, timeout=30)
    assert list_ids(b) == {pod_id}
    assert len(b.leases()) == 1
    # Answered now: the same request again is a duplicate.
    with pytest.raises(grpc.RpcError) as e:
        run_pod(b, cfg, timeout=30)
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    # A different config under the same name is refused even unanswered.
    (plugdir / "sleep").write_text("2")
    cfg2 = pod_config(name="other")
    with pytest.raises(grpc.RpcError):
        run_pod(b, cfg2, timeout=0.5)
    cfg2.hostname = "changed"
    with pytest.raises(grpc.RpcError) as e:
        run_pod(b, cfg2, timeout=30)
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
