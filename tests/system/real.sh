#!/usr/bin/env bash
# real.sh — real Kafka clients against three real-mode brokers on loopback (issue 6).
#
# One cluster (real/cluster.sh, brokers built with ASan+UBSan) serves every step:
#   0. Metadata auto-creation while the quorum is still electing (real_autocreate.py);
#   1. kcat: metadata (-L), produce with acks=all, consume, consume in a group (-G);
#   2. confluent-kafka-python: admin CreateTopics, producer acks=all, consumer, group
#      subscribe + commit (a new member resumes at the committed offsets);
#   3. kafka-python: the same; DeleteTopics drops the topic from every broker, and
#      the name created again (fewer partitions) starts empty;
#   4. kafkajs 2.2.4 (tools/node, installed by tools/install-deps.sh): producer, group;
#   4b. build/streamlab-lab for 10 s: every acknowledged record read by its group;
#   5. bad input: garbage, bad sizes, unknown APIs, a stalled client; then kcat -L;
#   6. kill -9 of a broker while a producer (acks=all, min.insync.replicas=2) runs;
#      the broker restarts, rejoins every ISR, and every acknowledged record is read;
#      idempotent producers (librdkafka, kafkajs) through the same crash: no duplicates;
#   7. /metrics of every broker passes `promtool check metrics`; exact messagesin,
#      bytesout{topic} and failedfetchrequests counts;
#   8. the request-decoder fuzzer for a few seconds (when built: make fuzz);
#   9. the brokers stop on SIGTERM, and no sanitizer report is in their logs.
# Nothing is downloaded here; missing tools fail with the command that installs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
start_s=$(date +%s)

PY=/usr/bin/python3 # Debian's, where python3-kafka and python3-confluent-kafka live
export STREAMLAB_CLUSTER_STATE=$root/build/real-test/cluster.env
export STREAMLAB_BROKER=${STREAMLAB_BROKER:-$root/build/asan/streamlab-broker}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export KAFKAJS_NO_PARTITIONER_WARNING=1
work=$root/build/real-test
mkdir -p "$work"
failures=0

