"""Smoke test of the training example: train_ppo.py starts, runs PPO updates, evaluates
and writes every output well-formed; eval_policy.py scores the saved model. A tiny budget
(seconds): no learning result is asserted (docs/training.md's documented run carries that).
Also: the policy head gives the same evidence the same logits on every service, and
reproduce.py runs the documented command and tells a reproduced table from a moved one."""

from __future__ import annotations

import csv
import json
import re
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
    # Goal: two runs with the same seed and thread count give the same parameters (on the
    # graph family, so its encoder trains end to end too: its table has the four tiers).
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        run("train_ppo.py", "--tiers", "graph", "--total-steps", "1024", "--num-envs", "32",
            "--num-steps", "16", "--eval-every", "100000", "--eval-episodes", "4", "--seed",
            "5", "--out", str(out), "--no-progress")
        outs.append(np.load(out / "model.npz"))
        table = (out / "table.md").read_text()
        assert all(f"| gen_graph_{level} | test | PPO |" in table
                   for level in ("easy", "medium", "hard", "expert"))
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


def test_graph_encoder_sees_only_the_shown_dependencies():
    # Goal: with the graph features, a ruleset-v2 service sees a broken dependency only
    # once the observation shows that edge (its INSPECTED byte: the shown bit and the mask), and the
    # dependency sees its broken caller the same way; a ruleset-v1 observation keeps the
    # fixed graph (the bytes named by incident_env.OBS_LAYOUT).
    sys.path.insert(0, str(HERE))
    import train_ppo as tp

    gateway, database = tp.SERVICE_NAMES.index("api_gateway"), tp.SERVICE_NAMES.index(
        "database")
    obs = np.zeros((4, tp.ie.OBS_LEN), np.uint8)
    obs[:, database * tp.BLOCK] = 2  # the database critical, every other service healthy
    obs[[0, 1, 3], tp.RULESET_BYTE] = tp.RULESET_V2
    inspected = gateway * tp.BLOCK + tp.SERVICE_FIELD["INSPECTED"]
    obs[[1, 3], inspected] = (1 << tp.SHOWN_BIT) | (1 << database)  # shown
    obs[2, tp.RULESET_BYTE] = tp.LAYOUT["ruleset"]["V1"]
    obs[3, gateway * tp.BLOCK] = 1  # and the gateway degraded
    tokens, glob = (np.asarray(a) for a in tp.encode(obs, False, graph=True))
    # The token ends with the shown flag, then the dependencies' and the callers' status,
    # logs and metrics one-hots without their first class.
    seen = sum(n - 1 for i, n in tp.CATEGORICAL
               if i in [tp.SERVICE_FIELD[name] for name in ("STATUS", "LOGS", "METRICS")])
    own = tokens.shape[-1] - 1 - 2 * seen
    shown, deps, callers = (tokens[..., own], tokens[..., own + 1 : own + 1 + seen],
                            tokens[..., own + 1 + seen :])
    critical = 1  # status one-hot without "healthy": degraded, critical, ...
    assert deps[0, gateway, critical] == 0 and shown[0, gateway] == 0
    assert deps[1, gateway, critical] == 1 and shown[1, gateway] == 1
    assert callers[1, database].sum() == 0  # the gateway is healthy
    assert callers[3, database, 0] == 1 and callers[0, database].sum() == 0
    # Ruleset v1: the fixed graph (the gateway calls auth and the order service, not the
    # database directly), every edge known.
    assert deps[2, gateway].sum() == 0 and shown[2].min() == 1
    assert deps[2, tp.SERVICE_NAMES.index("payment_service"), critical] == 1
    gen_tokens, gen_glob = tp.encode(obs, False)
    assert glob.shape[-1] > gen_glob.shape[-1] and tokens.shape[-1] > gen_tokens.shape[-1]


def test_reproduce_passes_the_committed_table_and_fails_a_moved_one(tmp_path):
    # Goal: reproduce.py's comparison (what the fresh-clone reproduction reports) passes the
    # committed seed-1 table against itself, and fails, with exit 1 and the row marked, a
    # table whose PPO score moved by more than the tolerance, whose baseline moved by more
    # than rounding, or that lacks a row.
    committed = (HERE / "results" / "table.md").read_text()
    same = subprocess.run([sys.executable, "reproduce.py", "--table", str(HERE / "results"
                          / "table.md"), "--report", str(tmp_path / "same.md")], cwd=HERE,
                          capture_output=True, text=True, timeout=60)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "**PASS" in (tmp_path / "same.md").read_text()
    assert "FAIL" not in same.stdout
    row = re.search(r"^\| gen_hard \| test \| PPO \| ([\d.]+) \|", committed, re.M)
    base = re.search(r"^\| gen_easy \| train \| baseline \| ([\d.]+) \|", committed, re.M)
    moved_ppo = committed.replace(row[0], row[0].replace(row[1], f"{float(row[1]) - 0.04:.3f}"))
    moved_base = committed.replace(base[0],
                                   base[0].replace(base[1], f"{float(base[1]) + 0.002:.3f}"))
    missing = "\n".join(line for line in committed.splitlines() if "gen_expert | test | PPO"
                        not in line)
    for name, text, marked in (("ppo", moved_ppo, "| gen_hard | test | PPO |"),
                               ("base", moved_base, "| gen_easy | train | baseline |"),
                               ("missing", missing, "| gen_expert | test | PPO |")):
        (tmp_path / f"{name}.md").write_text(text)
        done = subprocess.run([sys.executable, "reproduce.py", "--table",
                               str(tmp_path / f"{name}.md"), "--report",
                               str(tmp_path / f"{name}-report.md")], cwd=HERE,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, name
        failed = [line for line in done.stdout.splitlines() if "**FAIL**" in line]
        assert len(failed) == 1 and failed[0].startswith(marked), (name, failed)


def test_reproduce_runs_the_documented_command():
    # Goal: the command reproduce.py runs is the one the docs show (README.md or the
    # training page docs/training.md; same arguments), so the reproduction cannot drift
    # from the docs.
    sys.path.insert(0, str(HERE))
    import reproduce

    repo = HERE.parent.parent
    docs = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    found = []
    for page in docs:
        found += re.findall(r"python/examples/train_ppo\.py ((?:[^\n]|\\\n)*?)--seed 1 --out",
                            page.read_text())
    commands = [m.replace("\\\n", " ").split() for m in found]
    assert commands, "the documented training command was not found"
    for family, documented in reproduce.DOCUMENTED.items():
        if reproduce.EXPECTED[(family, 1)].exists():  # a family with committed results
            assert list(documented) in commands, family
