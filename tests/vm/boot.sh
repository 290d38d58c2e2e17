#!/usr/bin/env bash
# Boots the test VM once to run one script in it, and exits with that
# script's exit code. The guest (tests/vm/guest-setup.sh) runs OUT/run.sh
# from the `out` 9p share as root under systemd, writes OUT/guest.log and
# OUT/rc, and powers off. Its disk is a throwaway qcow2 overlay over the
# cached base image; the source tree is shared read-only as `repo`; it has
# no network device at all.
#   tests/vm/boot.sh --image DIR --out DIR --script FILE [--repo DIR]
#                    [--timeout SECONDS] [--cpus N] [--mem MIB]
# OUT/console.log is the serial console. On a timeout qemu (our own pid)
# is killed; on any failure the tails of the console and the guest log are
# printed.
set -euo pipefail
# One compound command: bash reads it whole before running it, so editing
# this file during a run cannot change the run.
{

image= out= script= repo=$PWD timeout=1800 cpus=2 mem=3072
while [ $# -gt 0 ]; do
	case $1 in
	--image) image=$2 ;;
	--out) out=$2 ;;
	--script) script=$2 ;;
	--repo) repo=$2 ;;
	--timeout) timeout=$2 ;;
	--cpus) cpus=$2 ;;
	--mem) mem=$2 ;;
	*) echo "boot: unknown option $1" >&2 && exit 2 ;;
	esac
	shift 2
done
[ -n "$image" ] && [ -n "$out" ] && [ -n "$script" ] || {
	echo "boot: --image, --out and --script are needed" >&2
	exit 2
}
mkdir -p "$out"
out=$(realpath "$out")
repo=$(realpath "$repo")
rm -f "$out/rc" "$out/guest.log" "$out/console.log" "$out/overlay.qcow2"
cp "$script" "$out/run.sh"

qemu-img create -q -f qcow2 -b "$image/rootfs.raw" -F raw "$out/overlay.qcow2"

# TCG: this host's /dev/kvm is a layer Debian's kernel does not boot on.
# -cpu max was measured ~35% slower than qemu64 under TCG (issue #18).
# -nodefaults and -nic none: no network card, no display, nothing but
# what is listed.
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -display none
	-machine q35 -accel tcg,thread=multi -cpu qemu64 -smp "$cpus" -m "$mem"
	-kernel "$image/vmlinuz" -initrd "$image/initrd.img"
	-append "root=/dev/vda rw console=ttyS0 panic=-1 quiet systemd.show_status=1"
	-drive "file=$out/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap"
	-virtfs "local,path=$repo,mount_tag=repo,security_model=none,readonly=on"
	-virtfs "local,path=$out,mount_tag=out,security_model=passthrough"
	-device virtio-rng-pci
	-nic none -no-reboot
	-serial "file:$out/console.log")

start=$(date +%s)
"${qemu[@]}" </dev/null >"$out/qemu.log" 2>&1 &
qpid=$!
# Interrupted (Ctrl-C, make killed): take our qemu down with us.
trap 'kill -9 "$qpid" 2>/dev/null; exit 130' INT TERM HUP
echo "boot: qemu pid $qpid, timeout ${timeout}s, console $out/console.log" >&2

status=
while kill -0 "$qpid" 2>/dev/null; do
	if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
		echo "boot: TIMEOUT after ${timeout}s: killing qemu (pid $qpid)" >&2
		kill "$qpid" 2>/dev/null || true
		sleep 2
		kill -9 "$qpid" 2>/dev/null || true
		status=timeout
		break
	fi
	sleep 1
done
wait "$qpid" 2>/dev/null || true
end=$(date +%s)
rm -f "$out/overlay.qcow2"

echo "boot: qemu ran $((end - start)) s" >&2
echo "vm seconds: $((end - start))" >"$out/timing"

rc=99
if [ -z "$status" ] && [ -f "$out/rc" ]; then
	rc=$(cat "$out/rc")
elif [ -z "$status" ]; then
	echo "boot: the guest left no exit code (did it boot? see the console)" >&2
fi
if [ "$rc" != 0 ]; then
	echo "---- qemu: $(tail -c 2000 "$out/qemu.log")" >&2
	echo "---- console tail ($out/console.log):" >&2
	tail -n 60 "$out/console.log" >&2 || true
	if [ -f "$out/guest.log" ]; then
		echo "---- guest log tail ($out/guest.log):" >&2
		tail -n 40 "$out/guest.log" >&2
	fi
fi
exit "$rc"
}
