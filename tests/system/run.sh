#!/usr/bin/env bash
# tests/system/run.sh — black-box system tests of the `streamlab` CLI (make test-system).
#
# Runs the binaries built by `make build/streamlab build/streamlab-O0 build/asan/streamlab`
# as a user would, and checks exit codes, summaries, determinism (DESIGN.md §3), the
# scenario errors (§4, docs/scenario.md), the outputs and trace (§5, docs/trace.md),
# replay and check. One line per check: "ok - N.M name" or "not ok - N.M name: why";
# last line "system: P passed, F failed"; exit status 1 when any check failed.
#
# Needs bash, coreutils, the sqlite3 CLI and /usr/bin/python3 (JSON parsing only).
# BUILD=dir selects another build directory (default: build, relative to the repo root).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
SL=$BUILD/streamlab
SL_O0=$BUILD/streamlab-O0
SL_ASAN=$BUILD/asan/streamlab
PY=/usr/bin/python3
LAB=scenarios/lab.json
FIX=tests/scenarios
POWER=$FIX/power-off-loss.json

T=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-system.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

PASSED=0
FAILED=0
ok() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
fail() { echo "not ok - $1: $2"; FAILED=$((FAILED + 1)); }
# check NAME WHY-IF-FAILED COMMAND...: ok when COMMAND succeeds
check() {
    local name=$1 why=$2
    shift 2
    if "$@"; then ok "$name"; else fail "$name" "$why"; fi
}

# sl NAME BIN ARGS...: run BIN ARGS, leaving $T/NAME.out, $T/NAME.err, $T/NAME.rc
sl() {
    local name=$1 bin=$2
    shift 2
    "$bin" "$@" >"$T/$name.out" 2>"$T/$name.err"
    echo $? >"$T/$name.rc"
}
rc() { cat "$T/$1.rc"; }
out() { cat "$T/$1.out"; }
err() { cat "$T/$1.err"; }
# first line of a file, squeezed for messages
line1() { head -n 1 "$1" | cut -c 1-240; }
# js FILE EXPR: evaluate a Python expression over the JSON object d read from FILE
js() {
    "$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2" 2>/dev/null
}
# is_json FILE: FILE holds exactly one JSON object
is_json() { "$PY" -c 'import json,sys; d = json.load(open(sys.argv[1])); sys.exit(0 if isinstance(d, dict) else 1)' "$1" 2>/dev/null; }
# digest of a text summary (line "events ..., digest HEX")
text_digest() { grep -o 'digest [0-9a-f]*' "$T/$1.out" | head -n 1 | cut -d ' ' -f 2; }
q() { sqlite3 -batch -noheader "$1" "$2" 2>&1; }
# has_all FILE STRING...: FILE contains every STRING
has_all() {
    local f=$1 s
    shift
    for s in "$@"; do grep -qF -- "$s" "$f" || return 1; done
}
# has_words LIST WORD...: the space-separated LIST contains every WORD
has_words() {
    local list=" $1 " w
    shift
    for w in "$@"; do [[ $list == *" $w "* ]] || return 1; done
}

for b in "$SL" "$SL_O0" "$SL_ASAN"; do
    if [ ! -x "$b" ]; then
        echo "system: $b is missing: run make build/streamlab build/streamlab-O0 build/asan/streamlab" >&2
    fi
done

# ---- 1. CLI basics ---------------------------------------------------------------------
sl version "$SL" --version
VERSION_FILE=$(cat VERSION 2>/dev/null || echo)
check "1.1 --version prints 'streamlab X.Y.Z' and exits 0" \
    "rc=$(rc version), stdout '$(line1 "$T/version.out")' (VERSION file: $VERSION_FILE)" \
    eval '[ "$(rc version)" = 0 ] && grep -qxE "streamlab [0-9]+\.[0-9]+\.[0-9]+" "$T/version.out"'
SL_VERSION=$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' "$T/version.out" | head -n 1)

n=2
for args in "--help" "help" "help run" "help replay" "help check" "run --help"; do
    tag=help$n
    # shellcheck disable=SC2086
    sl "$tag" "$SL" $args
    check "1.$n '$args' exits 0 and shows usage" "rc=$(rc $tag), stdout '$(line1 "$T/$tag.out")'" \
        eval '[ "$(rc '$tag')" = 0 ] && grep -q "^usage: streamlab" "$T/'$tag'.out"'
    n=$((n + 1))
done
check "1.$n 'help run' names every run option" "stdout: $(tr '\n' ' ' <"$T/help4.out" | cut -c 1-200)" \
    has_all "$T/help4.out" --seed --trace --until --set --json
n=$((n + 1))

