#!/usr/bin/env bash
# User-space instructions per WebSocket message of a server, under callgrind: a figure that
# does not depend on what else runs on the machine.
#
#   bash bench/ws/instructions.sh floor                       # the ws_floor example
#   bash bench/ws/instructions.sh target/release/incident-env # a server binary
#
# Runs the server under `valgrind --tool=callgrind` twice, with `ws_load --sessions 64` for
# 2 s and for 8 s (loopback only, bounded), and prints the difference of the two instruction
# totals over the difference of the messages served (steps and resets), so start-up and
# connection set-up cancel. Needs valgrind and the release builds of `ws_load` and
# `ws_floor` (`bash bench/ws/floor.sh` builds them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/target/release"
port="${PORT:-18087}"
work="$(mktemp -d /tmp/ws-instructions-XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Print "messages instructions" for one run of $1 seconds.
run() {
    local secs="$1" out
    shift
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$@" >"$work/log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    out="$("$bin/ws_load" --port "$port" --sessions 64 --secs "$secs" --json)"
    kill -TERM "$pid"
    wait "$pid" || true
    printf '%s' "$out" | sed -n 's/.*"steps": \([0-9]*\), "resets": \([0-9]*\).*/\1 \2/p' \
        | awk -v ir="$(grep -o 'Collected : [0-9]*' "$work/log" | awk '{print $3}')" \
            '{print $1 + $2, ir}'
}

if [ "${1:-}" = floor ]; then
    server=("$bin/examples/ws_floor" --port "$port")
else
    server=("$1" serve --host 127.0.0.1 --port "$port")
fi
read -r short_msgs short_ir < <(run 2 "${server[@]}")
read -r long_msgs long_ir < <(run 8 "${server[@]}")
awk -v m1="$short_msgs" -v i1="$short_ir" -v m2="$long_msgs" -v i2="$long_ir" -v s="$1" \
    'BEGIN { printf "%s instructions_per_message=%.0f (messages %d and %d)\n", s, (i2 - i1) / (m2 - m1), m1, m2 }'
