#!/usr/bin/env bash
# WebSocket load of the server: ws_load at 64 and 1,024 OpenEnv sessions, loopback only.
#
#   bash bench/ws/run.sh              # build, start the server, run both loads, stop it
#   PORT=18082 SECS=10 bash bench/ws/run.sh
#
# Builds `incident-env` and `ws_load` in release mode, starts
# `incident-env serve --host 127.0.0.1 --port $PORT`, runs
# `ws_load --sessions N --secs $SECS --server-pid PID --json` for N = 64 and 1024 (bounded:
# $SECS each, at most 60) and prints one JSON line per run, with the server's on-CPU time
# per message (`server_cpu_us_per_message`), then stops the server it started.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PORT:-18082}"
secs="${SECS:-10}"
[ "$secs" -le 60 ] || { echo "SECS must be at most 60" >&2; exit 2; }

(cd "$root" && cargo build --release -q -p incident-host -p incident-bench --bin incident-env --bin ws_load)
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="${target_dir:-$root/target}/release"

"$bin/incident-env" serve --host 127.0.0.1 --port "$port" >/tmp/incident-env-ws-bench.log 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat /tmp/incident-env-ws-bench.log >&2; exit 1; }
    sleep 0.1
done

for sessions in 64 1024; do
    "$bin/ws_load" --port "$port" --sessions "$sessions" --secs "$secs" \
        --server-pid "$server_pid" --json
done
