#!/usr/bin/env bash
# The long runs the test command is too short for, each bounded (run after building, scripts/build.sh):
#   1. crash soak: CrashTest killing the broker SOAK_KILLS times (default 50) under 1:1 and group traffic,
#      in process_crash and power_loss mode, each kill checked against the clients' records;
#   2. memory soak: chat-soak with the production storage budgets for SOAK_MINUTES (default 30) with
#      SOAK_WARMUP_MINUTES (20) of warm-up (the budgets take ~20 minutes to fill), the broker's RSS over
#      time in soak-results.json.
# Exits non-zero if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${SOAK_KILLS:-50}
status=0
for test in 0 1; do  # CrashTest's first seeds: one in each durability mode
  CHAT_CRASH_ROUNDS=$kills build/tests/integration/crash_test --gtest_filter="*/$test" || status=1
done
build/clients/bench/chat-soak --production-budgets --minutes "${SOAK_MINUTES:-30}" \
  --warmup-minutes "${SOAK_WARMUP_MINUTES:-20}" \
  --out soak-results.json || status=1
exit "$status"
