#!/usr/bin/env bash
# The machine's floor for WebSocket steps against our server: the same load tool and the
# same CPU accounting, interleaved so drift on a shared machine hits both alike.
#
#   bash bench/ws/floor.sh                       # 3 rounds, 6 s per run, 64 and 1,024 sessions
#   RUNS=3 SECS=6 SESSIONS="64 1024" bash bench/ws/floor.sh [SERVER_BINARY...]
#
# Builds `ws_load`, the `ws_floor` example (a WebSocket server on our stack that answers
# every message with pre-rendered frames: no work of its own) and `incident-env` in
# release mode. Each round runs, for each server (the floor, then each binary given, by
# default this tree's `incident-env`; FLOORS="hyper:multi plain:multi" picks the floor
# variants) and each session count, `ws_load --sessions N --secs $SECS --server-pid PID
# --json` and prints one line: the server, the sessions, steps/s and the server's on-CPU
# time per message. Loopback only; every run is bounded ($SECS at most 60).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PORT:-18084}"
secs="${SECS:-6}"
runs="${RUNS:-3}"
sessions_list="${SESSIONS:-64 1024}"
floors="${FLOORS:-hyper:multi}"
[ "$secs" -le 60 ] || { echo "SECS must be at most 60" >&2; exit 2; }

if [ "${BUILD:-1}" = 1 ]; then   # BUILD=0: use the binaries already built
    (cd "$root" && cargo build --release -q -p incident-host -p incident-bench \
        --bin incident-env --bin ws_load --example ws_floor)
fi
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="${target_dir:-$root/target}/release"
if [ "$#" -eq 0 ]; then
    set -- "$bin/incident-env"
fi

pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

# Start a server ("floor:STACK:RUNTIME" or a binary), load it once per session count, stop it.
measure() {
    local server="$1" name="$1"
    case "$server" in
        floor:*)
            IFS=: read -r _ stack flavour <<<"$server"
            "$bin/examples/ws_floor" --port "$port" --stack "$stack" --runtime "$flavour" \
                2>/dev/null &
            ;;
        *) "$server" serve --host 127.0.0.1 --port "$port" >/dev/null 2>&1 & ;;
    esac
    pid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    for sessions in $sessions_list; do
        "$bin/ws_load" --port "$port" --sessions "$sessions" --secs "$secs" \
            --server-pid "$pid" --json \
            | sed -n 's/.*"sessions": \([0-9]*\).*"errors": \([0-9]*\), "steps_per_sec": \([0-9]*\).*"server_cpu_us_per_message": \([0-9.a-z]*\).*/sessions=\1 errors=\2 steps_per_sec=\3 server_cpu_us_per_message=\4/p' \
            | sed "s|^|round=$round server=$name |"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

for round in $(seq 1 "$runs"); do
    for floor in $floors; do
        measure "floor:$floor"
    done
    for server in "$@"; do
        measure "$server"
    done
done
