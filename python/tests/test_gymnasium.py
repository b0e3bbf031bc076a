"""The registered single environment and Gymnasium's own tooling over it."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

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
    assert obs[48] == 2


def test_make_vec_uses_the_native_vector_env():
    # Goal: gymnasium.make_vec builds incident_env.VectorEnv, passing task through.
    envs = gym.make_vec(incident_env.ENV_ID, num_envs=6, task="medium_task")
    assert isinstance(envs.unwrapped, incident_env.VectorEnv)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (6, incident_env.OBS_LEN) and np.all(obs[:, 48] == 1)


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
    assert set(info) >= {"episode", "score", "safety"}
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
    assert keys is not None and {"episode", "score", "_score"} <= keys