sl bogus "$SL" run "$LAB" --bogus
check "1.$n 'run lab.json --bogus' exits 2, stderr names --bogus and shows usage" \
    "rc=$(rc bogus), stderr '$(line1 "$T/bogus.err")'" \
    eval '[ "$(rc bogus)" = 2 ] && [ ! -s "$T/bogus.out" ] && grep -q -- "--bogus" "$T/bogus.err" && grep -q "^usage: streamlab run" "$T/bogus.err"'
n=$((n + 1))
check "1.$n 'run lab.json --bogus' says the option is unknown" \
    "stderr '$(line1 "$T/bogus.err")'" \
    grep -q "unknown option --bogus" "$T/bogus.err"
n=$((n + 1))
sl bogus2 "$SL" run "$LAB" --bogus 1
check "1.$n 'run lab.json --bogus 1' exits 2 and says the option is unknown" \
    "rc=$(rc bogus2), stderr '$(line1 "$T/bogus2.err")'" \
    eval '[ "$(rc bogus2)" = 2 ] && grep -q "unknown option --bogus" "$T/bogus2.err"'
n=$((n + 1))
sl badcmd "$SL" frobnicate
check "1.$n unknown command exits 2 and names it" "rc=$(rc badcmd), stderr '$(line1 "$T/badcmd.err")'" \
    eval '[ "$(rc badcmd)" = 2 ] && grep -q frobnicate "$T/badcmd.err" && grep -q "^usage: streamlab" "$T/badcmd.err"'
n=$((n + 1))
sl nocmd "$SL"
check "1.$n no command at all exits 2 with usage" "rc=$(rc nocmd), stderr '$(line1 "$T/nocmd.err")'" \
    eval '[ "$(rc nocmd)" = 2 ] && grep -q "^usage: streamlab" "$T/nocmd.err"'
n=$((n + 1))
sl noscen "$SL" run
check "1.$n 'run' without a scenario exits 2 with usage" "rc=$(rc noscen), stderr '$(line1 "$T/noscen.err")'" \
    eval '[ "$(rc noscen)" = 2 ] && grep -q "^usage: streamlab run" "$T/noscen.err"'

# ---- 2. malformed scenarios --------------------------------------------------------------
# bad NAME LINES WANT ARGS...: `run ARGS --trace X` exits 2, prints nothing on stdout, creates
# no trace, and the first stderr line contains WANT and "expected". LINES=1: that is the
# only stderr line (scenario errors); LINES=any: usage may follow (option errors).
n=1
bad() {
    local name=$1 lines=$2 want=$3
    shift 3
    local tag=bad$n trace="$T/bad$n.db"
    sl "$tag" "$SL" run "$@" --trace "$trace"
    local why="" first
    first=$(line1 "$T/$tag.err")
    [ "$(rc $tag)" = 2 ] || why="exit $(rc $tag), not 2; "
    [ -e "$trace" ] && why="${why}trace file created; "
    [ -s "$T/$tag.out" ] && why="${why}stdout not empty ($(line1 "$T/$tag.out")); "
    case $first in *"$want"*) ;; *) why="${why}first stderr line lacks '$want'; " ;; esac
    case $first in *expected*) ;; *) why="${why}no 'expected' in it; " ;; esac
    if [ "$lines" = 1 ] && [ "$(wc -l <"$T/$tag.err")" != 1 ]; then
        why="${why}$(wc -l <"$T/$tag.err") stderr lines, not 1; "
    fi
    if [ -z "$why" ]; then ok "2.$n $name"; else fail "2.$n $name" "${why}stderr: '$first'"; fi
    n=$((n + 1))
}
bad "JSON syntax error names file, line and column" 1 \
    "$FIX/bad-syntax.json: line 3, column 20: expected valid JSON" "$FIX/bad-syntax.json"
bad "JSON syntax error (double comma) points at the second comma" 1 \
    "$FIX/bad-syntax-comma.json: line 3, column 20: expected valid JSON (got a syntax error at \",\"" \
    "$FIX/bad-syntax-comma.json"
bad "missing name" 1 "$FIX/bad-missing-name.json: name: expected" "$FIX/bad-missing-name.json"
bad "unknown key" 1 "$FIX/bad-unknown-key.json: colour: expected a known key" "$FIX/bad-unknown-key.json"
bad "wrong type (duration_s a string)" 1 "$FIX/bad-wrong-type.json: duration_s: expected" \
    "$FIX/bad-wrong-type.json"
bad "replication_factor above brokers" 1 \
    "$FIX/bad-replication-factor.json: topics[0].replication_factor: expected" \
    "$FIX/bad-replication-factor.json"
bad "producer on an unknown topic" 1 "$FIX/bad-producer-topic.json: producers[0].topic: expected" \
    "$FIX/bad-producer-topic.json"
bad "fault on broker 7" 1 "$FIX/bad-fault-broker.json: faults[0].crash: expected" \
    "$FIX/bad-fault-broker.json"
