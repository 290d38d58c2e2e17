#!/usr/bin/env bash
# `make vm-test` (and the end of `make test`): berth's package and service
# on a real systemd + cgroup v2 machine. Builds (or reuses) the cached base
# image, boots it once with tests/vm/guest-test.sh and build/deb/*.deb on
# the `out` share, and exits with the guest's status. Run from the repo
# root after `make deb`.
#   BERTH_VM=0              skip, with a banner (local iterations)
#   BERTH_VM_TIMEOUT=SECS   the whole boot (default 1800)
#   BERTH_VM_STRICT=1       known gaps (XFAIL) fail the run too
#   BERTH_VM_SUITE="ARGS"   also run pytest ARGS of tests/integration in the
#                           guest (e.g. tests/integration/test_pod_lifecycle.py)
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
[ -z "${BERTH_VM_SUITE:-}" ] || echo "$BERTH_VM_SUITE" >"$out/suite"
# critest v1.26.1 runs in the guest when it is built here
# (/opt/cri-tools, docs/testing.md), with the look-alike images built here
# (the guest has no C compiler); BERTH_VM_CRITEST=0 leaves it out.
critest=${CRITEST:-/opt/cri-tools/bin/critest}
if [ "${BERTH_VM_CRITEST:-1}" != 0 ] && [ -x "$critest" ]; then
	cp "$critest" "$out/critest"
	mkdir -p "$out/critest-layouts"
	/usr/bin/python3 tests/critest/critest_images.py "$out/critest-layouts" \
		>"$out/critest-layouts/index.json"
	echo "vm-test: critest $("$critest" --version 2>/dev/null | head -n1) goes into the guest"
else
	echo "vm-test: no critest at $critest (or BERTH_VM_CRITEST=0): the guest runs none"
fi

echo "vm-test: image $image ($((t1 - t0)) s); booting (TCG: expect a few minutes)"
rc=0
bash tests/vm/boot.sh --image "$image" --out "$out" --script tests/vm/guest-test.sh \
	--timeout "${BERTH_VM_TIMEOUT:-1800}" || rc=$?
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
