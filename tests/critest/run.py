"""Run critest v1.26.1 against a throwaway berthd, offline.

Steps: build the look-alike images (images.py), serve them from a local
docker-registry on 127.0.0.1, write a registries.conf whose mirrors send
registry.k8s.io and gcr.io there, start berthd as the integration suite
does (own root, runroot, socket, bridge, subnet and cgroup parent), run
critest with the skip list below, and print pass/fail/skip per spec.

    /usr/bin/python3 tests/critest/run.py [--runtime crun|runc]
        [--focus REGEX] [--skip REGEX] [--keep] [-- critest args...]

Environment: BERTH_BIN_DIR, BERTH_PYSTUBS (as for the integration tests),
CRITEST (default /opt/cri-tools/bin/critest). Exit status: critest's.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import critest_images  # noqa: E402
from registry import Registry, push  # noqa: E402

CRITEST = os.environ.get("CRITEST", "/opt/cri-tools/bin/critest")

# Specs not run, with the reason (README.md lists them too).
SKIPS = {
    # The image is pinned by the digest of the real upstream image, which
    # no local build can reproduce.
    r"public image with digest": "needs the upstream image's exact digest",
    # Debian's busybox-static is built with FEATURE_SH_STANDALONE: its sh
    # runs `ls` as a built-in applet and never executes the masked
    # /bin/ls. berth's masking itself is covered by test_critest_fixes.py.
    r"should support MaskedPaths": "busybox-static sh never executes /bin/ls",
}

REGISTRIES_CONF = """\
# critest's registries, served by a local docker-registry (tests/critest)
unqualified-search-registries = []
{entries}"""

ENTRY = """
[[registry]]
prefix = "{prefix}"
location = "{prefix}"

[[registry.mirror]]
location = "{mirror}/{prefix}"
insecure = true
"""


def prepare_host():
    """crun refuses a hybrid cgroup host whose v2 hierarchy holds hugetlb;
    a v1 hugetlb mount frees it (DESIGN.md), as conftest.py does."""
    try:
        with open("/sys/fs/cgroup/unified/cgroup.controllers") as f:
            if "hugetlb" not in f.read().split():
                return
    except OSError:
        return
    os.makedirs("/sys/fs/cgroup/hugetlb", exist_ok=True)
    subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup",
                    "/sys/fs/cgroup/hugetlb"], capture_output=True)


def fill_registry(reg, workdir, layouts=""):
    """The look-alikes into reg: built here, or (layouts) the ones
    critest_images.py built elsewhere, found by their directory names (the
    test VM has no C compiler)."""
    if layouts:
        with open(os.path.join(layouts, "index.json")) as f:
            built = {ref: os.path.join(layouts, os.path.basename(d))
                     for ref, d in json.load(f).items()}
    else:
        built = critest_images.build(Path(workdir) / "layouts")
    for ref, layout in built.items():
        repo, tag = ref.rsplit(":", 1)
        push(layout, "latest", reg, repo, dest_tag=tag)
    return built


def write_registries_conf(path, reg, refs):
    prefixes = sorted({ref.split("/", 1)[0] for ref in refs})
    entries = "".join(ENTRY.format(prefix=p, mirror=reg.host) for p in prefixes)
    Path(path).write_text(REGISTRIES_CONF.format(entries=entries))


def summarize(report_path):
    """(state, spec name, reason) for every spec of a ginkgo JSON report."""
    rows = []
    with open(report_path) as f:
        report = json.load(f)
    for suite in report:
        for spec in suite.get("SpecReports") or []:
            if spec.get("LeafNodeType") != "It":
                continue
            name = " ".join((spec.get("ContainerHierarchyTexts") or []) +
                            [spec.get("LeafNodeText", "")])
            reason = ""
            failure = spec.get("Failure") or {}
            if failure:
                reason = failure.get("Message", "").splitlines()[0][:200] \
                    if failure.get("Message") else ""
            rows.append((spec.get("State"), name, reason))
    return rows


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runtime", default="", help="berthd --default-runtime")
    ap.add_argument("--focus", default="", help="ginkgo focus regex")
    ap.add_argument("--skip", default="", help="extra ginkgo skip regex")
    ap.add_argument("--report", default="", help="copy the JSON report here")
    ap.add_argument("--layouts", default="",
                    help="critest_images.py's output dir (its JSON in index.json)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work dir (berthd log, report)")
    ap.add_argument("critest_args", nargs="*")
    args = ap.parse_args(argv)

    if not os.access(CRITEST, os.X_OK):
        print(f"critest not found at {CRITEST}", file=sys.stderr)
        return 77
    from conftest import Berthd  # needs BERTH_PYSTUBS; imported late

    prepare_host()
    work = tempfile.mkdtemp(prefix="berth-critest-")
    # Passable, as /var/lib is on a node: runtimes reach a user-namespaced
    # pod's rootfs from inside its user namespace.
    os.chmod(work, 0o711)
    rc = 1
    b = None
    try:
        with Registry() as reg:
            built = fill_registry(reg, work, args.layouts)
            regconf = os.path.join(work, "registries.conf")
            write_registries_conf(regconf, reg, built)
            extra = ["--registries-conf", regconf]
            if args.runtime:
                extra += ["--default-runtime", args.runtime]
            b = Berthd(os.path.join(work, "berthd"), extra_args=extra)
            b.start()
            sock = "unix://" + b.sock
            skip = "|".join(list(SKIPS) + ([args.skip] if args.skip else []))
            report = os.path.join(work, "report.json")
            cmd = [CRITEST, "--runtime-endpoint", sock, "--image-endpoint", sock,
                   "--ginkgo.skip", skip, "--ginkgo.no-color",
                   "--ginkgo.json-report", report, "--ginkgo.timeout", "50m"]
            if args.focus:
                cmd += ["--ginkgo.focus", args.focus]
            cmd += args.critest_args
            print("+ " + " ".join(repr(c) if " " in c or "|" in c else c
                                  for c in cmd), flush=True)
            rc = subprocess.run(cmd, cwd=work).returncode
            if os.path.exists(report):
                rows = summarize(report)
                print("\n=== critest specs ===")
                for state, name, reason in sorted(rows):
                    print(f"{state:8} {name}" + (f"\n         {reason}" if reason else ""))
                counts = {}
                for state, _, _ in rows:
                    counts[state] = counts.get(state, 0) + 1
                print("=== " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
                if args.report:
                    shutil.copyfile(report, args.report)
            b.remove_all_pods()
            stop_rc = b.stop()
            if stop_rc != 0:
                print(f"berthd exited {stop_rc}", file=sys.stderr)
                rc = rc or 1
    finally:
        if b is not None:
            if b.proc is not None and b.proc.poll() is None:
                b.stop()
            b.cleanup_host()
            if rc != 0 or args.keep:
                print(f"berthd log: {b.log_path}")
        if rc == 0 and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work dir kept: {work}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