bad "group with an unknown topic" 1 "$FIX/bad-group-topic.json: groups[0].topics[1]: expected" \
    "$FIX/bad-group-topic.json"
bad "chaos with duration too short for liveness" 1 \
    "$FIX/bad-chaos-liveness.json: duration_s: expected at least" "$FIX/bad-chaos-liveness.json"
bad "nonexistent scenario file" 1 "$FIX/no-such-file.json: file: expected" "$FIX/no-such-file.json"
bad "--set of an unknown key" 1 "$LAB: --set cluster.foo: expected" "$LAB" --set cluster.foo=1
bad "--seed abc" any "--seed: expected" "$LAB" --seed abc
bad "--until -5" any "--until: expected" "$LAB" --until -5

# ---- 3. the lab runs ------------------------------------------------------------------------
sl labtext "$SL" run "$LAB"
check "3.1 run lab.json exits 0 with 'brokers online' and 'violations: 0'" \
    "rc=$(rc labtext), stdout: $(tr '\n' '|' <"$T/labtext.out" | cut -c 1-300) stderr: $(line1 "$T/labtext.err")" \
    eval '[ "$(rc labtext)" = 0 ] && grep -q "brokers online" "$T/labtext.out" && grep -qx "violations: 0" "$T/labtext.out"'
sl labjson "$SL" run "$LAB" --json
check "3.2 run lab.json --json exits 0 and prints one JSON object" \
    "rc=$(rc labjson), stdout: $(line1 "$T/labjson.out")" \
    eval '[ "$(rc labjson)" = 0 ] && is_json "$T/labjson.out"'
KEYS="scenario seed virtual_s wall_s events events_per_s messages records speedup digest produced acked failed producers consumed violations brokers_online"
missing_keys=$(js "$T/labjson.out" "' '.join(k for k in '$KEYS'.split() if k not in d)")
check "3.3 the JSON summary has every key of DESIGN §5" "missing: ${missing_keys:-<unparsable>}" \
    eval '[ -z "$missing_keys" ] && is_json "$T/labjson.out"'
bo=$(js "$T/labjson.out" 'd["brokers_online"]')
check "3.4 brokers_online is [[0,3],[30,2],[90,3]]" "got $bo" \
    eval '[ "$(js "$T/labjson.out" "d[\"brokers_online\"] == [[0,3],[30,2],[90,3]]")" = true ]'
check "3.5 scenario 'lab', seed 1, virtual_s 120, violations []" \
    "got $(js "$T/labjson.out" '[d.get(k) for k in ("scenario", "seed", "virtual_s", "violations")]')" \
    eval '[ "$(js "$T/labjson.out" "[d[\"scenario\"], d[\"seed\"], d[\"virtual_s\"], d[\"violations\"]] == [\"lab\", 1, 120, []]")" = true ]'
miss=$(js "$T/labjson.out" '{g: v.get("missing") for g, v in d["consumed"].items()}')
check "3.6 every group's missing is 0 (every acked record consumed), for all 3 groups" "got $miss" \
    eval '[ "$(js "$T/labjson.out" "len(d[\"consumed\"]) == 3 and all(v.get(\"missing\") == 0 for v in d[\"consumed\"].values())")" = true ]'
check "3.7 producers' counts add up to the totals" \
    "got $(js "$T/labjson.out" '[d["produced"], d["acked"], d["failed"], d["producers"]]')" \
    eval '[ "$(js "$T/labjson.out" "all(d[k] == sum(p[k] for p in d[\"producers\"].values()) for k in (\"produced\", \"acked\", \"failed\")) and d[\"acked\"] > 0")" = true ]'

# ---- 4. determinism --------------------------------------------------------------------------
D1=$(js "$T/labjson.out" 'd["digest"]')
sl seed1b "$SL" run "$LAB" --json --seed 1
D1b=$(js "$T/seed1b.out" 'd["digest"]')
check "4.1 same seed twice gives the same digest" "digests '$D1' and '$D1b'" \
    eval '[ -n "$D1" ] && [ "$D1" = "$D1b" ]'
check "4.2 the digest is 16 hex digits" "digest '$D1'" eval '[[ $D1 =~ ^[0-9a-f]{16}$ ]]'
sl seed2 "$SL" run "$LAB" --json --seed 2
D2=$(js "$T/seed2.out" 'd["digest"]')
check "4.3 seeds 1 and 2 give different digests" "both '$D1' / '$D2' (rc $(rc seed2))" \
    eval '[ -n "$D2" ] && [ "$D1" != "$D2" ]'
