#!/usr/bin/env bash
# The README's test command: set up, build, run every test, then a short run of every fuzz target.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser-tests
scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 900)
scripts/fuzz.sh --short
