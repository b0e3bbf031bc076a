#!/usr/bin/env bash
# Run the benchmarks and write docs/benchmarks.md: one command for every speed figure of the
# docs, with the machine, commit and date once at the top.
#
#   bash bench/report.sh            # full: about 6-10 minutes on 2 cores, builds included
#   bash bench/report.sh --quick    # fewer runs and shorter loads, no criterion or burst
#   bash bench/report.sh --out PATH # write elsewhere (default docs/benchmarks.md)
#
# Builds the release binaries, the `profiling` build of bench/examples/profile.rs and the
# Python package's venv (python/venv.sh), installs wrk with apt-get when it is missing and
# the user is root (as bench/http/run.sh does), then runs bench/report.py, which runs every
# measurement and writes the Markdown. Needs valgrind (callgrind) and python3. Loopback only;
# every load is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p incident-host -p incident-bench \
    --bin incident-env --bin throughput --bin ws_load --bin ws_burst --example ws_floor
cargo build --profile profiling -q -p incident-bench --example profile
bash python/venv.sh
if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
exec python3 bench/report.py "$@"
