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
venv=target/py-venv
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
# transformers: its get_json_schema (what TRL turns tool methods into) checks the TRL class.
"$venv/bin/pip" install -q "maturin>=1.9.4,<2" "numpy>=1.21" "gymnasium>=1.0,<2" pytest transformers
# maturin (from the venv, hence PATH) builds the abi3 extension in release mode.
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/pip" install -q --no-build-isolation ./python
INCIDENT_ENV_TOOL_SCHEMA=required "$venv/bin/pytest" -q python/tests

section "Python: train_ppo.py smoke (jax + optax + matplotlib + tqdm into the same venv)"
# JAX on CPU (jax + jaxlib, ~90 MB) rather than PyTorch (PyPI's wheel pulls ~3.5 GB of CUDA
# packages). A few thousand steps: the script starts, learns, evaluates, writes its outputs.
"$venv/bin/pip" install -q "jax>=0.4.30" "optax>=0.2.3" "matplotlib>=3.8" "tqdm>=4.66"
"$venv/bin/pytest" -q python/examples/test_train_ppo.py

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
cargo build -p incident-host --bin incident-env
(
  cd tests/browser
  [ -f node_modules/playwright-core/package.json ] || npm ci --no-audit --no-fund
  INCIDENT_ENV_BIN="$PWD/../../target/debug/incident-env" node --test --test-concurrency=1 ui.test.mjs
)

section "MCP: the official Python SDK client, two sessions at once (.ci/mcp-probe.sh)"
# Its venv (target/mcp-venv) is created once and reused.
bash .ci/mcp-probe.sh

section "all suites passed"