sl seed7 "$SL" run "$LAB" --seed 7
D7=$(text_digest seed7)
n=4
for pair in "O0:$SL_O0" "ASan+UBSan:$SL_ASAN"; do
    label=${pair%%:*} bin=${pair#*:}
    for s in 1 7; do
        tag=flav$n
        sl "$tag" "$bin" run "$LAB" --seed "$s"
        got=$(text_digest "$tag")
        want=$D1
        [ "$s" = 7 ] && want=$D7
        check "4.$n $label build gives the same digest as the optimised build for seed $s" \
            "rc=$(rc $tag), optimised '$want', $label '$got', stderr: $(line1 "$T/$tag.err")" \
            eval '[ "$(rc '$tag')" = 0 ] && [ -n "$got" ] && [ "$got" = "$want" ] && [ ! -s "$T/'$tag'.err" ]'
        n=$((n + 1))
    done
done
LABDB=$T/lab.db
sl labtrace "$SL" run "$LAB" --json --trace "$LABDB"
DT=$(js "$T/labtrace.out" 'd["digest"]')
check "4.$n with and without --trace the same digest" "rc=$(rc labtrace), '$D1' vs '$DT'" \
    eval '[ "$(rc labtrace)" = 0 ] && [ -n "$DT" ] && [ "$DT" = "$D1" ]'
n=$((n + 1))
DTXT=$(text_digest labtext)
check "4.$n --json and the text summary show the same digest" "text '$DTXT', json '$D1'" \
    eval '[ -n "$DTXT" ] && [ "$DTXT" = "$D1" ]'

# ---- 5. --until and --set -------------------------------------------------------------------
sl until45 "$SL" run "$LAB" --json --until 45
check "5.1 --until 45: virtual_s 45, brokers_online ends with 2 brokers" \
    "rc=$(rc until45), virtual_s $(js "$T/until45.out" 'd["virtual_s"]'), brokers_online $(js "$T/until45.out" 'd["brokers_online"]')" \
    eval '[ "$(rc until45)" = 0 ] && [ "$(js "$T/until45.out" "d[\"virtual_s\"] == 45 and d[\"brokers_online\"][-1][1] == 2")" = true ]'
sl until200 "$SL" run "$LAB" --json --until 200
check "5.2 --until 200 (longer than duration_s) runs 200 s" \
    "rc=$(rc until200), virtual_s $(js "$T/until200.out" 'd["virtual_s"]'), stderr: $(line1 "$T/until200.err")" \
    eval '[ "$(rc until200)" = 0 ] && [ "$(js "$T/until200.out" "d[\"virtual_s\"] == 200 and d[\"brokers_online\"] == [[0,3],[30,2],[90,3]]")" = true ]'
SETDB=$T/set.db
sl setmin "$SL" run "$LAB" --json --set cluster.min_insync_replicas=1 --until 50 --trace "$SETDB"
check "5.3 --set cluster.min_insync_replicas=1 (with --until 50) runs" \
    "rc=$(rc setmin), stderr: $(line1 "$T/setmin.err")" \
    eval '[ "$(rc setmin)" = 0 ] && is_json "$T/setmin.out"'
ovr=$(q "$SETDB" "SELECT overrides_json FROM run")
check "5.4 the trace's run row records the --set override" "overrides_json '$ovr'" \
    eval '[[ $ovr == *'\''"cluster.min_insync_replicas=1"'\''* ]]'
until_row=$(q "$SETDB" "SELECT until_us, end_us FROM run")
check "5.5 the trace's run row records --until 50 (until_us = end_us = 50000000)" "until_us|end_us '$until_row'" \
    eval '[ "$until_row" = "50000000|50000000" ]'
check "5.6 overrides_json holds only --set strings; --until lives in until_us (docs/trace.md)" "overrides_json '$ovr'" \
    "$PY" -c 'import json,sys; o = json.loads(sys.argv[1]); sys.exit(0 if o == ["cluster.min_insync_replicas=1"] else 1)' "$ovr"
sl setdur "$SL" run "$LAB" --json --set duration_s=100
check "5.7 --set duration_s=100 changes the effective scenario (virtual_s 100)" \
    "rc=$(rc setdur), virtual_s $(js "$T/setdur.out" 'd["virtual_s"]'), stderr: $(line1 "$T/setdur.err")" \
    eval '[ "$(rc setdur)" = 0 ] && [ "$(js "$T/setdur.out" "d[\"virtual_s\"]")" = 100 ]'

# ---- 6. trace contents ------------------------------------------------------------------------
# The lab trace $LABDB was written by check 4 (run lab.json --json --trace).
tables=$(q "$LABDB" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)")
check "6.1 tables run, nodes, messages, events, actions, keyframes exist" "tables: '$tables'" \
    has_words "$tables" run nodes messages events actions keyframes
