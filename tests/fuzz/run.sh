#!/usr/bin/env bash
# Runs fuzz targets, one process each, for `make fuzz` and `make
# fuzz-smoke`; see docs/testing.md.
#   run.sh --time SECONDS [--keep] [--jobs N] build/fuzz/bin/fuzz_<name>...
# Each target first replays tests/fuzz/regressions/<name>/ (if any), then
# fuzzes from its seeds tests/fuzz/corpus/<name>/ with the dictionary
# tests/fuzz/<name>.dict (if any). Without --keep the corpus is a scratch
# copy of the seeds; with --keep it is build/fuzz/corpus/<name>/, kept
# across runs. --jobs runs up to N targets at once (default 1: one after
# the other). A finding fails the run with libFuzzer's report (targets
# already running finish; no new one starts); the input is saved as
# build/fuzz/artifacts/<name>/crash-... (or leak-, timeout-, oom-). At
# the end: executions per target.
set -euo pipefail
cd "$(dirname "$0")/../.."

time=30
keep=0
jobs=1
bins=()
while [ $# -gt 0 ]; do
	case $1 in
	--time) time=$2 && shift ;;
	--keep) keep=1 ;;
	--jobs) jobs=$2 && shift ;;
	-*) echo "run.sh: unknown option $1" >&2 && exit 2 ;;
	*) bins+=("$1") ;;
	esac
	shift
done

scratch=$(mktemp -d /tmp/berth-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# One target; its summary line goes to $scratch/<name>.summary.
fuzz_one() {
	local bin=$1 name=${1##*/fuzz_}
	local seeds=tests/fuzz/corpus/$name
	local regress=tests/fuzz/regressions/$name
	local artifacts=build/fuzz/artifacts/$name corpus
	mkdir -p "$artifacts"
	local opts=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		"-artifact_prefix=$artifacts/")
	if [ -f "tests/fuzz/$name.dict" ]; then
		opts+=("-dict=tests/fuzz/$name.dict")
	fi
	if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
		echo "== $name: replaying $regress"
		if ! "$bin" "${opts[@]}" "$regress"/* >"$scratch/$name.replay" 2>&1; then
			cat "$scratch/$name.replay"
			echo "== $name: a regression input fails again" >&2
			return 1
		fi
	fi
	if [ "$keep" = 1 ]; then
		corpus=build/fuzz/corpus/$name
	else
		corpus=$scratch/$name
	fi
	mkdir -p "$corpus"
	cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
	echo "== $name: fuzzing for ${time}s"
	local log=$scratch/$name.log
	if ! "$bin" "${opts[@]}" -max_total_time="$time" "$corpus" \
		>"$log" 2>&1; then
		cat "$log"
		echo "== $name: FINDING (input saved under $artifacts/)" >&2
		return 1
	fi
	local runs units
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	units=$(ls "$corpus" | wc -l)
	printf '%-16s %12s runs %6s corpus files\n' "$name" "$runs" "$units" \
		>"$scratch/$name.summary"
}

failed=0
running=0
for bin in "${bins[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || failed=1
		running=$((running - 1))
	fi
	[ "$failed" = 1 ] && break
	fuzz_one "$bin" &
	running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
	wait -n || failed=1
	running=$((running - 1))
done
if [ "$failed" = 1 ]; then
	echo "== fuzzing FAILED" >&2
	exit 1
fi
echo "== fuzzing done, no finding"
for bin in "${bins[@]}"; do
	cat "$scratch/${bin##*/fuzz_}.summary"
done
