"""The DevOps incident-response environment in-process, from Python.

- :class:`VectorEnv`: a ``gymnasium.vector.VectorEnv`` over the Rust core's batch step
  (GIL released, optional threads; Gymnasium's three autoreset modes; writable copies or
  zero-copy views).
- :class:`IncidentResponseEnv`: one environment as a ``gymnasium.Env``, registered as
  ``"IncidentResponse-v0"`` (``gymnasium.make_vec`` of it builds a :class:`VectorEnv`).
- :class:`Session`: one text-level episode answering with the HTTP routes' documents;
  :mod:`incident_env.compat` has the original's ``IncidentEnvironment`` class and its
  pydantic models (extra ``compat``), and
  :mod:`incident_env.tools` the TRL ``environment_factory`` class ``IncidentToolEnv``.

The sizes come from the core: ``OBS_LEN`` observation bytes, ``ACTION_COUNT`` discrete
actions, ``STEP_COUNT_MAX`` the longest episode's steps (``ACTIONS[i]`` is index ``i`` as the original's JSON action fields),
``TASK_CHOICES`` valid ``task`` arguments, ``TASK_IDS`` the server's reset task ids,
``SPLITS`` valid ``split`` arguments, ``OBS_LAYOUT`` the observation's bytes by name.
"""

from __future__ import annotations

import gymnasium

from incident_env._native import (
    ACTION_COUNT,
    ACTIONS,
    EPISODE_FIELDS,
    MIN_ENVS_PER_THREAD,
    NUM_ENVS_MAX,
    NUM_THREADS_MAX,
    OBS_LAYOUT,
    OBS_LEN,
    SPLITS,
    STEP_COUNT_MAX,
    TASK_CHOICES,
    TASK_IDS,
)
from incident_env.env import IncidentResponseEnv
from incident_env.session import ApiError, Session
from incident_env.vector import VectorEnv

#: The Gymnasium id this package registers.
ENV_ID = "IncidentResponse-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(
        id=ENV_ID,
        entry_point="incident_env.env:IncidentResponseEnv",
        vector_entry_point="incident_env.vector:VectorEnv",
    )

__all__ = [
    "ACTION_COUNT",
    "ACTIONS",
    "ApiError",
    "ENV_ID",
    "EPISODE_FIELDS",
    "IncidentResponseEnv",
    "MIN_ENVS_PER_THREAD",
    "NUM_ENVS_MAX",
    "NUM_THREADS_MAX",
    "OBS_LAYOUT",
    "OBS_LEN",
    "SPLITS",
    "STEP_COUNT_MAX",
    "Session",
    "TASK_CHOICES",
    "TASK_IDS",
    "VectorEnv",
]
