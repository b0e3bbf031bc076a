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

section "all suites passed"
