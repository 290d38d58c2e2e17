"""Pod sandboxes with real namespaces and the real CNI plugins: run, status,
list and its filters, stop, remove, stats, DNS files, and pod-to-pod and
hostPort traffic (loopback and the test's own bridge only)."""
import json
import os
import socket
import subprocess
import threading
import time

import grpc
import pytest

from conftest import api_pb2, wait_for

BUSYBOX = "/bin/busybox"


def pod_config(name="web", namespace="default", uid=None, attempt=0, host_network=False,
               pid=api_pb2.CONTAINER, labels=None, annotations=None, dns=None, ports=(),
               sysctls=None, hostname=None):
    uid = uid or f"uid-{name}"
    ns = api_pb2.NamespaceOption(network=api_pb2.NODE if host_network else api_pb2.POD,
                                 pid=pid, ipc=api_pb2.POD)
    return api_pb2.PodSandboxConfig(
        metadata=api_pb2.PodSandboxMetadata(name=name, namespace=namespace, uid=uid,
                                            attempt=attempt),
        hostname=hostname if hostname is not None else name,
        log_directory=f"/var/log/pods/{namespace}_{name}_{uid}",
        dns_config=dns,
        port_mappings=list(ports),
        labels=labels or {"app": name},
        annotations=annotations or {"note": "kept as given"},
        linux=api_pb2.LinuxPodSandboxConfig(
            sysctls=sysctls or {},
            security_context=api_pb2.LinuxSandboxSecurityContext(namespace_options=ns)))


def run_pod(b, config, **kw):
    return b.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=config), **kw).pod_sandbox_id


def status(b, pod_id, verbose=False):
    return b.runtime.PodSandboxStatus(
        api_pb2.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose))


def in_netns(st, *cmd):
    info = json.loads(st.info["info"])
    return subprocess.run(["nsenter", f"--net={info['netns']}", f"--uts={info['utsns']}", *cmd],
                          capture_output=True, text=True, timeout=20)


def list_ids(b, **filter_kw):
    f = api_pb2.PodSandboxFilter(**filter_kw) if filter_kw else None
    return {p.id for p in b.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest(filter=f)).items}


def test_run_status_stop_remove(berthd):
    cfg = pod_config(labels={"app": "web", "tier": "front"},
                     annotations={"a/b": "c", "empty": ""})
    pod_id = run_pod(berthd, cfg)
    assert len(pod_id) == 64
    st = status(berthd, pod_id, verbose=True)
    s = st.status
    assert s.id == pod_id
    assert s.state == api_pb2.SANDBOX_READY
    assert s.metadata.name == "web" and s.metadata.uid == "uid-web"
    assert s.created_at > 0
    assert dict(s.labels) == {"app": "web", "tier": "front"}
    assert dict(s.annotations) == {"a/b": "c", "empty": ""}
    assert s.network.ip.startswith(berthd.subnet + ".")
    assert s.linux.namespaces.options.network == api_pb2.POD
    assert st.timestamp > 0
    info = json.loads(st.info["info"])
    assert os.path.exists(info["netns"])
    # The hostname is set in the pod's UTS namespace, the IP on its eth0.
    assert in_netns(st, "hostname").stdout.strip() == "web"
    assert s.network.ip in in_netns(st, BUSYBOX, "ip", "addr", "show", "eth0").stdout
    assert "state UP" in in_netns(st, BUSYBOX, "ip", "link", "show", "lo").stdout or \
        "UP" in in_netns(st, BUSYBOX, "ip", "link", "show", "lo").stdout
    assert berthd.leases() == [s.network.ip]

    berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    s = status(berthd, pod_id).status
    assert s.state == api_pb2.SANDBOX_NOTREADY
    assert s.network.ip == ""
    assert berthd.leases() == []
    # Idempotent.
    berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))

    berthd.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    with pytest.raises(grpc.RpcError) as e:
        status(berthd, pod_id)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert pod_id in e.value.details()
    assert not os.path.exists(info["netns"])
    assert not os.path.exists(os.path.join(berthd.root, "pods", pod_id))
    assert list_ids(berthd) == set()
    # Idempotent, and stop after remove is fine too.
    berthd.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))


