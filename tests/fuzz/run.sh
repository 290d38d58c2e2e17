#!/usr/bin/env bash
# Runs fuzz targets one after the other (one process each, never in
# parallel), for `make fuzz` and `make fuzz-smoke`; see docs/testing.md.
#   run.sh --time SECONDS [--keep] build/fuzz/bin/fuzz_<name>...
# Each target first replays tests/fuzz/regressions/<name>/ (if any), then
# fuzzes from its seeds tests/fuzz/corpus/<name>/ with the dictionary
# tests/fuzz/<name>.dict (if any). Without --keep the corpus is a scratch
# copy of the seeds; with --keep it is build/fuzz/corpus/<name>/, kept
# across runs. A finding stops everything with libFuzzer's report; the
# input is saved as build/fuzz/artifacts/<name>/crash-... (or leak-,
# timeout-, oom-). At the end: executions per target.
set -euo pipefail
cd "$(dirname "$0")/../.."

time=30
keep=0
bins=()
while [ $# -gt 0 ]; do
	case $1 in
	--time) time=$2 && shift ;;
	--keep) keep=1 ;;
	-*) echo "run.sh: unknown option $1" >&2 && exit 2 ;;
	*) bins+=("$1") ;;
	esac
	shift
done

scratch=$(mktemp -d /tmp/berth-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
summary=()
for bin in "${bins[@]}"; do
	name=${bin##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	regress=tests/fuzz/regressions/$name
	artifacts=build/fuzz/artifacts/$name
	mkdir -p "$artifacts"
	opts=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		"-artifact_prefix=$artifacts/")
	if [ -f "tests/fuzz/$name.dict" ]; then
		opts+=("-dict=tests/fuzz/$name.dict")
	fi
	if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
		echo "== $name: replaying $regress"
		"$bin" "${opts[@]}" "$regress"/*
	fi
	if [ "$keep" = 1 ]; then
		corpus=build/fuzz/corpus/$name
	else
		corpus=$scratch/$name
	fi
	mkdir -p "$corpus"
	cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
	echo "== $name: fuzzing for ${time}s"
	log=$scratch/$name.log
	if ! "$bin" "${opts[@]}" -max_total_time="$time" "$corpus" \
		>"$log" 2>&1; then
		cat "$log"
		echo "== $name: FINDING (input saved under $artifacts/)" >&2
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	units=$(ls "$corpus" | wc -l)
	summary+=("$(printf '%-16s %12s runs %6s corpus files' "$name" \
		"$runs" "$units")")
done
echo "== fuzzing done, no finding"
printf '%s\n' "${summary[@]}"
