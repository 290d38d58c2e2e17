#!/bin/sh
# Run critest v1.26.1 against a throwaway berthd with offline look-alike
# images (see README.md). Run from anywhere after `make`; needs root.
#   tests/critest/run.sh [--runtime crun|runc] [--focus RE] [--skip RE] [--keep]
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
export BERTH_BIN_DIR="${BERTH_BIN_DIR:-$repo/bin}"
export BERTH_PYSTUBS="${BERTH_PYSTUBS:-$repo/build/py}"
exec /usr/bin/python3 "$repo/tests/critest/run.py" "$@"