runrow=$(q "$LABDB" "SELECT count(*), max(scenario_name), max(seed), max(digest), max(version), max(end_us), max(schema_version) FROM run")
check "6.2 one run row: lab, seed 1, the summary's digest, version $SL_VERSION, end_us 120000000, schema 1" \
    "got '$runrow', summary digest '$DT'" \
    eval '[ "$runrow" = "1|lab|1|$DT|$SL_VERSION|120000000|1" ]'
src_ok=$(q "$LABDB" "SELECT scenario_json = CAST(readfile('$LAB') AS TEXT) FROM run")
check "6.3 run.scenario_json is the scenario file exactly as read" "scenario_json = file: '$src_ok'" \
    eval '[ "$src_ok" = 1 ]'
want_nodes=$(js "$LAB" '"%d|%d|%d" % (d["cluster"]["brokers"], len(d["producers"]), sum(g.get("consumers", 1) for g in d["groups"]))')
got_nodes=$(q "$LABDB" "SELECT (SELECT count(*) FROM nodes WHERE kind='broker') || '|' || (SELECT count(*) FROM nodes WHERE kind='producer') || '|' || (SELECT count(*) FROM nodes WHERE kind='consumer')")
brokers_ids=$(q "$LABDB" "SELECT group_concat(id, ',') FROM (SELECT id FROM nodes WHERE kind='broker' ORDER BY id)")
check "6.4 nodes: 3 brokers (ids 1,2,3), 3 producers, 6 consumers (brokers|producers|consumers)" \
    "want '$want_nodes', got '$got_nodes', broker ids '$brokers_ids'" \
    eval '[ "$got_nodes" = "$want_nodes" ] && [ "$brokers_ids" = "1,2,3" ]'
# Every send() is one network message (summary "messages"); the trace has one row per message
# whether delivered or lost (lost = 1), so all rows together must equal the summary's count.
sum_msgs=$(js "$T/labtrace.out" 'd["messages"]')
tr_msgs=$(q "$LABDB" "SELECT count(*) || '|' || total(lost) || '|' || sum(deliver_us IS NULL) FROM messages")
check "6.5 messages rows (delivered + lost) = summary messages" \
    "summary $sum_msgs, trace rows|lost|undelivered $tr_msgs" \
    eval '[ "${tr_msgs%%|*}" = "$sum_msgs" ]'
tr_acked=$(q "$LABDB" "SELECT total(count) FROM events WHERE lower(kind) = 'produce_ack'")
sum_acked=$(js "$T/labtrace.out" 'd["acked"]')
check "6.6 sum(count) of produce_ack events = summary acked" "summary $sum_acked, trace $tr_acked" \
    eval '[ -n "$sum_acked" ] && [ "${tr_acked%.0}" = "$sum_acked" ]'
tr_consumed=$(q "$LABDB" "SELECT total(offset_last - offset + 1) FROM events WHERE kind = 'consume'")
sum_consumed=$(js "$T/labtrace.out" 'sum(g["records"] for g in d["consumed"].values())')
check "6.7 records in consume events = records consumed in the summary" \
    "summary $sum_consumed, trace $tr_consumed" eval '[ -n "$sum_consumed" ] && [ "${tr_consumed%.0}" = "$sum_consumed" ]'
acts=$(q "$LABDB" "SELECT t_us || ' ' || origin || ' ' || action_json FROM actions ORDER BY seq" | tr '\n' ';')
crash=$(q "$LABDB" "SELECT count(*) FROM actions WHERE t_us = 30000000 AND origin = 'script' AND action_json LIKE '%\"crash\"%2%'")
restart=$(q "$LABDB" "SELECT count(*) FROM actions WHERE t_us = 90000000 AND origin = 'script' AND action_json LIKE '%\"restart\"%2%'")
check "6.8 actions: crash 2 at 30 s and restart 2 at 90 s, origin script" "actions: $acts" \
    eval '[ "$crash" = 1 ] && [ "$restart" = 1 ]'
stops=$(q "$LABDB" "SELECT group_concat(t_us || ' ' || kind || ' ' || node, ',') FROM (SELECT * FROM events WHERE kind IN ('broker_stop', 'broker_start') AND t_us > 0 ORDER BY id)")
check "6.9 events: broker 2 stops at 30 s and starts at 90 s" "got '$stops'" \
    eval '[ "$stops" = "30000000 broker_stop 2,90000000 broker_start 2" ]'
kf=$(q "$LABDB" "SELECT count(*) || '|' || min(t_us) || '|' || max(t_us) FROM keyframes")
kfgap=$(q "$LABDB" "SELECT max(b.t_us - a.t_us) FROM keyframes a JOIN keyframes b ON b.rowid = (SELECT rowid FROM keyframes WHERE t_us > a.t_us ORDER BY t_us LIMIT 1)")
check "6.10 keyframes about every second: >= 120 rows from 0 to 120 s, no gap above 1 s" \
    "count|min|max '$kf', largest gap '$kfgap' us" \
    eval '[ "${kf%%|*}" -ge 120 ] 2>/dev/null && [ "${kf#*|}" = "0|120000000" ] && [ "$kfgap" -le 1000000 ] 2>/dev/null'