step() { printf '\n== real: %s  [+%ss]\n' "$*" "$(($(date +%s) - start_s))"; }
ok() { echo "ok: $*"; }
bad() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v promtool >/dev/null || missing+=("promtool (prometheus)")
$PY -c 'import confluent_kafka' 2>/dev/null || missing+=(python3-confluent-kafka)
$PY -c 'import kafka' 2>/dev/null || missing+=(python3-kafka)
command -v node >/dev/null || missing+=(nodejs)
[ -f tools/node/node_modules/kafkajs/package.json ] || missing+=("kafkajs (tools/node)")
if [ ${#missing[@]} -gt 0 ]; then
    echo "real: FAIL: missing ${missing[*]}; run 'make deps' (tools/install-deps.sh)"
    exit 1
fi

cleanup() {
    [ -f "$STREAMLAB_CLUSTER_STATE" ] && KEEP_DATA=${KEEP_DATA:-0} real/cluster.sh stop >/dev/null 2>&1
    true
}
trap cleanup EXIT
[ -f "$STREAMLAB_CLUSTER_STATE" ] && real/cluster.sh stop >/dev/null 2>&1 || true

step "a bad properties file"
printf 'node.id=1\nlisteners=PLAINTEXT://127.0.0.1:1\nlog.retention.ms=soon\n' >"$work/bad.properties"
rc=0
"$STREAMLAB_BROKER" --config "$work/bad.properties" 2>"$work/bad.err" || rc=$?
if [ $rc -eq 2 ] && grep -q "bad.properties:3: log.retention.ms: expected an integer" "$work/bad.err"; then
    ok "exit 2: $(cat "$work/bad.err")"
else
    bad "bad properties: exit $rc, $(cat "$work/bad.err")"
fi

step "auto-creation while the cluster starts (Metadata held until the topic has leaders)"
if $PY tests/system/real_autocreate.py "$STREAMLAB_BROKER" >"$work/autocreate.out" 2>&1; then
    sed 's/^/  /' "$work/autocreate.out"
    ok "auto-creation answered with leaders, bad names and allow=false at once"
else
    cat "$work/autocreate.out"
    bad "auto-creation during start-up"
fi

step "start three brokers"
out=$(real/cluster.sh start)
echo "$out"
bootstrap=$(echo "$out" | tail -1 | sed -n 's/^bootstrap: //p')
[ -n "$bootstrap" ] || {
    echo "real: FAIL: no bootstrap line"
    exit 1
}
# shellcheck disable=SC1090
. "$STREAMLAB_CLUSTER_STATE"
port1=${bootstrap%%,*}
port1=${port1##*:}

step "kcat"
if kcat -b "$bootstrap" -L -m 10 | tee "$work/kcat-L.txt" | grep -q "^ 3 brokers:"; then
    ok "kcat -L lists 3 brokers"
else
    bad "kcat -L: $(head -3 "$work/kcat-L.txt")"
fi
seq 1 1000 | sed 's/^/kcat-/' >"$work/kcat-in.txt"
if kcat -b "$bootstrap" -P -t kcat-topic -X acks=all -X message.timeout.ms=30000 <"$work/kcat-in.txt"; then
    kcat -b "$bootstrap" -C -t kcat-topic -o beginning -e -q -m 30 >"$work/kcat-out.txt" || true
    if [ "$(sort "$work/kcat-out.txt")" = "$(sort "$work/kcat-in.txt")" ]; then
        ok "kcat produced 1000 records with acks=all and consumed them back"
    else
        bad "kcat consumed $(wc -l <"$work/kcat-out.txt") records, expected 1000"
    fi
else
    bad "kcat produce failed"
fi

kcat -b "$bootstrap" -G kcat-group -X auto.offset.reset=earliest -X enable.auto.commit=true \
    -X auto.commit.interval.ms=100 -e -q kcat-topic >"$work/kcat-group.txt" 2>"$work/kcat-group.err" || true
if [ "$(sort "$work/kcat-group.txt")" = "$(sort "$work/kcat-in.txt")" ]; then
    ok "kcat -G kcat-group consumed the 1000 records in a consumer group"
else
    bad "kcat -G consumed $(wc -l <"$work/kcat-group.txt") records, expected 1000: $(tail -2 "$work/kcat-group.err")"
fi

step "confluent-kafka-python"
timeout 90 $PY tests/system/real_clients.py confluent "$bootstrap" confluent-topic 2000 || bad "confluent-kafka"
timeout 90 $PY tests/system/real_clients.py confluent-group "$bootstrap" confluent-topic confluent-group 2000 ||
    bad "confluent-kafka group"

step "kafka-python"
timeout 90 $PY tests/system/real_clients.py kafka-python "$bootstrap" kafka-python-topic 2000 || bad "kafka-python"
timeout 90 $PY tests/system/real_clients.py kafka-python-group "$bootstrap" kafka-python-topic kafka-python-group 2000 ||
    bad "kafka-python group"

step "DeleteTopics, then the same name created again"
timeout 120 $PY tests/system/real_clients.py delete-recreate "$bootstrap" deleted-topic || bad "delete-recreate"

# A broker that was down while a topic was deleted and created again under the same
# name must not keep the old topic's records as the new one's (KIP-516's topic ids).
# The broker taken down is not the active controller (admin requests go there).  The
# new topic gets more records (same leader epoch 0) than the old one had, so leader-epoch
# truncation alone would keep the old records below them: only the topic id tells.
controller=$(kcat -b "$bootstrap" -L -m 5 2>/dev/null | sed -n 's/^  broker \([0-9]\) at .*(controller)$/\1/p' | head -1)
down=3
[ "$controller" = 3 ] && down=2
up=1
other=$((5 - down)) # the third broker: 2 or 3
up_port=$(eval echo "\$PORT_$up")
$PY tests/system/real_clients.py recreate "$bootstrap" stale-topic "$up,$other,$down" old 20 >/dev/null ||
    bad "create stale-topic"
real/cluster.sh kill $down
# (within broker.session.timeout.ms, 9 s: the broker is not fenced yet, so RF 3 is allowed)
$PY tests/system/real_clients.py recreate "127.0.0.1:$up_port" stale-topic "$up,$other,$down" new 30 \
    >"$work/stale.log" 2>&1 || bad "delete and create stale-topic while broker $down is down: $(tail -1 "$work/stale.log")"
real/cluster.sh restart $down
stale_dir=$DIR/data-$down/stale-topic-0
for _ in $(seq 1 100); do
    cmp -s "$stale_dir/partition.metadata" "$DIR/data-$up/stale-topic-0/partition.metadata" &&
        grep -aqs "new-29" "$stale_dir"/*.log && break
    sleep 0.2
done
if ! cmp -s "$stale_dir/partition.metadata" "$DIR/data-$up/stale-topic-0/partition.metadata"; then
    bad "broker $down's stale-topic-0 does not name the new topic id: $(cat "$stale_dir/partition.metadata" 2>&1)"
elif grep -aqs "old-" "$stale_dir"/*.log; then
    bad "broker $down kept the deleted topic's records in stale-topic-0"
elif ! grep -aqs "new-29" "$stale_dir"/*.log; then
    bad "broker $down did not replicate the new stale-topic-0"
else
    ok "broker $down, down during DeleteTopics + CreateTopics of one name, dropped the old log and copied the new"
fi
for _ in $(seq 1 60); do # the broker back in every ISR before the next steps
    kcat -b "$bootstrap" -L -m 5 2>/dev/null | grep -q 'isrs: [0-9]$\|isrs: [0-9],[0-9]$' || break
    sleep 0.5
done

step "kafkajs"
NODE_PATH=$root/tools/node/node_modules timeout 90 node tests/system/real_kafkajs.js "$bootstrap" kafkajs-topic 2000 ||
    bad "kafkajs"

step "streamlab-lab (3 producers, groups of 1, 2 and 3 consumers)"
if [ -x build/streamlab-lab ]; then
    if timeout 90 build/streamlab-lab --bootstrap "$bootstrap" --seconds 10 --rate 200 >"$work/lab.log" 2>&1; then
        ok "$(tail -1 "$work/lab.log")"
    else
        bad "streamlab-lab: $(tail -5 "$work/lab.log")"
    fi
fi

step "bad input"
timeout 60 $PY tests/system/real_clients.py garbage 127.0.0.1 "$port1" || bad "bad input"
if kcat -b "127.0.0.1:$port1" -L -m 10 | grep -q "^ 3 brokers:"; then
    ok "broker 1 still serves kcat -L after the garbage"
else
    bad "broker 1 stopped serving after the garbage"
fi
if grep -q "closed by the broker" "$DIR/broker-1.log"; then
    ok "broker 1 logged the connections it closed"
else
    bad "no log line for the closed bad connections"
fi

step "kill -9 a broker under acks=all load"
rm -f "$work/acked.txt" "$work/acked.txt.done"
timeout 180 $PY tests/system/real_clients.py produce-log "$bootstrap" crash-topic 16 "$work/acked.txt" \
    >"$work/producer.log" 2>&1 &
producer=$!
# Idempotent producers through the same crash: librdkafka (enable.idempotence=true) and
# kafkajs (idempotent: true); kafka-python 2.0 has no idempotent producer.
timeout 180 $PY tests/system/real_clients.py produce-log "$bootstrap" idem-topic 14 "$work/idem-acked.txt" \
    idempotent >"$work/idem-topic-producer.log" 2>&1 &
idem_producer=$!
NODE_PATH=$root/tools/node/node_modules timeout 180 node tests/system/real_kafkajs.js produce-log \
    "$bootstrap" idem-js-topic 14 "$work/idem-js-acked.txt" >"$work/idem-js-topic-producer.log" 2>&1 &
idem_js_producer=$!
sleep 1 # the producer creates the topic
timeout 180 $PY tests/system/real_clients.py group-follow "$bootstrap" crash-topic crash-group \
    "$work/acked.txt" "$work/group-consumed.txt" 90 >"$work/group-consumer.log" 2>&1 &
follower=$!
sleep 3
led=$(kcat -b "$bootstrap" -L -m 5 2>/dev/null | tr -d '",' |
    awk '/^  topic / {t = $2} t ~ /^idem/ && / leader 2 / {printf "%s%s/%s", sep, t, $2; sep = " "}')
real/cluster.sh kill 2
sleep 4
real/cluster.sh restart 2
if wait $producer; then
    tail -1 "$work/producer.log"
else
    bad "the producer failed: $(tail -3 "$work/producer.log")"
fi
if wait $follower; then
    ok "$(tail -1 "$work/group-consumer.log") (it kept consuming through the crash)"
else
    bad "group consumer during the crash: $(tail -3 "$work/group-consumer.log")"
fi
timeout 120 $PY tests/system/real_clients.py consume-all "$bootstrap" crash-topic "$work/consumed.txt" ||
    bad "consume after the crash"
sort -u "$work/acked.txt" >"$work/acked.sorted"
sort -u "$work/consumed.txt" >"$work/consumed.sorted"
lost=$(comm -23 "$work/acked.sorted" "$work/consumed.sorted" | wc -l)
acked=$(wc -l <"$work/acked.sorted")
if [ "$lost" -eq 0 ] && [ "$acked" -gt 0 ]; then
    ok "$acked acknowledged records, all consumed after kill -9 and restart (lost 0)"
else
    bad "$lost of $acked acknowledged records lost"
fi
# no_duplicates NAME PRODUCER-PID ACKED-FILE TOPIC: every acknowledged record read once
no_duplicates() {
    local name=$1 pid=$2 acked_file=$3 topic=$4
    if ! wait "$pid"; then
        bad "$name producer: $(tail -3 "$work/$topic-producer.log" 2>/dev/null)"
        return
    fi
    timeout 120 $PY tests/system/real_clients.py consume-all "$bootstrap" "$topic" "$work/$topic-consumed.txt" \
        >/dev/null || {
        bad "$name: consume $topic"
        return
    }
    local acked lost dups read
    acked=$(sort -u "$acked_file" | wc -l)
    read=$(wc -l <"$work/$topic-consumed.txt")
    lost=$(comm -23 <(sort -u "$acked_file") <(sort -u "$work/$topic-consumed.txt") | wc -l)
    dups=$(sort "$work/$topic-consumed.txt" | uniq -d | wc -l)
    if [ "$acked" -gt 0 ] && [ "$lost" -eq 0 ] && [ "$dups" -eq 0 ]; then
        ok "$name: $acked acknowledged, $read read from $topic, lost 0, duplicates 0 across kill -9 of broker 2 (it led ${led:-no idem partition})"
    else
        bad "$name: $acked acknowledged, $read read from $topic: lost $lost, duplicated $dups"
    fi
}
no_duplicates "idempotent librdkafka producer" $idem_producer "$work/idem-acked.txt" idem-topic
no_duplicates "idempotent kafkajs producer" $idem_js_producer "$work/idem-js-acked.txt" idem-js-topic
isr_full=0
for _ in $(seq 1 60); do
    if kcat -b "$bootstrap" -L -t crash-topic -m 5 >"$work/isr.txt" 2>/dev/null &&
        [ "$(grep -c 'isrs: [0-9],[0-9],[0-9]$' "$work/isr.txt")" -eq 3 ]; then
        isr_full=1
        break
    fi
    sleep 0.5
done
if [ $isr_full -eq 1 ]; then
    ok "broker 2 is back in the ISR of every crash-topic partition"
else
    bad "ISR not full again: $(grep isrs "$work/isr.txt" | tr -s ' ' | tr '\n' ';')"
fi

step "metrics"
for n in 1 2 3; do
    eval mport=\$METRICS_PORT_$n
    curl -s --max-time 5 "http://127.0.0.1:$mport/metrics" >"$work/metrics-$n.txt" || true
    if [ ! -s "$work/metrics-$n.txt" ]; then
        bad "broker $n: /metrics empty"
    elif problems=$(promtool check metrics <"$work/metrics-$n.txt" 2>&1); then
        ok "broker $n: /metrics passes promtool check metrics ($(grep -vc '^#' "$work/metrics-$n.txt") samples)"
    else
        bad "broker $n: promtool: $problems"
    fi
done
# Counters restart with a broker, so count a topic written after the crash test.
seq 1 300 | kcat -b "$bootstrap" -P -t metrics-topic -X acks=all -X message.timeout.ms=30000 ||
    bad "kcat produce to metrics-topic"
for n in 1 2 3; do
    eval mport=\$METRICS_PORT_$n
    curl -s --max-time 5 "http://127.0.0.1:$mport/metrics" >"$work/metrics-$n.txt" || true
done
sum=$(cat "$work"/metrics-*.txt |
    sed -n 's/^kafka_server_brokertopicmetrics_messagesin_total{topic="metrics-topic"} //p' |
    awk '{s += $1} END {print s + 0}')
if [ "$sum" -eq 300 ]; then
    ok "messagesin_total{topic=\"metrics-topic\"} summed over the brokers: 300, as produced"
else
    bad "messagesin_total{topic=\"metrics-topic\"} summed over the brokers: $sum, produced 300"
fi
# bytesout{topic}: record bytes answered to consumers, each batch read once by kcat, so
# the brokers' sum is the topic's log size (each of the 3 replicas holds the same bytes).
metric_sum() { # METRIC-LINE-PREFIX FILES...: the sum of the samples starting with it
    local prefix=$1
    shift
    cat "$@" | grep -F "$prefix " | sed 's/.* //' | awk '{s += $1} END {print s + 0}'
}
scrape() { # N: broker N's /metrics into $work/metrics-N.txt
    local mport
    eval mport=\$METRICS_PORT_$1
    curl -s --max-time 5 "http://127.0.0.1:$mport/metrics" >"$work/metrics-$1.txt" || true
}
out0=$(metric_sum 'kafka_server_brokertopicmetrics_bytesout_total{topic="metrics-topic"}' "$work"/metrics-*.txt)
kcat -b "$bootstrap" -C -t metrics-topic -o beginning -e -q >"$work/metrics-consumed.txt" || true
for n in 1 2 3; do scrape $n; done
out=$(($(metric_sum 'kafka_server_brokertopicmetrics_bytesout_total{topic="metrics-topic"}' "$work"/metrics-*.txt) - out0))
logs=$(sed -n 's/^kafka_log_log_size{topic="metrics-topic",partition="[0-9]*"} //p' "$work"/metrics-*.txt |
    awk '{s += $1} END {print s + 0}')
if [ "$(wc -l <"$work/metrics-consumed.txt")" -eq 300 ] && [ "$out" -gt 0 ] && [ $((out * 3)) -eq "$logs" ]; then
    ok "bytesout_total{topic=\"metrics-topic\"} grew by $out after one read of the topic: its log size ($logs over 3 replicas)"
else
    bad "bytesout_total{topic=\"metrics-topic\"} grew by $out after reading $(wc -l <"$work/metrics-consumed.txt") of 300 records; log sizes sum to $logs (3 replicas)"
fi
# failedfetchrequests: partition 0 fetched from a broker that does not lead it, then
# from its leader at an offset past the log end: one more on each.
leader0=$(kcat -b "$bootstrap" -L -t metrics-topic -m 5 | sed -n 's/^ *partition 0, leader \([0-9]*\),.*/\1/p')
other0=$((leader0 % 3 + 1))
failed_before=()
for n in 1 2 3; do failed_before[n]=$(metric_sum kafka_server_brokertopicmetrics_failedfetchrequests_total "$work/metrics-$n.txt"); done
eval lport=\$PORT_$leader0
eval oport=\$PORT_$other0
e_other=$($PY tests/system/real_clients.py fetch-error 127.0.0.1 "$oport" metrics-topic 0 0 || true)
e_range=$($PY tests/system/real_clients.py fetch-error 127.0.0.1 "$lport" metrics-topic 0 1000000000 || true)
for n in 1 2 3; do scrape $n; done
d_leader=$(($(metric_sum kafka_server_brokertopicmetrics_failedfetchrequests_total "$work/metrics-$leader0.txt") - failed_before[leader0]))
d_other=$(($(metric_sum kafka_server_brokertopicmetrics_failedfetchrequests_total "$work/metrics-$other0.txt") - failed_before[other0]))
if [ "$e_other" = 6 ] && [ "$e_range" = 1 ] && [ "$d_leader" -eq 1 ] && [ "$d_other" -eq 1 ]; then
    ok "failedfetchrequests_total: +1 on broker $other0 (NOT_LEADER_OR_FOLLOWER) and +1 on leader $leader0 (OFFSET_OUT_OF_RANGE)"
else
    bad "failedfetchrequests_total: errors $e_other/$e_range (expected 6/1), deltas broker $other0 $d_other, leader $leader0 $d_leader (expected 1/1)"
fi
leaders=$(cat "$work"/metrics-*.txt | sed -n 's/^kafka_server_replicamanager_leadercount //p' |
    awk '{s += $1} END {print s + 0}')
partitions=$(kcat -b "$bootstrap" -L -m 5 | grep -c '^    partition' || true)
if grep -q '^kafka_consumergroup_lag{consumergroup="kafka-python-group",topic="kafka-python-topic",partition="[0-9]"} 0$' \
    "$work"/metrics-*.txt; then
    ok "kafka_consumergroup_lag of kafka-python-group is exported by its coordinator (0 after the commit)"
    grep -q '^kafka_consumergroup_members{consumergroup="kafka-python-group"} 0$' "$work"/metrics-*.txt ||
        bad "kafka_consumergroup_members of kafka-python-group is not 0 after its only member left"
else
    bad "no kafka_consumergroup_lag for kafka-python-group"
fi
if [ "$leaders" -eq "$partitions" ]; then
    ok "leadercount summed over the brokers: $leaders, one per partition"
else
    bad "leadercount summed over the brokers: $leaders, but $partitions partitions"
fi

if [ -x build/fuzz/fuzz_request ]; then
    step "fuzz the request decoder (10 s)"
    mkdir -p "$work/fuzz-corpus" # new inputs go to the first directory, not the repository
    if build/fuzz/fuzz_request -max_total_time=10 -rss_limit_mb=1024 "$work/fuzz-corpus" \
        tests/fuzz/corpus >"$work/fuzz.log" 2>&1; then
        ok "fuzz: $(grep -o 'Done [0-9]* runs' "$work/fuzz.log" | tail -1)"
    else
        bad "fuzz: $(tail -20 "$work/fuzz.log")"
    fi
fi

step "stop on SIGTERM"
KEEP_DATA=1 real/cluster.sh stop | sed 's/^/cluster: /' || bad "cluster stop"
if grep -l "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$DIR"/broker-*.log 2>/dev/null; then
    bad "sanitizer reports in the broker logs"
    grep -h -A20 "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$DIR"/broker-*.log | head -60
fi
rm -rf "$DIR"

echo
if [ $failures -eq 0 ]; then
    echo "real: all passed in $(($(date +%s) - start_s)) s"
else
    echo "real: $failures failed"
    exit 1
fi
