#!/usr/bin/python3
"""The images bench/compare.sh runs, served by a local registry it owns.

Builds three images with tests/fixtures/images.py (and, with --dedup-mib,
the dedup set), starts the test suite's docker-registry on 127.0.0.1
(tests/fixtures/registry.py), pushes them, and writes what the servers
need to a JSON state file:

    {"pid": 123, "host": "127.0.0.1:PORT",
     "images": {"busybox": "127.0.0.1:PORT/bench/busybox:latest",
                "pull": "127.0.0.1:PORT/bench/layers:latest",
                "pause": "127.0.0.1:PORT/bench/pause:latest"},
     "dedup": ["127.0.0.1:PORT/bench/dedup-1:latest", ...]}

  busybox  the fixture busybox image: what every container runs
  layers   busybox plus four layers of seeded random bytes (gzip cannot
           shrink them): the pull scenario's image
  pause    berth's own static bin/berth-pause as /pause: containerd's
           sandbox_image (berth needs none)
  dedup-1..5  the dedup scenario's images, as an image rebuilt five times
           comes out of a registry: busybox plus one layer each holding
           the same files (~10 a MiB, 1 KiB to ~1 MiB of seeded random
           bytes, --dedup-mib in all, under /opt/shared) and a file of its
           own (/opt/build-id), every entry with another mtime; so the
           five layers have five digests and diff_ids but share all but
           one file. "dedup" is an empty list without --dedup-mib.

Then it serves until SIGTERM or SIGINT and stops exactly the registry it
started. Usage:
    bench/lib/fixtures.py --state FILE --pause-bin bin/berth-pause
                          [--layer-mib 4] [--dedup-mib 30]
"""
import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
import images  # noqa: E402
import registry  # noqa: E402

MIB = 1 << 20
KIB = 1 << 10
NAMESPACE = "bench"
DEDUP_IMAGES = 5
DAY = 86400


def random_layer(name, seed, size):
    data = random.Random(seed).randbytes(size)
    return images.make_layer(name, [images.d("data"),
                                    images.f(f"data/{name}.bin", data)])


def pause_image(outdir, pause_bin):
    with open(pause_bin, "rb") as f:
        binary = f.read()
    layer = images.make_layer("pause", [images.f("pause", binary, 0o755)])
    return images.single_image(outdir, "pause", [layer], extra={
        "Entrypoint": ["/pause"], "Cmd": None, "Env": [images.PATH_ENV]})


def shared_files(total, seed=500):
    """The dedup images' common files: about one per 100 KiB of total,
    sizes spread log-normally from 1 KiB up, summing to total bytes of
    seeded random bytes, in ten directories."""
    rng = random.Random(seed)
    n = max(8, total // (100 * KIB))
    weights = [rng.lognormvariate(0, 1.2) for _ in range(n)]
    scale = (total - n * KIB) / sum(weights)
    sizes = [KIB + int(w * scale) for w in weights]
    sizes[-1] += total - sum(sizes)
    data = rng.randbytes(total)
    entries = [images.d("opt"), images.d("opt/shared")]
    entries += [images.d(f"opt/shared/d{i:02d}") for i in range(10)]
    off = 0
    for i, size in enumerate(sizes):
        entries.append(images.f(f"opt/shared/d{i % 10:02d}/f{i:04d}.bin",
                                data[off:off + size]))
        off += size
    return entries


def dedup_images(outdir, base, dedup_mib):
    """DEDUP_IMAGES images: base plus one layer of the shared files, its
    own build-id, and its own mtime (a day apart). gzip level 0: random
    bytes do not compress, and level 9 takes ~2 s per 30 MiB here to find
    that out."""
    shared = shared_files(dedup_mib * MIB)
    out = []
    for i in range(1, DEDUP_IMAGES + 1):
        layer = images.make_layer(
            f"dedup-{i}", shared + [images.f("opt/build-id", f"build {i}\n")],
            mtime=images.MTIME + i * DAY, compresslevel=0)
        out.append(images.single_image(outdir, f"dedup-{i}", [base, layer]))
    return out


def build(outdir, pause_bin, layer_mib, dedup_mib):
    base = images.base_layer()
    extra = [random_layer(f"r{i}", 300 + i, layer_mib * MIB) for i in range(1, 5)]
    built = {
        "busybox": images.single_image(outdir, "busybox", [base]),
        "layers": images.single_image(outdir, "layers", [base] + extra),
        "pause": pause_image(outdir, pause_bin),
    }
    if dedup_mib > 0:
        for img in dedup_images(outdir, base, dedup_mib):
            built[img.name] = img
    return built


def write_state(path, data):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--pause-bin", required=True)
    ap.add_argument("--layer-mib", type=int, default=4)
    ap.add_argument("--dedup-mib", type=int, default=0,
                    help="MiB of shared files in each dedup image (0: no dedup images)")
    args = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with tempfile.TemporaryDirectory(prefix="berth-bench-images-") as tmp:
        t0 = time.monotonic()
        built = build(tmp, args.pause_bin, args.layer_mib, args.dedup_mib)
        print(f"fixtures: built {len(built)} images in {time.monotonic() - t0:.1f} s",
              flush=True)
        with registry.Registry() as reg:
            refs = {}
            for key, name in (("busybox", "busybox"), ("pull", "layers"),
                              ("pause", "pause")):
                img = built[name]
                registry.push(img.layout, img.tag, reg, f"{NAMESPACE}/{name}")
                refs[key] = f"{reg.host}/{NAMESPACE}/{name}:{img.tag}"
            dedup = []
            for name in sorted(n for n in built if n.startswith("dedup-")):
                img = built[name]
                registry.push(img.layout, img.tag, reg, f"{NAMESPACE}/{name}")
                dedup.append(f"{reg.host}/{NAMESPACE}/{name}:{img.tag}")
            write_state(args.state, {"pid": reg.proc.pid, "host": reg.host,
                                     "storage": reg.tmpdir, "images": refs,
                                     "dedup": dedup})
            print(f"fixtures: registry {reg.url} (pid {reg.proc.pid}) serves "
                  f"{', '.join(list(refs.values()) + dedup)} "
                  f"({time.monotonic() - t0:.1f} s after the start)", flush=True)
            while not stop and reg.proc.poll() is None:
                time.sleep(0.2)
            if reg.proc.poll() is not None:
                print(f"fixtures: docker-registry exited: {reg.log()[-2000:]}",
                      file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
