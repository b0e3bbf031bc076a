"""The spaces and the seed refusals come from one declaration each: the extension's
(python/src/constants.rs, from the core's constants) and the server's wording
(incident-api's parse.rs)."""

from __future__ import annotations

import re

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

import incident_env
from incident_env import _native
from incident_env.vector import VectorEnv


def declared_spaces() -> tuple[spaces.Box, spaces.Discrete]:
    """The spaces of one environment as the extension declares them."""
    observation = spaces.Box(
        _native.OBS_LOW, _native.OBS_HIGH, (_native.OBS_LEN,), np.dtype(_native.OBS_DTYPE)
    )
    return observation, spaces.Discrete(_native.ACTION_COUNT)


def test_every_space_is_the_declared_one():
    # Goal: VectorEnv, make_vec, IncidentResponseEnv and make all show the declared
    # spaces (the batch spaces are the single ones batched).
    observation, action = declared_spaces()
    vector = VectorEnv(3)
    made_vec = gymnasium.make_vec(incident_env.ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    for env in (vector, made_vec):
        assert env.single_observation_space == observation
        assert env.single_action_space == action
        assert env.observation_space == gymnasium.vector.utils.batch_space(observation, 3)
        assert env.action_space == gymnasium.vector.utils.batch_space(action, 3)
    for env in (incident_env.IncidentResponseEnv(), gymnasium.make(incident_env.ENV_ID)):
        assert env.observation_space == observation and env.action_space == action


def test_the_declaration_is_what_the_core_produces():
    # Goal: the declared bounds are the observation dtype's whole range, the core's own
    # buffers have the declared shape and dtype, every observation of a random rollout
    # over every task lies in the space, every episode fits STEP_COUNT_MAX steps, and
    # ACTIONS lists exactly ACTION_COUNT distinct actions.
    observation, action = declared_spaces()
    info = np.iinfo(observation.dtype)
    assert (info.min, info.max) == (_native.OBS_LOW, _native.OBS_HIGH)
    assert len({tuple(sorted(a.items())) for a in _native.ACTIONS}) == action.n
    rng = np.random.default_rng(0)
    for task in _native.TASK_CHOICES:
        core = _native.VecCore(16, task, "train", 0, 1)
        assert core.observations.shape == (16, _native.OBS_LEN)
        assert core.observations.dtype == observation.dtype
        env = VectorEnv(16, task=task, autoreset_mode="SameStep")
        obs, _ = env.reset(seed=1)
        for _ in range(3 * _native.STEP_COUNT_MAX):
            assert all(observation.contains(row) for row in obs)
            obs, _, _, _, infos = env.step(rng.integers(0, action.n, 16))
            if infos:
                lengths = infos["episode_stats"]["l"][infos["_episode_stats"]]
                assert (lengths <= _native.STEP_COUNT_MAX).all(), task


def test_seed_refusals_use_the_servers_words():
    # Goal: a negative incident index is refused in the server's words (the same string
    # the Session's reset, the server's path, answers for a generated tier), and a
    # negative batch seed with the words that string starts with; 2**64 names its bound.
    with pytest.raises(incident_env.ApiError) as refused:
        incident_env.Session().reset(task_id="gen_easy", seed=-1)
    server = refused.value.body["detail"]
    assert server == f"{_native.NEGATIVE_INCIDENT_SEED}, got -1"
    assert _native.NEGATIVE_INCIDENT_SEED.startswith(_native.NEGATIVE_SEED)
    env = VectorEnv(2, task="gen_easy")
    for seeds in ([0, -1], np.array([0, -1]), [2**64, -1]):
        with pytest.raises(ValueError) as refused:
            env.reset(options={"incident_seeds": seeds})
        assert str(refused.value) == f"incident_seeds: {server}", seeds
    with pytest.raises(ValueError, match=re.escape(f"{_native.NEGATIVE_SEED}, got -1")):
        VectorEnv(2, seed=-1)
    with pytest.raises(ValueError, match=re.escape(f"{_native.NEGATIVE_SEED} below 2**64, got {2**64}")):
        incident_env.IncidentResponseEnv().reset(seed=2**64)
    assert _native.SEED_MAX == 2**64 - 1
