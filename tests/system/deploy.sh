#!/usr/bin/env bash
# tests/system/deploy.sh — the deployment (issue 7), checked offline: no Docker engine, no
# cloud account, no download (tools/install-deps.sh installed everything it uses).
#
#   rendered configs are fresh (docker/render.py --check); docker-compose config for both
#   profiles; haproxy -c and promtool check config for the compose and the local topology;
#   the Dockerfile's stages build targets the Makefile has; every metric a Grafana panel
#   queries is exported by a scrape target (HAProxy's exporter and a broker, both started
#   here on free ports) or is `up`; terraform/ parses (@cdktf/hcl2json) and has its
#   resources, variables and outputs; the workflows parse and name their steps; and
#   `make lab-real` end to end (tests/system/lab-real.sh, about a minute; LAB_REAL=0
#   skips it).
#
# One line per check: "ok - ...", "not ok - ...: why", "skip - ...: why". Last line
# exactly "deploy: P passed, F failed"; exit status 1 when any check failed.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
PY=/usr/bin/python3
CHECKS=tests/system/deploy_checks.py

T=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-deploy.XXXXXX") || exit 2
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

PASSED=0
FAILED=0
ok() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
fail() { echo "not ok - $1: $2"; FAILED=$((FAILED + 1)); }
skip() { echo "skip - $1: $2"; }
# check NAME CMD...: ok when CMD exits 0, else not ok with the last lines it printed
check() {
    local name=$1
    shift
    if "$@" >"$T/out" 2>&1; then
        ok "$name"
    else
        fail "$name" "$(tail -n 8 "$T/out" | tr '\n' ' ')"
    fi
}
need() { command -v "$1" >/dev/null || { fail "$2" "$1 is not installed (run tools/install-deps.sh)"; return 1; }; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_http URL FILE: up to 10 s for URL to answer 200, body in FILE
wait_http() {
    local _
    for _ in $(seq 1 50); do
        curl -fsS --max-time 2 "$1" -o "$2" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# ---- rendered configs -------------------------------------------------------------------
check "rendered configs are fresh (docker/render.py --check)" "$PY" docker/render.py --check

# ---- docker compose ----------------------------------------------------------------------
if need docker-compose "docker-compose config"; then
    if (cd docker && docker-compose config) >"$T/compose.yml" 2>"$T/compose.err"; then
        ok "docker-compose config (profile streamlab)"
        check "compose: services, profiles, published ports" "$PY" "$CHECKS" compose "$T/compose.yml"
    else
        fail "docker-compose config (profile streamlab)" "$(tail -n 5 "$T/compose.err" | tr '\n' ' ')"
    fi
    check "docker-compose config (profile kafka)" \
        env -C docker COMPOSE_PROFILES=kafka docker-compose config -q
fi

# ---- haproxy, prometheus -------------------------------------------------------------------
if need haproxy "haproxy -c"; then
    for cfg in docker/haproxy.cfg docker/local/haproxy.cfg; do
        check "haproxy -c -f $cfg" haproxy -c -q -f "$cfg"
    done
fi
if need promtool "promtool check config"; then
    for cfg in docker/prometheus.yml docker/local/prometheus.yml; do
        check "promtool check config $cfg" promtool check config "$cfg"
    done
    check "grafana: provisioned datasource is the one every panel uses" "$PY" -c 'import sys, yaml, json
for p in sys.argv[1:3]:
    d = yaml.safe_load(open(p)); assert d["apiVersion"] == 1, p
ds = yaml.safe_load(open(sys.argv[1]))["datasources"][0]
assert ds["url"] == "http://prometheus:9090", ds["url"]
dash = json.load(open(sys.argv[3]))
for panel in dash["panels"]:
    for x in [panel] + panel["targets"]:
        assert x["datasource"]["uid"] == ds["uid"], (panel["title"], x["datasource"])' docker/grafana/provisioning/datasources/prometheus.yml \
        docker/grafana/provisioning/dashboards/streamlab.yml docker/grafana/dashboards/streamlab.json
fi

# Every panel's query is valid PromQL: promtool checks them as recording rules.
if command -v promtool >/dev/null; then
    "$PY" -c 'import json, sys
rules = [{"record": "panel_%d_%s" % (p["id"], t["refId"]), "expr": t["expr"]}
         for p in json.load(open(sys.argv[1]))["panels"] for t in p["targets"]]
print(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))' \
        docker/grafana/dashboards/streamlab.json >"$T/panels.rules.json"
    check "every panel query is valid PromQL (promtool check rules)" promtool check rules "$T/panels.rules.json"
fi

# ---- Dockerfile ------------------------------------------------------------------------------
dockerfile_ok=1
for stage in build runtime broker lab; do
    grep -Eq "^FROM .* AS $stage\$" docker/Dockerfile || { dockerfile_ok=0; fail "Dockerfile stage $stage" "no 'FROM ... AS $stage'"; }
done
if grep -E '^FROM ' docker/Dockerfile | grep -Ev '^FROM (debian:bookworm-slim|runtime) ' >"$T/from"; then
    fail "Dockerfile bases" "not debian:bookworm-slim: $(cat "$T/from")"
elif [ "$dockerfile_ok" -eq 1 ]; then
    ok "Dockerfile: stages build, runtime, broker, lab on debian:bookworm-slim"
fi
# The images build these make targets.
image_targets=$(sed -n 's/^RUN make .*-j[^ ]* \(.*\)$/\1/p' docker/Dockerfile)
[ -n "$image_targets" ] || fail "Dockerfile builds make targets" "no 'RUN make -jN TARGET...' line"
for target in $image_targets; do
    if make -n "$target" >/dev/null 2>&1; then
        ok "Dockerfile's make target $target exists"
    else
        fail "Dockerfile's make target $target" "make has no rule for it"
    fi
done

# The build stage installs the package of every header those targets compile with
# (cc -M over the sources make would compile; build-essential brings libc's).
build_pkgs=" libc6-dev linux-libc-dev libgcc-12-dev $(sed -n '/^FROM .* AS build$/,/^FROM/{/apt-get install/,/rm -rf/p}' docker/Dockerfile |
    tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|update)$' | tr '\n' ' ') "
