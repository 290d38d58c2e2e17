#!/usr/bin/env bash
# The one list of Debian 12 packages berth needs to build, run and test.
# Idempotent: installs only what is missing, and runs `apt-get update` only
# when a package is missing and apt has no index for it yet.
#   contrib/install-deps.sh           what build, run and test need
#   contrib/install-deps.sh --bench   also what bench/compare.sh compares
#                                     berth with (containerd 1.6)
set -euo pipefail

bench=0
for arg in "$@"; do
	case $arg in
	--bench) bench=1 ;;
	*) echo "install-deps: unknown option $arg" >&2 && exit 2 ;;
	esac
done

packages=(
	# build
	build-essential pkg-config
	libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
	libglib2.0-dev libostree-dev libjansson-dev libcurl4-openssl-dev libssl-dev
	libseccomp-dev libarchive-dev libmicrohttpd-dev zlib1g-dev libsystemd-dev libyaml-dev
	libcmocka-dev
	# run
	crun runc containernetworking-plugins iproute2 iptables util-linux
	# test
	python3 python3-grpcio python3-grpc-tools python3-pytest
	python3-prometheus-client
	docker-registry busybox-static skopeo umoci apache2-utils openssl
	# the test VM (tests/vm/, make vm-test) and make deb
	qemu-system-x86 qemu-utils mmdebstrap e2fsprogs dpkg-dev
	# format and lint
	clang-format clang-tidy cppcheck
	# fuzz (make fuzz, make fuzz-smoke): clang 14, and libFuzzer with the
	# ASan/UBSan runtimes, which clang only recommends
	clang libclang-rt-14-dev
)
# bench/compare.sh: containerd's CRI plugin is built in; the package's
# service is never started by the bench (it starts its own containerd).
bench_packages=(containerd)
if [ "$bench" = 1 ]; then
	packages+=("${bench_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
