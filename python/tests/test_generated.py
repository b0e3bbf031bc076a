"""Generated incidents from Python: the tiers as task choices, a fixed evaluation set by
incident seed, and the oracle's and the rule baseline's actions for a batch."""

from __future__ import annotations

import numpy as np
import pytest

from incident_env import ACTION_COUNT, OBS_LAYOUT, TASK_CHOICES, VectorEnv

GEN_TIERS = ["gen_easy", "gen_medium", "gen_hard", "gen_expert"]
GRAPH_TIERS = ["gen_graph_easy", "gen_graph_medium", "gen_graph_hard", "gen_graph_expert"]
TIERS = GEN_TIERS + GRAPH_TIERS
MITIGATED_BYTE = OBS_LAYOUT["field"]["MITIGATED_AT"]
TIER_BYTE = OBS_LAYOUT["field"]["TIER"]


def play_once(env: VectorEnv, policy: str) -> dict[str, np.ndarray]:
    """Play every environment's current episode to its end with a reference policy (the
    NEXT_STEP autoreset shows each episode's last observation on its ending step)."""
    n = env.num_envs
    done = np.zeros(n, bool)
    score, resolved, mitigated = np.zeros(n), np.zeros(n, bool), np.zeros(n)
    for _ in range(64):
        obs, _, term, trunc, infos = env.step(env.policy_actions(policy))
        new = (term | trunc) & ~done
        if new.any():
            score[new] = infos["score"][new]
            resolved[new] = term[new]
            mitigated[new] = obs[new, MITIGATED_BYTE]
        done |= new
        if done.all():
            break
    assert done.all()
    return {"score": score, "resolved": resolved, "mitigated": mitigated}


def test_generated_tiers_are_task_choices():
    # Goal: every tier is a valid task in both splits, and an unknown split is refused.
    assert [c for c in TASK_CHOICES if c.startswith("gen_")] == TIERS
    for tier in TIERS:
        obs, _ = VectorEnv(3, task=tier, split="test").reset()
        assert obs[:, TIER_BYTE].tolist() == [OBS_LAYOUT["tier_code"][tier]] * 3
    with pytest.raises(ValueError, match="split"):
        VectorEnv(1, task="gen_easy", split="validation")


def test_incident_seeds_give_a_fixed_evaluation_set():
    # Goal: resetting to incident seeds gives the same episodes whatever the batch seed
    # and position, and is refused for the original tasks.
    seeds = np.arange(10, dtype=np.uint64)
    a = VectorEnv(10, task="gen_hard", split="test", seed=1)
    b = VectorEnv(10, task="gen_hard", split="test", seed=2)
    obs_a = a.reset(options={"incident_seeds": seeds})[0].copy()
    obs_b = b.reset(options={"incident_seeds": seeds})[0].copy()
    np.testing.assert_array_equal(obs_a, obs_b)
    c = VectorEnv(10, task="gen_hard", split="test")
    obs_c = c.reset(options={"incident_seeds": seeds[::-1].copy()})[0]
    np.testing.assert_array_equal(obs_c, obs_a[::-1])
    with pytest.raises(ValueError, match="generated"):
        VectorEnv(2, task="easy_task").reset(options={"incident_seeds": seeds[:2]})


@pytest.mark.parametrize("tier", GEN_TIERS)
def test_the_oracle_resolves_every_incident_and_beats_the_baseline(tier):
    # Goal: the oracle's actions resolve every test incident with the full score and
    # report a time to mitigation; the baseline's actions are valid indices and score
    # less on average.
    seeds = np.arange(64, dtype=np.uint64)
    env = VectorEnv(64, task=tier, split="test")
    env.reset(options={"incident_seeds": seeds})
    baseline = env.policy_actions("baseline")
    assert baseline.dtype == np.uint8 and (baseline < ACTION_COUNT).all()
    oracle = play_once(env, "oracle")
    assert oracle["resolved"].all()
    np.testing.assert_allclose(oracle["score"], 1.0)
    assert (oracle["mitigated"] > 0).all()
    env.reset(options={"incident_seeds": seeds})
    assert play_once(env, "baseline")["score"].mean() < oracle["score"].mean()
    with pytest.raises(ValueError, match="policy"):
        env.policy_actions("cheat")


@pytest.mark.parametrize("tier", GRAPH_TIERS)
def test_the_oracle_beats_the_baseline_on_the_graph_tiers(tier):
    # Goal: a graph tier plays from Python in both splits with a fixed evaluation set: the
    # oracle's mean score is above the baseline's and the random policy's.
    seeds = np.arange(64, dtype=np.uint64)
    for split in ("train", "test"):
        env = VectorEnv(64, task=tier, split=split)
        means = {}
        for policy in ("oracle", "baseline"):
            env.reset(options={"incident_seeds": seeds})
            means[policy] = play_once(env, policy)["score"].mean()
        env.reset(options={"incident_seeds": seeds})
        rng = np.random.default_rng(0)
        random = np.zeros(64)
        done = np.zeros(64, bool)
        for _ in range(64):
            _, _, term, trunc, infos = env.step(rng.integers(0, ACTION_COUNT, 64))
            new = (term | trunc) & ~done
            if new.any():
                random[new] = infos["score"][new]
            done |= new
        assert done.all()
        assert means["oracle"] > means["baseline"] and means["oracle"] > random.mean(), means
