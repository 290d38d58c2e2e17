"""Pods with a user namespace of their own (KEP-127, hostUsers: false):
what kubelet sends (userns_options mode POD, one uid and one gid range),
what the containers see (root inside, the mapped ids outside), files
through idmapped mounts (the image, a hostPath volume, /etc files, the
termination log), the advertised feature, bad input, and recovery and
removal leaving nothing behind."""
import json
import os
import signal
import subprocess
from pathlib import Path

import grpc
import pytest

from conftest import api_pb2, wait_for
from test_container_lifecycle import create, cstatus, ctr_config, wait_exited
from test_container_lifecycle import image_ref  # noqa: F401 (a fixture)
from test_pod_lifecycle import pod_config, run_pod, status

USERNS = "config.linux.security_context.namespace_options.userns_options"
RANGE = 65536


@pytest.fixture
def bd(make_berthd, image_ref, tmpbase):
    # runc joins the user namespace before it mounts the rootfs: the path
    # to berth's root must be passable, as /var/lib is on a real node.
    os.chmod(tmpbase, 0o711)
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()
    b.image.PullImage(api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image_ref)))
    return b


def userns_options(host, length=RANGE, uids=None, gids=None, mode=api_pb2.POD):
    one = [api_pb2.IDMapping(host_id=host, container_id=0, length=length)]
    return api_pb2.UserNamespace(mode=mode, uids=one if uids is None else uids,
                                 gids=one if gids is None else gids)


def userns_pod(name, host, **kw):
    cfg = pod_config(name=name, **kw)
    cfg.linux.security_context.namespace_options.userns_options.CopyFrom(userns_options(host))
    return cfg


def userns_ctr(image_ref, pcfg, **kw):
    cfg = ctr_config(image_ref, **kw)
    cfg.linux.security_context.namespace_options.userns_options.CopyFrom(
        pcfg.linux.security_context.namespace_options.userns_options)
    return cfg


def start(b, cid):
    b.runtime.StartContainer(api_pb2.StartContainerRequest(container_id=cid))


def exec_sync(b, cid, *cmd):
    r = b.runtime.ExecSync(api_pb2.ExecSyncRequest(container_id=cid, cmd=list(cmd), timeout=20))
    return r.exit_code, r.stdout.decode(), r.stderr.decode()


def host_ids(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def handlers(b):
    return {h.name: h for h in b.runtime.Status(api_pb2.StatusRequest()).runtime_handlers}


def mounts_with(text):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if text in line]


def test_status_advertises_what_the_probe_found(bd):
    hs = handlers(bd)
    info = json.loads(bd.runtime.Status(api_pb2.StatusRequest(verbose=True)).info["runtimes"])
    for r in info:
        if not r["works"]:
            continue
        assert hs[r["name"]].features.user_namespaces == r["userNamespaces"]
        if not r["userNamespaces"]:
            assert r["userNamespacesProblem"]
    # KEP-5607 (a user namespace with the host's network) is not offered.
    assert not bd.runtime.Status(api_pb2.StatusRequest()).features.user_namespaces_host_network
    # Linux >= 6.3 with crun 1.8: the default handler has them.
    assert hs["crun"].features.user_namespaces
    assert hs[""].features.user_namespaces


def userns_runtimes(b):
    return [n for n, h in handlers(b).items() if n and h.features.user_namespaces]


