#!/usr/bin/python3
"""The images bench/compare.sh runs, served by a local registry it owns.

Builds three images with tests/fixtures/images.py, starts the test suite's
docker-registry on 127.0.0.1 (tests/fixtures/registry.py), pushes them, and
writes what the servers need to a JSON state file:

    {"pid": 123, "host": "127.0.0.1:PORT",
     "images": {"busybox": "127.0.0.1:PORT/bench/busybox:latest",
                "pull": "127.0.0.1:PORT/bench/layers:latest",
                "pause": "127.0.0.1:PORT/bench/pause:latest"}}

  busybox  the fixture busybox image: what every container runs
  layers   busybox plus four layers of seeded random bytes (gzip cannot
           shrink them): the pull scenario's image
  pause    berth's own static bin/berth-pause as /pause: containerd's
           sandbox_image (berth needs none)

Then it serves until SIGTERM or SIGINT and stops exactly the registry it
started. Usage:
    bench/lib/fixtures.py --state FILE --pause-bin bin/berth-pause [--layer-mib 4]
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
NAMESPACE = "bench"


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


def build(outdir, pause_bin, layer_mib):
    base = images.base_layer()
    extra = [random_layer(f"r{i}", 300 + i, layer_mib * MIB) for i in range(1, 5)]
    return {
        "busybox": images.single_image(outdir, "busybox", [base]),
        "layers": images.single_image(outdir, "layers", [base] + extra),
        "pause": pause_image(outdir, pause_bin),
    }


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
    args = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with tempfile.TemporaryDirectory(prefix="berth-bench-images-") as tmp:
        built = build(tmp, args.pause_bin, args.layer_mib)
        with registry.Registry() as reg:
            refs = {}
            for key, name in (("busybox", "busybox"), ("pull", "layers"),
                              ("pause", "pause")):
                img = built[name]
                registry.push(img.layout, img.tag, reg, f"{NAMESPACE}/{name}")
                refs[key] = f"{reg.host}/{NAMESPACE}/{name}:{img.tag}"
            write_state(args.state, {"pid": reg.proc.pid, "host": reg.host,
                                     "storage": reg.tmpdir, "images": refs})
            print(f"fixtures: registry {reg.url} (pid {reg.proc.pid}) serves "
                  f"{', '.join(refs.values())}", flush=True)
            while not stop and reg.proc.poll() is None:
                time.sleep(0.2)
            if reg.proc.poll() is not None:
                print(f"fixtures: docker-registry exited: {reg.log()[-2000:]}",
                      file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
