#!/usr/bin/env bash
# The 16,384-session burst: every session connects at once, all are held, each resets and
# steps. Too heavy for CI's two cores alongside the other suites, so it is this separate
# command (about 10-30 s).
#
#   bash bench/ws/burst.sh               # SESSIONS=16384 PORT=18083
#
# Builds `incident-env` and `ws_burst` in release mode, starts
# `incident-env serve --host 127.0.0.1 --port $PORT --max-connections 3072` (so that the
# default 16,384 sessions plus the connections fit a 20,000 file limit; the server raises
# its soft limit to the hard one itself), runs `ws_burst --sessions $SESSIONS --server-pid
# PID`, which fails unless every session connected, reset and stepped, and stops the server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PORT:-18083}"
sessions="${SESSIONS:-16384}"

(cd "$root" && cargo build --release -q -p incident-host -p incident-bench --bin incident-env --bin ws_burst)
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="${target_dir:-$root/target}/release"

"$bin/incident-env" serve --host 127.0.0.1 --port "$port" --max-connections 3072 \
    >/tmp/incident-env-burst.log 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat /tmp/incident-env-burst.log >&2; exit 1; }
    sleep 0.1
done

status=0
"$bin/ws_burst" --port "$port" --sessions "$sessions" --server-pid "$server_pid" || status=$?
cat /tmp/incident-env-burst.log >&2
exit "$status"
