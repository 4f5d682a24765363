#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (AddressSanitizer + UBSan) into build-fuzz/ and
# runs each of them over its seed corpus tests/fuzz/corpus/<target>/. Exits non-zero if any target crashes
# or breaks an invariant; the input that did it is kept in build-fuzz/crashes/<target>/.
#   --short  FUZZ_SHORT_SECONDS (8) per target with a fixed seed, over a copy of the seeds: the checked-in
#            corpus never grows (the test command runs this)
#   default  FUZZ_SECONDS (300) per target; new inputs are kept in build-fuzz/corpus/<target>/ and
#            reused by the next run
# FUZZ_JOBS: parallel build jobs (2).
set -euo pipefail
cd "$(dirname "$0")/.."

short=false
case "${1:-}" in
  --short) short=true ;;
  "") ;;
  *) echo "usage: $0 [--short]" >&2; exit 2 ;;
esac

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCHAT_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"${FUZZ_JOBS:-2}"

if $short; then seconds=${FUZZ_SHORT_SECONDS:-8}; else seconds=${FUZZ_SECONDS:-300}; fi
export UBSAN_OPTIONS=print_stacktrace=1
failed=()
for source in tests/fuzz/*_fuzzer.cc; do
  name=$(basename "$source" _fuzzer.cc)
  seeds=tests/fuzz/corpus/$name
  if [ ! -d "$seeds" ]; then echo "fuzz: $name has no seed corpus ($seeds)" >&2; exit 1; fi
  crashes=build-fuzz/crashes/$name
  log=build-fuzz/logs/$name.log
  mkdir -p "$crashes" build-fuzz/logs
  if $short; then
    corpus=build-fuzz/short-corpus/$name
    rm -rf "$corpus"
    mkdir -p "$corpus"
    cp "$seeds"/* "$corpus"/
    dirs=("$corpus")
    options=(-seed=1)
  else
    corpus=build-fuzz/corpus/$name
    mkdir -p "$corpus"
    dirs=("$corpus" "$seeds")  # libFuzzer adds new inputs to the first folder only
    options=()
  fi
  # A slow input is a finding too: every parser here runs on the broker thread or the bridge's.
  if build-fuzz/tests/fuzz/${name}_fuzzer "${options[@]}" -max_total_time="$seconds" -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$crashes/" "${dirs[@]}" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $name: ${runs:-?} executions, ok"
  else
    echo "fuzz: $name: FAILED (log: $log, input: $crashes/)"
    report='^==[0-9]+==ERROR|invariant broken|runtime error|terminate called|Test unit written'
    if grep -qE "$report" "$log"; then grep -E -A25 "$report" "$log" | head -40; else tail -40 "$log"; fi
    failed+=("$name")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
