#!/usr/bin/env bash
# tests/system/viz.sh — black-box tests of build/streamlab-viz (make test-viz): headless
# screenshots of the lab trace checked at known pixels (broker 2's badge is red at 45 s,
# green at 100 s), a recording, live mode replayed to the same digest, and bad files.
# Needs ffmpeg (to decode the PNGs) and python3.  One line per check; exit 1 on failure.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
VIZ=build/streamlab-viz
SL=build/streamlab
T=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-viz.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
export SDL_VIDEODRIVER=dummy
PASSED=0 FAILED=0
ok() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
fail() { echo "not ok - $1: $2"; FAILED=$((FAILED + 1)); }

# pixel PNG X Y: prints the pixel's colour as rrggbb
pixel() {
    ffmpeg -loglevel error -i "$1" -f rawvideo -pix_fmt rgb24 - 2>/dev/null |
        python3 -c 'import sys
d = sys.stdin.buffer.read(); w = int(sys.argv[1]); x, y = int(sys.argv[2]), int(sys.argv[3])
i = (y * w + x) * 3; print(d[i:i+3].hex())' "$2" "$3" "$4"
}

$SL run scenarios/lab.json --trace "$T/lab.db" >/dev/null 2>&1
for size in 1280x720 1920x1080; do
    w=${size%x*}
    read -r _ _ _ bx by < <($VIZ "$T/lab.db" --print-layout --size "$size" --at 45 | grep '^broker 2 ')
    for at in 45 100; do
        want=$([ "$at" = 45 ] && echo d93636 || echo 23a455)
        if $VIZ "$T/lab.db" --screenshot "$T/s$at.png" --at "$at" --size "$size"; then
            got=$(pixel "$T/s$at.png" "$w" "$bx" "$by")
            [ "$got" = "$want" ] && ok "screenshot $size at $at s: broker 2 badge $got" ||
                fail "screenshot $size at $at s" "badge pixel ($bx,$by) is $got, want $want"
        else
            fail "screenshot $size at $at s" "exit $?"
        fi
    done
done
colours=$(ffmpeg -loglevel error -i "$T/s45.png" -f rawvideo -pix_fmt rgb24 - | od -An -tx1 -v -w3 | sort -u | wc -l)
[ "$colours" -gt 50 ] && ok "frame at 45 s is not blank ($colours colours)" || fail "frame not blank" "$colours colours"

if $VIZ "$T/lab.db" --record "$T/clip.gif" --from 28 --to 32 --fps 5 --size 640x360 && [ -s "$T/clip.gif" ]; then
    ok "record a gif"
else fail "record a gif" "no file"; fi

if $VIZ --live scenarios/lab.json --trace "$T/live.db" --at 20 --screenshot "$T/live.png" &&
    $SL replay "$T/live.db" >/dev/null; then
    ok "live run traced and replayed to the same digest"
else fail "live replay" "exit $?"; fi

printf 'not a database at all, just text\n%.0s' {1..100} >"$T/text.db"
: >"$T/empty.db"
for f in "$T/missing.db" "$T/empty.db" "$T/text.db"; do
    out=$($VIZ "$f" --screenshot "$T/x.png" --at 1 2>&1)
    rc=$?
    [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && ok "bad file $(basename "$f"): $out" ||
        fail "bad file $(basename "$f")" "exit $rc: $out"
done
echo "viz: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
