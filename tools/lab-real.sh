#!/usr/bin/env bash
# lab-real.sh — the Docker Compose lab's topology on this machine, without Docker: three
# streamlab brokers, Debian's haproxy and prometheus, and the lab clients, configured by
# docker/local/ (rendered by docker/render.py from the same templates as docker/).
#
#   tools/lab-real.sh start          start everything (make lab-real)
#   tools/lab-real.sh stop           stop everything it started (make lab-real-stop)
#   tools/lab-real.sh status         what runs, and where to look
#   tools/lab-real.sh kill N         kill broker N (SIGKILL), as a crash
#   tools/lab-real.sh restart N      start broker N again
#
# Everything lives in build/lab-real/: broker data, Prometheus's database, logs, pid files.
# Only processes whose pid files are there are ever signalled.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN=build/lab-real
CONF=docker/local
BROKER=${BUILD:-build}/streamlab-broker
LAB=${BUILD:-build}/streamlab-lab
# BOOTSTRAP, PROMETHEUS, HAPROXY_STATS (host:port), rendered with the configs
# shellcheck source=../docker/local/lab-real.env
. "$CONF/lab-real.env"
BROKERS=(1 2 3)

die() {
    echo "lab-real: $*" >&2
    exit 1
}
pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
alive() {
    local pid
    pid=$(pid_of "$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
# launch NAME CMD...: start CMD in the background, output in NAME.log, pid in NAME.pid
launch() {
    local name=$1
    shift
    alive "$name" && return 0
    nohup "$@" >>"$RUN/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}
# halt NAME SIGNAL: signal NAME's process and wait (up to 10 s) for it to end
halt() {
    local name=$1 sig=$2 pid _
    pid=$(pid_of "$name")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "-$sig" "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$RUN/$name.pid"
}
metrics_port() { sed -n 's/^metrics\.port=//p' "$CONF/broker-$1.properties"; }
# wait_url URL SECONDS: until URL answers
wait_url() {
    local _
    for _ in $(seq 1 $(($2 * 5))); do
        curl -fs --max-time 1 -o /dev/null "$1" && return 0
        sleep 0.2
    done
    return 1
}
start_broker() {
    local n=$1
    mkdir -p "$RUN/broker-$n/data"
    launch "broker-$n" "$BROKER" --config "$CONF/broker-$n.properties"
}

start() {
    for bin in "$BROKER" "$LAB"; do
        [ -x "$bin" ] || die "$bin is missing: run 'make lab-real' (it builds it)"
    done
    for tool in haproxy prometheus curl; do
        command -v "$tool" >/dev/null || die "$tool is not installed: run 'make deps'"
    done
    mkdir -p "$RUN"
    for n in "${BROKERS[@]}"; do start_broker "$n"; done
    launch haproxy haproxy -db -f "$CONF/haproxy.cfg"
    launch prometheus prometheus --config.file="$CONF/prometheus.yml" \
        --storage.tsdb.path="$RUN/prometheus" --web.listen-address="$PROMETHEUS" \
        --storage.tsdb.retention.time=1d
    for n in "${BROKERS[@]}"; do
        wait_url "http://127.0.0.1:$(metrics_port "$n")/metrics" 30 ||
            die "broker $n did not serve /metrics within 30 s: see $RUN/broker-$n.log"
    done
    wait_url "http://$HAPROXY_STATS/stats" 10 || die "haproxy did not start: see $RUN/haproxy.log"
    wait_url "http://$PROMETHEUS/-/ready" 30 || die "prometheus did not start: see $RUN/prometheus.log"
    launch lab "$LAB" --bootstrap "$BOOTSTRAP" --seconds 0 # until stopped
    status
}

stop() {
    local name
    halt lab TERM
    for name in prometheus haproxy broker-3 broker-2 broker-1; do halt "$name" TERM; done
    echo "lab-real: stopped (data and logs stay in $RUN/; rm -rf $RUN to start afresh)"
}

status() {
    local name state
    for name in broker-1 broker-2 broker-3 haproxy prometheus lab; do
        state="stopped"
        alive "$name" && state="running (pid $(pid_of "$name"))"
        printf '  %-11s %s\n' "$name" "$state"
    done
    cat <<EOF

Where to look:
  dashboard         $(dashboard_url)
                    (Prometheus's graph page with every Grafana panel's query)
  Prometheus        http://$PROMETHEUS/graph, e.g. sum(up{job="brokers"}) = brokers online
  HAProxy stats     http://$HAPROXY_STATS/stats
  broker /metrics   http://127.0.0.1:$(metrics_port 1)/metrics (and $(metrics_port 2), $(metrics_port 3))
  Kafka bootstrap   $BOOTSTRAP (through HAProxy), e.g. kcat -b $BOOTSTRAP -L
  logs              $RUN/*.log
  the same lab, simulated and drawn: build/streamlab-viz --live scenarios/lab.json
Try:  tools/lab-real.sh kill 2; sleep 30; tools/lab-real.sh restart 2
Stop: make lab-real-stop
EOF
}

# dashboard_url: the Grafana dashboard's queries (docker/grafana/dashboards/streamlab.json)
# as panels of Prometheus's graph page, last 15 minutes.
dashboard_url() {
    /usr/bin/python3 - "$PROMETHEUS" docker/grafana/dashboards/streamlab.json <<'PY'
import json, sys, urllib.parse
prom, path = sys.argv[1], sys.argv[2]
exprs = [t["expr"] for p in json.load(open(path))["panels"] for t in p["targets"]]
q = {}
for i, e in enumerate(exprs):
    q.update({"g%d.expr" % i: e, "g%d.tab" % i: "0", "g%d.range_input" % i: "15m"})
print("http://%s/graph?%s" % (prom, urllib.parse.urlencode(q)))
PY
}

broker_arg() {
    case "${1:-}" in
    1 | 2 | 3) ;;
    *) die "which broker? 1, 2 or 3" ;;
    esac
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
kill)
    broker_arg "${2:-}"
    alive "broker-$2" || die "broker $2 is not running"
    halt "broker-$2" KILL
    echo "lab-real: broker $2 killed"
    ;;
restart)
    broker_arg "${2:-}"
    start_broker "$2"
    echo "lab-real: broker $2 started (pid $(pid_of "broker-$2"))"
    ;;
*)
    sed -n '2,13s/^# \{0,1\}//p' "$0"
    exit 2
    ;;
esac
