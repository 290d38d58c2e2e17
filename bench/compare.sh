#!/usr/bin/env bash
# bench/compare.sh: berth and containerd side by side, in one run.
#
#   make bench                       the full run (density and restart at 1,000; ~1 hour on 2 cores)
#   bash bench/compare.sh --quick    a smoke run with small counts (minutes)
#
# As root, on this machine: builds berth (make all), installs the bench
# packages (contrib/install-deps.sh --bench: containerd 1.6, whose CRI plugin
# is built in), starts a local registry with the fixture images, then three
# CRI servers, each on its own root, state dir (a tmpfs, as /run is), socket,
# CNI bridge and subnet, and cgroup parent:
#   berth-runc       berthd --default-runtime runc
#   containerd-runc  containerd 1.6, CRI plugin, io.containerd.runc.v2, cgroupfs
#   berth-crun       berthd --default-runtime crun
# and drives each with the same client, `berthctl bench` (bin/berthctl, or
# $BERTHCTL). Scenarios run interleaved, one target after the other, the
# order reversed every other round, each run once the CPUs have gone idle;
# memory, flatness, dedup, density and restart run once per target.
# The dedup scenario is compare.sh's own (bench/lib/dedup.py): five images
# that hold the same files in five different layers, as an image rebuilt
# five times does, pulled one after the other into each server; the disk
# each store takes for them (du, every hardlinked inode once) and the pull
# times. berth's ostree store keeps one object per distinct file, whatever
# layer brings it; containerd keeps each layer's blob and its unpacked
# snapshot. restart (bench/restart.py, last, as it kills the servers)
# populates 1,000 containers in pods of 10, half running and half exited,
# then SIGKILLs the server and starts it again with the same command line,
# dirs and log (its state tmpfs, and the monitors or shims under it, left
# as they are), and times from the exec to the first answered Version and
# to the first ListContainers listing every container in its state; 3
# restarts, median.
# bench/lib/report.py prints the figures side by side with the
# berth/containerd ratios and the targets, and writes them into
# docs/performance.md between <!-- compare:begin --> and
# <!-- compare:end -->. Raw JSON: /var/tmp/berth-bench/<date>/ (--results).
# Everything it started is removed on success, failure and Ctrl-C.
#
# Options:
#   --quick           small counts, 2 rounds (a smoke run)
#   --density N       containers for the density scenario (default 1000)
#   --running N       running containers for the memory figure (default 100)
#   --restart N       containers for the restart scenario (default 1000)
#   --rounds R        rounds of the light scenarios (default 3)
#   --targets LIST    comma-separated subset of berth-runc,containerd-runc,berth-crun
#   --scenarios LIST  comma-separated subset of memory,version,pod,container,
#                     start-to-running,exec,churn,storm,pull,dedup,flatness,
#                     density,restart (a partial run: the others' figures
#                     are missing, and docs/performance.md is left alone)
#                     Also metrics (not in the default set): kubelet's stats
#                     and metrics calls (ListContainerStats,
#                     ListPodSandboxStats, ListPodSandboxMetrics) and, on
#                     berth, a /metrics scrape, at each --metrics-sizes
#                     count of pods with one running container; a call a
#                     server lacks is left out (containerd 1.6 has no
#                     metrics RPCs); berthd then serves /metrics
#   --metrics-sizes L comma-separated pod counts of the metrics scenario
#                     (default 100,1000; 10 with --quick)
#   --stats-period N  berthd's stats_collection_period (default 0: every
#                     stats call reads the cgroups)
#   --dedup-mib N     MiB of files the five dedup images share (default 30;
#                     4 with --quick)
#   --results DIR     where the raw JSON and logs go
#   --no-docs         do not touch docs/performance.md
#   --keep            keep the bench dir (servers are still stopped)
#   --no-deps         do not run contrib/install-deps.sh --bench
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB=$REPO/bench/lib
PY=/usr/bin/python3
COMMAND="bash bench/compare.sh $*"

