#!/usr/bin/env bash
# Drive `incident-env serve` with the real OpenEnv Python client, in both of its
# published versions: openenv-core 0.3.0 and its renamed successor openenv 0.10.0.
# With each: 8 concurrent sessions, a bad action, and `openenv validate --url`.
# With 0.10.0 also: `openenv validate --level static` on a copy of openenv.yaml, and
# its runtime graders (reward_well_formed, observation_schema, state_contract) run
# against this server by .ci/openenv10_runtime.py (no Docker). Exits non-zero if any
# check fails. The venvs are cached under ${CARGO_TARGET_DIR:-target}/openenv-venv
# and .../openenv10-venv (delete them to force a fresh install).
set -euo pipefail

cd "$(dirname "$0")/.."
probe_start=$(date +%s)
section() { echo; echo "=== $* ($(( $(date +%s) - probe_start ))s)"; }
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="${OPENENV_VENV:-$TARGET_DIR/openenv-venv}"
VENV10="${OPENENV10_VENV:-$TARGET_DIR/openenv10-venv}"
# The team's probe, a copy of ../shared/conformance kept in the repository (tests/conformance).
PROBE="${OPENENV_PROBE:-tests/conformance/openenv_client_probe.py}"
PYTHON="${PYTHON:-python3}"

# ensure_venv DIR DIST VERSION: (re)create DIR with DIST==VERSION unless a previous
# run left it complete. A venv is marked complete only after pip succeeded and the
# installed version was read back, so an interrupted install is redone, not reused.
ensure_venv() {
    local dir=$1 dist=$2 version=$3 t0
    if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$dist==$version" ] \
       && "$dir/bin/python" -c "import importlib.metadata as m; assert m.version('$dist') == '$version'" 2>/dev/null; then
        return 0
    fi
    echo "openenv-probe: creating $dir with $dist==$version"
    t0=$(date +%s)
    rm -rf "$dir"
    if ! "$PYTHON" -m venv "$dir"; then
        echo "openenv-probe: FAIL: '$PYTHON -m venv $dir' failed (is python3-venv installed?)"
        exit 1
    fi
    local attempt
    for attempt in 1 2; do
        if "$dir/bin/pip" install --quiet --disable-pip-version-check --retries 3 \
               --timeout 60 "$dist==$version"; then
            break
        fi
        if [ "$attempt" = 2 ]; then
            echo "openenv-probe: FAIL: 'pip install $dist==$version' into $dir failed" \
                 "twice (network or index problem?); see pip's output above"
            rm -rf "$dir"
            exit 1
        fi
        echo "openenv-probe: pip install $dist==$version failed; retrying once"
    done
    local got
    if ! got="$("$dir/bin/python" -c "import importlib.metadata as m, openenv.core; print(m.version('$dist'))")" \
       || [ "$got" != "$version" ]; then
        echo "openenv-probe: FAIL: $dir has $dist '${got:-?}' after pip install, expected $version"
        rm -rf "$dir"
        exit 1
    fi
    echo "$dist==$version" >"$dir/.complete"
    echo "openenv-probe: installed $dist==$version in $(( $(date +%s) - t0 ))s"
}
section "python venvs (cached under $TARGET_DIR)"
ensure_venv "$VENV" openenv-core 0.3.0
ensure_venv "$VENV10" openenv 0.10.0

section "cargo build --release -p incident-host"
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
# openenv.yaml lists the four tasks and the generated tiers: /tasks?include=generated.
manifest, tasks = get("/manifest"), get("/tasks?include=generated")["tasks"]
assert doc["name"] == manifest["name"] and doc["version"] == manifest["version"], doc
assert [t["id"] for t in doc["tasks"]] == [t["task_id"] for t in tasks]
assert [t["task_id"] for t in get("/tasks")["tasks"]] == [t["id"] for t in doc["tasks"][:4]]
for mine, theirs in zip(doc["tasks"], tasks):
    for key in ("name", "description", "difficulty", "max_steps"):
        assert mine[key] == theirs[key], (key, mine, theirs)
    assert mine.get("splits") == theirs.get("splits"), (mine, theirs)
assert doc["validation"]["reward"]["range"] == [0.0, 1.0]
print("openenv.yaml: valid YAML, consistent with /manifest and /tasks")
PY
failed=()
section "openenv-core 0.3.0 client probe"
"$VENV/bin/python" "$PROBE" "http://127.0.0.1:$PORT" \
    --task-id hard_task --seed 7 --concurrent 8 \
    --bad-action '{"action_type":"reboot"}' --validate || failed+=("openenv-core 0.3.0 client probe")

section "openenv 0.10.0: openenv validate --level static (a copy of openenv.yaml)"
# Validate a copy: in the repo root the validator's source digest walks target/
# (symlinks, files changing under cargo) and errors out.
STATIC_DIR="$(mktemp -d)"
cp openenv.yaml "$STATIC_DIR/"
if static_out="$("$VENV10/bin/openenv" validate "$STATIC_DIR" --level static 2>&1)"; then
    static_rc=0
else
    static_rc=$?
fi
rm -rf "$STATIC_DIR"
echo "$static_out"
if [ "$static_rc" != 0 ] || ! grep -Eq 'PASS.*static\.manifest|static\.manifest.*PASS' <<<"$static_out"; then
    echo "openenv-probe: openenv validate --level static did not PASS static.manifest (exit $static_rc)"
    failed+=("openenv 0.10.0 validate --level static")
fi

section "openenv 0.10.0 client probe"
"$VENV10/bin/python" "$PROBE" "http://127.0.0.1:$PORT" \
    --task-id hard_task --seed 7 --concurrent 8 \
    --bad-action '{"action_type":"reboot"}' --validate || failed+=("openenv 0.10.0 client probe")

section "openenv 0.10.0 runtime graders (loopback provider, no Docker)"
"$VENV10/bin/python" .ci/openenv10_runtime.py "http://127.0.0.1:$PORT" \
    || failed+=("openenv 0.10.0 runtime graders")

if [ "${#failed[@]}" != 0 ]; then
    printf 'openenv-probe: FAILED: %s\n' "${failed[@]}"
    status=1
fi

# The server must still shut down cleanly on SIGTERM.
section "SIGTERM shutdown"
kill -TERM "$SERVER"
if ! wait "$SERVER"; then
    echo "openenv-probe: the server did not exit cleanly on SIGTERM"; cat "$LOG"
    status=1
fi
trap - EXIT
rm -f "$LOG"
exit "$status"