sumjson=$(q "$LABDB" "SELECT summary_json FROM run")
check "6.11 run.summary_json is the summary (same digest and messages)" "summary_json: $(echo "$sumjson" | cut -c 1-200)" \
    "$PY" -c 'import json,sys; s = json.loads(sys.argv[1]); r = json.load(open(sys.argv[2]))
sys.exit(0 if s["digest"] == r["digest"] and s["messages"] == r["messages"] and s["acked"] == r["acked"] else 1)' "$sumjson" "$T/labtrace.out"

# ---- 7. replay ------------------------------------------------------------------------------
sl replay "$SL" replay "$LABDB"
check "7.1 replay of the lab trace exits 0 and says the digest matches" \
    "rc=$(rc replay), stdout '$(line1 "$T/replay.out")', stderr '$(line1 "$T/replay.err")'" \
    eval '[ "$(rc replay)" = 0 ] && grep -qw match "$T/replay.out" && grep -q "$DT" "$T/replay.out" && ! grep -qi different "$T/replay.out"'
cp "$LABDB" "$T/tampered.db"
q "$T/tampered.db" "UPDATE run SET digest = '0000000000000000'" >/dev/null
sl tamper "$SL" replay "$T/tampered.db"
check "7.2 replay after tampering the stored digest exits 1" \
    "rc=$(rc tamper), stdout '$(line1 "$T/tamper.out")', stderr '$(line1 "$T/tamper.err")'" \
    eval '[ "$(rc tamper)" = 1 ]'
# replay_bad NAME FILE WANT: exits 2 and stderr names FILE and contains WANT
n=3
replay_bad() {
    local tag=rbad$n
    RB_WANT="$2: $3"
    sl "$tag" "$SL" replay "$2"
    check "7.$n replay of $1 exits 2 with a clear message" \
        "rc=$(rc $tag), stderr '$(line1 "$T/$tag.err")'" \
        eval '[ "$(rc '$tag')" = 2 ] && grep -qF -- "$RB_WANT" "$T/'$tag'.err"'
    n=$((n + 1))
}
replay_bad "a non-existent file" "$T/no-such.db" "no such file"
head -c 4096 /dev/urandom | base64 >"$T/garbage.db"
replay_bad "a non-SQLite file" "$T/garbage.db" "not a SQLite database"
q "$T/empty.db" "VACUUM" >/dev/null
replay_bad "an empty SQLite db" "$T/empty.db" "not a streamlab trace"
: >"$T/zero.db"
replay_bad "a zero-byte file" "$T/zero.db" "not a streamlab trace"
q "$T/norow.db" "$(q "$LABDB" "SELECT sql FROM sqlite_master WHERE name = 'run'")" >/dev/null
replay_bad "a trace with an empty run table" "$T/norow.db" "empty trace"
check "7.$n replay refuses to create a file" "$T/no-such.db exists after replay" eval '[ ! -e "$T/no-such.db" ]'
n=$((n + 1))
sl replayset "$SL" replay "$SETDB"
check "7.$n replay of a trace made with --set and --until matches" \
    "rc=$(rc replayset), stdout '$(line1 "$T/replayset.out")', stderr '$(line1 "$T/replayset.err")'" \
    eval '[ "$(rc replayset)" = 0 ] && grep -qw match "$T/replayset.out"'
n=$((n + 1))
sl replayjson "$SL" replay "$LABDB" --json
check "7.$n replay --json prints one JSON object with match true" \
    "rc=$(rc replayjson), stdout '$(line1 "$T/replayjson.out")'" \
    eval '[ "$(rc replayjson)" = 0 ] && [ "$(js "$T/replayjson.out" "d[\"match\"]")" = true ]'

# ---- 8. a violation makes run exit 1 -----------------------------------------------------------
sl power "$SL" run "$POWER" --json
pv=$(js "$T/power.out" '[d["violations"][0]["invariant"], d["violations"][0]["allowed_by"]] if d["violations"] else []')
check "8.1 power-off of an unflushed single replica: exit 1, violations[0] acked-write-lost allowed_by power-off" \
    "rc=$(rc power), violations[0] $pv, stderr '$(line1 "$T/power.err")'" \
    eval '[ "$(rc power)" = 1 ] && [ "$pv" = "[\"acked-write-lost\", \"power-off\"]" ]'
