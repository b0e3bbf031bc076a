"""Smoke test of the training example: train_ppo.py starts, runs PPO updates, evaluates
and writes every output well-formed; eval_policy.py scores the saved model. A tiny budget
(seconds): no learning result is asserted (the README's documented run carries that).
Also: the policy head gives the same evidence the same logits on every service."""

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


def test_policy_head_does_not_know_which_service_it_scores():
    # Goal: the same evidence gives the same logits on any service. With only the database
    # broken in one observation and only payment_service (whose one dependency is the
    # database, healthy here) in another, both showing the same block, the database's
    # actions in the first get exactly the logits of payment_service's in the second, so
    # what is learned about a mode on one service holds on every other.
    sys.path.insert(0, str(HERE))
    import jax
    import train_ppo as tp

    config = tp.Config()
    params = tp.init_params(jax.random.PRNGKey(0), config.hidden, False, False)
    block = [1, 2, 3, 0, 0, 0, 0, 0]  # degraded, medium alert, logs showed high_latency
    obs = np.zeros((2, tp.ie.OBS_LEN), np.uint8)
    for row, service in enumerate(("database", "payment_service")):
        s = tp.SERVICE_NAMES.index(service)
        obs[row, s * tp.BLOCK : (s + 1) * tp.BLOCK] = block
        obs[row, tp.LOGS_RUN + s] = 1
    obs[:, tp.TIER_BYTE : tp.MAX_STEPS_BYTE + 1] = [5, 1, 9, 10]
    logits = np.asarray(tp.forward(params, obs, config)[0])

    def indices(service: str) -> list[int]:
        return [tp.ie.ACTIONS.index({**a, "service": service}) for a in tp.PER_SERVICE]

    db, pay = indices("database"), indices("payment_service")
    np.testing.assert_array_equal(logits[0, db], logits[1, pay])
    # The head is not constant: the broken service's logits differ from a healthy one's.
    assert not np.array_equal(logits[0, db], logits[0, pay])
