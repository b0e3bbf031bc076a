#!/usr/bin/env bash
# Every test of the repository, the README's one test command: the Rust workspace, then each
# further suite (Python package, browser) that sets up what it needs. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")"
section() { echo; echo "=== test.sh: $*"; }

section "Rust: cargo test --workspace"
cargo test --workspace

# Further suites add themselves below, each one self-contained (it installs or reuses what it
# needs and fails loudly when it cannot).

section "Python: incident_env (venv target/py-venv, pip install ./python, pytest)"
# The venv lives under target/ (gitignored) and is reused; PYTHON picks the interpreter.
# --train: jax, optax, matplotlib, tqdm for the train_ppo.py section below.
# The server binary: the original's HTTP tests (test_original_suite.py) and the browser tests.
cargo build -p incident-host --bin incident-env
bash python/venv.sh --tests --train
venv=target/py-venv
INCIDENT_ENV_TOOL_SCHEMA=required INCIDENT_ENV_BIN="$PWD/target/debug/incident-env" \
  "$venv/bin/pytest" -q python/tests

section "Python: train_ppo.py smoke and reproduce.py's comparison (same venv)"
# A few thousand steps: the script starts, learns, evaluates, writes its outputs; the
# reproduction script's comparison (python/examples/reproduce.py) on the committed table.
"$venv/bin/pytest" -q python/examples/test_train_ppo.py

section "Python: TRL's GRPOTrainer with environment_factory=IncidentToolEnv (venv target/trl-venv)"
# One GRPO step on CPU with a tiny random Llama and a tokenizer built in the test (no hub).
# Its own venv (TRL, PyTorch and PyPI's CUDA packages, ~6 GB) keeps target/py-venv small.
bash python/venv.sh --trl
INCIDENT_ENV_TRL=required target/trl-venv/bin/pytest -q python/tests/test_trl.py

section "Browser: /ui/ and /docs in headless Chromium (tests/browser, playwright-core)"
# Debian's Chromium (no browser download) and playwright-core from npm; the tests start the
# server binary themselves on a free port and print where their screenshots go.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: /usr/bin/chromium is missing; install Debian's chromium package (as root)"; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(
  cd tests/browser
  [ -f node_modules/playwright-core/package.json ] || npm ci --no-audit --no-fund
  INCIDENT_ENV_BIN="$PWD/../../target/debug/incident-env" node --test --test-concurrency=1 ui.test.mjs
)

section "MCP: the official Python SDK client, two sessions at once (.ci/mcp-probe.sh)"
# Its venv (target/mcp-venv) is created once and reused.
bash .ci/mcp-probe.sh

section "Ray: rollouts in Ray actors on a local instance (python/examples/test_ray_rollouts.py)"
# Ray from PyPI into the package's venv (above); a local instance of two CPUs on 127.0.0.1,
# no usage report (docs/scale.md).
"$venv/bin/pip" install -q --disable-pip-version-check --retries 3 "ray==2.60.0"
RAY_USAGE_STATS_ENABLED=0 "$venv/bin/pytest" -q -p no:cacheprovider python/examples/test_ray_rollouts.py

section "HAProxy: two servers behind Debian's haproxy, real clients (deploy/proxy-test.sh)"
# Installs haproxy (apt, as root) when missing; its venv (target/proxy-venv) is reused.
bash deploy/proxy-test.sh

section "LLM: incident-env run against SmolLM2-135M via llama-cpp-python (.ci/llm-probe.sh)"
# Its venv (target/llm-venv) is reused; the only section that may skip, and only when
# llama-cpp-python cannot be installed (it says so in a banner).
bash .ci/llm-probe.sh

section "all suites passed"
