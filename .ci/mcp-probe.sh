#!/usr/bin/env bash
# Drive `incident-env serve` with the official MCP Python SDK client (`mcp` on PyPI):
# two MCP sessions at once over streamable HTTP must each get their own episode
# (.ci/mcp_sdk_client.py). The venv is cached under ${CARGO_TARGET_DIR:-target}/mcp-venv
# (delete it to force a fresh install). Exits non-zero if the check fails.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="${MCP_VENV:-$TARGET_DIR/mcp-venv}"
PYTHON="${PYTHON:-python3}"
MCP_VERSION="2.3.0"
PORT="${MCP_PROBE_PORT:-18111}"

if ! { [ -f "$VENV/.complete" ] && [ "$(cat "$VENV/.complete")" = "mcp==$MCP_VERSION" ]; }; then
    echo "mcp-probe: creating $VENV with mcp==$MCP_VERSION"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --retries 3 --timeout 60 \
        "mcp==$MCP_VERSION"
    echo "mcp==$MCP_VERSION" >"$VENV/.complete"
fi

cargo build --release -q -p incident-host --bin incident-env
"$TARGET_DIR/release/incident-env" serve --host 127.0.0.1 --port "$PORT" \
    >"$TARGET_DIR/mcp-probe-server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
timeout 120 "$VENV/bin/python" .ci/mcp_sdk_client.py "http://127.0.0.1:$PORT"
