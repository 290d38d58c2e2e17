#!/usr/bin/python3
"""Streaming figures: Exec round-trip of `true` (the RPC, the upgrade, the
exec monitor, the runtime's exec, the exit status back), and port-forward
throughput from a pod to the client on loopback.

    bench/streaming.py [--execs 50] [--mib 1024] [--markdown]

Exec is timed from the Exec RPC to the Status on the error channel, with a
WebSocket v5 client written in Python (tests/integration/wsclient.py).
Port-forward reads --mib MiB that a busybox `nc` in the pod writes, through
`crictl port-forward` (SPDY, Go's client) when crictl is built at
/opt/cri-tools, and through berth's WebSocket v4 port-forward read here.
It starts its own berthd and registry (bench/pods.py's set-up) and cleans
up. A benchmark, not a test: it prints figures and asserts nothing."""
import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "bench"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import pods as podbench  # noqa: E402
from pods import api_pb2, api_pb2_grpc, markdown_rows, summary  # noqa: E402
from wsclient import WebSocket  # noqa: E402

CRICTL = "/opt/cri-tools/bin/crictl"


def exec_roundtrips(rt, cid, n):
    times = []
    t0 = time.monotonic()
    for _ in range(n):
        s = time.monotonic()
        url = rt.Exec(api_pb2.ExecRequest(container_id=cid, cmd=["true"], stdout=True,
                                          stderr=True)).url
        ws = WebSocket(url, ["v5.channel.k8s.io"])
        status = None
        while (m := ws.recv()) is not None:
            if m[1][:1] == b"\x03":
                status = json.loads(m[1][1:])
        ws.close()
        times.append(time.monotonic() - s)
        assert status and status["status"] == "Success", status
    return summary("exec true round-trip (WebSocket v5)", times, time.monotonic() - t0)


def read_all(sock, want):
    buf = bytearray(1 << 20)
    got = 0
    while got < want:
        n = sock.recv_into(buf)
        if n == 0:
            break
        got += n
    return got


def pf_crictl(sock_path, pod_id, want):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([CRICTL, "--runtime-endpoint", f"unix://{sock_path}", "port-forward",
                          pod_id, f"{port}:9000"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        t0 = time.monotonic()
        got = read_all(c, want)
        took = time.monotonic() - t0
        c.close()
    finally:
        p.kill()
        p.wait()
    return got, took


def pf_websocket(rt, pod_id, want):
    url = rt.PortForward(api_pb2.PortForwardRequest(pod_sandbox_id=pod_id, port=[9000])).url
    ws = WebSocket(url + "?port=9000", ["v4.channel.k8s.io"])
    got = 0
    t0 = None
    while got < want and (m := ws.recv()) is not None:
        if t0 is None:
            t0 = time.monotonic()
        if m[1][:1] == b"\x00":
            got += len(m[1]) - 1
    took = time.monotonic() - t0
    ws.sock.close()
    return max(0, got - 2), took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--execs", type=int, default=50)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--bin-dir", default=os.path.join(REPO, "bin"))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows, pf = [], []
    want = args.mib << 20
    with podbench.busybox_berthd(args.bin_dir) as (base, proc, ch, image):
        rt = api_pb2_grpc.RuntimeServiceStub(ch)
        pcfg = podbench.config(0, "stream")
        pcfg.linux.security_context.namespace_options.pid = api_pb2.CONTAINER
        pod_id = rt.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg)).pod_sandbox_id
        # Each connection gets zeros until it closes.
        cmd = ["sh", "-c", "exec nc -ll -p 9000 -e cat /dev/zero"]
        cid = rt.CreateContainer(api_pb2.CreateContainerRequest(
            pod_sandbox_id=pod_id, sandbox_config=pcfg, config=api_pb2.ContainerConfig(
                metadata=api_pb2.ContainerMetadata(name="srv"),
                image=api_pb2.ImageSpec(image=image), command=cmd,
                linux=api_pb2.LinuxContainerConfig(
                    security_context=api_pb2.LinuxContainerSecurityContext(
                        namespace_options=api_pb2.NamespaceOption(pid=api_pb2.CONTAINER)))))
        ).container_id
        rt.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
        exec_roundtrips(rt, cid, 3)  # warm up
        rows.append(exec_roundtrips(rt, cid, args.execs))
        sock_path = os.path.join(base, "run", "berth.sock")
        if os.access(CRICTL, os.X_OK):
            got, took = pf_crictl(sock_path, pod_id, want)
            pf.append(("crictl port-forward (SPDY)", got, took))
        got, took = pf_websocket(rt, pod_id, want)
        pf.append(("WebSocket v4, read by this script", got, took))
        rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
        rt.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    head = (f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Linux {platform.release()}; "
            f"`bench/streaming.py --execs {args.execs} --mib {args.mib}`")
    if args.markdown:
        print(head + "\n")
        markdown_rows(rows)
        print("\n| port-forward, pod to client | MiB | seconds | MiB/s |")
        print("|---|---|---|---|")
        for name, got, took in pf:
            print(f"| {name} | {got >> 20} | {took:.2f} | {(got >> 20) / took:.0f} |")
    else:
        print(head)
        for r in rows:
            print(json.dumps(r))
        for name, got, took in pf:
            print(f"{name}: {got >> 20} MiB in {took:.2f} s = {(got >> 20) / took:.0f} MiB/s")


if __name__ == "__main__":
    main()