@pytest.mark.parametrize("runtime", ["crun", "runc"])
def test_root_inside_mapped_ids_outside(bd, image_ref, tmp_path, runtime):
    if runtime not in userns_runtimes(bd):
        info = json.loads(bd.runtime.Status(api_pb2.StatusRequest(verbose=True)).info["runtimes"])
        why = [r.get("userNamespacesProblem") for r in info if r["name"] == runtime]
        pytest.skip(f"{runtime} does not advertise user namespaces here: {why}")
    host = 1_000_000 + (0 if runtime == "crun" else RANGE)
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "from-host").write_text("host root's file\n")
    os.chmod(tmp_path, 0o711)
    pcfg = userns_pod(f"u-{runtime}", host,
                      sysctls={"net.ipv4.ip_unprivileged_port_start": "80"})
    pcfg.log_directory = str(tmp_path / "logs")
    req = api_pb2.RunPodSandboxRequest(config=pcfg, runtime_handler=runtime)
    pod_id = bd.runtime.RunPodSandbox(req).pod_sandbox_id
    pst = status(bd, pod_id).status
    u = pst.linux.namespaces.options.userns_options
    assert u.mode == api_pb2.POD
    assert [(m.host_id, m.container_id, m.length) for m in u.uids] == [(host, 0, RANGE)]
    cfg = userns_ctr(image_ref, pcfg, cmd=("sleep", "3600"))
    cfg.mounts.append(api_pb2.Mount(container_path="/vol", host_path=str(vol)))
    cid = create(bd, pod_id, pcfg, cfg)
    start(bd, cid)
    st = cstatus(bd, cid, verbose=True)
    assert st.status.state == api_pb2.CONTAINER_RUNNING
    pid = json.loads(st.info["info"])["pid"]
    assert host_ids(pid) == (host, host)
    assert exec_sync(bd, cid, "id", "-u")[1].strip() == "0"
    uid_map = exec_sync(bd, cid, "cat", "/proc/self/uid_map")[1].split()
    assert uid_map == ["0", str(host), str(RANGE)]
    # The image's files are root's inside; what the container writes in
    # its writable layer is the mapped root's on the host.
    assert exec_sync(bd, cid, "stat", "-c", "%u:%g", "/bin/busybox")[1].strip() == "0:0"
    assert exec_sync(bd, cid, "touch", "/made-inside")[0] == 0
    upper = Path(bd.root) / "containers" / cid / "upper" / "made-inside"
    assert (upper.stat().st_uid, upper.stat().st_gid) == (host, host)
    # hostPath: host root's file is root's inside, and a file written
    # through the volume is host root's on the host.
    assert exec_sync(bd, cid, "stat", "-c", "%u", "/vol/from-host")[1].strip() == "0"
    assert exec_sync(bd, cid, "sh", "-c", "echo hi > /vol/from-pod")[0] == 0
    assert (vol / "from-pod").stat().st_uid == 0
    for f in ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname"):
        code, out, err = exec_sync(bd, cid, "stat", "-c", "%u", f)
        assert (code, out.strip()) == (0, "0"), err
    assert exec_sync(bd, cid, "sh", "-c", "echo bye > /dev/termination-log")[0] == 0
    # A namespaced sysctl of the pod's own network namespace.
    out = exec_sync(bd, cid, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")[1]
    assert out.strip() == "80"
    # Stats and resource updates work as for any container.
    stats = bd.runtime.ContainerStats(api_pb2.ContainerStatsRequest(container_id=cid)).stats
    assert stats.memory.working_set_bytes.value > 0
    bd.runtime.UpdateContainerResources(api_pb2.UpdateContainerResourcesRequest(
        container_id=cid, linux=api_pb2.LinuxContainerResources(memory_limit_in_bytes=64 << 20)))
    # Real root's powers are not there: a block device, a host mount.
    code, _, _ = exec_sync(bd, cid, "mknod", "/tmp/sda", "b", "8", "0")
    assert code != 0
    code, _, _ = exec_sync(bd, cid, "sh", "-c", "echo 1 > /proc/sys/kernel/sysrq")
    assert code != 0
    bd.runtime.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=1))
    st = wait_exited(bd, cid)
    assert st.message == "bye\n"
    bd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    bd.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    assert mounts_with(cid) == [] and mounts_with(pod_id) == []


def test_shared_pid_pod_in_userns(bd, image_ref):
    pcfg = userns_pod("u-pid", 2_000_000, pid=api_pb2.POD)
    pod_id = run_pod(bd, pcfg)
    cid = create(bd, pod_id, pcfg, userns_ctr(image_ref, pcfg, cmd=("sleep", "3600"),
                                               pid=api_pb2.POD))
    start(bd, cid)
    # The infra process is pid 1 of the pod's PID namespace, in its userns.
    out = exec_sync(bd, cid, "cat", "/proc/1/cmdline")[1]
    assert "pause" in out
    pid = json.loads(cstatus(bd, cid, verbose=True).info["info"])["pid"]
    assert host_ids(pid) == (2_000_000, 2_000_000)


