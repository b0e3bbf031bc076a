"""`VectorEnv`: many incident environments stepped in one native call.

The observations, rewards, flags and episode-end statistics live in numpy arrays owned by
the environment; the Rust core writes straight into them with the GIL released. What
``step`` and ``reset`` return are read-only views of those arrays: **they are overwritten
by the next call**, so copy (``obs.copy()``, ``torch.tensor(obs)``) whatever you keep
across steps.

Autoreset is ``AutoresetMode.SAME_STEP``: on the step that ends an episode, ``terminated``
or ``truncated`` is true, the reward is that step's, the returned observation is already
the next episode's first one, and ``infos["final_obs"]`` holds the observation that ended
the episode (a dense ``(num_envs, OBS_LEN)`` array; rows whose ``infos["_final_obs"]`` is
false are stale). The same step's infos carry the ended episodes' statistics, as
Gymnasium's dict of arrays with ``_key`` masks, at the top level and under
``infos["final_info"]``:

- ``episode``: ``{"r": return (float32), "l": length (int32), "t": wall-clock seconds
  (float64, rounded to microseconds)}``, as ``RecordEpisodeStatistics`` names them
  (``"t"`` runs from the reset or step call that began the episode to the end of the
  step call that ended it);
- ``score``, ``root_cause_identification``, ``resolution``, ``efficiency``, ``safety``:
  the grader's final score and its four parts (float32).

Entries whose mask is false hold values of earlier steps (read them through the masks).
Steps where no episode ended return ``{}`` as infos. The infos dicts are new on every step
(their arrays are the views above), so a wrapper may add keys to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector import VectorEnv as GymVectorEnv
from gymnasium.vector.utils import batch_space

from incident_env import _native

#: The observation space of one environment: the core's numeric observation bytes.
SINGLE_OBSERVATION_SPACE = spaces.Box(0, 255, (_native.OBS_LEN,), np.uint8)
#: The action space of one environment: the core's discrete action indices.
SINGLE_ACTION_SPACE = spaces.Discrete(_native.ACTION_COUNT)


def _read_only(array: np.ndarray) -> np.ndarray:
    """Return a read-only view of ``array`` (the native side keeps writing the base)."""
    view = array.view()
    view.flags.writeable = False
    return view


class VectorEnv(GymVectorEnv):
    """``num_envs`` incident environments as one Gymnasium vector environment.

    Args:
        num_envs: number of environments (1 to ``NUM_ENVS_MAX``).
        task: one original task's id (``"easy_task"`` ...), a generated tier
            (``"gen_easy"`` ... ``"gen_expert"``: each episode a new incident of that tier),
            ``"uniform"`` (each episode's original task drawn uniformly) or ``"cycle"``
            (each environment walks through the original tasks); see
            ``incident_env.TASK_CHOICES``.
        split: ``"train"`` or ``"test"``: which incidents a generated tier draws from
            (``"test"`` is the held-out set); the original tasks are the same in both.
        seed: the batch seed used by the first ``reset()`` without a seed.
        num_threads: threads one ``step`` is split across: the calling thread and
            persistent workers started here (batches smaller than ``MIN_ENVS_PER_THREAD``
            per thread use fewer). Results never depend on it.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int,
        task: str = "uniform",
        split: str = "train",
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        self._core = _native.VecCore(num_envs, task, split, seed, num_threads)
        self._split = split
        self._seed = seed
        self._started = False
        self.num_envs = num_envs
        self.single_observation_space = SINGLE_OBSERVATION_SPACE
        self.single_action_space = SINGLE_ACTION_SPACE
        self.observation_space = batch_space(SINGLE_OBSERVATION_SPACE, num_envs)
        self.action_space = batch_space(SINGLE_ACTION_SPACE, num_envs)
        core = self._core
        self._obs = _read_only(core.observations)
        self._final_obs = _read_only(core.final_observations)
        self._rewards = _read_only(core.rewards)
        self._terminated, self._truncated, self._ended = (
            _read_only(row) for row in core.flags
        )
        self._info_views()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new episodes and return ``(observations, {})``.

        ``seed`` rebuilds environment ``i`` from ``(seed, i)``, so the same seed gives the
        same episodes; without it, the first call uses the constructor's seed and later
        ones draw each environment's next episode from its own generator. ``options`` may
        hold ``"task"`` (and ``"split"``) to change the task of every later episode, and
        ``"reset_mask"`` (bool, one per environment) to reset only those environments.
        With a generated tier, ``"incident_seeds"`` (one per environment) makes
        environment ``i`` generated incident ``incident_seeds[i]`` of the tier and split
        (numbered as the core's ``tiers`` example numbers them): a fixed evaluation set.
        """
        super().reset(seed=seed)
        options = options or {}
        if "task" in options:
            self._core.set_task(options["task"], options.get("split", self._split))
        if seed is None and not self._started:
            seed = self._seed
        self._started = True
        incident_seeds = options.get("incident_seeds")
        if incident_seeds is not None:
            self._core.reset_incidents(np.ascontiguousarray(incident_seeds, dtype=np.uint64))
            return self._obs, {}
        mask = options.get("reset_mask")
        if mask is not None:
            mask = np.ascontiguousarray(mask, dtype=np.bool_)
        self._core.reset(seed, mask)
        return self._obs, {}

    def policy_actions(self, policy: str) -> np.ndarray:
        """Return the action index (``uint8``, one per environment) that a reference
        policy chooses in each environment's current state: ``"oracle"`` (reads the
        hidden answer; the upper reference) or ``"baseline"`` (the original's rule
        baseline). For evaluation tables, not for training."""
        return self._core.policy_actions(policy)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every environment with its action index and return
        ``(observations, rewards, terminated, truncated, infos)`` (views; see the module).

        ``actions`` is one index per environment in ``0..ACTION_COUNT``; ``uint8`` and
        ``int64`` arrays are read in place, anything else is converted. An out-of-range
        index is answered like the original's unknown action type.
        """
        try:
            ended = self._core.step(actions)
        except TypeError:
            ended = self._core.step(self._as_actions(actions))
        infos = self._end_infos() if ended else {}
        return self._obs, self._rewards, self._terminated, self._truncated, infos

    def _as_actions(self, actions: Any) -> np.ndarray:
        """Convert ``actions`` to a contiguous 1-D ``int64`` array, or raise ``ValueError``."""
        array = np.ascontiguousarray(actions)
        if array.shape != (self.num_envs,):
            raise ValueError(
                f"actions must have shape ({self.num_envs},), got {array.shape}"
            )
        return array.astype(np.int64, copy=False)

    def _info_views(self) -> None:
        """Lay out, once, the views every episode-end infos dict is copied from."""
        core, mask = self._core, self._ended
        rows = dict(zip(_native.EPISODE_FIELDS, map(_read_only, core.episode)))
        self._episode = {
            "r": rows.pop("r"),
            "l": _read_only(core.lengths),
            "t": _read_only(core.times),
        }
        self._stats: dict[str, Any] = {"_episode": mask}
        for name, row in rows.items():
            self._stats[name] = row
            self._stats["_" + name] = mask
        self._final = {"final_obs": self._final_obs, "_final_obs": mask, "_final_info": mask}

    def _end_infos(self) -> dict[str, Any]:
        """Return the infos of a step where episodes ended (see the module docs)."""
        stats = dict(self._stats)
        stats["episode"] = dict(self._episode)
        infos = dict(stats)
        infos.update(self._final)
        infos["final_info"] = stats
        return infos

    def __repr__(self) -> str:
        """Return ``VectorEnv(num_envs=...)``."""
        return f"VectorEnv(num_envs={self.num_envs})"
