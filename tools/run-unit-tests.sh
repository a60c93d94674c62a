#!/usr/bin/env bash
# Runs each Criterion test binary in turn and ends with one summary line that CI reads.
set -u
passed=0 failed=0 failed_bins=()
for bin in "$@"; do
    out=$("$bin" --jobs 1 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^\[====\] Synthesis:' | tail -1)
    p=$(printf '%s' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    c=$(printf '%s' "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${c:-0}))
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        failed_bins+=("$bin")
        printf '%s\n' "$out" | grep -vE '^\[----\]|^\[====\] Running' | tail -40
        [ -z "$line" ] && failed=$((failed + 1))
    fi
    printf '%-40s %s\n' "$(basename "$bin")" "${line:-CRASHED (exit $rc)}"
done
echo "unit: $passed passed, $failed failed"
[ ${#failed_bins[@]} -eq 0 ]
