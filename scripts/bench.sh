#!/usr/bin/env bash
# Re-runs the whole benchmark suite (docs/PERFORMANCE.md): sets up (gnuplot for the plot), builds, and
# runs every scenario against bare Mosquitto and the chat server, 3 rounds each, on loopback. About 15
# minutes on the 2-core development machine. Results go to bench-results/: chat-bench.json, the
# latency plot (chat-bench-latency.png) and the printed tables (chat-bench.txt).
#   scripts/bench.sh                      everything
#   scripts/bench.sh one-to-one idle      some scenarios (chat-bench --list names them)
#   BENCH_ARGS="--rounds 5" scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench
scripts/build.sh
mkdir -p bench-results
# shellcheck disable=SC2086  # BENCH_ARGS is a list of options
build/clients/bench/chat-bench ${BENCH_ARGS:-} --out bench-results/chat-bench.json \
  --plot bench-results/chat-bench-latency.png "$@" | tee bench-results/chat-bench.txt
