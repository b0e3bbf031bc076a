#!/usr/bin/env bash
# HTTP load of the server: POST /step with wrk at 1 and 64 connections, loopback only.
#
#   bash bench/http/run.sh            # build, start the server, run both loads, stop it
#   PORT=18080 DURATION=10s bash bench/http/run.sh
#
# Builds `incident-env` (package incident-host) in release mode, installs wrk with apt-get
# when it is missing, starts `incident-env serve --host 127.0.0.1 --port $PORT`, drives it
# with bench/http/step.lua (POST /step with a mix of actions and a POST /reset every
# $RESET_EVERY requests; 0 for /step only) for a bounded $DURATION per run, prints
# requests/s, p50/p99 latency and the server's CPU time per request (from /proc; DURATION
# in seconds, e.g. 10s) per run, and stops the server it started.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PORT:-18080}"
duration="${DURATION:-10s}"
export RESET_EVERY="${RESET_EVERY:-16}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk not found; installing it with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
    fi
fi

(cd "$root" && cargo build --release -q -p incident-host)
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
server="${target_dir:-$root/target}/release/incident-env"

"$server" serve --host 127.0.0.1 --port "$port" >/tmp/incident-env-bench.log 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT

# Wait (bounded) until the server answers.
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "the server exited; its log:" >&2
        cat /tmp/incident-env-bench.log >&2
        exit 1
    fi
    sleep 0.1
done

# CPU time (user + system, in clock ticks) the server has used so far.
server_ticks() {
    awk '{print $14 + $15}' "/proc/$server_pid/stat" 2>/dev/null || echo 0
}

run() {
    local threads="$1" connections="$2"
    echo "== POST /step, $connections connection(s), $threads wrk thread(s), $duration"
    local before after
    before="$(server_ticks)"
    wrk -t"$threads" -c"$connections" -d"$duration" --timeout 2s --latency \
        -s "$here/step.lua" "http://127.0.0.1:$port/step" | tee /tmp/wrk-$connections.txt
    after="$(server_ticks)"
    # The server's CPU per request: comparable across runs on a busy machine, where
    # requests/s depend on what else runs on the cores.
    grep '^RESULT' "/tmp/wrk-$connections.txt" \
        | sed "s/^RESULT/connections=$connections/" \
        | awk -v ticks="$((after - before))" -v hz="$(getconf CLK_TCK)" -v secs="${duration%s}" '{
            split($2, rps, "=");
            printf "%s server_cpu_us_per_req=%.1f\n", $0, ticks / hz * 1e6 / (rps[2] * secs)
        }'
}

run 1 1
run 2 64
