#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UBSan into build-asan/ and runs the whole test suite on it:
# the tests, the tools they start and the plugin inside the stock broker (which gets the ASan runtime
# preloaded, see harness/broker_process.cc). Reports from the broker go to build-asan/sanitizer-reports/;
# any report, or any failed test, fails the run. Takes about three times the normal test command, so it
# is not part of it; run it before a release and after changes to memory handling.
#   SANITIZE_TESTS: a ctest -R regex to run only some tests (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser-tests
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAT_SANITIZE=ON >/dev/null
cmake --build build-asan -j2
reports=$PWD/build-asan/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# libstdc++ too: mosquitto is C, so without it ASan finds no __cxa_throw to intercept when it starts, and
# the first C++ exception in the plugin (yaml-cpp's, for a bad config) aborts the broker.
export CHAT_BROKER_PRELOAD
CHAT_BROKER_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libstdc++.so)"
export CHAT_SANITIZER_REPORTS=$reports
# The latency bounds of the abuse tests (how long another user may wait) scaled to the slower build.
export CHAT_TEST_TIME_SCALE=4
# The test programs are instrumented themselves; their reports go to the test's output.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
(cd build-asan && ctest --output-on-failure -j2 --timeout 1800 ${SANITIZE_TESTS:+-R "$SANITIZE_TESTS"}) || status=$?
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: the broker reported errors:" >&2
  head -60 "$reports"/* >&2
  status=1
fi
if [ "$status" -eq 0 ]; then echo "sanitize: every test passed with no sanitizer report"; fi
exit "$status"
