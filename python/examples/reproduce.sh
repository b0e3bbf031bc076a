#!/usr/bin/env bash
# Reproduce docs/training.md's results table from a fresh clone, nothing installed by hand:
# builds target/py-venv (python/venv.sh --train: the package from this tree, jax, optax,
# matplotlib, tqdm), runs the documented training command and compares its table with the
# committed one (python/examples/reproduce.py; arguments are passed on, e.g. --seed 2).
# Exits 1 if a row is outside its tolerance. About 6 minutes on 2 cores from a fresh clone,
# under 3 of them training (results/reproduction.md has the last run's times).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash python/venv.sh --train
exec target/py-venv/bin/python python/examples/reproduce.py "$@"
