#!/usr/bin/env bash
# bench/recovery.sh — how long a consumer group takes to recover from a consumer crash:
# the virtual time from `crash_consumer` to the group's next stable generation
# (`recovery_ms` in the run summary), over seeds of tests/scenarios/consumer-faults.json
# (a group of 3 consumers, one killed at 20 s, session.timeout.ms 45 s).
#
#   bench/recovery.sh [--record] [SEEDS]     SEEDS defaults to 1-20
#     --record   also append a dated section to bench/RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/.."
record=0
seeds=1-20
for arg in "$@"; do
    case "$arg" in
    --record) record=1 ;;
    *-*) seeds=$arg ;;
    *) echo "bench/recovery.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done
SL=build/streamlab
SCEN=tests/scenarios/consumer-faults.json
[ -x "$SL" ] || { echo "bench/recovery.sh: build $SL first (make build/streamlab)" >&2; exit 2; }
first=${seeds%-*} last=${seeds#*-}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for s in $(seq "$first" "$last"); do
    "$SL" run "$SCEN" --seed "$s" --json |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["consumed"]["billing"]["recovery_ms"])' >>"$out"
done
table=$(/usr/bin/python3 - "$out" "$seeds" "$SCEN" <<'PY'
import sys, statistics
v = [float(x) for x in open(sys.argv[1]) if x.strip() not in ("", "None")]
print("| scenario | seeds | runs | min ms | median ms | max ms |")
print("|---|---|---:|---:|---:|---:|")
print(f"| {sys.argv[3]} | {sys.argv[2]} | {len(v)} | {min(v):.0f} | {statistics.median(v):.0f} | {max(v):.0f} |")
PY
)
echo "$table"
if [ "$record" = 1 ]; then
    {
        echo
        echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — consumer crash to the next stable generation, commit $(git rev-parse --short HEAD)"
        echo
        echo "Command: \`bench/recovery.sh $seeds\` (one \`$SL run $SCEN --seed N --json\` per seed, field"
        echo "\`consumed.billing.recovery_ms\`: virtual time from \`crash_consumer\` to the group's next"
        echo "stable generation). Expected: the 45 s session timeout counted from the crashed member's"
        echo "last heartbeat (0-3 s before the crash), plus up to one heartbeat interval (3 s) for the"
        echo "survivors to hear of the rebalance, plus the rejoin round trips: about 42-48 s."
        echo
        echo "$table"
    } >>bench/RESULTS.md
fi
