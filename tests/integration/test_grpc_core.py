"""The gRPC core: every method registered, UNIMPLEMENTED for the ones not
built yet, bad bodies, message size, socket handling and shutdown."""
import os
import signal
import socket
import stat
import threading
import time

import grpc
import pytest

from conftest import api_pb2, run_berthd

IMPLEMENTED = {
    "RuntimeService": {"Version", "Status", "RuntimeConfig", "UpdateRuntimeConfig",
                       "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox",
                       "PodSandboxStatus", "ListPodSandbox", "StreamPodSandboxes",
                       "PodSandboxStats", "ListPodSandboxStats", "StreamPodSandboxStats",
                       "CreateContainer", "StartContainer", "StopContainer",
                       "RemoveContainer", "ContainerStatus", "ListContainers",
                       "StreamContainers", "ExecSync", "ReopenContainerLog",
                       "GetContainerEvents", "ContainerStats", "ListContainerStats",
                       "StreamContainerStats", "UpdateContainerResources",
                       "UpdatePodSandboxResources", "Exec", "Attach", "PortForward",
                       "ListMetricDescriptors", "ListPodSandboxMetrics",
                       "StreamPodSandboxMetrics"},
    "ImageService": {"ImageFsInfo", "ListImages", "StreamImages", "ImageStatus",
                     "PullImage", "RemoveImage"},
}


def all_methods():
    for svc in api_pb2.DESCRIPTOR.services_by_name.values():
        for m in svc.methods:
            yield svc, m


def test_proto_has_41_rpcs():
    assert len(list(all_methods())) == 41


def call_raw(channel, path, body=b"", streaming=False, timeout=10):
    ident = lambda x: x  # noqa: E731
    if streaming:
        fn = channel.unary_stream(path, request_serializer=ident, response_deserializer=ident)
        return list(fn(body, timeout=timeout))
    fn = channel.unary_unary(path, request_serializer=ident, response_deserializer=ident)
    return fn(body, timeout=timeout)


def test_unimplemented_rpcs_say_so(berthd):
    for svc, m in all_methods():
        if m.name in IMPLEMENTED[svc.name]:
            continue
        path = f"/{svc.full_name}/{m.name}"
        with pytest.raises(grpc.RpcError) as e:
            call_raw(berthd.channel, path, streaming=m.server_streaming)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED, path
        assert path in e.value.details()


def test_unknown_method(berthd):
    with pytest.raises(grpc.RpcError) as e:
        call_raw(berthd.channel, "/runtime.v1.RuntimeService/NoSuchThing")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "/runtime.v1.RuntimeService/NoSuchThing" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        call_raw(berthd.channel, "/runtime.v1alpha2.RuntimeService/Version")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("body", [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x08", b"\x0a\xff\xff\xff\xff\x0f"])
def test_garbage_body_is_invalid_argument(berthd, body):
    with pytest.raises(grpc.RpcError) as e:
        call_raw(berthd.channel, "/runtime.v1.RuntimeService/UpdateRuntimeConfig", body)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UpdateRuntimeConfigRequest" in e.value.details()
    # Still serving.
    assert berthd.runtime.Version(api_pb2.VersionRequest()).runtime_name == "berth"


def test_invalid_utf8_is_invalid_argument(berthd):
    cidr = b"\x0a\x02\xff\xfe"                    # NetworkConfig.pod_cidr
    net = b"\x0a" + bytes([len(cidr)]) + cidr     # RuntimeConfig.network_config
    body = b"\x0a" + bytes([len(net)]) + net      # UpdateRuntimeConfigRequest.runtime_config
    with pytest.raises(grpc.RpcError) as e:
        call_raw(berthd.channel, "/runtime.v1.RuntimeService/UpdateRuntimeConfig", body)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "runtime_config.network_config.pod_cidr" in e.value.details()
    assert "UTF-8" in e.value.details()


def test_max_message_size(make_berthd):
    b = make_berthd(extra_args=["--grpc-max-recv-msg-size", "2048"]).start()
    req = api_pb2.UpdateRuntimeConfigRequest(runtime_config=api_pb2.RuntimeConfig(
        network_config=api_pb2.NetworkConfig(pod_cidr="1" * 4096)))
    with pytest.raises(grpc.RpcError) as e:
        b.runtime.UpdateRuntimeConfig(req)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert b.runtime.Version(api_pb2.VersionRequest()).runtime_name == "berth"


def test_many_concurrent_calls(berthd):
    errors = []

    def worker():
        try:
            for _ in range(50):
                assert berthd.runtime.Version(api_pb2.VersionRequest()).runtime_api_version == "v1"
                berthd.runtime.Status(api_pb2.StatusRequest(verbose=True))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_socket_is_0660(berthd):
    mode = stat.S_IMODE(os.stat(berthd.sock).st_mode)
    assert mode == 0o660, oct(mode)


def test_second_berthd_refused(berthd, make_berthd):
    other = make_berthd("second")
    other.args[other.args.index("--listen") + 1] = berthd.sock
    other.start(wait=False)
    rc = other.proc.wait(30)
    assert rc != 0
    assert f"another berthd is listening on {berthd.sock}" in other.logs()
    # The first one is untouched.
    assert berthd.runtime.Version(api_pb2.VersionRequest()).runtime_name == "berth"


def test_stale_socket_replaced(make_berthd):
    b = make_berthd()
    os.makedirs(b.runroot, exist_ok=True)
    s = socket.socket(socket.AF_UNIX)
    s.bind(b.sock)
    s.close()  # bound, never listened, not unlinked: stale
    b.start()
    assert b.runtime.Version(api_pb2.VersionRequest()).runtime_name == "berth"


def test_path_that_is_not_a_socket_refused(make_berthd):
    b = make_berthd()
    os.makedirs(b.runroot, exist_ok=True)
    with open(b.sock, "w") as f:
        f.write("not a socket")
    b.start(wait=False)
    assert b.proc.wait(30) != 0
    assert "is not a socket" in b.logs()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(make_berthd, sig):
    b = make_berthd().start()
    assert b.runtime.Version(api_pb2.VersionRequest()).runtime_name == "berth"
    rc = b.stop(sig)
    assert rc == 0, b.logs()
    assert not os.path.exists(b.sock)
    assert "stopped" in b.logs()


def test_sigterm_with_calls_in_flight(make_berthd):
    """Calls racing a SIGTERM either complete or fail cleanly, and berthd
    exits 0 within its grace period."""
    b = make_berthd().start()
    stub = b.runtime
    results = {"ok": 0, "unavailable": 0, "other": []}
    stop = threading.Event()

    def caller():
        while not stop.is_set():
            try:
                stub.Status(api_pb2.StatusRequest(verbose=True), timeout=5)
                results["ok"] += 1
            except grpc.RpcError as e:
                if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    results["unavailable"] += 1
                    return
                results["other"].append(e)
                return
    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    b.proc.send_signal(signal.SIGTERM)
    rc = b.proc.wait(30)
    elapsed = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join(10)
    assert rc == 0, b.logs()
    assert elapsed < 5, elapsed
    assert results["ok"] > 0
    assert not results["other"], results["other"]


def test_help_and_version():
    r = run_berthd("--help")
    assert r.returncode == 0
    for flag in ("--config", "--config-dir", "--root", "--runroot", "--listen", "--log-level",
                 "--cni-config-dir", "--default-runtime", "--cgroup-manager"):
        assert flag in r.stdout, flag
    r = run_berthd("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("berthd version ")
