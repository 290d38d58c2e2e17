#!/usr/bin/env bash
# mmdebstrap's customize hook for the test VM image (run on the host, the
# guest's root directory as $1): fstab, the two 9p shares, the runner unit
# that executes the host's test script and powers off, and the timers and
# services a throwaway test guest does not want.
set -euo pipefail
root=$1

echo berth-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 berth-vm\n::1 localhost\n' >"$root/etc/hosts"

# /dev/vda is the per-boot qcow2 overlay. The shares (tests/vm/run.sh):
# `repo` the source tree, read-only; `out` the run's dir, where the test
# script is and its results go.
cat >"$root/etc/fstab" <<'EOF'
/dev/vda  /         ext4  rw,errors=remount-ro  0 0
repo      /mnt/repo 9p    trans=virtio,version=9p2000.L,msize=262144,ro,nofail  0 0
out       /mnt/out  9p    trans=virtio,version=9p2000.L,msize=262144,nofail     0 0
EOF
mkdir -p "$root/mnt/repo" "$root/mnt/out"

# The runner: /mnt/out/run.sh, its output to /mnt/out/guest.log and the
# console, its exit code to /mnt/out/rc, then power off (qemu exits).
cat >"$root/usr/local/sbin/berth-vm-runner" <<'EOF'
#!/bin/bash
out=/mnt/out
rc=97
if [ -f $out/run.sh ]; then
	echo "berth-vm-runner: running run.sh (kernel $(uname -r), $(nproc) cpus)"
	set -o pipefail
	cd $out && bash $out/run.sh 2>&1 | tee $out/guest.log
	rc=$?
else
	echo "berth-vm-runner: no $out/run.sh (is the out share mounted?)"
fi
echo "$rc" >$out/rc.tmp && mv $out/rc.tmp $out/rc
sync
echo "berth-vm-runner: exit code $rc, powering off"
# Results are on the host already (9p); the disk is a throwaway overlay:
# power off at once instead of stopping every service.
systemctl poweroff --force --force
EOF
chmod 755 "$root/usr/local/sbin/berth-vm-runner"

cat >"$root/etc/systemd/system/berth-vm-runner.service" <<'EOF'
[Unit]
Description=berth test VM: run the host's test script, then power off
After=multi-user.target
RequiresMountsFor=/mnt/out /mnt/repo

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/berth-vm-runner
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
systemctl --root="$root" enable berth-vm-runner.service

# Nothing scheduled, no logins (logind alone took 25 s of a loaded
# host's boot), no registry on :5000 (tests start their own).
systemctl --root="$root" set-default multi-user.target
systemctl --root="$root" mask apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer \
	serial-getty@ttyS0.service getty@tty1.service systemd-logind.service \
	docker-registry.service
# A clean empty machine-id: systemd makes a fresh one at every boot.
: >"$root/etc/machine-id"
