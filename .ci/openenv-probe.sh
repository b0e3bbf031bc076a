#!/usr/bin/env bash
# Drive `incident-env serve` with the real OpenEnv Python client (openenv-core 0.3.0):
# 8 concurrent sessions, a bad action, and `openenv validate --url`. Exits with the
# probe's status. The venv is cached under ${CARGO_TARGET_DIR:-target}/openenv-venv.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="${OPENENV_VENV:-$TARGET_DIR/openenv-venv}"
PROBE="${OPENENV_PROBE:-../shared/conformance/openenv_client_probe.py}"
PYTHON="${PYTHON:-python3}"

if ! "$VENV/bin/python" -c 'import openenv.core' 2>/dev/null; then
    echo "openenv-probe: creating $VENV with openenv-core==0.3.0"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check openenv-core==0.3.0
fi

cargo build --release -p incident-host --bin incident-env
BIN="$TARGET_DIR/release/incident-env"

PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="$(mktemp)"
"$BIN" serve --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -f "$LOG"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=1)" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "openenv-probe: the server exited:"; cat "$LOG"; exit 1
    fi
    sleep 0.1
done

status=0
# openenv.yaml must parse as YAML and agree with /manifest and /tasks.
"$VENV/bin/python" - "http://127.0.0.1:$PORT" <<'PY' || status=1
import json, sys, urllib.request, yaml
base = sys.argv[1]
get = lambda path: json.load(urllib.request.urlopen(base + path, timeout=5))
doc = yaml.safe_load(open("openenv.yaml"))
manifest, tasks = get("/manifest"), get("/tasks")["tasks"]
assert doc["name"] == manifest["name"] and doc["version"] == manifest["version"], doc
assert [t["id"] for t in doc["tasks"]] == [t["task_id"] for t in tasks]
for mine, theirs in zip(doc["tasks"], tasks):
    for key in ("name", "description", "difficulty", "max_steps"):
        assert mine[key] == theirs[key], (key, mine, theirs)
assert doc["validation"]["reward"]["range"] == [0.0, 1.0]
print("openenv.yaml: valid YAML, consistent with /manifest and /tasks")
PY
"$VENV/bin/python" "$PROBE" "http://127.0.0.1:$PORT" \
    --task-id hard_task --seed 7 --concurrent 8 \
    --bad-action '{"action_type":"reboot"}' --validate || status=$?

# The server must still shut down cleanly on SIGTERM.
kill -TERM "$SERVER"
if ! wait "$SERVER"; then
    echo "openenv-probe: the server did not exit cleanly on SIGTERM"; cat "$LOG"
    status=1
fi
trap - EXIT
rm -f "$LOG"
exit "$status"