QUICK=0 DENSITY=1000 RUNNING=100 RESTART=1000 ROUNDS=3 DOCS=1 KEEP=0 DEPS=1
TARGETS_ARG=berth-runc,containerd-runc,berth-crun
ALL_SCENARIOS=memory,version,pod,container,start-to-running,exec,churn,storm,pull,dedup,flatness,density,restart
SCENARIOS_ARG=$ALL_SCENARIOS
RESULTS=/var/tmp/berth-bench/$(date +%Y%m%d-%H%M%S)
METRICS_SIZES=100,1000 METRICS_SIZES_SET=0 STATS_PERIOD=0
DEDUP_MIB=30 DENSITY_SET=0 RUNNING_SET=0 RESTART_SET=0 ROUNDS_SET=0 DEDUP_MIB_SET=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--density) DENSITY=$2 DENSITY_SET=1 && shift ;;
	--running) RUNNING=$2 RUNNING_SET=1 && shift ;;
	--restart) RESTART=$2 RESTART_SET=1 && shift ;;
	--rounds) ROUNDS=$2 ROUNDS_SET=1 && shift ;;
	--dedup-mib) DEDUP_MIB=$2 DEDUP_MIB_SET=1 && shift ;;
	--metrics-sizes) METRICS_SIZES=$2 METRICS_SIZES_SET=1 && shift ;;
	--stats-period) STATS_PERIOD=$2 && shift ;;
	--targets) TARGETS_ARG=$2 && shift ;;
	--scenarios) SCENARIOS_ARG=$2 && shift ;;
	--results) RESULTS=$2 && shift ;;
	--no-docs) DOCS=0 ;;
	--keep) KEEP=1 ;;
	--no-deps) DEPS=0 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' && exit 0 ;;
	*) echo "compare.sh: unknown option $1 (see --help)" >&2 && exit 2 ;;
	esac
	shift
done

# Counts per scenario: (full, quick). churn is the 8-client throughput run;
# FLAT_A/FLAT_B the churn cycles after which berthd's memory is compared;
# N_RESTARTS the kills and restarts of the restart scenario.
if [ "$QUICK" = 1 ]; then
	N_VERSION=200 N_POD=5 N_CONTAINER=5 N_S2R=5 N_EXEC=10 N_CHURN=24 N_PULL=2 N_SAMPLES=200
	N_STORM=16
	FLAT_A=10 FLAT_B=50 LAYER_MIB=1 N_RESTARTS=1
	[ "$DENSITY_SET" = 1 ] || DENSITY=20
	[ "$RUNNING_SET" = 1 ] || RUNNING=10
	[ "$RESTART_SET" = 1 ] || RESTART=20
	[ "$ROUNDS_SET" = 1 ] || ROUNDS=2
	[ "$DEDUP_MIB_SET" = 1 ] || DEDUP_MIB=4
	[ "$METRICS_SIZES_SET" = 1 ] || METRICS_SIZES=10
	N_METRICS=20
else
	N_VERSION=1000 N_POD=50 N_CONTAINER=50 N_S2R=50 N_EXEC=200 N_CHURN=200 N_PULL=3 N_SAMPLES=1000
	N_STORM=100
	FLAT_A=100 FLAT_B=1000 LAYER_MIB=4 N_RESTARTS=3
	N_METRICS=50
fi
CLIENTS=8
CALL_TIMEOUT=300

IFS=, read -r -a TARGETS <<<"$TARGETS_ARG"
for t in "${TARGETS[@]}"; do
	case $t in berth-runc | containerd-runc | berth-crun) ;;
	*) echo "compare.sh: unknown target $t" >&2 && exit 2 ;;
	esac
done
IFS=, read -r -a SCENARIOS <<<"$SCENARIOS_ARG"
for s in "${SCENARIOS[@]}"; do
	case ,$ALL_SCENARIOS,metrics, in *",$s,"*) ;;
	*) echo "compare.sh: unknown scenario $s" >&2 && exit 2 ;;
	esac
done
# A partial run never replaces the full one in docs/performance.md.
[ "$SCENARIOS_ARG" = "$ALL_SCENARIOS" ] || DOCS=0
# Whether this run includes scenario $1.
want() { [[ ,$SCENARIOS_ARG, == *",$1,"* ]]; }

