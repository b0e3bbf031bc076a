"""`IncidentResponseEnv`: one incident environment as a `gymnasium.Env`.

Registered as ``"IncidentResponse-v0"`` (``gymnasium.make("IncidentResponse-v0",
task=...)`` after ``import incident_env``, or ``gymnasium.make("incident_env:IncidentResponse-v0")``);
``gymnasium.make_vec`` of that id builds the native :class:`incident_env.VectorEnv`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import gymnasium

from incident_env import _native
from incident_env.vector import SINGLE_ACTION_SPACE, SINGLE_OBSERVATION_SPACE, check_seed

#: Largest seed ``reset`` draws from ``np_random`` when none is given.
_SEED_BOUND = 2**63


class IncidentResponseEnv(gymnasium.Env):
    """One incident episode at a time, stepped by discrete action indices.

    Observations are copies of the core's numeric observation (``OBS_LEN`` uint8 bytes,
    layout in ``core/src/obs.rs``); ``terminated`` means the incident was resolved,
    ``truncated`` that the step budget ran out. The step that ends an episode has in its
    info the grader's ``score``, its four parts and ``episode_stats`` (``{"r": return,
    "l": length, "t": wall-clock seconds}``; not ``episode``, which Gymnasium's
    ``RecordEpisodeStatistics`` adds); call ``reset`` before stepping again. Actions are
    integer indices (floats and bools are refused).

    Args:
        task: an original task's id, a generated tier (``"gen_easy"`` ...), ``"uniform"``
            or ``"cycle"`` (see ``incident_env.TASK_CHOICES``).
        split: ``"train"`` or ``"test"`` (the held-out incidents of a generated tier).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, task: str = "uniform", split: str = "train") -> None:
        self._core = _native.VecCore(1, task, split, 0, 1)
        self._task, self._split = task, split
        self._action = np.zeros(1, dtype=np.int64)
        self._needs_reset = True
        # The core auto-resets in the step that ends an episode, so after one it already
        # holds the next, unstarted episode, which an unseeded reset hands out.
        self._fresh = False
        self.observation_space = SINGLE_OBSERVATION_SPACE
        self.action_space = SINGLE_ACTION_SPACE

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode and return ``(observation, {})``.

        With ``seed`` the episode is a function of it; the first reset without one draws a
        seed from ``np_random``; later ones continue the environment's own sequence.
        ``options`` may hold ``"task"`` and/or ``"split"`` for this and later episodes
        (anything else, an unknown task or a seed that is not a non-negative integer below ``2**64`` is refused
        before anything changes).
        """
        seed = None if seed is None else check_seed(seed)
        options = options or {}
        unknown = sorted(set(options) - {"task", "split"})
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; expected some of ['task', 'split']")
        first = self._np_random is None
        switched = bool(options)
        if switched:
            task, split = options.get("task", self._task), options.get("split", self._split)
            self._core.set_task(task, split)
            self._task, self._split = task, split
        super().reset(seed=seed)
        if seed is None and first:
            seed = int(self.np_random.integers(_SEED_BOUND))
        if seed is not None or not self._fresh or switched:
            self._core.reset(seed, None)
        self._needs_reset = False
        self._fresh = False
        return self._core.observations[0].copy(), {}

    def step(
        self, action: Any
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply action index ``action`` and return
        ``(observation, reward, terminated, truncated, info)``."""
        if self._needs_reset:
            raise RuntimeError("the episode has ended (or not started): call reset()")
        if isinstance(action, np.ndarray) and action.shape == ():
            action = action[()]
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            raise TypeError(f"action must be an integer index, got {type(action).__name__}")
        # Out-of-range indices are unknown actions; clamping keeps them in int64.
        self._action[0] = min(max(int(action), -1), _native.ACTION_COUNT)
        core = self._core
        ended = core.step(self._action)
        reward = float(core.rewards[0])
        terminated, truncated = bool(core.flags[0, 0]), bool(core.flags[1, 0])
        if not ended:
            return core.observations[0].copy(), reward, False, False, {}
        self._needs_reset = self._fresh = True
        stats = dict(zip(_native.EPISODE_FIELDS, (float(row[0]) for row in core.episode)))
        episode = {"r": stats.pop("r"), "l": int(core.lengths[0]), "t": float(core.times[0])}
        info: dict[str, Any] = {"episode_stats": episode}
        info.update(stats)
        return core.final_observations[0].copy(), reward, terminated, truncated, info
