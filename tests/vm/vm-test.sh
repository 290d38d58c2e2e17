#!/usr/bin/env bash
# `make vm-test` (and the end of `make test`): berth's package and service
# on a real systemd + cgroup v2 machine. Builds (or reuses) the cached base
# image, boots it once with tests/vm/guest-test.sh and build/deb/*.deb on
# the `out` share, and exits with the guest's status. Run from the repo
# root after `make deb`.
#   BERTH_VM=0              skip, with a banner (local iterations)
#   BERTH_VM_TIMEOUT=SECS   the whole boot (default 2700)
#   BERTH_VM_STRICT=1       known gaps (XFAIL) fail the run too
#   BERTH_VM_SUITE="ARGS"   the pytest ARGS of tests/integration the guest runs
#                           (default: the cgroup-, runtime- and systemd-facing
#                           tests of the pod, container, stats and streaming
#                           files; all: those four files whole; 0: none)
#   BERTH_VM_CRITEST=0      no critest in the guest; full: v1.26.1 whole even
#                           when v1.32.0 runs (by default it then runs only
#                           the specs v1.32.0 renamed or dropped). CRITEST,
#                           CRITEST_132 and CRICTL name other binaries than
#                           /opt/cri-tools*/bin/{critest,crictl}
#   --if-possible           `make test`: when qemu or mmdebstrap is missing,
#                           print a banner and exit 0 instead of failing
set -euo pipefail
# One compound command: bash reads it whole before running it, so editing
# this file during a run cannot change the run.
{

banner() {
	echo "################################################################"
	echo "## $*"
	echo "################################################################"
}

if_possible=0
[ "${1:-}" = --if-possible ] && if_possible=1
if [ "${BERTH_VM:-1}" = 0 ]; then
	banner "VM TEST SKIPPED: BERTH_VM=0 (systemd + cgroup v2 guest not run)"
	exit 0
fi
missing=
for tool in qemu-system-x86_64 qemu-img mmdebstrap mkfs.ext4 dpkg-deb; do
	command -v $tool >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ] || [ "$(id -u)" != 0 ]; then
	why=${missing:+missing:$missing}
	[ "$(id -u)" = 0 ] || why="$why not root"
	banner "VM TEST CANNOT RUN ($why): run contrib/install-deps.sh as root"
	[ "$if_possible" = 1 ] && exit 0
	exit 1
fi

