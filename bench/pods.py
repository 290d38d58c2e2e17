#!/usr/bin/python3
"""Pod sandbox latency: RunPodSandbox and StopPodSandbox+RemovePodSandbox
over N pods, sequential and with K concurrent clients, against a berthd it
starts itself on a temporary root with the contrib bridge network.

    bench/pods.py [--pods 50] [--clients 8] [--markdown]

A benchmark, not a test: it prints figures and asserts nothing."""
import argparse
import concurrent.futures
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.environ.get("BERTH_PYSTUBS", os.path.join(REPO, "build", "py")))
import grpc  # noqa: E402
import api_pb2  # noqa: E402
import api_pb2_grpc  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def summary(name, xs, wall):
    ms = [x * 1000 for x in xs]
    return {"scenario": name, "count": len(xs), "p50_ms": pct(ms, 50), "p90_ms": pct(ms, 90),
            "p99_ms": pct(ms, 99), "max_ms": max(ms), "per_s": len(xs) / wall}


def start_berthd(base, bin_dir, ipmasq=True, log_level="warn", extra=()):
    cni = os.path.join(base, "cni")
    os.makedirs(cni)
    with open(os.path.join(REPO, "contrib", "cni", "10-berth.conflist")) as f:
        conf = json.load(f)
    conf["plugins"][0]["bridge"] = "berth-bench0"
    conf["plugins"][0]["ipMasq"] = ipmasq
    conf["plugins"][0]["ipam"]["ranges"] = [[{"subnet": "10.247.250.0/24"}]]
    conf["plugins"][0]["ipam"]["dataDir"] = os.path.join(base, "ipam")
    with open(os.path.join(cni, "10-berth.conflist"), "w") as f:
        json.dump(conf, f)
    sock = os.path.join(base, "run", "berth.sock")
    log = open(os.path.join(base, "berthd.log"), "w")
    proc = subprocess.Popen([os.path.join(bin_dir, "berthd"), "--config", "/dev/null",
                             "--config-dir", os.path.join(base, "none"),
                             "--root", os.path.join(base, "root"),
                             "--runroot", os.path.join(base, "run"), "--listen", sock,
                             "--cni-config-dir", cni, "--log-level", log_level,
                             *extra],
                            stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not os.path.exists(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("berthd did not start; see " + log.name)
        time.sleep(0.02)
    ch = grpc.insecure_channel("unix://" + sock)
    grpc.channel_ready_future(ch).result(timeout=30)
    return proc, ch


def remove_base(base, keep=False):
    """Undo what start_berthd and the pods left behind under base; keep
    leaves the directory (and berthd.log in it) on disk."""
    subprocess.run(["ip", "link", "del", "berth-bench0"], capture_output=True)
    with open("/proc/self/mountinfo") as f:
        mounts = [ln.split()[4] for ln in f if ln.split()[4].startswith(base + "/")]
    for m in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)
    if not keep:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def busybox_berthd(bin_dir):
    """A berthd on a temporary root, a local registry holding the fixture
    busybox image, and that image pulled: yields (base, proc, channel,
    image) and tears all of it down on the way out."""
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
    import images
    import registry
    base = tempfile.mkdtemp(prefix="berth-bench-")
    reg = registry.Registry()
    proc = ch = None
    try:
        built = images.build_all(os.path.join(base, "images"))
        reg.start()
        registry.push(built["busybox"].layout, "latest", reg, "berth/busybox")
        image = f"{reg.host}/berth/busybox:latest"
        proc, ch = start_berthd(base, bin_dir, extra=["--insecure-registry", reg.host])
        api_pb2_grpc.ImageServiceStub(ch).PullImage(
            api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=image)))
        yield base, proc, ch, image
    finally:
        if ch is not None:
            ch.close()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        reg.stop()
        remove_base(base)


def markdown_rows(rows):
    """The latency table every bench script prints with --markdown."""
    print("| scenario | count | p50 ms | p90 ms | p99 ms | max ms | per s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['count']} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
              f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['per_s']:.1f} |")


def config(i, tag):
    return api_pb2.PodSandboxConfig(
        metadata=api_pb2.PodSandboxMetadata(name=f"bench-{tag}-{i}", namespace="bench",
                                            uid=f"uid-{tag}-{i}"),
        hostname=f"bench-{i}",
        linux=api_pb2.LinuxPodSandboxConfig(security_context=api_pb2.LinuxSandboxSecurityContext(
            namespace_options=api_pb2.NamespaceOption(pid=api_pb2.CONTAINER))))


def timed(fn, *a):
    t = time.perf_counter()
    r = fn(*a)
    return r, time.perf_counter() - t


def one_run(rt, i, tag):
    pid, t = timed(rt.RunPodSandbox, api_pb2.RunPodSandboxRequest(config=config(i, tag)))
    return pid.pod_sandbox_id, t


def one_teardown(rt, pod_id):
    t = time.perf_counter()
    rt.StopPodSandbox(api_pb2.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    rt.RemovePodSandbox(api_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    return time.perf_counter() - t


def scenario(rt, n, clients, tag):
    with concurrent.futures.ThreadPoolExecutor(clients) as ex:
        t0 = time.perf_counter()
        runs = list(ex.map(lambda i: one_run(rt, i, tag), range(n)))
        run_wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        downs = list(ex.map(lambda r: one_teardown(rt, r[0]), runs))
        down_wall = time.perf_counter() - t0
    return [summary(f"RunPodSandbox x{clients}", [t for _, t in runs], run_wall),
            summary(f"Stop+RemovePodSandbox x{clients}", downs, down_wall)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--bin-dir", default=os.path.join(REPO, "bin"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-ipmasq", action="store_true",
                    help="bridge without ipMasq (its iptables calls cost ~80 ms per ADD)")
    ap.add_argument("--log-level", default="warn", help="berthd's (debug shows per-step times)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir and its berthd.log")
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="berth-bench-")
    proc, ch = start_berthd(base, args.bin_dir, not args.no_ipmasq, args.log_level)
    try:
        rt = api_pb2_grpc.RuntimeServiceStub(ch)
        one_teardown(rt, one_run(rt, 0, "warm")[0])
        rows = scenario(rt, args.pods, 1, "seq") + scenario(rt, args.pods, args.clients, "par")
    finally:
        ch.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        remove_base(base, args.keep)
        if args.keep:
            print("kept", base, file=sys.stderr)
    if args.markdown:
        masq = "without" if args.no_ipmasq else "with"
        flags = " --no-ipmasq" if args.no_ipmasq else ""
        print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Linux "
              f"{platform.release()}; bridge ({masq} ipMasq) + host-local + portmap + "
              f"bandwidth; `bench/pods.py --pods {args.pods} --clients {args.clients}{flags}`\n")
        markdown_rows(rows)
    else:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
