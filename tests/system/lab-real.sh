#!/usr/bin/env bash
# tests/system/lab-real.sh — `make lab-real` end to end, judged through Prometheus's HTTP
# API as a student's dashboard would be: start the local lab afresh, wait until three
# brokers are up and every group has a lag, kill broker 2, see brokers online drop to 2,
# restart it, see 3 again, and see each group's lag come back down.  Finally the recorded
# history of sum(up{job="brokers"}) must read 3, then 2, then 3.
# Prints one line per step; exit 0 when all held.  Stops the lab it started.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
PY=/usr/bin/python3
LAB=tools/lab-real.sh
# shellcheck source=../../docker/local/lab-real.env
. docker/local/lab-real.env
PROM=http://$PROMETHEUS
GROUPS_WANTED=3
# Recovered: every group's lag stayed under this for 10 s.  Consumers commit every 5 s
# (librdkafka's default) and a producer writes 100 records/s, so a healthy group's lag
# saws up to ~500; a group that stopped consuming grows past 1000 within 10 s.
LAG_RECOVERED=${LAG_RECOVERED:-1000}

say() { echo "lab-real: $*"; }
die() {
    say "FAILED: $*"
    say "last broker-2 log lines:"
    tail -n 5 build/lab-real/broker-2.log 2>/dev/null | sed 's/^/    /'
    "$LAB" stop >/dev/null 2>&1
    exit 1
}

if [ -f build/lab-real/broker-1.pid ] && kill -0 "$(cat build/lab-real/broker-1.pid)" 2>/dev/null; then
    say "a lab is already running (make lab-real-stop first)"
    exit 1
fi
rm -rf build/lab-real
trap '"$LAB" stop >/dev/null 2>&1' EXIT

# query EXPR: the value of an instant query that returns one sample ("" when none)
query() {
    curl -fsG --max-time 3 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
        "$PY" -c 'import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
# wait_for EXPR SECONDS WHAT: until EXPR has a sample (a comparison that holds)
wait_for() {
    local i
    for i in $(seq 1 "$2"); do
        [ -n "$(query "$1")" ] && { say "$3 (after ${i}s)"; return 0; }
        sleep 1
    done
    die "$3: not within $2 s ($1)"
}

t0=$(date +%s)
# make lab-real (BUILD=DIR: binaries already built there, as for the other system tests)
if [ -n "${BUILD:-}" ]; then start=("$LAB" start); else start=(make --no-print-directory lab-real); fi
mkdir -p build
"${start[@]}" >build/lab-real.start.log 2>&1 || {
    cat build/lab-real.start.log
    die "${start[*]} failed"
}
wait_for 'sum(up{job="brokers"}) == 3' 60 "brokers online 3/3"
wait_for "count(sum by (consumergroup) (kafka_consumergroup_lag)) >= $GROUPS_WANTED" 90 \
    "consumer lag exported for $GROUPS_WANTED groups"
wait_for 'sum(rate(kafka_server_brokertopicmetrics_messagesin_total[10s])) > 0' 30 "messages flowing in"

"$LAB" kill 2 >/dev/null || die "could not kill broker 2"
wait_for 'sum(up{job="brokers"}) == 2' 30 "broker 2 killed: brokers online 2/3"
sleep 10 # let the cluster and the groups live a while with two brokers
"$LAB" restart 2 >/dev/null || die "could not restart broker 2"
wait_for 'sum(up{job="brokers"}) == 3' 60 "broker 2 restarted: brokers online 3/3"
wait_for "max_over_time(max(sum by (consumergroup) (kafka_consumergroup_lag))[10s:1s]) < $LAG_RECOVERED and count(sum by (consumergroup) (kafka_consumergroup_lag)) >= $GROUPS_WANTED" \
    120 "consumer lag of every group under $LAG_RECOVERED for 10 s"

# The history Prometheus recorded, 1 s steps: 3 ... 2 ... 3 (a few seconds more, so that
# the last whole second evaluated comes after the scrape that saw broker 2 again).
sleep 3
now=$(date +%s)
history=$(curl -fsG --max-time 5 "$PROM/api/v1/query_range" \
    --data-urlencode 'query=sum(up{job="brokers"})' --data-urlencode "start=$t0" \
    --data-urlencode "end=$now" --data-urlencode "step=1" |
    "$PY" -c 'import json, sys
vals = [int(float(v)) for _, v in json.load(sys.stdin)["data"]["result"][0]["values"]]
runs = [v for i, v in enumerate(vals) if i == 0 or vals[i - 1] != v]
print(" ".join(map(str, runs)))') || die "query_range failed"
say "brokers online over time: $history"
say "largest group lag seen: $(query "max_over_time(max(sum by (consumergroup) (kafka_consumergroup_lag))[$((now - t0))s:1s])"), now: $(query 'max(sum by (consumergroup) (kafka_consumergroup_lag))')"
# Every Grafana panel's query has data here (the dashboard cannot be empty for ever).
empty=$("$PY" -c 'import json, sys, urllib.parse, urllib.request
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p["targets"]:
        url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": t["expr"]})
        if not json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]:
            print("%s: %s" % (p["title"], t["expr"]))' docker/grafana/dashboards/streamlab.json "$PROM") ||
    die "querying the dashboard's panels failed"
[ -z "$empty" ] || die "panels with no data: $empty"
say "every dashboard panel has data"
case " $history " in
*" 3 2 3 "*) say "ok: 3 -> 2 -> 3 in Prometheus's history" ;;
*) die "brokers online did not go 3 -> 2 -> 3: $history" ;;
esac