deb=$(ls build/deb/berth_*.deb 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || {
	echo "vm-test: no build/deb/berth_*.deb (run make deb)" >&2
	exit 1
}

t0=$(date +%s)
image=$(bash tests/vm/build-image.sh)
t1=$(date +%s)

# The guest has no network: every Depends of the package (one of each
# "a | b" group) must be in the image, or apt install fails in the guest.
missing=
groups=()
[ ! -f "$image/packages.installed" ] || IFS=, read -r -a groups <<<"$(dpkg-deb -f "$deb" Depends)"
for group in "${groups[@]}"; do
	found=
	IFS='|' read -r -a alts <<<"$group"
	for alt in "${alts[@]}"; do
		name=$(echo "$alt" | sed 's/(.*//; s/:.*//' | tr -d ' ')
		grep -qx "$name" "$image/packages.installed" && found=1
	done
	[ -n "$found" ] || missing="$missing${missing:+,} $(echo "$group" | xargs)"
done
if [ -n "$missing" ]; then
	banner "VM TEST FAILED: the image lacks what berth's package Depends on:$missing (add it to tests/vm/packages.list)"
	exit 1
fi
out=build/vm/run
rm -rf "$out"
mkdir -p "$out"
cp "$deb" "$out/"
[ "${BERTH_VM_STRICT:-0}" = 1 ] && touch "$out/strict"
# The integration suite in the guest (systemd driver, cgroup v2): by
# default the tests of the pod, container, stats and streaming files that
# meet the cgroup tree, the runtimes, systemd and the monitors (every
# stats test; exec, attach and port-forward once each); `all`: the four
# whole files (66 tests, ~16 min in a loaded guest: docs/testing.md).
suite_files="tests/integration/test_pod_lifecycle.py tests/integration/test_container_lifecycle.py
tests/integration/test_container_stats.py tests/integration/test_streaming.py"
suite_default="
tests/integration/test_pod_lifecycle.py::test_run_status_stop_remove
tests/integration/test_pod_lifecycle.py::test_namespaced_sysctls_applied
tests/integration/test_pod_lifecycle.py::test_host_port_answers_on_loopback
tests/integration/test_pod_lifecycle.py::test_shared_pid_namespace_runs_infra
tests/integration/test_pod_lifecycle.py::test_stats
tests/integration/test_container_lifecycle.py::test_run_to_completion_with_cri_log
tests/integration/test_container_lifecycle.py::test_stop_escalates_to_sigkill
tests/integration/test_container_lifecycle.py::test_exec_sync
tests/integration/test_container_lifecycle.py::test_kill9_keeps_containers_running
tests/integration/test_container_lifecycle.py::test_monitor_killed_reports_exit_with_reason
tests/integration/test_container_lifecycle.py::test_runtime_handlers
tests/integration/test_container_stats.py
tests/integration/test_cri_metrics.py::test_block_io_per_device
tests/integration/test_streaming.py::test_exec_exit_codes_and_streams
tests/integration/test_streaming.py::test_attach_non_tty_and_tty
tests/integration/test_streaming.py::test_portforward_websocket
tests/integration/test_streaming.py::test_crictl_port_forward_spdy"
suite=${BERTH_VM_SUITE-$suite_default}
[ "$suite" != all ] || suite=$suite_files
[ -z "$suite" ] || [ "$suite" = 0 ] || echo $suite >"$out/suite"
# crictl (`crictl info` after the install; the streaming tests' SPDY
# client) when it is built here; the guest falls back to berthctl.
crictl=${CRICTL:-/opt/cri-tools/bin/crictl}
[ ! -x "$crictl" ] || cp "$crictl" "$out/crictl"
# critest v1.26.1 runs in the guest when it is built here
# (/opt/cri-tools, docs/testing.md), and v1.32.0 when it is
# (/opt/cri-tools-1.32), with the look-alike images built here (the same
# for both; the guest has no C compiler); BERTH_VM_CRITEST=0 leaves them
# out.
critest=${CRITEST:-/opt/cri-tools/bin/critest}
critest132=${CRITEST_132:-/opt/cri-tools-1.32/bin/critest}
if [ "${BERTH_VM_CRITEST:-1}" != 0 ] && { [ -x "$critest" ] || [ -x "$critest132" ]; }; then
	[ ! -x "$critest" ] || cp "$critest" "$out/critest"
	[ "${BERTH_VM_CRITEST:-1}" != full ] || touch "$out/critest-full"
	[ ! -x "$critest132" ] || cp "$critest132" "$out/critest-1.32"
	mkdir -p "$out/critest-layouts"
	/usr/bin/python3 tests/critest/critest_images.py "$out/critest-layouts" \
		>"$out/critest-layouts/index.json"
	echo "vm-test: critest goes into the guest:$([ ! -x "$critest" ] || echo " v1.26.1 ($critest)")$([ ! -x "$critest132" ] || echo " v1.32.0 ($critest132)")"
else
	echo "vm-test: no critest at $critest or $critest132 (or BERTH_VM_CRITEST=0): the guest runs none"
fi

echo "vm-test: image $image ($((t1 - t0)) s); booting (TCG: expect a few minutes)"
rc=0
bash tests/vm/boot.sh --image "$image" --out "$out" --script tests/vm/guest-test.sh \
	--timeout "${BERTH_VM_TIMEOUT:-2700}" || rc=$?
t2=$(date +%s)
boot=$(grep -m1 'berth-vm-runner: running' "$out/console.log" 2>/dev/null | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p' || true)

echo
echo "vm-test: image $((t1 - t0)) s, vm $((t2 - t1)) s${boot:+ (runner started ${boot} s after kernel start)}, total $((t2 - t0)) s"
echo "vm-test: guest log $out/guest.log, console $out/console.log, berthd journal $out/berth-journal.log"
if [ -f "$out/guest.log" ]; then
	grep -E '^(XFAIL|XPASS|FAIL)' "$out/guest.log" || true
	grep -E '^vm-test: [0-9]+ passed' "$out/guest.log" || true
fi
if [ "$rc" != 0 ]; then
	banner "VM TEST FAILED (exit $rc): see $out/guest.log"
fi
exit "$rc"
}
