#!/usr/bin/env bash
# Creates (once) and updates the Python venv target/py-venv: the incident_env package built
# from this tree (maturin, release build of the abi3 extension) and its dependencies.
#   --tests  also pytest, transformers, pydantic and mypy (the package's test suite)
#   --train  also jax, optax, matplotlib and tqdm (python/examples/train_ppo.py)
#   --trl    instead the venv target/trl-venv: also pytest, TRL and PyTorch (with PyPI's CUDA
#            packages, ~6 GB installed; python/tests/test_trl.py), apart so target/py-venv stays small
# Used by test.sh and python/examples/reproduce.sh; PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-venv
case " $* " in *" --trl "*) venv=target/trl-venv ;; esac
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
extra=()
for arg in "$@"; do
  case "$arg" in
    # transformers: its get_json_schema (what TRL turns tool methods into) checks the TRL class.
    # pydantic: incident_env.compat's models (the package's "compat" extra); mypy: the
    # stubs and hints (test_types.py).
    --tests) extra+=(pytest transformers "pydantic>=2" mypy) ;;
    # JAX on CPU (jax + jaxlib, ~90 MB) rather than PyTorch (PyPI's wheel pulls ~3.5 GB of
    # CUDA packages).
    --train) extra+=("jax>=0.4.30" "optax>=0.2.3" "matplotlib>=3.8" "tqdm>=4.66") ;;
    # The versions docs/python.md names; PyPI's Linux torch needs its nvidia-* packages (torch
    # installed without them fails at import).
    --trl) extra+=(pytest "trl==1.16.0" "torch==2.15.0") ;;
    *) echo "python/venv.sh: unknown argument $arg (expected --tests, --train, --trl)" >&2; exit 2 ;;
  esac
done
"$venv/bin/pip" install -q "maturin>=1.9.4,<2" "numpy>=1.21" "gymnasium>=1.0,<2" ${extra[@]+"${extra[@]}"}
# maturin (from the venv, hence PATH) builds the extension in release mode.
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/pip" install -q --no-build-isolation ./python
