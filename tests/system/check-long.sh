#!/usr/bin/env bash
# check-long.sh — what `make check-long` runs: long seed sweeps that hunt for broken
# invariants under safe settings (DESIGN.md §6).  Every seed must pass.
set -u
cd "$(dirname "$0")/../.." || exit 2
SL=build/streamlab
failed=0
for scenario in scenarios/lab.json scenarios/chaos.json tests/scenarios/consumer-faults.json; do
    [ -f "$scenario" ] || continue
    echo "==> $SL check $scenario --seeds 1-1000"
    start=$(date +%s)
    "$SL" check "$scenario" --seeds 1-1000 | tail -n 20 || failed=1
    echo "    ($(($(date +%s) - start)) s)"
done
exit "$failed"
