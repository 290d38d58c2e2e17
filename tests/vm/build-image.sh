#!/usr/bin/env bash
# Builds (once) the test VM's base image: a Debian 12 root filesystem from
# tests/vm/packages.list with systemd as PID 1, plus the kernel and a small
# initramfs to boot it with qemu's -kernel/-initrd. Cached under
# $BERTH_VM_CACHE/<key>/ (default /var/cache/berth-vm), where <key> hashes
# the package list, this script, guest-setup.sh and the apt sources.
# Prints the image directory on stdout; everything else goes to stderr.
#   tests/vm/build-image.sh            build if missing, print the dir
#   tests/vm/build-image.sh --key      print the key only
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${BERTH_VM_CACHE:-/var/cache/berth-vm}
list=$here/packages.list
# The guest downloads from the same Debian archive as this host's apt.
sources=${BERTH_VM_SOURCES:-/etc/apt/sources.list.d/debian.sources}
[ -f "$sources" ] || sources=/etc/apt/sources.list
size=${BERTH_VM_DISK_SIZE:-6G}

key=$(cat "$list" "$0" "$here/guest-setup.sh" "$sources" | sha256sum | cut -c1-16)
if [ "${1:-}" = --key ]; then
	echo "$key"
	exit 0
fi
dir=$cache/$key
if [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one build at a time; a second caller waits and reuses it
if [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list" | tr -s ' \n' ',,')
packages=${packages%,}
tmp=$cache/tmp.$key
rm -rf "$tmp"
mkdir -p "$tmp"
rootfs=$tmp/rootfs
start=$(date +%s)
echo "build-image: building $dir from $sources (a minute or two)" >&2

# Hooks run inside mmdebstrap with the root directory as $1.
# essential: before the kernel is unpacked, so its initramfs is the small one.
initramfs_hook='
mkdir -p "$1/etc/initramfs-tools/conf.d"
printf "MODULES=list\nRESUME=none\n" >"$1/etc/initramfs-tools/conf.d/berth-vm.conf"
printf "%s\n" virtio_pci virtio_blk virtio_console 9p 9pnet_virtio ext4 overlay \
	>"$1/etc/initramfs-tools/modules"'

mmdebstrap --mode=root --variant=apt --format=directory \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--include="$packages" \
	--essential-hook="$initramfs_hook" \
	--customize-hook="bash $here/guest-setup.sh \"\$1\"" \
	bookworm "$rootfs" "$sources" >&2

# What the image holds, for vm-test.sh's check of the package's Depends.
dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f='${Package}\n' >"$tmp/packages.installed"
cp "$rootfs"/boot/vmlinuz-* "$tmp/vmlinuz"
cp "$rootfs"/boot/initrd.img-* "$tmp/initrd.img"
truncate -s "$size" "$tmp/rootfs.raw"
mkfs.ext4 -q -L berth-vm -d "$rootfs" "$tmp/rootfs.raw" >&2
rm -rf "$rootfs"

end=$(date +%s)
echo "build seconds: $((end - start))" >"$tmp/build-info"
echo "packages: $packages" >>"$tmp/build-info"
touch "$tmp/done"
rm -rf "$dir"
mv "$tmp" "$dir"
# Images of older keys are never used again.
for old in "$cache"/*/; do
	old=${old%/}
	[ "$old" = "$dir" ] || [ ! -f "$old/done" ] || rm -rf "$old"
done
echo "build-image: built in $((end - start)) s: $(du -sh --apparent-size "$dir/rootfs.raw" | cut -f1) apparent, $(du -sh "$dir/rootfs.raw" | cut -f1) used" >&2
echo "$dir"