log() { printf '%s compare: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (it starts CRI servers, bridges and cgroups)"

# --- per-target settings ------------------------------------------------
# Bridge names are at most 15 characters; the /20 subnets hold the density
# run's pods and overlap neither the contrib network (10.247.0.0/16) nor
# the test suite's bridges.
declare -A BRIDGE=([berth-runc]=bbench-runc [containerd-runc]=bbench-ctrd [berth-crun]=bbench-crun)
declare -A SUBNET=([berth-runc]=10.249.0 [containerd-runc]=10.249.16 [berth-crun]=10.249.32)
declare -A CGPARENT=([berth-runc]=/berth-bench-runc [containerd-runc]=/berth-bench-ctrd
	[berth-crun]=/berth-bench-crun)
declare -A RUNTIME=([berth-runc]=runc [berth-crun]=crun)
declare -A METRICS_ADDR=() ENDPOINT=() PID=() HELPER_EXE=() HELPER_MATCH=() SERVER_LOG=()

BENCH=""
FIXTURES_PID=""
CLIENT_PID=""
DEDUP_IMAGES=()
RUN_CONTAINERD_EXISTED=1
[ -e /run/containerd ] || RUN_CONTAINERD_EXISTED=0

# --- clean-up: everything this run started, nothing else ------------------
# A zombie is not alive: a server the restart scenario started is no child
# of this shell, and waits for whoever adopted it to reap it.
alive() {
	local stat
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# Stop a process we started: SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
	local pid=$1 grace=${2:-30} i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	log "pid $pid did not stop in ${grace}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

# A client interrupted mid-scenario: SIGINT first (berthctl removes what it
# made), then SIGTERM; cri.py cleanup removes whatever is left either way.
stop_client() {
	local i
	alive "$CLIENT_PID" || return 0
	log "stopping the client (pid $CLIENT_PID)"
	kill -INT "$CLIENT_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		alive "$CLIENT_PID" || return 0
		sleep 0.1
	done
	stop_pid "$CLIENT_PID" 5
}

# Pids whose /proc/PID/exe is $1 and whose command line contains $2.
helper_pids() {
	local exe match=$2 p
	exe=$(readlink -f "$1")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] || continue
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$match" && echo "${p#/proc/}"
	done
	return 0
}

# iptables chains the bridge plugin's ipMasq left for our networks (CNI DEL
# removes them; this catches a DEL that never ran).
clean_iptables() {
	local t=$1 rule chain
	command -v iptables >/dev/null || return 0
	iptables -t nat -S POSTROUTING 2>/dev/null | grep -F "name: \\\"${BRIDGE[$t]}\\\"" |
		while read -r rule; do
			chain=${rule##* -j }
			eval "iptables -t nat ${rule/#-A /-D }" 2>/dev/null || true
			case $chain in CNI-*)
				iptables -t nat -F "$chain" 2>/dev/null || true
				iptables -t nat -X "$chain" 2>/dev/null || true
				;;
			esac
			log "$t: removed leftover iptables rule for chain $chain"
		done
	return 0
}

cleanup() {
	local rc=$? t p m d
	trap - EXIT INT TERM
	set +e
	[ -n "$BENCH" ] || exit "$rc"
	log "cleaning up"
	stop_client
	for t in "${TARGETS[@]}"; do
		sync_pid "$t"
		if alive "${PID[$t]:-}"; then
			timeout 1800 "$PY" "$LIB/cri.py" "${ENDPOINT[$t]}" cleanup
		fi
	done
	for t in "${TARGETS[@]}"; do
		stop_pid "${PID[$t]:-}" 30
		if [ -n "${HELPER_EXE[$t]:-}" ]; then
			for p in $(helper_pids "${HELPER_EXE[$t]}" "${HELPER_MATCH[$t]}"); do
				log "$t: stopping leftover helper $p"
				stop_pid "$p" 5
			done
		fi
	done
	stop_pid "$FIXTURES_PID" 15
	# Mounts under the bench dir, deepest first: namespace pins, rootfs
	# overlays, containerd's snapshots and /dev/shm mounts.
	while read -r m; do
		umount -l "$m" 2>/dev/null
	done < <(awk -v b="$BENCH/" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo |
		awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
	for t in "${TARGETS[@]}"; do
		if [ -e "/sys/class/net/${BRIDGE[$t]}" ]; then
			ip link del "${BRIDGE[$t]}" && log "$t: deleted bridge ${BRIDGE[$t]}"
		fi
		clean_iptables "$t"
		for d in /sys/fs/cgroup/*"${CGPARENT[$t]}"; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	done
	# containerd's shims put their sockets under /run/containerd/s whatever
	# the config says: remove what is empty, if this run created the dir.
	if [ "$RUN_CONTAINERD_EXISTED" = 0 ] && [ -d /run/containerd ]; then
		find /run/containerd -depth -type d -empty -delete 2>/dev/null
	fi
	if [ -d "$RESULTS" ]; then
		mkdir -p "$RESULTS/logs"
		for t in "${TARGETS[@]}"; do
			for f in "$BENCH/$t"/*.log; do
				[ -f "$f" ] && cp "$f" "$RESULTS/logs/$t.$(basename "$f")"
			done
		done
	fi
	if [ "$KEEP" = 1 ]; then
		log "kept $BENCH"
	else
		rm -rf "$BENCH"
	fi
	[ "$rc" = 0 ] || log "failed (exit $rc); logs in $RESULTS/logs"
	exit "$rc"
}

# --- set-up ---------------------------------------------------------------
prepare() {
	if [ "$DEPS" = 1 ]; then
		bash "$REPO/contrib/install-deps.sh" --bench
	fi
	command -v containerd >/dev/null || die "containerd not installed (contrib/install-deps.sh --bench)"
	log "building berth (make all)"
	make -C "$REPO" -j"$(nproc)" all >"$RESULTS/make.log" 2>&1 ||
		die "make all failed: see $RESULTS/make.log"
	if [ -z "${BERTHCTL:-}" ]; then
		BERTHCTL=$REPO/bin/berthctl
		[ -x "$BERTHCTL" ] || make -C "$REPO" -j"$(nproc)" bin/berthctl >>"$RESULTS/make.log" 2>&1 || true
	fi
	[ -x "$BERTHCTL" ] || die "no berthctl at $BERTHCTL (build it, or set BERTHCTL)"
	prepare_hugetlb
}

# crun refuses a cgroup-v1 hybrid host whose v2 hierarchy holds a controller
# (hugetlb here); a v1 hugetlb mount frees it, as the test suite does
# (tests/integration/conftest.py). Host preparation: left in place.
prepare_hugetlb() {
	local unified=/sys/fs/cgroup/unified/cgroup.controllers
	[ -r "$unified" ] && grep -qw hugetlb "$unified" || return 0
	mkdir -p /sys/fs/cgroup/hugetlb
	if mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb; then
		log "host: mounted a cgroup v1 hugetlb hierarchy at /sys/fs/cgroup/hugetlb so that crun can run (left mounted)"
	else
		log "host: could not mount a v1 hugetlb hierarchy: crun may fail"
	fi
}

start_fixtures() {
	local state=$BENCH/fixtures.json i dedup_mib=0
	# The dedup images only when the run has the scenario.
	want dedup && dedup_mib=$DEDUP_MIB
	log "building the fixture images and starting a local registry"
	setsid "$PY" "$LIB/fixtures.py" --state "$state" --pause-bin "$REPO/bin/berth-pause" \
		--layer-mib "$LAYER_MIB" --dedup-mib "$dedup_mib" >"$BENCH/fixtures.log" 2>&1 </dev/null &
	FIXTURES_PID=$!
	for ((i = 0; i < 1200; i++)); do
		[ -f "$state" ] && break
		alive "$FIXTURES_PID" || die "fixtures failed: $(tail -5 "$BENCH/fixtures.log")"
		sleep 0.1
	done
	[ -f "$state" ] || die "fixtures not ready after 120 s"
	REGISTRY=$(jq_get "$state" host)
	IMAGE=$(jq_get "$state" images.busybox)
	PULL_IMAGE=$(jq_get "$state" images.pull)
	PAUSE_IMAGE=$(jq_get "$state" images.pause)
	log "registry $REGISTRY: $IMAGE, $PULL_IMAGE, $PAUSE_IMAGE"
	if want dedup; then
		mapfile -t DEDUP_IMAGES < <(jq_get "$state" dedup)
		[ -n "${DEDUP_IMAGES[0]:-}" ] || die "fixtures: no dedup images"
		log "dedup images: ${DEDUP_IMAGES[*]}"
	fi
}

# jq_get FILE a.b: one string from a JSON file (no jq needed); a list, one
# item a line.
jq_get() {
	"$PY" -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print("\n".join(v) if isinstance(v, list) else v)' "$1" "$2"
}

# The contrib network's shape (bridge + host-local + portmap), on a bridge,
# subnet and IPAM dir of the target's own.
write_conflist() {
	local t=$1 dir=$2
	mkdir -p "$dir"
	cat >"$dir/10-bench.conflist" <<-EOF
		{
		  "cniVersion": "1.0.0",
		  "name": "${BRIDGE[$t]}",
		  "plugins": [
		    {
		      "type": "bridge",
		      "bridge": "${BRIDGE[$t]}",
		      "isGateway": true,
		      "ipMasq": true,
		      "hairpinMode": true,
		      "ipam": {
		        "type": "host-local",
		        "ranges": [[{ "subnet": "${SUBNET[$t]}.0/20", "gateway": "${SUBNET[$t]}.1" }]],
		        "routes": [{ "dst": "0.0.0.0/0" }],
		        "dataDir": "$BENCH/$t/ipam"
		      }
		    },
		    { "type": "portmap", "capabilities": { "portMappings": true } }
		  ]
		}
	EOF
}

# Wait for a server's socket to answer; fail with its log if it died.
wait_server() {
	local t=$1 log=$2 i
	for ((i = 0; i < 600; i++)); do
		alive "${PID[$t]}" || die "$t exited at start: $(tail -20 "$log")"
		if [ -S "${ENDPOINT[$t]}" ] && "$PY" "$LIB/cri.py" "${ENDPOINT[$t]}" wait 5 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "$t not answering after 60 s: $(tail -20 "$log")"
}

# The runtime state dir (berth's runroot, containerd's state dir, and the
# runc root inside each) on a tmpfs of its own, as /run is on a Debian
# host: a server that fsyncs there pays nothing, as in production. The
# clean-up's unmount of everything under the bench dir removes it.
mount_state_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o mode=0755,size=2g berth-bench "$1"
}

# server_cmd TARGET: the server's command line into SERVER_CMD, kept so
# that a restart can run it again as it was. setsid: a Ctrl-C in the
# terminal reaches the script, not the servers, which must still answer
# while clean-up removes their pods.
SERVER_CMD=()
server_cmd() {
	local t=$1 dir=$BENCH/$1
	case $t in
	berth-*)
		SERVER_CMD=(setsid "$REPO/bin/berthd" --config /dev/null --config-dir "$dir/none"
			--root "$dir/root" --runroot "$dir/run" --listen "${ENDPOINT[$t]}"
			--log-level warn --default-runtime "${RUNTIME[$t]}"
			--default-cgroup-parent "${CGPARENT[$t]}"
			--registries-conf "$dir/registries.conf"
			--cni-config-dir "$dir/cni" --cni-plugin-dir /usr/lib/cni
			--stats-collection-period "$STATS_PERIOD")
		if [ -n "${METRICS_ADDR[$t]:-}" ]; then
			SERVER_CMD+=(--enable-metrics true --metrics-address "${METRICS_ADDR[$t]}")
		fi
		;;
	containerd-runc) SERVER_CMD=(setsid containerd --config "$dir/containerd.toml") ;;
	esac
}

# exec_server TARGET: start the server on what start_berthd or
# start_containerd set up; its output appended to its log. Disowned: a
# server killed on purpose is no job failure for bash to report.
exec_server() {
	local t=$1
	server_cmd "$t"
	"${SERVER_CMD[@]}" >>"${SERVER_LOG[$t]}" 2>&1 </dev/null &
	PID[$t]=$!
	disown "${PID[$t]}"
}

# The restart scenario starts the server anew (bench/restart.py) and
# writes each new pid to $BENCH/TARGET/server.pid: PID[] follows it.
sync_pid() {
	local t=$1 f=$BENCH/$1/server.pid p
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	[ -n "$p" ] && [ "$p" != "${PID[$t]:-}" ] || return 0
	log "$t: restarted as pid $p (was ${PID[$t]:-none})"
	PID[$t]=$p
}

start_berthd() {
	local t=$1 dir=$BENCH/$1
	mkdir -p "$dir/none"
	mount_state_tmpfs "$dir/run"
	: >"$dir/registries.conf"
	write_conflist "$t" "$dir/cni"
	ENDPOINT[$t]=$dir/run/berth.sock
	SERVER_LOG[$t]=$dir/berthd.log
	if want metrics; then
		METRICS_ADDR[$t]=127.0.0.1:$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	fi
	exec_server "$t"
	HELPER_EXE[$t]=$REPO/bin/berth-conmon
	HELPER_MATCH[$t]=$dir/
	wait_server "$t" "${SERVER_LOG[$t]}"
}

start_containerd() {
	local t=$1 dir=$BENCH/$1 hosts
	mkdir -p "$dir/root"
	mount_state_tmpfs "$dir/state"
	write_conflist "$t" "$dir/cni"
	ENDPOINT[$t]=$dir/containerd.sock
	SERVER_LOG[$t]=$dir/containerd.log
	# The local registry over plain HTTP, through hosts.toml.
	hosts=$dir/certs.d/$REGISTRY
	mkdir -p "$hosts"
	cat >"$hosts/hosts.toml" <<-EOF
		server = "http://$REGISTRY"

		[host."http://$REGISTRY"]
		  capabilities = ["pull", "resolve"]
	EOF
	sed -e "s|@ROOT@|$dir/root|g" -e "s|@STATE@|$dir/state|g" \
		-e "s|@SOCKET@|${ENDPOINT[$t]}|g" -e "s|@SANDBOX_IMAGE@|$PAUSE_IMAGE|g" \
		-e "s|@RUNC@|$(command -v runc)|g" -e "s|@CNI_BIN_DIR@|/usr/lib/cni|g" \
		-e "s|@CNI_CONF_DIR@|$dir/cni|g" -e "s|@CERTS_D@|$dir/certs.d|g" \
		"$LIB/containerd.toml.in" >"$dir/containerd.toml"
	exec_server "$t"
	HELPER_EXE[$t]=$(command -v containerd-shim-runc-v2)
	HELPER_MATCH[$t]=${ENDPOINT[$t]}
	wait_server "$t" "${SERVER_LOG[$t]}"
}

start_servers() {
	local t
	for t in "${TARGETS[@]}"; do
		if ip -4 route show | grep -q "^${SUBNET[$t]}\.0/20"; then
			die "$t: a route to ${SUBNET[$t]}.0/20 exists already (another run?)"
		fi
		[ -e "/sys/class/net/${BRIDGE[$t]}" ] && die "$t: bridge ${BRIDGE[$t]} exists already"
		case $t in
		berth-*) start_berthd "$t" ;;
		containerd-runc) start_containerd "$t" ;;
		esac
		"$PY" "$LIB/cri.py" "${ENDPOINT[$t]}" version >"$RESULTS/$t.version.json"
		log "$t: pid ${PID[$t]}, $(cat "$RESULTS/$t.version.json")"
		# Images in place before anything is measured (containerd's pause
		# image too, which it would otherwise pull at the first pod).
		"$PY" "$LIB/cri.py" "${ENDPOINT[$t]}" pull "$IMAGE" ||
			die "$t: cannot pull $IMAGE"
		if [ "$t" = containerd-runc ]; then
			"$PY" "$LIB/cri.py" "${ENDPOINT[$t]}" pull "$PAUSE_IMAGE" ||
				die "$t: cannot pull $PAUSE_IMAGE"
		fi
	done
}

# --- scenarios --------------------------------------------------------------
FAILED=()

# run_client OUT CMD...: one benchmark client, output to OUT, in the
# background and waited for, so that a signal runs the trap at once;
# clean-up then stops the client (stop_client). Returns its exit status.
run_client() {
	local out=$1 rc=0
	shift
	"$@" >"$out" 2>&1 </dev/null &
	CLIENT_PID=$!
	wait "$CLIENT_PID" || rc=$?
	CLIENT_PID=""
	return "$rc"
}

# failed_run TARGET SCENARIO TAG RC CLEANUP: after a client that exited
# RC != 0: the failure is logged and recorded (the report shows the figure
# as missing), its JSON removed, the run stops if the server died, and
# with CLEANUP=1 what the client left in the server is removed; the run
# goes on with the next target.
failed_run() {
	local t=$1 scen=$2 tag=$3 rc=$4 cleanup=$5
	log "$t: $scen $tag FAILED (exit $rc): $(tail -3 "$RESULTS/logs/$scen.$t.$tag.out")"
	FAILED+=("$t:$scen:$tag")
	rm -f "$RESULTS/$scen.$t.$tag.json"
	alive "${PID[$t]}" || die "$t died: see its log"
	if [ "$cleanup" = 1 ]; then
		"$PY" "$LIB/cri.py" "${ENDPOINT[$t]}" cleanup || true
	fi
}

# bench_one TARGET SCENARIO TAG ARGS...: one berthctl bench run, JSON to
# $RESULTS/SCENARIO.TARGET.TAG.json.
bench_one() {
	local t=$1 scen=$2 tag=$3 rc=0
	shift 3
	log "$t: $scen $tag $*"
	# Options first, the scenario last; a generous per-call timeout, as 8
	# concurrent clients queue for seconds on a small machine. --settle:
	# the run waits (up to 30 s) for the CPUs to be 90% idle over half a
	# second, so that what one server still does after its run (a shim
	# exiting, garbage collection, a veth going away) does not fall on the
	# next target's figures; every run of every target waits the same way.
	run_client "$RESULTS/logs/$scen.$t.$tag.out" \
		"$BERTHCTL" -r "unix://${ENDPOINT[$t]}" --timeout "$CALL_TIMEOUT" bench \
		--image "$IMAGE" --pull-image "$PULL_IMAGE" --cgroup-parent "${CGPARENT[$t]}" \
		--server-pid "${PID[$t]}" --helper-exe "${HELPER_EXE[$t]}" \
		--helper-match "${HELPER_MATCH[$t]}" --clients "$CLIENTS" --settle 30 \
		--json "$RESULTS/$scen.$t.$tag.json" "$@" "$scen" || rc=$?
	[ "$rc" = 0 ] || failed_run "$t" "$scen" "$tag" "$rc" 1
}

# restart_one TARGET: bench/restart.py populates RESTART containers, kills
# the server and starts it with its own command line (server_cmd) and log,
# N_RESTARTS times, and times it to a correct ListContainers; JSON to
# $RESULTS/restart.TARGET.r1.json. A failure is recorded as bench_one's.
restart_one() {
	local t=$1 out=$RESULTS/logs/restart.$1.r1.out rc=0
	log "$t: restart r1 ($RESTART containers, $N_RESTARTS restarts)"
	server_cmd "$t"
	run_client "$out" "$PY" "$REPO/bench/restart.py" --endpoint "${ENDPOINT[$t]}" \
		--server-pid "${PID[$t]}" --image "$IMAGE" --cgroup-parent "${CGPARENT[$t]}" \
		--containers "$RESTART" --runs "$N_RESTARTS" --settle 60 --timeout "$CALL_TIMEOUT" \
		--pid-file "$BENCH/$t/server.pid" --log "${SERVER_LOG[$t]}" \
		--json "$RESULTS/restart.$t.r1.json" -- "${SERVER_CMD[@]}" || rc=$?
	# The server now running is the last one the client started.
	sync_pid "$t"
	grep -E 'run [0-9]+:' "$out" | sed "s/^[0-9:]* restart: /$t: /" | while read -r line; do
		log "$line"
	done
	[ "$rc" = 0 ] || failed_run "$t" restart r1 "$rc" 1
}

# Targets in round order: as given on odd rounds, reversed on even ones.
round_order() {
	local r=$1 i
	if ((r % 2 == 1)); then
		printf '%s\n' "${TARGETS[@]}"
	else
		for ((i = ${#TARGETS[@]} - 1; i >= 0; i--)); do echo "${TARGETS[$i]}"; done
	fi
}

# interleaved SCENARIO ARGS...: ROUNDS rounds over every target.
interleaved() {
	local scen=$1 r t
	shift
	for ((r = 1; r <= ROUNDS; r++)); do
		for t in $(round_order "$r"); do
			bench_one "$t" "$scen" "r$r" "$@"
		done
	done
}

# dedup_one TARGET: the dedup scenario on one server (bench/lib/dedup.py),
# JSON to $RESULTS/dedup.TARGET.r1.json. The store is what holds images:
# berth's root/storage (the ostree repo, image records, rootfs checkouts
# hardlinked into the repo), containerd's whole root (content store,
# overlayfs snapshots, metadata db; the rest of it holds no image data).
dedup_one() {
	local t=$1 rc=0 store=$BENCH/$1/root out=$RESULTS/logs/dedup.$1.r1.out
	case $t in berth-*) store=$BENCH/$t/root/storage ;; esac
	log "$t: dedup r1, ${#DEDUP_IMAGES[@]} images sharing $DEDUP_MIB MiB"
	run_client "$out" "$PY" "$LIB/dedup.py" --endpoint "${ENDPOINT[$t]}" --store "$store" \
		--shared-mib "$DEDUP_MIB" --settle 30 --json "$RESULTS/dedup.$t.r1.json" \
		"${DEDUP_IMAGES[@]}" || rc=$?
	if [ "$rc" != 0 ]; then
		failed_run "$t" dedup r1 "$rc" 0
	else
		log "$t: $(grep -v '^{' "$out" | tail -1)"
	fi
}

memsample() {
	local t=$1 variant=$2
	"$PY" "$LIB/memstat.py" --variant "$variant" --server-pid "${PID[$t]}" \
		--helper-exe "${HELPER_EXE[$t]}" --helper-match "${HELPER_MATCH[$t]}" \
		--endpoint "${ENDPOINT[$t]}" --json "$RESULTS/memstat.$t.$variant.json" >/dev/null ||
		FAILED+=("$t:memstat:$variant")
}

run_scenarios() {
	local t
	# Memory first, on servers that have done nothing but pull: idle,
	# RUNNING running containers, after churn.
	if want memory; then
		for t in "${TARGETS[@]}"; do
			memsample "$t" idle-at-start
			bench_one "$t" memory r1 -n "$RUNNING"
		done
	fi
	want version && interleaved version -n "$N_VERSION"
	want pod && interleaved pod -n "$N_POD"
	want container && interleaved container -n "$N_CONTAINER"
	want start-to-running && interleaved start-to-running -n "$N_S2R"
	want exec && interleaved exec -n "$N_EXEC"
	want churn && interleaved churn -n "$N_CHURN"
	# A start storm: N_STORM pods with a container each by 16 clients at
	# once (bench_one's --clients 8 is overridden: the last one counts).
	want storm && interleaved storm -n "$N_STORM" --clients 16
	want pull && interleaved pull --pull-runs "$N_PULL"
	if want dedup; then
		for t in "${TARGETS[@]}"; do
			dedup_one "$t"
		done
	fi
	# Flatness: memory after FLAT_A and after FLAT_B churn cycles of this
	# phase (before density, whose peak would hide any growth).
	if want flatness; then
		for t in "${TARGETS[@]}"; do
			bench_one "$t" churn "flat-$FLAT_A" -n "$FLAT_A"
			memsample "$t" "after-churn-$FLAT_A"
		done
		for t in $(round_order 2); do
			bench_one "$t" churn "flat-$FLAT_B" -n "$((FLAT_B - FLAT_A))"
			memsample "$t" "after-churn-$FLAT_B"
		done
	fi
	if want density; then
		for t in "${TARGETS[@]}"; do
			bench_one "$t" density r1 -n "$DENSITY" --samples "$N_SAMPLES"
		done
	fi
	if want metrics; then
		local size sizes args
		IFS=, read -r -a sizes <<<"$METRICS_SIZES"
		for size in "${sizes[@]}"; do
			for t in "${TARGETS[@]}"; do
				args=(-n "$size" --samples "$N_METRICS")
				[ -z "${METRICS_ADDR[$t]:-}" ] || args+=(--metrics-address "${METRICS_ADDR[$t]}")
				bench_one "$t" metrics "at-$size" "${args[@]}"
			done
		done
	fi
	if want restart; then
		for t in "${TARGETS[@]}"; do
			restart_one "$t"
		done
	fi
	return 0
}

main() {
	mkdir -p "$RESULTS/logs"
	RESULTS=$(cd "$RESULTS" && pwd)
	log "results in $RESULTS"
	prepare
	BENCH=$(mktemp -d /var/tmp/berth-bench-run.XXXXXX)
	trap cleanup EXIT
	trap 'log "interrupted"; exit 130' INT TERM
	start_fixtures
	start_servers
	run_scenarios
	local report_args=(--results "$RESULTS" --command "$COMMAND"
		--targets "$TARGETS_ARG" --density "$DENSITY" --running "$RUNNING" --restart "$RESTART"
		--flat "$FLAT_A,$FLAT_B" --rounds "$ROUNDS" --client "${BERTHCTL#"$REPO"/}")
	[ "$DOCS" = 1 ] && report_args+=(--docs "$REPO/docs/performance.md")
	"$PY" "$LIB/report.py" "${report_args[@]}"
	if [ ${#FAILED[@]} -gt 0 ]; then
		log "failed runs (figures missing): ${FAILED[*]}"
		return 1
	fi
}

main