sl powertext "$SL" run "$POWER"
check "8.2 the text summary of the same run exits 1 and does not say 'violations: 0'" \
    "rc=$(rc powertext), stdout: $(grep violations "$T/powertext.out" | head -n 1)" \
    eval '[ "$(rc powertext)" = 1 ] && ! grep -qx "violations: 0" "$T/powertext.out" && grep -q acked-write-lost "$T/powertext.out"'
sl powerflush "$SL" run "$POWER" --json --set cluster.flush_interval_ms=0
check "8.3 the same with --set cluster.flush_interval_ms=0: exit 0, no violations" \
    "rc=$(rc powerflush), violations $(js "$T/powerflush.out" 'd["violations"]'), stderr '$(line1 "$T/powerflush.err")'" \
    eval '[ "$(rc powerflush)" = 0 ] && [ "$(js "$T/powerflush.out" "d[\"violations\"]")" = "[]" ]'

# ---- 9. check ---------------------------------------------------------------------------------
sl checklab "$SL" check "$LAB" --seeds 1-4 --jobs 2
check "9.1 check lab.json --seeds 1-4 --jobs 2 exits 0, ends 'checked 4 seeds: 0 failed'" \
    "rc=$(rc checklab), last line '$(tail -n 1 "$T/checklab.out")', stderr '$(line1 "$T/checklab.err")'" \
    eval '[ "$(rc checklab)" = 0 ] && [ "$(tail -n 1 "$T/checklab.out")" = "checked 4 seeds: 0 failed" ]'
sl checkpow "$SL" check "$POWER" --seeds 1-3
check "9.2 check power-off fixture --seeds 1-3 exits 1, ends 'checked 3 seeds: 3 failed'" \
    "rc=$(rc checkpow), last line '$(tail -n 1 "$T/checkpow.out")', stderr '$(line1 "$T/checkpow.err")'" \
    eval '[ "$(rc checkpow)" = 1 ] && [ "$(tail -n 1 "$T/checkpow.out")" = "checked 3 seeds: 3 failed" ]'
replays=$(grep -cE "streamlab run [^ ]*power-off-loss\.json .*--seed [123]\b" "$T/checkpow.out")
check "9.3 it prints each failing seed with a 'streamlab run ... --seed N' replay command" \
    "$replays replay commands; stdout: $(head -n 2 "$T/checkpow.out" | tr '\n' '|')" \
    eval '[ "$replays" = 3 ] && grep -q "acked-write-lost" "$T/checkpow.out"'