def test_stop_and_remove_unknown_are_ok_status_is_not_found(berthd):
    # kubelet's cleanup stops pods that may be gone; critest >= 1.29 checks.
    berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id="f" * 64))
    with pytest.raises(grpc.RpcError) as e:
        status(berthd, "f" * 64)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    berthd.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id="f" * 64))
    for rpc in (berthd.runtime.StopPodSandbox, berthd.runtime.RemovePodSandbox):
        with pytest.raises(grpc.RpcError) as e:
            rpc(api_pb2.StopPodSandboxRequest(pod_sandbox_id=""))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("mutate,what", [
    (lambda c: c.metadata.ClearField("name"), "metadata.name"),
    (lambda c: setattr(c.metadata, "namespace", ""), "metadata.namespace"),
    (lambda c: setattr(c.metadata, "uid", ""), "metadata.uid"),
    (lambda c: setattr(c.metadata, "name", "../../etc"), "metadata.name"),
    (lambda c: setattr(c.metadata, "name", "a/b"), "metadata.name"),
    (lambda c: setattr(c, "hostname", "bad host"), "hostname"),
    (lambda c: c.linux.sysctls.update({"vm.swappiness": "10"}), "vm.swappiness"),
    (lambda c: c.linux.sysctls.update({"kernel.pid_max": "10"}), "kernel.pid_max"),
    (lambda c: setattr(c, "log_directory", "relative/logs"), "log_directory"),
    (lambda c: c.linux.security_context.namespace_options.__setattr__("pid", api_pb2.TARGET),
     "TARGET"),
    (lambda c: c.linux.security_context.run_as_group.__setattr__("value", 1000),
     "run_as_group is set without run_as_user"),
])
def test_invalid_config_rejected_and_nothing_made(berthd, mutate, what):
    cfg = pod_config()
    mutate(cfg)
    with pytest.raises(grpc.RpcError) as e:
        run_pod(berthd, cfg)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert what in e.value.details()
    assert os.listdir(os.path.join(berthd.root, "pods")) == []
    assert berthd.leases() == []


