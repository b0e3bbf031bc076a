"""Smoke test of the training example: train_ppo.py starts, runs PPO updates, evaluates
and writes every output well-formed; eval_policy.py scores the saved model. A tiny budget
(seconds): no learning result is asserted (the README's documented run carries that)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TIERS = ("gen_easy", "gen_medium", "gen_hard", "gen_expert")


def run(*args: str) -> str:
    """Run a Python command from this folder and return its stdout (fails on error)."""
    done = subprocess.run([sys.executable, *args], cwd=HERE, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_train_writes_curve_table_and_a_model_that_eval_policy_scores(tmp_path):
    # Goal: a tiny run (two updates, one evaluation in between) writes curve.csv with a
    # row per evaluation, tier and split, a PNG, the final table with the four policies,
    # and a model + config that eval_policy.py loads and scores on the test split.
    out = tmp_path / "run"
    stdout = run("train_ppo.py", "--total-steps", "2048", "--num-envs", "32",
                 "--num-steps", "32", "--eval-every", "1024", "--eval-episodes", "8",
                 "--seed", "3", "--out", str(out), "--no-progress")
    assert "env steps/s" in stdout
    with open(out / "curve.csv") as f:
        rows = list(csv.DictReader(f))
    # Evaluations at step 0, 1024 and the end; 4 tiers x 2 splits each.
    assert len(rows) == 3 * 8
    assert {r["tier"] for r in rows} == set(TIERS)
    assert {r["split"] for r in rows} == {"train", "test"}
    assert [int(r["env_steps"]) for r in rows[::8]] == [0, 1024, 2048]
    for r in rows:
        assert 0.0 <= float(r["score"]) <= 1.0
        assert 0.0 <= float(r["success"]) <= 1.0
        assert float(r["steps"]) >= 1
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "table.md").read_text()
    for policy in ("random", "baseline", "PPO", "oracle"):
        assert f"| {policy} |" in table
    meta = json.loads((out / "model.json").read_text())
    assert meta["config"]["seed"] == 3 and meta["timing"]["env_steps"] == 2048
    with np.load(out / "model.npz") as params:
        assert "svc_out.w" in params.files
        assert all(np.isfinite(params[k]).all() for k in params.files)
    scored = run("eval_policy.py", str(out / "model.npz"), "--split", "test",
                 "--episodes", "8")
    assert scored.count("| PPO |") == len(TIERS)


def test_training_is_deterministic_given_seed_and_threads(tmp_path):
    # Goal: two runs with the same seed and thread count give the same parameters.
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        run("train_ppo.py", "--total-steps", "1024", "--num-envs", "32", "--num-steps", "16",
            "--eval-every", "100000", "--eval-episodes", "4", "--seed", "5", "--out",
            str(out), "--no-progress")
        outs.append(np.load(out / "model.npz"))
    a, b = outs
    assert a.files == b.files
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