# shellcheck disable=SC2086
sources=$(make -n -B $image_targets 2>/dev/null | grep -o ' -c [^ ]*\.c' | awk '{print $2}' | sort -u)
missing=""
# shellcheck disable=SC2086
for pkg in $(cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. -Icore -Isim -Ireal -M $sources 2>/dev/null |
    tr ' \\' '\n\n' | grep '^/' | sort -u | xargs -r dpkg -S 2>/dev/null | cut -d: -f1 | sort -u); do
    case "$build_pkgs" in *" $pkg "*) ;; *) missing+=" $pkg" ;; esac
done
if [ -z "$sources" ]; then
    fail "Dockerfile's build stage has every header" "make -n lists no sources for $image_targets"
elif [ -n "$missing" ]; then
    fail "Dockerfile's build stage has every header" "install:$missing"
else
    ok "Dockerfile's build stage has the headers of $(echo "$sources" | wc -l) sources"
fi

# The runtime stage installs the package of every shared library the binaries link
# (readelf's NEEDED, found through ldd, owned per dpkg -S; libc6 is in the base image).
runtime_pkgs=" libc6 $(sed -n '/^FROM .* AS runtime$/,/^FROM/s/.*apt-get install -y --no-install-recommends \([^\\]*\).*/\1/p' docker/Dockerfile) "
for target in $image_targets; do
    [ -x "$target" ] || continue
    missing=""
    for soname in $(readelf -d "$target" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(ldd "$target" | awk -v s="$soname" '$1 == s { print $3 }')
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
        case "$runtime_pkgs" in *" ${pkg:-?} "*) ;; *) missing+=" $soname(${pkg:-unknown})" ;; esac
    done
    if [ -z "$missing" ]; then
        ok "Dockerfile's runtime stage has every library $target links"
    else
        fail "Dockerfile's runtime stage has every library $target links" "missing:$missing"
    fi
done

# ---- metrics the dashboard queries ----------------------------------------------------------
sources=()
# HAProxy's exporter, from the local config on free ports.
if need haproxy "haproxy exporter metrics" && need curl "haproxy exporter metrics"; then
    bport=$(free_port)
    sport=$(free_port)
    # shellcheck source=../../docker/local/lab-real.env
    . docker/local/lab-real.env
    sed -e "s/:${BOOTSTRAP##*:}\$/:$bport/" -e "s/:${HAPROXY_STATS##*:}\$/:$sport/" \
        docker/local/haproxy.cfg >"$T/haproxy.cfg"
    haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
    PIDS+=($!)
    if wait_http "http://127.0.0.1:$sport/metrics" "$T/haproxy.metrics" &&
        wait_http "http://127.0.0.1:$sport/stats" "$T/haproxy.stats"; then
        ok "haproxy serves /metrics ($(grep -c '^haproxy_' "$T/haproxy.metrics") samples) and /stats"
        sources+=("haproxy=$T/haproxy.metrics")
    else
        fail "haproxy serves /metrics and /stats" "$(tail -n 3 "$T/haproxy.log" | tr '\n' ' ')"
    fi
fi
# start_broker CONFIG OUT [--override k=v]...: streamlab-broker on CONFIG moved to free
# ports and a fresh directory ("SELF" in an override: its own host:port); 0 when it
# served /metrics (saved in OUT) within 10 s.
broker=${BUILD:-build}/streamlab-broker
start_broker() {
    local config=$1 out=$2 cport mport
    shift 2
    cport=$(free_port)
    mport=$(free_port)
    "$broker" --config "$config" --override "listeners=PLAINTEXT://127.0.0.1:$cport" \
        --override "log.dirs=$T/data-$cport" --override "metrics.port=$mport" \
        "${@//SELF/127.0.0.1:$cport}" \
        >"$out.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$mport/metrics" "$out"
}
if [ ! -x "$broker" ]; then
    fail "streamlab-broker" "$broker is missing (make test-deploy builds it)"
