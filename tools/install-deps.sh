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

# real mode (later issue: real sockets, talking to real Kafka clients and brokers).
# Note: on machines with NodeSource's nodejs, Debian's npm conflicts with it; drop npm there.
# REAL=(libuv1-dev librdkafka-dev kcat python3-kafka python3-confluent-kafka nodejs npm iperf3)

# deploy: docker/ (docker-compose config), haproxy -c, promtool, python3-yaml for the
# workflow and compose checks, npm for the offline HCL parser of terraform/ (see below).
DEPLOY=(haproxy prometheus docker-compose python3-yaml)
# Debian's npm conflicts with NodeSource's nodejs, which bundles its own npm.
command -v npm >/dev/null || DEPLOY+=(nodejs npm)

wanted=("${BUILD[@]}")
enabled="build"
wanted+=("${VIEWER[@]}")
enabled+=" viewer"
# wanted+=("${REAL[@]}"); enabled+=" real"
wanted+=("${DEPLOY[@]}")
enabled+=" deploy"

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

# ---- npm packages ----------------------------------------------------------------
# tests/system/deploy.sh parses terraform/*.tf with @cdktf/hcl2json, pinned by
# tools/hcl2json/package-lock.json and installed into tools/hcl2json/node_modules (the
# only download; the tests themselves run offline).
HCL2JSON_DIR="$(cd "$(dirname "$0")" && pwd)/hcl2json"
npm_packages() {
    [ -d "$HCL2JSON_DIR/node_modules/@cdktf/hcl2json" ] && return 0
    if [ "$check_only" -eq 1 ]; then
        echo "install-deps: missing npm package @cdktf/hcl2json (tools/hcl2json)"
        return 1
    fi
    echo "install-deps: npm ci in tools/hcl2json (@cdktf/hcl2json)"
    (cd "$HCL2JSON_DIR" && npm ci --no-audit --no-fund --loglevel=error)
}

# ---- what is missing -------------------------------------------------------------
missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#wanted[@]} packages present (groups: $enabled)"
    npm_packages
    exit
fi

if [ "$check_only" -eq 1 ]; then
    echo "install-deps: missing ${#missing[@]} package(s): ${missing[*]}"
    echo "install-deps: run 'make deps' (or tools/install-deps.sh) to install them"
    npm_packages || true
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
npm_packages
echo "install-deps: done"
