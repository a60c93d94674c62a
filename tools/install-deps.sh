#!/usr/bin/env bash
# install-deps.sh — installs the Debian 12 packages streamlab needs, only the missing ones.
#
#   tools/install-deps.sh           install what is missing (as root, or through sudo)
#   tools/install-deps.sh --check   list what is missing; exit 1 if anything is
#
# `make deps` runs this; `make demo` and CI (.ci/run) run it first.  Packages are
# grouped by the feature that needs them; only the groups added to `wanted` below
# are installed.  The commented-out groups belong to later issues: uncomment the
# array and its `wanted+=` line when the feature lands.
set -euo pipefail

# ---- package groups ----------------------------------------------------------
# build: compile, test, format, trace inspection, benchmarks (`time` gives peak RSS).
BUILD=(build-essential pkg-config clang clang-format libsqlite3-dev sqlite3 libcjson-dev
    libcriterion-dev python3 time)

# viewer: build/streamlab-viz, `--screenshot`, video export through ffmpeg.
VIEWER=(libsdl2-dev libsdl2-ttf-dev libsdl2-image-dev fonts-dejavu-core ffmpeg)

# real mode: build/streamlab-broker (libuv), the lab and benchmarks (librdkafka), and the
# real clients tests/system/real.sh runs (kcat, both Python clients, kafkajs through
# node), `promtool check metrics` (prometheus), curl for /metrics, iperf3 for bench/,
# and libFuzzer's runtime for clang (the request-decoder fuzzer).
# NodeSource's nodejs bundles npm and conflicts with Debian's: npm only when none is there.
REAL=(libuv1-dev librdkafka-dev kcat python3-kafka python3-confluent-kafka nodejs iperf3
    prometheus curl libclang-rt-dev)
command -v npm >/dev/null || REAL+=(npm)

# deploy: docker-compose config, haproxy -c, promtool, python3-yaml for the compose and
# workflow checks, node for the offline HCL parser of terraform/ (npm projects below).
DEPLOY=(haproxy prometheus docker-compose python3-yaml nodejs curl)

wanted=("${BUILD[@]}")
enabled="build"
wanted+=("${VIEWER[@]}")
enabled+=" viewer"
wanted+=("${REAL[@]}")
enabled+=" real"
wanted+=("${DEPLOY[@]}")
enabled+=" deploy"
# groups share packages (nodejs, prometheus, curl): each once
mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | awk '!seen[$0]++')

# ---- arguments -----------------------------------------------------------------
check_only=0
case "${1:-}" in
"") ;;
--check) check_only=1 ;;
-h | --help)
    sed -n '2,10s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
*)
    echo "install-deps.sh: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac

# ---- what is missing -------------------------------------------------------------
missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

# npm projects, each pinned by its package-lock.json and installed into its own
# node_modules (never downloaded at test time): "folder under tools/:package it provides".
#   node      kafkajs, a real client for tests/system/real.sh
#   hcl2json  @cdktf/hcl2json, the HCL parser tests/system/deploy.sh checks terraform/ with
NPM_PROJECTS=(node:kafkajs hcl2json:@cdktf/hcl2json)
tools_dir="$(cd "$(dirname "$0")" && pwd)"
npm_missing() {
    local p
    for p in "${NPM_PROJECTS[@]}"; do
        [ -f "$tools_dir/${p%%:*}/node_modules/${p#*:}/package.json" ] || echo "$p"
    done
}
install_npm() {
    local p
    for p in $(npm_missing); do
        echo "install-deps: npm ci in tools/${p%%:*} (${p#*:})"
        (cd "$tools_dir/${p%%:*}" && npm ci --no-audit --no-fund --loglevel=error)
    done
}

if [ ${#missing[@]} -eq 0 ]; then
    if [ "$check_only" -eq 1 ] && [ -n "$(npm_missing)" ]; then
        echo "install-deps: missing npm packages: $(npm_missing | tr '\n' ' '); run 'make deps'"
        exit 1
    fi
    [ "$check_only" -eq 1 ] || install_npm
    echo "install-deps: all ${#wanted[@]} packages present (groups: $enabled)"
    exit 0
fi

if [ "$check_only" -eq 1 ]; then
    echo "install-deps: missing ${#missing[@]} package(s): ${missing[*]}"
    echo "install-deps: run 'make deps' (or tools/install-deps.sh) to install them"
    exit 1
fi

# ---- install ---------------------------------------------------------------------
if ! command -v apt-get >/dev/null; then
    echo "install-deps: apt-get not found; this script targets Debian 12." >&2
    echo "install-deps: install these packages by hand: ${missing[*]}" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null; then
    as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
    echo "install-deps: missing ${missing[*]}" >&2
    echo "install-deps: installing needs root, and sudo is not available." >&2
    echo "install-deps: as root, run: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
install_npm
echo "install-deps: done"
