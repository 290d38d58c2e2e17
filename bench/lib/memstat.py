#!/usr/bin/python3
"""One memory sample in berthctl bench's JSON row format, for the points of
a run where compare.sh measures by itself (after a given number of churn
cycles): RSS and PSS (/proc/PID/smaps_rollup) of the server and the sum
over its helper processes, chosen exactly as `berthctl bench memory` does:
/proc/PID/exe is HELPER_EXE and the command line contains HELPER_MATCH.

    memstat.py --variant NAME --server-pid PID --helper-exe PATH
               --helper-match STRING [--json FILE]
"""
import argparse
import json
import os
import sys


def rss_pss(pid):
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def helpers(exe, match):
    exe = os.path.realpath(exe)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{d}/exe") != exe:
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if match in cmdline:
            yield int(d)


def sample(variant, server_pid, helper_exe, helper_match):
    srss, spss = rss_pss(server_pid)
    hrss = hpss = n = 0
    for pid in helpers(helper_exe, helper_match):
        r, p = rss_pss(pid)
        hrss, hpss, n = hrss + r, hpss + p, n + 1
    return {"scenario": "memory", "variant": variant, "server_rss_kib": srss,
            "server_pss_kib": spss, "helpers_rss_kib": hrss,
            "helpers_pss_kib": hpss, "helpers": n}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--helper-exe", required=True)
    ap.add_argument("--helper-match", required=True)
    ap.add_argument("--endpoint", default="")
    ap.add_argument("--json")
    args = ap.parse_args()
    row = sample(args.variant, args.server_pid, args.helper_exe, args.helper_match)
    if row["server_rss_kib"] == 0:
        print(f"memstat: no process {args.server_pid}", file=sys.stderr)
        return 1
    doc = {"endpoint": args.endpoint, "server": {}, "runtime_handler": "",
           "results": [row]}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
