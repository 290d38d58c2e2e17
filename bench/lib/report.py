#!/usr/bin/python3
"""The side-by-side report of a bench/compare.sh run.

Reads the raw JSON files of a results dir (berthctl bench's schema:
SCENARIO.TARGET.TAG.json, bench/restart.py's restart.TARGET.r1.json in the
same schema, memstat.TARGET.VARIANT.json, and dedup.TARGET.r1.json from
bench/lib/dedup.py, a disk row), takes the
median of each figure over the rounds, prints a table with every figure
for each target, the berth/containerd ratios and the targets (met or
missed, with the margin), writes summary.json beside the raw files and,
with --docs, the same table into docs/performance.md between
<!-- compare:begin --> and <!-- compare:end --> (appended when missing).

    report.py --results DIR [--docs docs/performance.md] [--command CMD]
              [--targets berth-runc,containerd-runc,berth-crun]
              [--density 1000] [--running 100] [--restart 1000] [--flat 100,1000]
              [--rounds 3]
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

BEGIN = "<!-- compare:begin -->"
END = "<!-- compare:end -->"
CONTAINERD = "containerd-runc"
BERTHS = ("berth-runc", "berth-crun")
LATENCY = ("p50_ms", "p90_ms", "p99_ms", "max_ms", "throughput_per_s", "count")
MEMORY = ("server_rss_kib", "server_pss_kib", "helpers_rss_kib", "helpers_pss_kib",
          "helpers")
DISK = ("images", "shared_mib", "bytes", "bytes_first", "bytes_after_remove",
        "registry_bytes", "pull_ms_total", "remove_ms_total")
KEYS = {"memory": MEMORY, "dedup": DISK}
DEDUP_LIMIT = 0.4

# Latency rows, in the order they are shown: (scenario, variant).
ORDER = [
    ("version", "sequential"), ("version", "concurrent-8"),
    ("pod", "run"), ("pod", "stop"), ("pod", "remove"),
    ("pod", "run-shared-pid"), ("pod", "stop-shared-pid"), ("pod", "remove-shared-pid"),
    ("container", "create"), ("container", "start"), ("container", "stop"),
    ("container", "remove"),
    ("start-to-running", "sequential"), ("start-to-running", "concurrent-8"),
    ("churn", "clients-8"), ("exec", "sync"), ("pull", "cold"), ("pull", "warm"),
    ("storm", "all-running-16"), ("storm", "each-pod"), ("storm", "version-during"),
    ("density", "list-containers"), ("density", "list-pods"),
    ("density", "container-status"), ("density", "list-container-stats"),
    ("density", "list-pod-stats"),
    ("restart", "ready-list"), ("restart", "version"),
]
THROUGHPUT = {("version", "concurrent-8"), ("churn", "clients-8")}
# A restart is a few samples (the kills of one run): their median and max.
FEW = {"restart"}


def load(results):
    """{(target, scenario, variant): [row, ...]} over every round, and the
    server versions {target: {...}}."""
    rows, servers = {}, {}
    for path in sorted(Path(results).glob("*.json")):
        parts = path.name[:-len(".json")].split(".")
        if path.name == "summary.json" or len(parts) < 3:
            if len(parts) == 2 and parts[1] == "version":
                servers[parts[0]] = json.loads(path.read_text())
            continue
        target, tag = parts[1], ".".join(parts[2:])
        # The flatness phase's churn runs are not throughput samples.
        if tag.startswith("flat-"):
            continue
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            print(f"report: skipping {path}: {e}", file=sys.stderr)
            continue
        for r in doc.get("results", []):
            variant = r["variant"]
            # The metrics scenario runs once per size: the size is in its tag.
            if r["scenario"] == "metrics" and tag.startswith("at-"):
                variant += f" at {tag[3:]}"
            rows.setdefault((target, r["scenario"], variant), []).append(r)
    return rows, servers


def median_row(samples, keys):
    out = {}
    for k in keys:
        vals = [s[k] for s in samples if isinstance(s.get(k), (int, float))]
        if vals:
            out[k] = statistics.median(vals)
    out["rounds"] = len(samples)
    return out


def figures(rows):
    """{(target, scenario, variant): median row}."""
    return {key: median_row(samples, KEYS.get(key[1], LATENCY))
            for key, samples in rows.items()}


def fmt(v, digits=None):
    if v is None:
        return "n/a"
    if digits is None:
        digits = 2 if abs(v) < 10 else 1 if abs(v) < 1000 else 0
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def mib(kib):
    return None if kib is None else kib / 1024


def dedup_figure(figs, target, key, scale=1.0):
    f = figs.get((target, "dedup", "disk"))
    v = None if f is None else f.get(key)
    return None if v is None else v / scale


def dedup_size(figs, targets):
    """(images, shared MiB) of the dedup run, for the labels."""
    rows = [figs[(t, "dedup", "disk")] for t in targets if (t, "dedup", "disk") in figs]
    return (max((r.get("images", 0) for r in rows), default=0),
            max((r.get("shared_mib", 0) for r in rows), default=0))


def memory_figure(figs, target, variant, key):
    if key == "total_pss_kib":
        a = memory_figure(figs, target, variant, "server_pss_kib")
        b = memory_figure(figs, target, variant, "helpers_pss_kib")
        return None if a is None or b is None else a + b
    if key == "total_rss_kib":
        a = memory_figure(figs, target, variant, "server_rss_kib")
        b = memory_figure(figs, target, variant, "helpers_rss_kib")
        return None if a is None or b is None else a + b
    f = figs.get((target, "memory", variant))
    return None if f is None else f.get(key)


def idle_variant(figs, target):
    """berthctl's own idle figure, else compare.sh's sample at start."""
    return "idle" if (target, "memory", "idle") in figs else "idle-at-start"


def table(figs, targets, args):
    """Markdown lines: one row per figure, a column per target, ratios."""
    ctrd = CONTAINERD in targets
    berths = [t for t in BERTHS if t in targets]
    head = ["figure"] + list(targets)
    if ctrd:
        head += [f"{t.split('-')[1]}: berth/containerd" for t in berths]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def emit(label, values, digits=None, ratios=True):
        cells = [label] + [fmt(values.get(t), digits) for t in targets]
        if ctrd:
            for t in berths:
                r = ratio(values.get(t), values.get(CONTAINERD))
                cells.append("" if not ratios else "n/a" if r is None else f"{r:.2f}×")
        lines.append("| " + " | ".join(cells) + " |")

    extra = sorted({(s, v) for _, s, v in figs if s not in KEYS} - set(ORDER))
    for scen, var in ORDER + extra:
        present = {t: figs.get((t, scen, var)) for t in targets}
        if not any(present.values()):
            continue
        name = f"{scen} {var}"
        if scen == "density":
            name += f" at {args.density}"
        elif scen == "restart":
            name += f" at {args.restart}"
        n = max((f.get("count", 0) for f in present.values() if f), default=0)
        keys = (("p50_ms", "median ms"), ("max_ms", "max ms")) if scen in FEW \
            else (("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"))
        for key, what in keys:
            emit(f"{name}: {what} (n={n:.0f})",
                 {t: f.get(key) for t, f in present.items() if f})
        if (scen, var) in THROUGHPUT:
            emit(f"{name}: per s", {t: f.get("throughput_per_s")
                                    for t, f in present.items() if f})

    n, shared = dedup_size(figs, targets)
    disk_rows = [
        (f"dedup: disk used by {n:.0f} rebuilt images ({shared:.0f} MiB shared), MiB",
         "bytes", 1 << 20, True),
        ("dedup: of which the first image, MiB", "bytes_first", 1 << 20, True),
        (f"dedup: pull of the {n:.0f}, one after the other, s", "pull_ms_total", 1000, True),
        (f"dedup: disk left after removing the {n:.0f}, MiB", "bytes_after_remove",
         1 << 20, False),
    ]
    for label, key, scale, ratios in disk_rows:
        values = {t: dedup_figure(figs, t, key, scale) for t in targets}
        if any(v is not None for v in values.values()):
            emit(label, values, ratios=ratios)

    running = f"running-{args.running}"
    mem_rows = [
        ("idle: server RSS MiB", None, "server_rss_kib"),
        ("idle: server PSS MiB", None, "server_pss_kib"),
        (f"{args.running} running: server RSS MiB", running, "server_rss_kib"),
        (f"{args.running} running: helpers PSS MiB", running, "helpers_pss_kib"),
        (f"{args.running} running: server + helpers PSS MiB", running, "total_pss_kib"),
        (f"{args.running} running: server + helpers RSS MiB", running, "total_rss_kib"),
    ] + [(f"after {n} churn cycles: server RSS MiB", f"after-churn-{n}", "server_rss_kib")
         for n in args.flat]
    for label, variant, key in mem_rows:
        values = {t: mib(memory_figure(figs, t, variant or idle_variant(figs, t), key))
                  for t in targets}
        if any(v is not None for v in values.values()):
            emit(label, values)
    helpers = {t: memory_figure(figs, t, running, "helpers") for t in targets}
    if any(v is not None for v in helpers.values()):
        lines.append("| " + " | ".join(
            [f"{args.running} running: helper processes"] +
            [fmt(helpers[t], 0) for t in targets] +
            (["", ""][:len(berths)] if ctrd else [])) + " |")
    return lines


def verdict(value, limit, at_most):
    """(met, text) for value against limit; the margin in percent of it."""
    if value is None or limit is None:
        return None, "figure missing"
    met = value <= limit if at_most else value >= limit
    margin = abs(limit - value) / limit * 100 if limit else 0
    return met, f"headroom {margin:.0f}%" if met else f"over by {margin:.0f}%"


def targets_table(figs, targets, args):
    berths = [t for t in BERTHS if t in targets]
    rows = []

    def latency(t, scen, var, key):
        f = figs.get((t, scen, var))
        return None if f is None else f.get(key)

    running = f"running-{args.running}"
    a, b = args.flat
    for t in berths:
        s2r = ratio(latency(t, "start-to-running", "sequential", "p50_ms"),
                    latency(CONTAINERD, "start-to-running", "sequential", "p50_ms"))
        churn = ratio(latency(t, "churn", "clients-8", "throughput_per_s"),
                      latency(CONTAINERD, "churn", "clients-8", "throughput_per_s"))
        idle = mib(memory_figure(figs, t, idle_variant(figs, t), "server_rss_kib"))
        mem = ratio(memory_figure(figs, t, running, "total_pss_kib"),
                    memory_figure(figs, CONTAINERD, running, "total_pss_kib"))
        lst = latency(t, "density", "list-containers", "p99_ms")
        fa = memory_figure(figs, t, f"after-churn-{a}", "server_rss_kib")
        fb = memory_figure(figs, t, f"after-churn-{b}", "server_rss_kib")
        drift = None if not fa or fb is None else abs(fb - fa) / fa * 100
        disk = ratio(dedup_figure(figs, t, "bytes"), dedup_figure(figs, CONTAINERD, "bytes"))
        remove = ratio(latency(t, "container", "remove", "p50_ms"),
                       latency(CONTAINERD, "container", "remove", "p50_ms"))
        shared_run = ratio(latency(t, "pod", "run-shared-pid", "p50_ms"),
                           latency(CONTAINERD, "pod", "run-shared-pid", "p50_ms"))
        shared_stop = ratio(latency(t, "pod", "stop-shared-pid", "p50_ms"),
                            latency(CONTAINERD, "pod", "stop-shared-pid", "p50_ms"))
        storm = ratio(latency(t, "storm", "all-running-16", "p50_ms"),
                      latency(CONTAINERD, "storm", "all-running-16", "p50_ms"))
        storm_version = latency(t, "storm", "version-during", "p99_ms")
        stats = latency(t, "density", "list-container-stats", "p99_ms")
        restart = latency(t, "restart", "ready-list", "p50_ms")
        n, _ = dedup_size(figs, targets)
        checks = [
            ("start-to-running p50 ≤ 0.5× containerd", s2r, 0.5, True,
             lambda v: f"{v:.2f}×"),
            ("churn throughput, 8 clients ≥ 2× containerd", churn, 2.0, False,
             lambda v: f"{v:.2f}×"),
            ("berthd idle RSS < 10 MiB", idle, 10.0, True, lambda v: f"{v:.1f} MiB"),
            (f"berthd + monitors at {args.running} running < 1/3 containerd + shims (PSS)",
             mem, 1 / 3, True, lambda v: f"{v:.2f}×"),
            (f"ListContainers p99 at {args.density} < 5 ms", lst, 5.0, True,
             lambda v: f"{v:.2f} ms"),
            (f"berthd RSS after {b} churn cycles within 10% of after {a}", drift, 10.0,
             True, lambda v: f"{v:.1f}%"),
            (f"disk for {n or 5:.0f} rebuilt images sharing their files "
             f"≤ {DEDUP_LIMIT}× containerd", disk, DEDUP_LIMIT, True, lambda v: f"{v:.2f}×"),
            ("RemoveContainer p50 ≤ containerd", remove, 1.0, True, lambda v: f"{v:.2f}×"),
            ("RunPodSandbox p50, shared PID namespace ≤ 0.7× containerd", shared_run, 0.7,
             True, lambda v: f"{v:.2f}×"),
            ("StopPodSandbox p50, shared PID namespace ≤ containerd", shared_stop, 1.0, True,
             lambda v: f"{v:.2f}×"),
            ("storm (16 clients): time until all pods run ≤ 0.5× containerd", storm,
             0.5, True, lambda v: f"{v:.2f}×"),
            ("storm: Version p99 during it < 10 ms", storm_version, 10.0, True,
             lambda v: f"{v:.2f} ms"),
            (f"ListContainerStats p99 at {args.density} < 20 ms", stats, 20.0, True,
             lambda v: f"{v:.2f} ms"),
            (f"restart to a correct ListContainers with {args.restart:,} containers "
             "< 300 ms (median)", restart, 300.0, True, lambda v: f"{v:.1f} ms"),
        ]
        for name, value, limit, at_most, show in checks:
            met, text = verdict(value, limit, at_most)
            rows.append({"berth": t, "target": name,
                         "value": None if value is None else round(value, 4),
                         "shown": "n/a" if value is None else show(value),
                         "met": met, "verdict": text})
    return rows


def targets_lines(rows):
    lines = ["| target | berth | figure | verdict |", "|---|---|---|---|"]
    for r in rows:
        mark = {True: "**met**", False: "**missed**", None: "not measured"}[r["met"]]
        lines.append(f"| {r['target']} | {r['berth']} | {r['shown']} | "
                     f"{mark} ({r['verdict']}) |")
    return lines


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].strip() if out else "?"
    except OSError:
        return "?"


def machine():
    model = "?"
    mem_kib = 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({model}), {mem_kib // 1024 // 1024} GiB, "
            f"Linux {platform.release()}")


def section(args, servers, fig_lines, tgt_lines):
    versions = "; ".join(
        f"{t}: {servers[t].get('runtime_name', '?')} {servers[t].get('runtime_version', '?')}"
        for t in args.targets if t in servers)
    runtimes = f"{first_line(['runc', '--version'])}; {first_line(['crun', '--version'])}"
    flat_a, flat_b = args.flat
    intro = (
        "Written by `bench/compare.sh` (`make bench` for the full run, "
        "`bash bench/compare.sh --quick` for a smoke run with small counts); "
        "everything between the compare markers is replaced by the next run. "
        "Three CRI servers on one machine, each with its own root, socket, CNI "
        "bridge and subnet (bridge + host-local + portmap, ipMasq) and cgroup "
        "parent, and its runtime state dir (berth's runroot, containerd's state "
        "dir) on a tmpfs of its own, driven by the same client (`berthctl "
        "bench`) against the same local registry: berthd with runc, containerd "
        "1.6 (CRI plugin, io.containerd.runc.v2, cgroupfs) with runc, and berthd "
        f"with crun. Each light scenario ran {args.rounds} rounds interleaved "
        "(the target order reversed every other round), each run once the CPUs "
        "were 90% idle again; figures are the medians over the rounds. "
        "Latencies are the client's round trips; the density scenario decodes "
        "each reply into an arena, so that a reply of 1,000 containers costs "
        "the client little of its own. Memory: RSS and PSS from "
        "/proc/PID/smaps_rollup; helpers are "
        "berth-conmon for berth and containerd-shim-runc-v2 for containerd. "
        f"\"after N churn cycles\" counts the create/start/stop/remove cycles of "
        f"the flatness phase ({flat_a}, then {flat_b - flat_a} more), run before "
        "the density scenario. Disk (dedup, once per server): five images that "
        "hold the same files (seeded random bytes) plus one file of their own, "
        "each packed into a layer of its own with its own mtimes, as rebuilds "
        "of one image come out of a registry, pulled one after the other; the "
        "figure is what `du` adds to the image store (berth: root/storage; "
        "containerd: its root), counting each hardlinked file once. berth's "
        "ostree repo keeps one object per distinct file whichever layer brings "
        "it; containerd keeps every layer blob and its unpacked snapshot. "
        "restart: with "
        f"{args.restart:,} containers (half running, half exited, in pods of 10) "
        "the server is killed with SIGKILL and started again with the same "
        "command line on the same root and state tmpfs, monitors or shims still "
        "running; the figures are the times from the exec to the first answered "
        "Version and to the first ListContainers that lists every container in "
        "its state (bench/restart.py, polling every 5 ms), the median and the "
        "max over the restarts.")
    if "--quick" in args.command.split():
        intro += (" This was a --quick run: small counts, figures are indicative "
                  "only and the targets are checked at the sizes shown.")
    return [
        BEGIN,
        "## berth and containerd side by side (bench/compare.sh)",
        "",
    ] + textwrap.wrap(intro, 76, break_on_hyphens=False) + [
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {machine()}",
        f"- servers: {versions}",
        f"- OCI runtimes: {runtimes}",
        f"- client: `{args.client}`",
        f"- command: `{args.command}`",
        f"- raw JSON: `{args.results}` (one file per scenario, target and round)",
        "",
    ] + fig_lines + ["", "Targets (berth against containerd with the same runtime, runc):", ""] \
        + tgt_lines + ["", END]


def write_docs(path, lines):
    text = Path(path).read_text() if Path(path).exists() else "# Performance\n"
    block = "\n".join(lines)
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = f"{path}.tmp"
    Path(tmp).write_text(text)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--docs")
    ap.add_argument("--command", default="bash bench/compare.sh")
    ap.add_argument("--targets", default="berth-runc,containerd-runc,berth-crun")
    ap.add_argument("--density", type=int, default=1000)
    ap.add_argument("--running", type=int, default=100)
    ap.add_argument("--restart", type=int, default=1000)
    ap.add_argument("--flat", default="100,1000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--client", default="bin/berthctl")
    args = ap.parse_args()
    args.targets = args.targets.split(",")
    args.flat = [int(x) for x in args.flat.split(",")]
    args.results = os.path.abspath(args.results)

    rows, servers = load(args.results)
    figs = figures(rows)
    fig_lines = table(figs, args.targets, args)
    tgts = targets_table(figs, args.targets, args)
    tgt_lines = targets_lines(tgts)
    print("\n".join(fig_lines + [""] + tgt_lines))
    with open(os.path.join(args.results, "summary.json"), "w") as f:
        json.dump({"figures": [dict(target=k[0], scenario=k[1], variant=k[2], **v)
                               for k, v in sorted(figs.items())],
                   "targets": tgts, "servers": servers, "command": args.command},
                  f, indent=1)
    if args.docs:
        write_docs(args.docs, section(args, servers, fig_lines, tgt_lines))
        print(f"\nreport: wrote the compare section of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