def test_missing_config_and_unknown_handler(berthd):
    with pytest.raises(grpc.RpcError) as e:
        berthd.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest())
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        berthd.runtime.RunPodSandbox(api_pb2.RunPodSandboxRequest(
            config=pod_config(), runtime_handler="kata"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "kata" in e.value.details()


def test_duplicate_name_already_exists(berthd):
    pod_id = run_pod(berthd, pod_config())
    with pytest.raises(grpc.RpcError) as e:
        run_pod(berthd, pod_config())
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert pod_id in e.value.details()
    # Another attempt number is another name.
    other = run_pod(berthd, pod_config(attempt=1))
    assert other != pod_id
    assert len(berthd.leases()) == 2


def test_namespaced_sysctls_applied(berthd):
    pod_id = run_pod(berthd, pod_config(sysctls={
        "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmni": "2048"}))
    st = status(berthd, pod_id, verbose=True)
    out = in_netns(st, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")
    assert out.stdout.strip() == "80"
    info = json.loads(st.info["info"])
    out = subprocess.run(["nsenter", f"--ipc={info['ipcns']}", "cat", "/proc/sys/kernel/shmmni"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "2048"


def test_dns_files(berthd):
    dns = api_pb2.DNSConfig(servers=["10.96.0.10", "fd00::a"],
                            searches=["default.svc.cluster.local", "svc.cluster.local"],
                            options=["ndots:5", "timeout:2"])
    pod_id = run_pod(berthd, pod_config(dns=dns, hostname="myhost"))
    d = os.path.join(berthd.root, "pods", pod_id)
    with open(os.path.join(d, "resolv.conf")) as f:
        text = f.read()
    assert "nameserver 10.96.0.10" in text and "nameserver fd00::a" in text
    assert "search default.svc.cluster.local svc.cluster.local" in text
    assert "options ndots:5 timeout:2" in text
    with open(os.path.join(d, "hostname")) as f:
        assert f.read().strip() == "myhost"
    ip = status(berthd, pod_id).status.network.ip
    with open(os.path.join(d, "hosts")) as f:
        hosts = f.read()
    assert "127.0.0.1" in hosts and f"{ip}\tmyhost" in hosts.replace(" ", "\t")
    # A bad server is refused before anything is made.
    with pytest.raises(grpc.RpcError) as e:
        run_pod(berthd, pod_config(name="bad", dns=api_pb2.DNSConfig(servers=["not-an-ip"])))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_without_dns_config_host_resolv_conf_is_copied(berthd):
    pod_id = run_pod(berthd, pod_config())
    with open(os.path.join(berthd.root, "pods", pod_id, "resolv.conf")) as f, \
            open("/etc/resolv.conf") as host:
        assert f.read() == host.read()


def test_pods_reach_each_other(berthd):
    a = run_pod(berthd, pod_config(name="a"))
    b = run_pod(berthd, pod_config(name="b"))
    st_a = status(berthd, a, verbose=True)
    ip_b = status(berthd, b).status.network.ip
    out = in_netns(st_a, BUSYBOX, "ping", "-c", "1", "-W", "5", ip_b)
    assert out.returncode == 0, out.stdout + out.stderr


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_host_port_answers_on_loopback(berthd):
    host_port = free_port()
    pm = api_pb2.PortMapping(protocol=api_pb2.TCP, container_port=8080, host_port=host_port)
    zero = api_pb2.PortMapping(protocol=api_pb2.TCP, container_port=9090, host_port=0)
    pod_id = run_pod(berthd, pod_config(ports=[pm, zero]))
    info = json.loads(status(berthd, pod_id, verbose=True).info["info"])
    srv = subprocess.Popen(["nsenter", f"--net={info['netns']}", BUSYBOX, "nc", "-l", "-p", "8080",
                            "-e", "/bin/echo", "hello-from-pod"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def connect():
            try:
                with socket.create_connection(("127.0.0.1", host_port), timeout=2) as c:
                    return c.recv(100)
            except OSError:
                return None
        assert b"hello-from-pod" in wait_for(connect, timeout=10, step=0.2, what="hostPort")
    finally:
        srv.kill()
        srv.wait()


def test_host_network_pod(berthd):
    pod_id = run_pod(berthd, pod_config(host_network=True))
    st = status(berthd, pod_id, verbose=True)
    assert st.status.network.ip == ""
    assert st.status.linux.namespaces.options.network == api_pb2.NODE
    info = json.loads(st.info["info"])
    assert info.get("netns") is None
    assert berthd.leases() == []


def test_shared_pid_namespace_runs_infra(berthd):
    pod_id = run_pod(berthd, pod_config(pid=api_pb2.POD))
    info = json.loads(status(berthd, pod_id, verbose=True).info["info"])
    pid = info["pid"]
    assert pid > 0
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"/pause"
    # The infra process sits in the pod's network namespace.
    assert os.readlink(f"/proc/{pid}/ns/net") == os.readlink(f"/proc/{pid}/ns/net")
    berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split()[2] == "Z", what="infra gone")


def test_list_filters(berthd):
    a = run_pod(berthd, pod_config(name="a", labels={"app": "x", "env": "prod"}))
    b = run_pod(berthd, pod_config(name="b", labels={"app": "x", "env": "dev"}))
    c = run_pod(berthd, pod_config(name="c", labels={"app": "y"}))
    berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=c))
    assert list_ids(berthd) == {a, b, c}
    assert list_ids(berthd, id=a) == {a}
    assert list_ids(berthd, id=a[:12]) == {a}
    assert list_ids(berthd, id="0" * 64) == set()
    ready = api_pb2.PodSandboxStateValue(state=api_pb2.SANDBOX_READY)
    notready = api_pb2.PodSandboxStateValue(state=api_pb2.SANDBOX_NOTREADY)
    assert list_ids(berthd, state=ready) == {a, b}
    assert list_ids(berthd, state=notready) == {c}
    assert list_ids(berthd, label_selector={"app": "x"}) == {a, b}
    assert list_ids(berthd, label_selector={"app": "x", "env": "dev"}) == {b}
    assert list_ids(berthd, label_selector={"app": "x", "env": "qa"}) == set()
    assert list_ids(berthd, label_selector={"app": "y"}, state=ready) == set()
    items = berthd.runtime.ListPodSandbox(api_pb2.ListPodSandboxRequest()).items
    for p in items:
        assert p.created_at > 0 and p.metadata.namespace == "default"
        assert dict(p.annotations) == {"note": "kept as given"}


def test_stream_pod_sandboxes(berthd):
    stream = list(berthd.runtime.StreamPodSandboxes(api_pb2.StreamPodSandboxesRequest()))
    assert stream == []
    ids = {run_pod(berthd, pod_config(name=f"p{i}", host_network=True)) for i in range(5)}
    got = []
    for msg in berthd.runtime.StreamPodSandboxes(api_pb2.StreamPodSandboxesRequest()):
        assert len(msg.pod_sandboxes) >= 1
        got += [p.id for p in msg.pod_sandboxes]
    assert sorted(got) == sorted(ids)
    one = next(iter(ids))
    got = [p.id for m in berthd.runtime.StreamPodSandboxes(api_pb2.StreamPodSandboxesRequest(
        filter=api_pb2.PodSandboxFilter(id=one))) for p in m.pod_sandboxes]
    assert got == [one]


def test_short_ids(berthd):
    ids = [run_pod(berthd, pod_config(name=f"s{i}", host_network=True)) for i in range(17)]
    by_first = {}
    for i in ids:
        by_first.setdefault(i[0], []).append(i)
    shared = next(v for v in by_first.values() if len(v) > 1)  # 17 ids, 16 digits
    with pytest.raises(grpc.RpcError) as e:
        status(berthd, shared[0][0])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "matches" in e.value.details()
    unique = ids[0][:20]
    assert status(berthd, unique).status.id == ids[0]
    berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=unique))
    berthd.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=unique))
    assert ids[0] not in list_ids(berthd)


