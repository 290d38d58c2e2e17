#!/usr/bin/python3
"""compare.sh's dedup scenario on one server: the disk that images sharing
their files but not their layers take in its image store, and what pulling
them costs.

    dedup.py --endpoint SOCKET --store DIR [--store DIR ...] --json FILE
             [--shared-mib N] [--settle S] REF...

The store's disk use is `du -s -c --block-size=1` of the --store dirs in
one invocation: allocated blocks, every inode once however many hard links
(and dirs) it has. It is measured before, after each PullImage of the REFs
in turn (each pull timed, the images absent before it) and after
RemoveImage of them all. A REF already present is removed first, untimed.
With --settle S it first waits up to S seconds for the CPUs to be 90% idle
over half a second, as `berthctl bench --settle` does.

One row in berthctl bench's report format (docs/berthctl.md), with keys of
its own, goes to FILE:

    {"scenario": "dedup", "variant": "disk", "images": 5, "shared_mib": 30,
     "store": [DIR, ...], "bytes_before": B0, "bytes_after": B1,
     "bytes": B1 - B0, "bytes_first": (after the first pull) - B0,
     "bytes_each": [(after pull i) - B0, ...], "registry_bytes": sum of
     ImageStatus sizes, "pull_ms_total": T, "per_image_ms": [t, ...],
     "remove_ms_total": R, "bytes_after_remove": (after removal) - B0}
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cri  # noqa: E402
from cri import pb, pbg  # noqa: E402

PULL_TIMEOUT = 600
CALL_TIMEOUT = 120


def du(dirs):
    """(total, {dir: bytes}) allocated, each inode once across all dirs
    (a dir's figure leaves out what an earlier one already counted)."""
    os.sync()
    out = subprocess.run(["du", "-s", "-c", "--block-size=1", "--", *dirs],
                         check=True, capture_output=True, text=True).stdout
    lines = [line.split("\t", 1) for line in out.splitlines()]
    return int(lines[-1][0]), {d: int(n) for n, d in lines[:-1]}


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return busy, busy + v[3] + v[4]


def settle(max_s):
    """Wait until a half second has the CPUs 90% idle; the seconds it
    took, or None after max_s."""
    start = time.monotonic()
    b0, t0 = cpu_times()
    for _ in range(int(max_s * 2)):
        time.sleep(0.5)
        b1, t1 = cpu_times()
        if t1 > t0 and (b1 - b0) * 10 <= t1 - t0:
            return time.monotonic() - start
        b0, t0 = b1, t1
    return None


def status(img, ref):
    return img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)),
                           timeout=CALL_TIMEOUT).image


def remove(img, ref):
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=ref)),
                    timeout=CALL_TIMEOUT)


def run(ch, args):
    img = pbg.ImageServiceStub(ch)
    for ref in args.refs:
        if status(img, ref).id:
            print(f"dedup: {ref} is present: removing it first", file=sys.stderr)
            remove(img, ref)
    if args.settle:
        s = settle(args.settle)
        print(f"dedup: CPUs idle after {s:.1f} s" if s is not None else
              f"dedup: the CPUs are still busy after {args.settle} s; measuring anyway",
              file=sys.stderr)
    before, _ = du(args.store)
    per_ms, each = [], []
    for ref in args.refs:
        t0 = time.monotonic()
        img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)),
                      timeout=PULL_TIMEOUT)
        per_ms.append(round((time.monotonic() - t0) * 1000, 1))
        used, _ = du(args.store)
        each.append(used - before)
        print(f"dedup: pulled {ref} in {per_ms[-1]:.0f} ms; store +{each[-1] / 2**20:.1f} MiB",
              file=sys.stderr)
    after, dirs = du(args.store)
    registry_bytes = sum(status(img, ref).size for ref in args.refs)
    t0 = time.monotonic()
    for ref in args.refs:
        remove(img, ref)
    remove_ms = round((time.monotonic() - t0) * 1000, 1)
    left, _ = du(args.store)
    print(f"dedup: removed them in {remove_ms:.0f} ms; the store is "
          f"{(left - before) / 2**20:+.1f} MiB against before", file=sys.stderr)
    print(f"dedup: {len(args.refs)} images: store +{(after - before) / 2**20:.1f} MiB "
          f"(the first +{each[0] / 2**20:.1f}), pulls {sum(per_ms) / 1000:.2f} s in all",
          file=sys.stderr)
    return {"scenario": "dedup", "variant": "disk", "images": len(args.refs),
            "shared_mib": args.shared_mib, "store": args.store,
            "store_dirs_after": dirs, "bytes_before": before, "bytes_after": after,
            "bytes": after - before, "bytes_first": each[0], "bytes_each": each,
            "registry_bytes": registry_bytes,
            "pull_ms_total": round(sum(per_ms), 1), "per_image_ms": per_ms,
            "remove_ms_total": remove_ms, "bytes_after_remove": left - before}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--store", action="append", required=True,
                    help="a dir of the server's image store (repeat for more)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--shared-mib", type=int, default=0,
                    help="MiB the images share (recorded only)")
    ap.add_argument("--settle", type=float, default=0)
    ap.add_argument("refs", nargs="+", metavar="REF")
    args = ap.parse_args()
    for d in args.store:
        if not os.path.isdir(d):
            print(f"dedup: no store dir {d}", file=sys.stderr)
            return 1
    with cri.channel(args.endpoint) as ch:
        try:
            row = run(ch, args)
        except cri.grpc.RpcError as e:
            print(f"dedup: {args.endpoint}: {e.code().name}: {e.details()}",
                  file=sys.stderr)
            return 1
    with open(args.json, "w") as f:
        json.dump({"endpoint": args.endpoint, "server": {}, "runtime_handler": "",
                   "results": [row]}, f, indent=1)
    print(json.dumps({k: v for k, v in row.items() if k != "store_dirs_after"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
