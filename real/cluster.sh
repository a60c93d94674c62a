#!/usr/bin/env bash
# cluster.sh — three streamlab brokers on loopback.
#
#   real/cluster.sh start        start brokers 1..3 on free ports, data in a temporary
#                                directory; the last line printed is
#                                "bootstrap: 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"
#   real/cluster.sh stop         SIGTERM every broker, then delete the data (KEEP_DATA=1 keeps it)
#   real/cluster.sh status       one line per broker: running or not, port, pid
#   real/cluster.sh kill N       kill -9 broker N (its files stay, as after a crash)
#   real/cluster.sh restart N    start broker N again on its port and data
#   real/cluster.sh bootstrap    print the bootstrap line again
#   real/cluster.sh metrics N    print broker N's /metrics
#
# The cluster's state (directory, ports) is in $STREAMLAB_CLUSTER_STATE, by default
# build/cluster.env of this checkout, so one checkout runs one cluster.  Extra
# broker properties: STREAMLAB_BROKER_PROPS="key=value key=value".
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=${STREAMLAB_CLUSTER_STATE:-$root/build/cluster.env}
broker_bin=${STREAMLAB_BROKER:-$root/build/streamlab-broker}
brokers=3

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

# Free TCP ports on 127.0.0.1 (the kernel picks them; a race with another program
# is possible but harmless: the broker then fails to start and says so).
free_ports() {
    /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

load_state() {
    [ -f "$state" ] || die "no cluster (no $state); run 'real/cluster.sh start'"
    # shellcheck disable=SC1090
    . "$state"
}

port_of() { eval echo "\$PORT_$1"; }
metrics_port_of() { eval echo "\$METRICS_PORT_$1"; }
pid_of() { cat "$DIR/broker-$1.pid" 2>/dev/null || true; }
alive() {
    local pid
    pid=$(pid_of "$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

bootstrap_line() {
    local list="" n
    for n in $(seq 1 $brokers); do list+="${list:+,}127.0.0.1:$(port_of "$n")"; done
    echo "bootstrap: $list"
}

write_properties() {
    local n=$1 voters="" k
    for k in $(seq 1 $brokers); do voters+="${voters:+,}$k@127.0.0.1:$(port_of "$k")"; done
    cat >"$DIR/server-$n.properties" <<EOF
# broker $n of the loopback cluster made by real/cluster.sh
node.id=$n
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:$(port_of "$n")
controller.quorum.voters=$voters
log.dirs=$DIR/data-$n
metrics.port=$(metrics_port_of "$n")
min.insync.replicas=2
default.replication.factor=3
num.partitions=3
offsets.topic.num.partitions=3
replica.lag.time.max.ms=10000
EOF
}

launch() {
    local n=$1 props=()
    for kv in ${STREAMLAB_BROKER_PROPS:-}; do props+=(--override "$kv"); done
    setsid "$broker_bin" --config "$DIR/server-$n.properties" "${props[@]}" \
        >>"$DIR/broker-$n.log" 2>&1 </dev/null &
    echo $! >"$DIR/broker-$n.pid"
}

wait_listening() {
    local n=$1 i
    for i in $(seq 1 100); do
        if ! alive "$n"; then
            tail -5 "$DIR/broker-$n.log" >&2
            die "broker $n exited at start (log: $DIR/broker-$n.log)"
        fi
        (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$n")") 2>/dev/null && return 0
        sleep 0.05
    done
    die "broker $n does not listen on $(port_of "$n") after 5 s"
}

# Ready: one active controller, and every broker sees every broker registered and
# unfenced (topic creation needs as many as its replication factor).
metric_sum() {
    local name=$1 n v sum=0
    for n in $(seq 1 $brokers); do
        alive "$n" || continue
        v=$(curl -s --max-time 1 "http://127.0.0.1:$(metrics_port_of "$n")/metrics" |
            sed -n "s/^$name //p")
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

wait_ready() {
    local want=$1 i
    for i in $(seq 1 300); do
        if [ "$(metric_sum kafka_controller_kafkacontroller_activecontrollercount)" -ge 1 ] &&
            [ "$(metric_sum streamlab_brokers_alive)" -ge $((want * want)) ]; then
            return 0
        fi
        sleep 0.1
    done
    die "cluster not ready after 30 s: no controller or brokers not registered (logs in $DIR)"
}

cmd_start() {
    if [ -f "$state" ]; then
        load_state
        for n in $(seq 1 $brokers); do
            alive "$n" && die "a cluster is running (state $state); 'real/cluster.sh stop' first"
        done
        rm -f "$state"
    fi
    [ -x "$broker_bin" ] || die "$broker_bin not built (make build/streamlab-broker)"
    mkdir -p "$(dirname "$state")"
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-cluster.XXXXXX")
    read -r -a ports <<<"$(free_ports $((2 * brokers)))"
    {
        echo "DIR=$DIR"
        for n in $(seq 1 $brokers); do
            echo "PORT_$n=${ports[$((n - 1))]}"
            echo "METRICS_PORT_$n=${ports[$((n - 1 + brokers))]}"
        done
    } >"$state"
    load_state
    for n in $(seq 1 $brokers); do
        write_properties "$n"
        launch "$n"
    done
    for n in $(seq 1 $brokers); do wait_listening "$n"; done
    wait_ready $brokers
    for n in $(seq 1 $brokers); do
        echo "broker $n: pid $(pid_of "$n"), 127.0.0.1:$(port_of "$n"), metrics http://127.0.0.1:$(metrics_port_of "$n")/metrics, log $DIR/broker-$n.log"
    done
    bootstrap_line
}

cmd_stop() {
    load_state
    local n pids=()
    for n in $(seq 1 $brokers); do
        alive "$n" && { kill -TERM "$(pid_of "$n")"; pids+=("$n"); }
    done
    for n in "${pids[@]}"; do
        for _ in $(seq 1 100); do alive "$n" || break; sleep 0.05; done
        alive "$n" && kill -KILL "$(pid_of "$n")"
    done
    if [ "${KEEP_DATA:-0}" = 1 ]; then
        echo "stopped; data kept in $DIR"
    else
        rm -rf "$DIR"
        echo "stopped"
    fi
    rm -f "$state"
}

cmd_status() {
    load_state
    local n up=0
    for n in $(seq 1 $brokers); do
        if alive "$n"; then
            up=$((up + 1))
            echo "broker $n: running, pid $(pid_of "$n"), 127.0.0.1:$(port_of "$n")"
        else
            echo "broker $n: not running, 127.0.0.1:$(port_of "$n")"
        fi
    done
    echo "$up of $brokers brokers running; data in $DIR"
}

check_n() {
    [[ "${1:-}" =~ ^[1-3]$ ]] || die "expected a broker number 1..$brokers, got '${1:-}'"
}

cmd_kill() {
    check_n "${1:-}"
    load_state
    alive "$1" || die "broker $1 is not running"
    kill -KILL "$(pid_of "$1")"
    for _ in $(seq 1 100); do alive "$1" || break; sleep 0.02; done
    echo "broker $1 killed (kill -9)"
}

cmd_restart() {
    check_n "${1:-}"
    load_state
    alive "$1" && die "broker $1 is running; 'real/cluster.sh kill $1' first"
    launch "$1"
    wait_listening "$1"
    echo "broker $1 restarted: pid $(pid_of "$1"), 127.0.0.1:$(port_of "$1")"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill) cmd_kill "${2:-}" ;;
restart) cmd_restart "${2:-}" ;;
bootstrap) load_state && bootstrap_line ;;
metrics)
    check_n "${2:-}"
    load_state
    curl -s "http://127.0.0.1:$(metrics_port_of "$2")/metrics"
    ;;
-h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0" ;;
*)
    sed -n '2,17s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
esac