def test_two_pods_kill9_restart_and_removal(bd, image_ref):
    pods = {}
    for name, host in (("a", 3_000_000), ("b", 3_000_000 + RANGE)):
        pcfg = userns_pod(f"u-{name}", host)
        pod_id = run_pod(bd, pcfg)
        cid = create(bd, pod_id, pcfg, userns_ctr(image_ref, pcfg, cmd=("sleep", "3600")))
        start(bd, cid)
        pid = json.loads(cstatus(bd, cid, verbose=True).info["info"])["pid"]
        pods[name] = (pod_id, cid, pid, host)
    # Disjoint ranges: neither pod's root is the other's, and one pod's
    # root cannot signal the other's processes.
    assert host_ids(pods["a"][2])[0] != host_ids(pods["b"][2])[0]
    a_root, b_pid = pods["a"][3], pods["b"][2]
    r = subprocess.run(["setpriv", f"--reuid={a_root}", f"--regid={a_root}", "--clear-groups",
                        "kill", "-0", str(b_pid)], capture_output=True, text=True)
    assert r.returncode != 0 and "not permitted" in r.stderr, r
    os.kill(b_pid, 0)
    with open(f"/proc/{pods['a'][2]}/uid_map") as f:
        assert f.read().split() == ["0", "3000000", str(RANGE)]
    # kill -9 and restart: both keep running and are served again.
    bd.proc.send_signal(signal.SIGKILL)
    bd.proc.wait()
    bd.log.close()
    bd.start()
    for pod_id, cid, pid, host in pods.values():
        os.kill(pid, 0)
        assert status(bd, pod_id).status.state == api_pb2.SANDBOX_READY
        assert cstatus(bd, cid).status.state == api_pb2.CONTAINER_RUNNING
        assert exec_sync(bd, cid, "id", "-u")[1].strip() == "0"
    for pod_id, cid, pid, host in pods.values():
        bd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
        bd.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
        assert mounts_with(cid) == [] and mounts_with(pod_id) == []
        assert not os.path.exists(os.path.join(bd.runroot, "ns", pod_id))


def refused(call, code):
    with pytest.raises(grpc.RpcError) as e:
        call()
    assert e.value.code() == code, e.value.details()
    return e.value.details()


def test_bad_userns_input(bd, image_ref):
    rt = bd.runtime

    def run(cfg):
        return lambda: rt.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=cfg))

    cases = [
        (userns_options(4_000_000, length=0), USERNS + ".uids: the mapping's length is 0"),
        (userns_options(0), "maps the host's id 0"),
        (api_pb2.UserNamespace(mode=api_pb2.POD, uids=[api_pb2.IDMapping(
            host_id=4_000_000, container_id=1, length=10)], gids=[api_pb2.IDMapping(
                host_id=4_000_000, length=10)]), "leaves the pod's id 0 (its root) unmapped"),
        (userns_options(4_294_967_295 - 10, length=100), "runs past the largest id"),
        (userns_options(4_000_000, uids=[api_pb2.IDMapping(host_id=4_000_000, length=10),
                                         api_pb2.IDMapping(host_id=5_000_000, length=10)]),
         USERNS + ".uids: mode POD takes exactly one mapping, not 2"),
        (userns_options(4_000_000, gids=[]), USERNS + ".gids: mode POD takes exactly one"),
        (userns_options(4_000_000, mode=api_pb2.CONTAINER), USERNS + ".mode: only POD or NODE"),
        (userns_options(4_000_000, mode=api_pb2.NODE), "mappings are only for mode POD"),
    ]
    for opts, msg in cases:
        cfg = pod_config(name="bad")
        cfg.linux.security_context.namespace_options.userns_options.CopyFrom(opts)
        assert msg in refused(run(cfg), grpc.StatusCode.INVALID_ARGUMENT)
    cfg = userns_pod("bad-hostnet", 4_000_000, host_network=True)
    assert "host's network, PID or IPC" in refused(run(cfg), grpc.StatusCode.INVALID_ARGUMENT)
    assert len(rt.ListPodSandbox(api_pb2.ListPodSandboxRequest()).items) == 0

    # Overlapping another pod's range is refused; the same pod's next
    # attempt (same uid) may reuse its range.
    pcfg = userns_pod("owner", 4_000_000)
    pod_id = run_pod(bd, pcfg)
    other = userns_pod("other", 4_000_000 + 100)
    assert "overlap" in refused(run(other), grpc.StatusCode.INVALID_ARGUMENT)
    again = userns_pod("owner", 4_000_000, attempt=1)
    again_id = run_pod(bd, again)
    rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=again_id))
    rt.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=again_id))

    # A container's userns_options must be its pod's.
    cfg = userns_ctr(image_ref, pcfg)
    cfg.linux.security_context.namespace_options.userns_options.CopyFrom(
        userns_options(4_000_000 + RANGE))
    msg = refused(lambda: create(bd, pod_id, pcfg, cfg), grpc.StatusCode.INVALID_ARGUMENT)
    assert USERNS in msg and "must be its pod's" in msg
    cfg.linux.security_context.namespace_options.userns_options.CopyFrom(
        api_pb2.UserNamespace(mode=api_pb2.NODE))
    refused(lambda: create(bd, pod_id, pcfg, cfg), grpc.StatusCode.INVALID_ARGUMENT)
    assert len(rt.ListContainers(api_pb2.ListContainersRequest()).containers) == 0
    # A pod without one refuses a container that asks for one.
    plain_cfg = pod_config(name="plain")
    plain = run_pod(bd, plain_cfg)
    cfg = userns_ctr(image_ref, pcfg)
    refused(lambda: create(bd, plain, plain_cfg, cfg), grpc.StatusCode.INVALID_ARGUMENT)


