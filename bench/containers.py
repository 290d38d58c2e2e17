#!/usr/bin/python3
"""Container latency and berthd memory: CreateContainer, StartContainer,
StopContainer, RemoveContainer over N containers in one pod; pod+container
start-to-running; sequential and with K concurrent clients; berthd RSS idle,
with N running containers, and after a number of create/remove cycles.

    bench/containers.py [--containers 50] [--clients 8] [--running 100]
                        [--cycles 200] [--markdown]

It starts its own berthd (bench/pods.py's set-up), a local registry with
the fixture busybox image, and cleans up everything. A benchmark, not a
test: it prints figures and asserts nothing."""
import argparse
import concurrent.futures
import os
import platform
import shutil
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "bench"))
import pods as podbench  # noqa: E402
from pods import api_pb2, api_pb2_grpc, markdown_rows, summary  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def monitors_rss_kib(base):
    """RSS of every berth-conmon whose socket dir is under base."""
    total = n = 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"berth-conmon") and base.encode() in b" ".join(args):
            total += rss_kib(p)
            n += 1
    return total, n


def pod_config(tag):
    return api_pb2.PodSandboxConfig(
        metadata=api_pb2.PodSandboxMetadata(name=f"bench-{tag}", namespace="bench",
                                            uid=f"uid-{tag}"),
        hostname="bench", log_directory="/tmp/berth-bench-logs",
        linux=api_pb2.LinuxPodSandboxConfig(security_context=api_pb2.LinuxSandboxSecurityContext(
            namespace_options=api_pb2.NamespaceOption(pid=api_pb2.CONTAINER))))


def ctr_config(image, name, cmd=("sleep", "100000")):
    return api_pb2.ContainerConfig(
        metadata=api_pb2.ContainerMetadata(name=name), image=api_pb2.ImageSpec(image=image),
        command=list(cmd), log_path=f"{name}.log",
        linux=api_pb2.LinuxContainerConfig(security_context=api_pb2.LinuxContainerSecurityContext(
            namespace_options=api_pb2.NamespaceOption(pid=api_pb2.CONTAINER))))


class Bench:
    def __init__(self, rt, image, pod_id, pcfg):
        self.rt, self.image, self.pod_id, self.pcfg = rt, image, pod_id, pcfg

    def timed(self, fn, req):
        t = time.perf_counter()
        r = fn(req)
        return r, time.perf_counter() - t

    def lifecycle(self, name):
        rt = self.rt
        r, tc = self.timed(rt.CreateContainer, api_pb2.CreateContainerRequest(
            pod_sandbox_id=self.pod_id, config=ctr_config(self.image, name),
            sandbox_config=self.pcfg))
        cid = r.container_id
        _, ts = self.timed(rt.StartContainer, api_pb2.StartContainerRequest(container_id=cid))
        _, tp = self.timed(rt.StopContainer,
                           api_pb2.StopContainerRequest(container_id=cid, timeout=0))
        _, tr = self.timed(rt.RemoveContainer, api_pb2.RemoveContainerRequest(container_id=cid))
        return tc, ts, tp, tr


def start_to_running(rt, image, tag):
    t = time.perf_counter()
    pcfg = pod_config(tag)
    pod = rt.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg)).pod_sandbox_id
    cid = rt.CreateContainer(api_pb2.CreateContainerRequest(
        pod_sandbox_id=pod, config=ctr_config(image, "app"), sandbox_config=pcfg)).container_id
    rt.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
    while rt.ContainerStatus(api_pb2.ContainerStatusRequest(
            container_id=cid)).status.state != api_pb2.CONTAINER_RUNNING:
        pass
    took = time.perf_counter() - t
    rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod))
    rt.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod))
    return took


def run(args, base, rt, image, proc):
    rows, mem = [], []
    mem.append(("berthd idle", rss_kib(proc.pid), 0, 0))
    pcfg = pod_config("ctr")
    pod_id = rt.RunPodSandbox(api_pb2.RunPodSandboxRequest(config=pcfg)).pod_sandbox_id
    b = Bench(rt, image, pod_id, pcfg)
    b.lifecycle("warm")
    for clients in (1, args.clients):
        with concurrent.futures.ThreadPoolExecutor(clients) as ex:
            t0 = time.perf_counter()
            res = list(ex.map(lambda i: b.lifecycle(f"c{clients}-{i}"), range(args.containers)))
            wall = time.perf_counter() - t0
        for k, name in enumerate(("Create", "Start", "Stop", "Remove")):
            rows.append(summary(f"{name}Container x{clients}", [r[k] for r in res], wall))
        with concurrent.futures.ThreadPoolExecutor(clients) as ex:
            t0 = time.perf_counter()
            res = list(ex.map(lambda i: start_to_running(rt, image, f"s{clients}-{i}"),
                              range(args.containers)))
            rows.append(summary(f"pod+container to RUNNING x{clients}", res,
                                time.perf_counter() - t0))
    ids = []
    for i in range(args.running):
        cid = rt.CreateContainer(api_pb2.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=ctr_config(image, f"r{i}"), sandbox_config=pcfg)).container_id
        rt.StartContainer(api_pb2.StartContainerRequest(container_id=cid))
        ids.append(cid)
    mon, n = monitors_rss_kib(base)
    mem.append((f"berthd with {args.running} running", rss_kib(proc.pid), mon, n))
    t = []
    for _ in range(200):
        t0 = time.perf_counter()
        rt.ListContainers(api_pb2.ListContainersRequest())
        t.append(time.perf_counter() - t0)
    rows.append(summary(f"ListContainers at {args.running}", t, sum(t)))
    for cid in ids:
        rt.StopContainer(api_pb2.StopContainerRequest(container_id=cid, timeout=0))
        rt.RemoveContainer(api_pb2.RemoveContainerRequest(container_id=cid))
    for i in range(args.cycles):
        b.lifecycle(f"cy{i}")
    mem.append((f"berthd after {args.cycles} more cycles", rss_kib(proc.pid), 0, 0))
    rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    rt.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    return rows, mem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--containers", type=int, default=50)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--running", type=int, default=100)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--bin-dir", default=os.path.join(REPO, "bin"))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    try:
        with podbench.busybox_berthd(args.bin_dir) as (base, proc, ch, image):
            rows, mem = run(args, base, api_pb2_grpc.RuntimeServiceStub(ch), image, proc)
    finally:
        shutil.rmtree("/tmp/berth-bench-logs", ignore_errors=True)
    head = (f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Linux {platform.release()}; "
            f"`bench/containers.py --containers {args.containers} --clients {args.clients} "
            f"--running {args.running} --cycles {args.cycles}`")
    if args.markdown:
        print(head + "\n")
        markdown_rows(rows)
        print("\n| memory | berthd VmRSS KiB | monitors VmRSS KiB (count) |")
        print("|---|---|---|")
        for name, b, m, n in mem:
            print(f"| {name} | {b} | {m} ({n}) |" if n else f"| {name} | {b} | — |")
    else:
        print(head)
        for r in rows:
            print(r)
        for m in mem:
            print(m)


if __name__ == "__main__":
    main()
