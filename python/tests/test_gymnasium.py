"""The registered single environment, and Gymnasium's own tooling and wrappers over the
single and the vector environment."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import vector as vector_wrappers

import incident_env


@pytest.mark.parametrize("task", ["easy_task", "expert_task", "uniform", "cycle"])
def test_single_env_passes_check_env(task):
    # Goal: gymnasium.make builds our env and Gymnasium's checker finds nothing wrong
    # (no exception and no warning).
    env = gym.make(incident_env.ENV_ID, task=task)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)


def test_module_prefixed_id_imports_the_package():
    # Goal: the "module:id" form works without importing incident_env first.
    env = gym.make("incident_env:IncidentResponse-v0", task="hard_task")
    obs, _ = env.reset(seed=1)
    layout = incident_env.OBS_LAYOUT
    assert obs[layout["field"]["TIER"]] == layout["tier_code"]["hard_task"]


def test_make_vec_uses_the_native_vector_env():
    # Goal: gymnasium.make_vec builds incident_env.VectorEnv, passing task through.
    envs = gym.make_vec(incident_env.ENV_ID, num_envs=6, task="medium_task")
    assert isinstance(envs.unwrapped, incident_env.VectorEnv)
    obs, _ = envs.reset(seed=0)
    layout = incident_env.OBS_LAYOUT
    assert obs.shape == (6, incident_env.OBS_LEN)
    assert np.all(obs[:, layout["field"]["TIER"]] == layout["tier_code"]["medium_task"])


def test_single_env_requires_reset_after_the_end():
    # Goal: stepping past the end of an episode is an error, not a silent new episode.
    env = incident_env.IncidentResponseEnv(task="easy_task")
    with pytest.raises(RuntimeError):
        env.step(0)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, term, trunc, info = env.step(0)
        done = term or trunc
    assert set(info) >= {"episode_stats", "score", "safety"} and "episode" not in info
    with pytest.raises(RuntimeError):
        env.step(0)


def test_sync_vector_env_over_the_single_env_agrees():
    # Goal: Gymnasium's SyncVectorEnv (SAME_STEP) over our single env reports the same
    # episode-end keys as the native vector env.
    sync = gym.make_vec(
        incident_env.ENV_ID,
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        task="easy_task",
    )
    sync.reset(seed=0)
    keys = None
    for _ in range(20):
        _, _, term, trunc, infos = sync.step(np.zeros(2, np.int64))
        if (term | trunc).any():
            keys = set(infos["final_info"])
            break
    assert keys is not None and {"episode_stats", "score", "_score"} <= keys


def test_single_env_record_episode_statistics():
    # Goal: Gymnasium's single-env RecordEpisodeStatistics runs through episode ends (our
    # info has no "episode" of its own) and its return and length equal ours.
    env = gym.wrappers.RecordEpisodeStatistics(gym.make(incident_env.ENV_ID, task="uniform"))
    env.reset(seed=3)
    env.action_space.seed(3)
    ends = 0
    while ends < 5:
        _, _, term, trunc, info = env.step(env.action_space.sample())
        if term or trunc:
            ends += 1
            ours, theirs = info["episode_stats"], info["episode"]
            assert theirs["l"] == ours["l"] and theirs["r"] == pytest.approx(ours["r"], abs=1e-4)
            env.reset()
    assert len(env.return_queue) == 5


def test_cleanrl_style_loop_with_gymnasiums_vector_wrappers():
    # Goal: the wrapper stack of CleanRL's PPO over gymnasium.make_vec (NEXT_STEP, the
    # default) runs: RecordEpisodeStatistics (its episode returns and lengths equal our
    # episode_stats), ClipReward (writes into the returned rewards), NormalizeObservation
    # (refuses SAME_STEP) and NormalizeReward; obs arrive as float arrays, rewards clipped.
    num_envs, steps = 8, 256
    envs = gym.make_vec(incident_env.ENV_ID, num_envs=num_envs, task="gen_medium")
    assert envs.metadata["autoreset_mode"] is gym.vector.AutoresetMode.NEXT_STEP
    envs = stats = vector_wrappers.RecordEpisodeStatistics(envs)
    envs = vector_wrappers.ClipReward(envs, min_reward=-0.5, max_reward=0.1)
    envs = vector_wrappers.NormalizeObservation(envs)
    envs = vector_wrappers.NormalizeReward(envs, gamma=0.99)
    obs, _ = envs.reset(seed=1)
    envs.action_space.seed(1)
    episodes = 0
    for _ in range(steps):
        obs, reward, term, trunc, infos = envs.step(envs.action_space.sample())
        assert obs.dtype.kind == "f" and np.isfinite(obs).all() and np.isfinite(reward).all()
        if "episode" in infos:
            done = infos["_episode"]
            np.testing.assert_array_equal(done, term | trunc)
            ours = infos["episode_stats"]
            np.testing.assert_array_equal(infos["episode"]["l"][done], ours["l"][done])
            episodes += int(done.sum())
    assert episodes > num_envs
    assert stats.episode_count == episodes


def test_same_step_is_refused_by_normalize_observation_but_not_by_the_rest():
    # Goal: SAME_STEP stays available for code that wants it: RecordEpisodeStatistics and
    # ClipReward accept it; NormalizeObservation refuses it as Gymnasium documents.
    envs = incident_env.VectorEnv(4, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    stats = vector_wrappers.RecordEpisodeStatistics(envs)
    wrapped = vector_wrappers.ClipReward(stats, 0, 0.06)
    wrapped.reset(seed=0)
    for _ in range(50):
        _, reward, *_ = wrapped.step(wrapped.action_space.sample())
        assert np.all((reward >= 0) & (reward <= 0.06))
    assert stats.episode_count > 0
    with pytest.raises(ValueError, match="NEXT_STEP"):
        vector_wrappers.NormalizeObservation(envs)