def test_unsupported_handler_is_failed_precondition(make_berthd, image_ref, tmpbase):
    """A handler whose probe failed refuses userns pods with the reason."""
    b = make_berthd(extra_args=["--insecure-registry", image_ref.split("/")[0]]).start()
    # tmpbase is 0700 here: runc, which mounts the rootfs from inside the
    # user namespace, cannot reach it, so its probe fails.
    info = json.loads(b.runtime.Status(api_pb2.StatusRequest(verbose=True)).info["runtimes"])
    runc = [r for r in info if r["name"] == "runc" and r["works"]]
    if not runc or runc[0]["userNamespaces"]:
        pytest.skip("runc's user namespace probe passed here")
    cfg = userns_pod("no-runc", 5_000_000)
    msg = refused(lambda: b.runtime.RunPodSandbox(
        api_pb2.RunPodSandboxRequest(config=cfg, runtime_handler="runc")),
        grpc.StatusCode.FAILED_PRECONDITION)
    assert "cannot run pods with a user namespace" in msg


def test_streaming_and_low_ports_inside(bd, image_ref):
    """exec and port-forward reach a user-namespaced pod; its root may bind
    port 80 (CAP_NET_BIND_SERVICE of the namespace that owns the pod's
    network), which an unprivileged host uid could not."""
    from test_streaming import exec_url, exit_code_of, portforward_http_get, ws_session
    pcfg = userns_pod("u-web", 6_000_000)
    pod_id = run_pod(bd, pcfg)
    cid = create(bd, pod_id, pcfg, userns_ctr(image_ref, pcfg, cmd=(
        "sh", "-c", "mkdir -p /www && echo hello-userns > /www/index.html && "
        "exec httpd -f -p 80 -h /www")))
    start(bd, cid)

    def up():
        return exec_sync(bd, cid, "wget", "-qO-", "http://127.0.0.1:80/")[0] == 0
    wait_for(up, what="httpd on port 80")
    out, status = ws_session(exec_url(bd, cid, ["sh", "-c", "id -u; exit 3"]))
    assert out[1].strip() == b"0" and exit_code_of(status) == 3
    got = portforward_http_get(bd, pod_id, 80)
    assert b"200 OK" in got and b"hello-userns" in got


def test_unidmappable_volume_fails_cleanly(bd, image_ref):
    """A hostPath on a filesystem that cannot be idmapped (an overlay: another
    container's root) fails CreateContainer with FAILED_PRECONDITION naming
    it, and leaves no container, dir or mount behind."""
    plain_cfg = pod_config(name="plain-src")
    plain = run_pod(bd, plain_cfg)
    src = create(bd, plain, plain_cfg, ctr_config(image_ref, cmd=("sleep", "3600")))
    overlay = os.path.join(bd.root, "containers", src, "rootfs")
    assert any(f" {overlay} " in line and " - overlay " in line for line in mounts_with(overlay))
    pcfg = userns_pod("u-vol", 7_000_000)
    pod_id = run_pod(bd, pcfg)
    cfg = userns_ctr(image_ref, pcfg, name="v")
    cfg.mounts.append(api_pb2.Mount(container_path="/other", host_path=overlay))
    msg = refused(lambda: create(bd, pod_id, pcfg, cfg), grpc.StatusCode.FAILED_PRECONDITION)
    assert overlay in msg and "idmapped" in msg, msg
    ids = {c.id for c in bd.runtime.ListContainers(api_pb2.ListContainersRequest()).containers}
    assert ids == {src}
    assert os.listdir(os.path.join(bd.root, "containers")) == [src]
    assert [m for m in mounts_with(os.path.join(bd.root, "containers"))
            if src not in m] == []
