#!/usr/bin/env bash
# Server CPU time per request, HTTP and WebSocket, for one or more server binaries: the
# machine-independent figure used to compare builds on a shared machine.
#
#   bash bench/api/cpu_per_request.sh [SERVER_BINARY...]   # default: this tree's release build
#   RUNS=3 DURATION=10 bash bench/api/cpu_per_request.sh /tmp/old-incident-env target/release/incident-env
#
# For each binary and each of $RUNS rounds (binaries interleaved, so drift on a busy machine
# hits both alike): start `serve --host 127.0.0.1 --port $PORT`, drive `POST /step` with wrk
# (64 connections, bench/http/step.lua) for $DURATION seconds, then WebSocket steps with
# the ws_load tool (64 sessions; its resets count as requests) for $DURATION seconds, and print requests/s and the
# server's user+system CPU time per request (from /proc/PID/stat). Loopback only; every run
# is bounded. Needs wrk (bench/http/run.sh installs it) and builds ws_load in release mode.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PORT:-18090}"
secs="${DURATION:-10}"
runs="${RUNS:-3}"
export RESET_EVERY="${RESET_EVERY:-16}"

(cd "$root" && cargo build --release -q -p incident-host -p incident-bench --bin ws_load)
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$root/target}"
ws_load="$target_dir/release/ws_load"
if [ "$#" -eq 0 ]; then
    set -- "$target_dir/release/incident-env"
fi

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() {
    local server="$1" round="$2" pid before after rps
    "$server" serve --host 127.0.0.1 --port "$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    before="$(ticks "$pid")"
    rps="$(wrk -t2 -c64 -d"${secs}s" --timeout 2s -s "$root/bench/http/step.lua" \
        "http://127.0.0.1:$port/step" | sed -n 's/^Requests\/sec: *//p')"
    after="$(ticks "$pid")"
    awk -v s="$server" -v r="$round" -v rps="$rps" -v t="$((after - before))" \
        -v hz="$(getconf CLK_TCK)" -v secs="$secs" 'BEGIN {
        printf "%s round=%s http_step req/s=%.0f server_cpu_us_per_req=%.2f\n",
            s, r, rps, t / hz * 1e6 / (rps * secs) }'
    before="$(ticks "$pid")"
    local out
    out="$("$ws_load" --port "$port" --sessions 64 --secs "$secs" --json)"
    after="$(ticks "$pid")"
    local steps resets
    steps="$(printf '%s' "$out" | sed -n 's/.*"steps": \([0-9]*\).*/\1/p')"
    resets="$(printf '%s' "$out" | sed -n 's/.*"resets": \([0-9]*\).*/\1/p')"
    steps=$((steps + resets))
    awk -v s="$server" -v r="$round" -v n="$steps" -v t="$((after - before))" \
        -v hz="$(getconf CLK_TCK)" -v secs="$secs" 'BEGIN {
        printf "%s round=%s ws_step steps/s=%.0f server_cpu_us_per_step=%.2f\n",
            s, r, n / secs, t / hz * 1e6 / n }'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

for round in $(seq 1 "$runs"); do
    for server in "$@"; do
        measure "$server" "$round"
    done
done
