#!/usr/bin/python3
"""Image pulls: PullImage of a ~100 MiB, 5-layer image from a local
docker-registry into a berthd it starts itself, cold (empty store) and with
the base layer already present (a second image that shares it), next to
what the registry serves the same blobs in (tests/tools/registry-fetch to
disk); and the disk the two images take (ImageFsInfo and du of the store).

    bench/pull.py [--runs 3] [--layer-mib 20] [--parallel 3] [--markdown]

The images are made deterministically with tests/fixtures/images.py: each
layer holds seeded random bytes (gzip cannot shrink them), image A is
[base, a1..a4] and image B [base, b1..b4]. A benchmark, not a test: it
prints figures and asserts nothing. Needs root, docker-registry, skopeo."""
import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.environ.get("BERTH_PYSTUBS", os.path.join(REPO, "build", "py")))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
import grpc  # noqa: E402
import api_pb2  # noqa: E402
import api_pb2_grpc  # noqa: E402
import images  # noqa: E402
import registry  # noqa: E402

MIB = 1 << 20


def random_layer(name, seed, size):
    data = random.Random(seed).randbytes(size)
    return images.make_layer(name, [images.d("data"), images.f(f"data/{name}.bin", data)])


def build(outdir, layer_mib):
    """Image A = base + a1..a4, image B = base + b1..b4, in OCI layouts."""
    size = layer_mib * MIB
    base = images.make_layer("base", images.base_layer().entries +
                             [images.d("data"), images.f("data/base.bin",
                                                         random.Random(0).randbytes(size))])
    a = [random_layer(f"a{i}", 100 + i, size) for i in range(1, 5)]
    b = [random_layer(f"b{i}", 200 + i, size) for i in range(1, 5)]
    return (images.single_image(outdir, "bench-a", [base] + a),
            images.single_image(outdir, "bench-b", [base] + b))


