#!/usr/bin/env bash
# demo.sh — what `make demo` runs once the binary is built: simulate the lab
# scenario, record it to build/lab.db, and show how to look at and replay it.
# Exits with streamlab's status (0 = no invariant violated).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2

bin=build/streamlab
scenario=scenarios/lab.json
trace=build/lab.db

if [ ! -x "$bin" ]; then
    echo "demo: $bin is not built; run 'make demo' (or 'make' first)" >&2
    exit 2
fi

echo "==> $bin run $scenario --trace $trace"
echo
"$bin" run "$scenario" --trace "$trace"
status=$?
echo

if [ "$status" -ge 2 ] || [ ! -s "$trace" ]; then
    echo "demo: streamlab exited with status $status; no trace to show" >&2
    exit "$status"
fi

if [ "$status" -eq 1 ]; then
    echo "==> the run found invariant violations (listed above)"
    echo
fi

size=$(du -h "$trace" | cut -f1)
cat <<EOF
==> The whole run is recorded in $trace ($size, SQLite; schema in docs/trace.md).
    Look at it with sqlite3, for example:

    sqlite3 -header -column $trace 'select kind, count(*) from events group by kind'
    sqlite3 -header -column $trace 'select t_us/1e6 as t_s, origin, action_json from actions'
    sqlite3 -header -column $trace \\
      "select t_us/1e6 as t_s, kind, node, topic, partition, leader, leader_epoch, detail
         from events where kind in ('broker_stop','broker_start','leader') order by id"
    sqlite3 -header -column $trace \\
      'select api_key, count(*), sum(lost), sum(size_bytes) from messages group by api_key'

==> Replay it (re-runs the recorded scenario, seed and actions; compares digests):

    $bin replay $trace

==> Other things to try:

    $bin run $scenario --seed 7 --json
    $bin check $scenario --seeds 1-20
    build/streamlab-viz $trace                     # animate the run (needs a display)
    build/streamlab-viz --live $scenario           # run it live; click a broker to crash it
    $bin run scenarios/unclean-election.json       # Kafka's history: acked writes lost
    $bin run scenarios/unclean-election.json --set cluster.unclean_leader_election=false
EOF

# ---- viewer (later issue) ------------------------------------------------------
# When build/streamlab-viz exists: open it on a display, otherwise write a still
# of the cluster at 45 s (broker 2 down) to build/lab.png.
if [ -x build/streamlab-viz ]; then
    echo
    if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
        echo "==> opening the viewer on $trace"
        build/streamlab-viz "$trace" || echo "demo: the viewer exited with status $?" >&2
    elif build/streamlab-viz "$trace" --screenshot build/lab.png --at 45; then
        echo "==> no display: wrote build/lab.png (the cluster at 45 s)"
    else
        echo "demo: the viewer could not write build/lab.png" >&2
    fi
fi

exit "$status"