else
    # Every rendered broker config is one streamlab-broker accepts.
    for config in docker/broker-{1,2,3}.properties docker/local/broker-{1,2,3}.properties; do
        if start_broker "$config" "$T/accept.metrics"; then
            ok "streamlab-broker starts on $config"
        else
            fail "streamlab-broker starts on $config" "$(tail -n 3 "$T/accept.metrics.log" | tr '\n' ' ')"
        fi
        kill "${PIDS[-1]}" 2>/dev/null
    done
    # A quorum of its own elects itself, so it exports every metric family.
    if start_broker docker/local/broker-1.properties "$T/broker.metrics" \
        --override "controller.quorum.voters=1@SELF" --override "advertised.listeners=PLAINTEXT://SELF" \
        --override default.replication.factor=1 --override min.insync.replicas=1; then
        ok "streamlab-broker serves /metrics ($(grep -c '^# TYPE' "$T/broker.metrics") families)"
        sources+=("brokers=$T/broker.metrics")
    else
        fail "streamlab-broker serves /metrics" "$(tail -n 3 "$T/broker.metrics.log" | tr '\n' ' ')"
    fi
fi
if [ ${#sources[@]} -eq 2 ]; then
    check "every dashboard panel queries a metric some scrape target exports" \
        "$PY" "$CHECKS" panels docker/grafana/dashboards/streamlab.json docker/prometheus.yml "${sources[@]}"
fi

# Profile "kafka": Apache Kafka with the JMX exporter, whose rules give Kafka's MBeans the
# names above (every kafka_server_/controller_/log_ name the broker exports).
# shellcheck disable=SC2016 # a literal ${KAFKA_IMAGE}
if grep -q '^FROM ${KAFKA_IMAGE}$' docker/kafka/Dockerfile &&
    grep -q 'jmx_prometheus_javaagent.jar=9404:' docker/kafka/Dockerfile; then
    ok "docker/kafka/Dockerfile: apache/kafka with the JMX exporter on 9404"
else
    fail "docker/kafka/Dockerfile" "not FROM \${KAFKA_IMAGE} with the JMX exporter agent on 9404"
fi
broker_metrics=()
[ -s "$T/broker.metrics" ] && broker_metrics=("$T/broker.metrics")
check "JMX exporter rules map Kafka's MBeans to streamlab-broker's metric names" \
    "$PY" "$CHECKS" jmx docker/kafka/jmx-exporter.yml "${broker_metrics[@]}"

# ---- terraform ---------------------------------------------------------------------------------
HCL2JSON=tools/hcl2json/hcl2json.js
if ! need node "terraform parses"; then
    :
elif [ ! -d tools/hcl2json/node_modules/@cdktf/hcl2json ]; then
    fail "terraform parses" "@cdktf/hcl2json is not installed (run tools/install-deps.sh)"
elif node "$HCL2JSON" terraform/*.tf >"$T/tf.json" 2>"$T/tf.err"; then
    ok "terraform/*.tf parse (@cdktf/hcl2json)"
    check "terraform: VM, network, firewall to allowed_cidr, gcs state, variables, outputs" \
        "$PY" "$CHECKS" terraform "$T/tf.json" terraform/startup.sh.tftpl "$T/compose.yml"
else
    fail "terraform/*.tf parse (@cdktf/hcl2json)" "$(tr '\n' ' ' <"$T/tf.err")"
fi
sed -e 's/\${repository_url}/https:\/\/example.invalid\/lab.git/g' -e 's/\${repository_ref}/main/g' \
    -e 's/\${compose_profile}/streamlab/g' terraform/startup.sh.tftpl >"$T/startup.sh"
if grep -n '\${' "$T/startup.sh" >"$T/left"; then
    fail "startup script template" "unknown template expression: $(head -n 2 "$T/left" | tr '\n' ' ')"
else
    check "startup script renders to valid bash (bash -n)" bash -n "$T/startup.sh"
fi

# ---- workflows ---------------------------------------------------------------------------------
check "workflows parse: ci in debian:12 runs make test; deploy's inputs and steps" \
    "$PY" "$CHECKS" workflows .github/workflows/ci.yml .github/workflows/deploy.yml

# ---- the local lab end to end --------------------------------------------------------------------
# About a minute, on ports 19xxx; LAB_REAL=0 skips it.
if [ "${LAB_REAL:-1}" = 0 ]; then
    skip "make lab-real end to end" "LAB_REAL=0"
elif tools/lab-real.sh status 2>/dev/null | grep -q running; then
    skip "make lab-real end to end" "a lab is running here (make lab-real-stop first)"
else
    check "make lab-real: kill broker 2, Prometheus sees brokers online 3 -> 2 -> 3, lag recovers" \
        tests/system/lab-real.sh
    grep -h '^lab-real:' "$T/out" | sed 's/^/    /'
fi

echo "deploy: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