def start_berthd(base, bin_dir, parallel, log_level):
    for d in ("cni", "none"):
        os.makedirs(os.path.join(base, d))
    sock = os.path.join(base, "run", "berth.sock")
    log = open(os.path.join(base, "berthd.log"), "w")
    proc = subprocess.Popen([os.path.join(bin_dir, "berthd"), "--config", "/dev/null",
                             "--config-dir", os.path.join(base, "none"),
                             "--root", os.path.join(base, "root"),
                             "--runroot", os.path.join(base, "run"), "--listen", sock,
                             "--cni-config-dir", os.path.join(base, "cni"),
                             "--registries-conf", os.path.join(base, "none", "registries.conf"),
                             "--max-parallel-downloads", str(parallel),
                             "--log-level", log_level], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not os.path.exists(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("berthd did not start; see " + log.name)
        time.sleep(0.02)
    ch = grpc.insecure_channel("unix://" + sock)
    grpc.channel_ready_future(ch).result(timeout=30)
    return proc, ch


def timed(fn, *a, **kw):
    t = time.perf_counter()
    fn(*a, **kw)
    return time.perf_counter() - t


def spec(name):
    return api_pb2.ImageSpec(image=name)


def pull(img, name):
    img.PullImage(api_pb2.PullImageRequest(image=spec(name)), timeout=600)


def remove(img, name):
    img.RemoveImage(api_pb2.RemoveImageRequest(image=spec(name)))


def fs_used(img):
    return img.ImageFsInfo(api_pb2.ImageFsInfoRequest()).image_filesystems[0].used_bytes.value


def du(path):
    out = subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout
    return int(out.split()[0])


def registry_fetch(name, tmp, parallel):
    """The same blobs straight to disk: what the registry can serve."""
    tool = os.path.join(REPO, "build", "release", "tests", "tools", "registry-fetch")
    if not os.access(tool, os.X_OK):
        return None
    out = tempfile.mkdtemp(dir=tmp)
    t = timed(subprocess.run, [tool, "--parallel", str(parallel), name, out], check=True,
              capture_output=True)
    shutil.rmtree(out)
    return t


def cpu_seconds(pid):
    """utime + stime of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_cpu(pid, fn, *a):
    c = cpu_seconds(pid)
    t = timed(fn, *a)
    return t, cpu_seconds(pid) - c


FETCH, COLD, WARM = ("registry-fetch to disk (A, all 5 blobs)", "PullImage A, cold",
                     "PullImage B, base present")


def scenarios(img, pid, host, runs, parallel, tmp):
    """Wall seconds per scenario, and berthd's CPU seconds for the pulls."""
    a, b = f"{host}/bench/a:latest", f"{host}/bench/b:latest"
    rows, cpu = {FETCH: [], COLD: [], WARM: []}, {COLD: [], WARM: []}
    for _ in range(runs):
        t = registry_fetch(a, tmp, parallel)
        if t is not None:
            rows[FETCH].append(t)
        for name, ref in ((COLD, a), (WARM, b)):
            t, c = timed_cpu(pid, pull, img, ref)
            rows[name].append(t)
            cpu[name].append(c)
        remove(img, b)
        remove(img, a)
    return {k: v for k, v in rows.items() if v}, cpu


def disk(img, host, store):
    a, b = f"{host}/bench/a:latest", f"{host}/bench/b:latest"
    empty = (fs_used(img), du(store))
    pull(img, a)
    one = (fs_used(img), du(store))
    pull(img, b)
    two = (fs_used(img), du(store))
    remove(img, b)
    remove(img, a)
    return [("empty store", *empty), ("after A", *one), ("after A and B", *two),
            ("B's own cost", two[0] - one[0], two[1] - one[1])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--layer-mib", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=3, help="max_parallel_downloads")
    ap.add_argument("--bin-dir", default=os.path.join(REPO, "bin"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--log-level", default="warn", help="berthd's (info shows per-layer times)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir and its berthd.log")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="berth-bench-pull-")
    t0 = time.perf_counter()
    img_a, img_b = build(os.path.join(tmp, "layouts"), args.layer_mib)
    built_s = time.perf_counter() - t0
    size_a = sum(s for _, _, s in img_a.layers)
    size_b_new = sum(s for _, _, s in img_b.layers[1:])
    with registry.Registry() as reg:
        registry.push(img_a.layout, "latest", reg, "bench/a")
        registry.push(img_b.layout, "latest", reg, "bench/b")
        proc, ch = start_berthd(os.path.join(tmp, "b"), args.bin_dir, args.parallel,
                                args.log_level)
        try:
            img = api_pb2_grpc.ImageServiceStub(ch)
            times, cpu = scenarios(img, proc.pid, reg.host, args.runs, args.parallel, tmp)
            space = disk(img, reg.host, os.path.join(tmp, "b", "root", "storage"))
        finally:
            ch.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            if args.keep:
                print("kept", tmp, file=sys.stderr)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    report(args, times, cpu, space, size_a, size_b_new, built_s)


def report(args, times, cpu, space, size_a, size_b_new, built_s):
    if not args.markdown:
        print(json.dumps({"image_a_compressed_bytes": size_a, "build_s": built_s,
                          "times_s": times, "berthd_cpu_s": cpu, "disk": space}, indent=1))
        return
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Linux {platform.release()}; "
          f"image A {size_a / MIB:.1f} MiB compressed in 5 layers; "
          f"`bench/pull.py --runs {args.runs} --layer-mib {args.layer_mib} "
          f"--parallel {args.parallel}`\n")
    print("| scenario | runs | median s | min s | max s | MiB/s downloaded (median) "
          "| berthd CPU s (median) |")
    print("|---|---|---|---|---|---|---|")
    for name, xs in times.items():
        mib = (size_b_new if name == WARM else size_a) / MIB
        med = statistics.median(xs)
        c = f"{statistics.median(cpu[name]):.2f}" if name in cpu else "-"
        print(f"| {name} | {len(xs)} | {med:.2f} | {min(xs):.2f} | {max(xs):.2f} | "
              f"{mib / med:.0f} | {c} |")
    print("\n| store | ImageFsInfo used MiB | du -sb MiB |")
    print("|---|---|---|")
    for name, used, d in space:
        print(f"| {name} | {used / MIB:.1f} | {d / MIB:.1f} |")


if __name__ == "__main__":
    main()