# the printed command must reproduce the failure
cmd=$(grep -oE "streamlab run [^ ]*power-off-loss\.json .*--seed 2" "$T/checkpow.out" | head -n 1)
if [ -n "$cmd" ]; then
    # shellcheck disable=SC2086
    sl checkrepro "$SL" ${cmd#streamlab }
fi
check "9.4 the printed replay command for seed 2 reproduces the violation (exit 1)" \
    "command '$cmd', rc $( [ -n "$cmd" ] && rc checkrepro)" \
    eval '[ -n "$cmd" ] && [ "$(rc checkrepro)" = 1 ]'
sl checknoseeds "$SL" check "$LAB"
check "9.5 check without --seeds exits 2" "rc=$(rc checknoseeds), stderr '$(line1 "$T/checknoseeds.err")'" \
    eval '[ "$(rc checknoseeds)" = 2 ] && grep -q -- "--seeds" "$T/checknoseeds.err"'

# ---- 10. seed sweeps (optimised build) ---------------------------------------------------------
# Safe settings allow no violation at all (DESIGN.md §6): the lab, with its crash and
# restart, must come through clean on every seed.  make check-long sweeps 1000.
sl sweeplab "$SL" check "$LAB" --seeds 1-60 --jobs 2
check "10.1 check lab.json --seeds 1-60: no seed violates an invariant" \
    "rc=$(rc sweeplab), last line '$(tail -n 1 "$T/sweeplab.out")', first failure '$(head -n 2 "$T/sweeplab.out" | tr '\n' '|')'" \
    eval '[ "$(rc sweeplab)" = 0 ] && [ "$(tail -n 1 "$T/sweeplab.out")" = "checked 60 seeds: 0 failed" ]'

# ---- 11. consumer groups (issue 4) -------------------------------------------------------------
# The lab's groups: every acknowledged record consumed (3.6), and the partitions split as the
# range assignor says. Range gives the first member (by member id) of group-2 two of topic-2's
# three partitions and the second one, and each member of group-3 one; in the last generation
# the ASSIGN events (docs/trace.md) must show exactly that, whatever the member ids are.
split=$(q "$LABDB" "SELECT group_concat(n, ',') FROM (SELECT e.detail AS g, e.node, count(*) AS n,
    min(e.partition) AS lo, max(e.partition) AS hi FROM events e
    WHERE e.kind = 'assign' AND e.partition >= 0 AND e.leader_epoch =
      (SELECT max(leader_epoch) FROM events WHERE kind = 'assign' AND detail = e.detail)
    GROUP BY e.detail, e.node HAVING hi - lo + 1 = n ORDER BY e.detail, lo)")
check "11.1 lab: range splits topic-2 as [0,1],[2] in group-2 and topic-3 one each in group-3" \
    "contiguous partition counts per consumer, by group then first partition: '$split'" \
    eval '[ "$split" = "3,2,1,1,1,1" ]'
rb=$(js "$T/labjson.out" '[d["consumed"][g]["rebalances"] for g in sorted(d["consumed"])]')
check "11.2 lab: every group reached a stable generation and none lost a record" \
    "rebalances $rb, summary consumed $(js "$T/labjson.out" 'd["consumed"]')" \
    eval '[ "$(js "$T/labjson.out" "all(v[\"rebalances\"] >= 1 and v[\"missing\"] == 0 and v[\"unique\"] > 0 for v in d[\"consumed\"].values())")" = true ]'
CF=$FIX/consumer-faults.json
sl cfaults "$SL" run "$CF" --json --trace "$T/cf.db"
check "11.3 consumer-faults: a consumer crash and a join rebalance the group, no violation, nothing missing" \
    "rc=$(rc cfaults), consumed $(js "$T/cfaults.out" 'd["consumed"]'), violations $(js "$T/cfaults.out" 'd["violations"][:2]')" \
    eval '[ "$(rc cfaults)" = 0 ] && [ "$(js "$T/cfaults.out" "d[\"consumed\"][\"billing\"][\"rebalances\"] >= 3 and d[\"consumed\"][\"billing\"][\"missing\"] == 0")" = true ]'
rec=$(js "$T/cfaults.out" 'd["consumed"]["billing"]["recovery_ms"]')
check "11.4 consumer-faults: recovery_ms (crash to next stable generation) is the 45 s session (from the last heartbeat, up to 3 s before the crash) plus a rejoin" \
    "recovery_ms $rec" eval '[ "$(js "$T/cfaults.out" "42000 <= d[\"consumed\"][\"billing\"][\"recovery_ms\"] <= 50000")" = true ]'
members=$(q "$T/cf.db" "SELECT group_concat(count, ',') FROM (SELECT count FROM events WHERE kind = 'rebalance' ORDER BY id)")
check "11.5 consumer-faults: generations of 3 members, then 2 after the crash, then 3 after the join" \
    "member counts of the stable generations: '$members'" \
    eval 'echo "$members" | grep -Eq "(^|,)3,([0-9]+,)*2,([0-9]+,)*3(,|\$)"'
revokes=$(q "$T/cf.db" "SELECT count(*) FROM events WHERE kind = 'revoke'")
check "11.6 consumer-faults: consumers revoke before rejoining (revoke events: $revokes)" "none" \
    eval '[ "${revokes:-0}" -ge 3 ]'
CO=$FIX/coordinator-failover.json
sl cfail "$SL" run "$CO" --json --trace "$T/co.db"
loads=$(q "$T/co.db" "SELECT count(*) FROM events WHERE kind = 'offset_load' AND t_us > 30000000")
commits=$(q "$T/co.db" "SELECT count(*) FROM events WHERE kind = 'commit' AND t_us > 40000000")
check "11.7 coordinator-failover: the new coordinator loads the offsets and commits continue, no violation" \
    "rc=$(rc cfail), offset_load after the crash $loads, commits after 40 s $commits, violations $(js "$T/cfail.out" 'd["violations"][:2]')" \
    eval '[ "$(rc cfail)" = 0 ] && [ "${loads:-0}" -ge 1 ] && [ "${commits:-0}" -ge 1 ]'
check "11.8 coordinator-failover: the group continues from its commits (duplicates below 15 s of traffic, nothing missing)" \
    "consumed $(js "$T/cfail.out" 'd["consumed"]')" \
    eval '[ "$(js "$T/cfail.out" "d[\"consumed\"][\"audit\"][\"duplicates\"] < 1500 and d[\"consumed\"][\"audit\"][\"missing\"] == 0 and d[\"consumed\"][\"audit\"][\"unique\"] > 9000")" = true ]'
sl sweepcf "$SL" check "$CF" --seeds 1-50 --jobs 2
check "11.9 check consumer-faults.json --seeds 1-50: consumer crashes and joins break no invariant" \
    "rc=$(rc sweepcf), last line '$(tail -n 1 "$T/sweepcf.out")', first failure '$(head -n 2 "$T/sweepcf.out" | tr '\n' '|')'" \
    eval '[ "$(rc sweepcf)" = 0 ] && [ "$(tail -n 1 "$T/sweepcf.out")" = "checked 50 seeds: 0 failed" ]'

echo "system: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