def test_stats(berthd):
    pod_id = run_pod(berthd, pod_config(pid=api_pb2.POD))
    st = berthd.runtime.PodSandboxStats(api_pb2.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats
    assert st.attributes.id == pod_id
    assert st.attributes.metadata.name == "web"
    assert dict(st.attributes.labels) == {"app": "web"}
    assert st.linux.cpu.timestamp > 0
    assert st.linux.memory.working_set_bytes.value >= 0
    assert st.linux.memory.usage_bytes.value > 0  # the infra process
    assert st.linux.network.default_interface.name == "eth0"
    rx0 = st.linux.network.default_interface.rx_bytes.value
    ip = status(berthd, pod_id).status.network.ip
    subprocess.run([BUSYBOX, "ping", "-c", "3", "-i", "0.2", ip], capture_output=True)
    st = berthd.runtime.PodSandboxStats(api_pb2.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats
    assert st.linux.network.default_interface.rx_bytes.value > rx0
    lst = berthd.runtime.ListPodSandboxStats(api_pb2.ListPodSandboxStatsRequest()).stats
    assert [s.attributes.id for s in lst] == [pod_id]
    lst = berthd.runtime.ListPodSandboxStats(api_pb2.ListPodSandboxStatsRequest(
        filter=api_pb2.PodSandboxStatsFilter(label_selector={"app": "other"}))).stats
    assert list(lst) == []
    got = [s.attributes.id for m in berthd.runtime.StreamPodSandboxStats(
        api_pb2.StreamPodSandboxStatsRequest()) for s in m.pod_sandbox_stats]
    assert got == [pod_id]


def test_concurrent_runs(berthd):
    ids, errors = [], []

    def worker(i):
        try:
            ids.append(run_pod(berthd, pod_config(name=f"c{i}")))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ips = {status(berthd, i).status.network.ip for i in ids}
    assert len(ips) == 8
    for i in ids:
        berthd.runtime.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=i))
        berthd.runtime.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=i))
    assert berthd.leases() == []
    assert os.listdir(os.path.join(berthd.runroot, "ns")) == []
