#!/usr/bin/env bash
# bench/real.sh — real-mode figures (issue 6), printed as a Markdown block for
# bench/RESULTS.md.  `make bench-real` builds what it needs and runs it.
#
# Three -O2 brokers on loopback (real/cluster.sh: replication factor 3,
# min.insync.replicas=2, no fsync), 100-byte records, acks=all, librdkafka clients:
#   - loopback TCP limit (iperf3, 3 s);
#   - produce throughput, linger.ms=5, batch.num.messages=10000 (RECORDS, default 1M);
#   - consumer throughput over the same records;
#   - produce latency p50/p99 at 10,000 records/s with linger.ms=0 and 5 requests in
#     flight per broker, the Java client's default (10 s);
#   - start-up: ApiVersions+Metadata answered, first acks=all write, idle RSS
#     (bench/real/startup.py, its own three brokers).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${RECORDS:-1000000}
export STREAMLAB_CLUSTER_STATE=$PWD/build/bench-real/cluster.env
export STREAMLAB_BROKER=$PWD/build/streamlab-broker
mkdir -p build/bench-real
bench=build/bench/rdkafka_bench

iperf_bps() {
    local port
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
    sleep 0.5
    iperf3 -c 127.0.0.1 -p "$port" -t 3 -J | /usr/bin/python3 -c \
        'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))'
    wait
}

[ -f "$STREAMLAB_CLUSTER_STATE" ] && real/cluster.sh stop >/dev/null 2>&1 || true
trap 'real/cluster.sh stop >/dev/null 2>&1 || true' EXIT
loop_bps=$(iperf_bps)
bootstrap=$(real/cluster.sh start | sed -n 's/^bootstrap: //p')
/usr/bin/python3 - "$bootstrap" <<'EOF'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.create_topics([NewTopic("bench-throughput", 3, 3), NewTopic("bench-latency", 3, 3)]).values():
    f.result()
EOF
tput=$($bench throughput "$bootstrap" bench-throughput "$records")
cons=$($bench consume "$bootstrap" bench-throughput "$records")
lat=$($bench latency "$bootstrap" bench-latency 10000 10)
real/cluster.sh stop >/dev/null
startup=$(/usr/bin/python3 bench/real/startup.py build/streamlab-broker 2>/dev/null)

field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }
rps=$(field "$tput" records_per_s)
wire_bps=$(/usr/bin/python3 -c "print(int($rps * 3 * 8 * 170))") # ~170 B/record on the wire per copy
echo "### Real mode, $(date -u +%Y-%m-%d) — $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| figure | value | target |"
echo "|---|---|---|"
echo "| loopback TCP (iperf3, 1 stream) | $(/usr/bin/python3 -c "print('%.1f Gbit/s' % ($loop_bps / 1e9))") | — |"
echo "| produce, acks=all, linger.ms=5, batch.num.messages=10000 | $rps records/s ($(field "$tput" value_mb_per_s) MB/s of values; $records records, $(field "$tput" failed) failed) | ≥ 200,000 records/s |"
echo "| ... bytes through loopback (leader in + 2 replica copies, ≈170 B/record framed) as a fraction of iperf3 | $(/usr/bin/python3 -c "print('%.1f%%' % (100.0 * $wire_bps / $loop_bps))") | — |"
echo "| consume (assign, from offset 0) | $(field "$cons" records_per_s) records/s ($(field "$cons" value_mb_per_s) MB/s) | — |"
echo "| produce latency at 10,000 records/s, linger.ms=0, max.in.flight=5 (the Java default) | p50 $(field "$lat" p50_ms) ms, p99 $(field "$lat" p99_ms) ms, max $(field "$lat" max_ms) ms | p99 ≤ 5 ms |"
echo "| exec to ApiVersions+Metadata answered (per broker) | $(field "$startup" answer_ms) ms | ≤ 100 ms |"
echo "| start of all three to the first acks=all write accepted | $(field "$startup" first_acks_all_write_s) s | ≤ 3 s |"
echo "| broker RSS idle (per broker) | $(field "$startup" idle_rss_kb) kB | ≤ 20 MB |"
