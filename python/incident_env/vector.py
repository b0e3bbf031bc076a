"""`VectorEnv`: many incident environments stepped in one native call.

The observations, rewards, flags and episode-end statistics live in numpy arrays owned by
the environment; the Rust core writes straight into them with the GIL released. By default
(``copy=True``) ``step`` and ``reset`` return new, writable arrays, as Gymnasium's
``SyncVectorEnv`` does, so wrappers such as ``ClipReward`` may change them in place. With
``copy=False`` they return **read-only views** of the environment's own arrays, which the
next call overwrites (zero-copy: copy whatever you keep across steps).

Autoreset follows Gymnasium's ``autoreset_mode`` (https://farama.org/Vector-Autoreset-Mode):

- ``AutoresetMode.NEXT_STEP`` (the default, as in Gymnasium): the step that ends an episode
  returns that episode's last observation; the next step ignores the environment's action
  and returns the new episode's first observation, reward 0, neither flag.
- ``AutoresetMode.SAME_STEP``: the step that ends an episode returns the new episode's
  first observation; ``infos["final_obs"]`` holds the observation that ended the episode (a
  dense ``(num_envs, OBS_LEN)`` array; rows whose ``infos["_final_obs"]`` is false are
  stale) and ``infos["final_info"]`` the ended episodes' statistics below.
- ``AutoresetMode.DISABLED``: as ``NEXT_STEP``, but stepping an environment whose episode
  ended raises until ``reset(options={"reset_mask": ...})`` restarts it.

The step where episodes ended has their statistics in its infos, as Gymnasium's dict of
arrays with ``_key`` masks (keys no standard wrapper uses, so ``RecordEpisodeStatistics``
can add its own ``episode``):

- ``episode_stats``: ``{"r": return (float32), "l": length (int32), "t": wall-clock seconds
  (float64, rounded to microseconds)}`` (``"t"`` runs from the reset or step call that began
  the episode to the end of the step call that ended it);
- ``score``, ``root_cause_identification``, ``resolution``, ``efficiency``, ``safety``:
  the grader's final score and its four parts (float32).

Entries whose mask is false hold values of earlier episodes (read them through the masks).
Steps where no episode ended return ``{}`` as infos. The infos dicts are new on every step,
so a wrapper may add keys to them.

Refused calls change nothing: ``reset`` checks its seed and every option before it applies
any, and ``step`` refuses non-integer actions (floats, bools) rather than truncating them.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector import VectorEnv as GymVectorEnv
from gymnasium.vector.utils import batch_space

from incident_env import _native

#: The observation space of one environment: the core's numeric observation bytes, as the
#: extension declares them (length, dtype, bounds).
SINGLE_OBSERVATION_SPACE = spaces.Box(
    _native.OBS_LOW, _native.OBS_HIGH, (_native.OBS_LEN,), np.dtype(_native.OBS_DTYPE)
)
#: The action space of one environment: the core's discrete action indices.
SINGLE_ACTION_SPACE = spaces.Discrete(_native.ACTION_COUNT)
#: Largest seed (batch seeds and incident seeds are unsigned 64-bit numbers).
SEED_MAX = _native.SEED_MAX
#: The ``options`` keys ``VectorEnv.reset`` accepts.
RESET_OPTIONS = ("task", "split", "reset_mask", "incident_seeds")


def _is_int(value: Any) -> bool:
    """Return whether ``value`` is a Python or numpy integer (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def seed_refusal(seed: int, incident: bool = False) -> str:
    """Return the message refusing ``seed`` (negative or past ``SEED_MAX``): the server's
    words (``_native.NEGATIVE_SEED``; for an incident index the server's refusal of a
    generated tier's negative seed, ``_native.NEGATIVE_INCIDENT_SEED``), then
    ``, got <seed>``."""
    if seed < 0:
        words = _native.NEGATIVE_INCIDENT_SEED if incident else _native.NEGATIVE_SEED
    else:
        words = f"{_native.NEGATIVE_SEED} below 2**64"
    return f"{words}, got {seed}"


def check_seed(seed: Any) -> int:
    """Return ``seed`` as an ``int`` if it is an integer in ``0..=SEED_MAX``, else raise
    ``ValueError`` (``TypeError`` for a non-integer)."""
    if not _is_int(seed):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) <= SEED_MAX:
        raise ValueError(seed_refusal(int(seed)))
    return int(seed)


def _check_incident_seeds(values: Any, num_envs: int) -> np.ndarray:
    """Return ``values`` as ``num_envs`` incident indices (``uint64``), or raise
    ``ValueError``/``TypeError`` naming the first one out of range."""
    array = _per_env(values, num_envs, "iu", "incident_seeds")
    # Python integers no numpy integer dtype holds together are checked one by one; a
    # numpy integer array by its extremes (the lowest first).
    candidates = array if array.dtype == object else array[[array.argmin(), array.argmax()]]
    bad = [int(v) for v in candidates if not 0 <= int(v) <= SEED_MAX]
    if bad:
        raise ValueError(f"incident_seeds: {seed_refusal(min(bad), incident=True)}")
    return np.ascontiguousarray(array, dtype=np.uint64)


def _read_only(array: np.ndarray) -> np.ndarray:
    """Return a read-only view of ``array`` (the native side keeps writing the base)."""
    view = array.view()
    view.flags.writeable = False
    return view


def _per_env(values: Any, num_envs: int, kind: str, what: str) -> np.ndarray:
    """Return ``values`` as a 1-D array of ``num_envs`` entries of numpy dtype kind ``kind``
    (``"b"`` bool, ``"iu"`` integers), or raise ``ValueError``/``TypeError``."""
    array = np.asarray(values)
    if array.shape != (num_envs,):
        raise ValueError(f"{what} must have shape ({num_envs},), got {array.shape}")
    if array.dtype == object and kind == "iu" and all(_is_int(v) for v in array):
        return array  # integers numpy could not hold: the caller names the one too big
    if array.dtype.kind not in kind:
        expected = "bool" if kind == "b" else "integer"
        raise TypeError(f"{what} must be {expected}, got dtype {array.dtype}")
    return array


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
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default), ``SAME_STEP`` or
            ``DISABLED`` (or its string value); see the module docs.
        copy: return new writable arrays (default) or read-only views of the
            environment's own arrays, overwritten by the next call.
    """

    def __init__(
        self,
        num_envs: int,
        task: str = "uniform",
        split: str = "train",
        seed: int = 0,
        num_threads: int = 1,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        copy: bool = True,
    ) -> None:
        self._seed = check_seed(seed)
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = {"autoreset_mode": self.autoreset_mode}
        self._core: Optional[_native.VecCore] = _native.VecCore(
            num_envs, task, split, self._seed, num_threads
        )
        self._task, self._split = task, split
        self._copy = copy
        self._started = False
        self.num_envs = num_envs
        self.single_observation_space = SINGLE_OBSERVATION_SPACE
        self.single_action_space = SINGLE_ACTION_SPACE
        self.observation_space = batch_space(SINGLE_OBSERVATION_SPACE, num_envs)
        self.action_space = batch_space(SINGLE_ACTION_SPACE, num_envs)
        core = self._core
        # Environments whose episode ended on the last step (NEXT_STEP holds them once;
        # DISABLED refuses to step them until they are reset).
        self._ended_last = np.zeros(num_envs, np.bool_)
        # NEXT_STEP and DISABLED show the ended episodes' last observations in these rows.
        self._shown = np.zeros_like(core.observations)
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

        ``seed`` (a non-negative integer below ``2**64``) rebuilds environment ``i`` from
        ``(seed, i)``, so the same seed gives the same episodes; without it, the first call
        uses the constructor's seed and later ones draw each environment's next episode
        from its own generator. ``options`` may hold ``"task"`` and/or ``"split"`` to
        change the task of every later episode, and ``"reset_mask"`` (bool, one per
        environment) to reset only those environments. With a generated tier,
        ``"incident_seeds"`` (integers, one per environment; not with ``seed`` or
        ``"reset_mask"``) makes environment ``i`` generated incident ``incident_seeds[i]``
        of the tier and split (numbered as the core's ``tiers`` example numbers them): a
        fixed evaluation set. Anything else is refused (``ValueError``/``TypeError``)
        before any of it is applied.
        """
        core = self._live()
        seed = None if seed is None else check_seed(seed)
        task, split, mask, incidents = self._reset_options(options or {}, seed)
        super().reset(seed=seed)
        if (task, split) != (self._task, self._split):
            core.set_task(task, split)
            self._task, self._split = task, split
        if seed is None and not self._started:
            seed = self._seed
        self._started = True
        if incidents is not None:
            core.reset_incidents(incidents)
        elif seed is None and self._ended_last.any():
            # Environments whose episode just ended already hold their next, unstarted
            # episode (the core resets in the ending step): an unseeded reset hands it out.
            chosen = np.ones(self.num_envs, np.bool_) if mask is None else mask
            redraw = chosen & ~self._ended_last
            if redraw.any():
                core.reset(None, redraw)
        else:
            core.reset(seed, mask)
        self._ended_last[mask if mask is not None else slice(None)] = False
        return self._out(self._obs), {}

    def _reset_options(
        self, options: Mapping[str, Any], seed: int | None
    ) -> tuple[str, str, Optional[np.ndarray], Optional[np.ndarray]]:
        """Check ``options`` and return ``(task, split, reset_mask, incident_seeds)``,
        or raise before anything changed."""
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; expected some of {list(RESET_OPTIONS)}")
        task = options.get("task", self._task)
        split = options.get("split", self._split)
        if task not in _native.TASK_CHOICES:
            raise ValueError(f"unknown task {task!r}; expected one of {_native.TASK_CHOICES}")
        if split not in _native.SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {_native.SPLITS}")
        mask = options.get("reset_mask")
        if mask is not None:
            mask = np.ascontiguousarray(_per_env(mask, self.num_envs, "b", "reset_mask"))
        incidents = options.get("incident_seeds")
        if incidents is None:
            return task, split, mask, None
        if not task.startswith("gen_"):
            raise ValueError(f"incident_seeds needs a generated tier (gen_easy ...), not {task!r}")
        if mask is not None or seed is not None:
            raise ValueError("incident_seeds cannot be combined with seed or reset_mask")
        return task, split, None, _check_incident_seeds(incidents, self.num_envs)

    def policy_actions(self, policy: str) -> npt.NDArray[np.uint8]:
        """Return the action index (``uint8``, one per environment) that a reference
        policy chooses in each environment's current state: ``"oracle"`` (reads the
        hidden answer; the upper reference) or ``"baseline"`` (the original's rule
        baseline). For evaluation tables, not for training."""
        return self._live().policy_actions(policy)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every environment with its action index and return
        ``(observations, rewards, terminated, truncated, infos)`` (see the module docs).

        ``actions`` is one integer index per environment in ``0..ACTION_COUNT``; ``uint8``
        and ``int64`` arrays are read in place, other integer arrays and lists are
        converted, floats and bools are refused (``TypeError``). An out-of-range index is
        answered like the original's unknown action type.
        """
        core = self._live()
        mode = self.autoreset_mode
        held = None
        if mode is not AutoresetMode.SAME_STEP and self._ended_last.any():
            if mode is AutoresetMode.DISABLED:
                waiting = np.flatnonzero(self._ended_last).tolist()
                raise RuntimeError(
                    f"environments {waiting} ended their episode and autoreset_mode is "
                    "DISABLED: reset them (options={'reset_mask': ...}) before stepping"
                )
            held = self._ended_last
        try:
            ended = core.step(actions, held)
        except TypeError:
            ended = core.step(self._as_actions(actions), held)
        if mode is AutoresetMode.SAME_STEP:
            obs = self._out(self._obs)
        else:
            np.copyto(self._ended_last, self._ended)
            obs = self._shown_obs(ended)
        infos = self._end_infos() if ended else {}
        rewards, terminated, truncated = (
            self._out(a) for a in (self._rewards, self._terminated, self._truncated)
        )
        return obs, rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        """Release the environments and their worker threads; later calls raise."""
        self._core = None

    def _live(self) -> _native.VecCore:
        """Return the native environments, or raise if the environment is closed."""
        if self._core is None:
            raise RuntimeError("the VectorEnv is closed: create a new one")
        return self._core

    def _out(self, array: np.ndarray) -> np.ndarray:
        """Return ``array`` as the caller gets it: a copy, or the read-only view itself."""
        return array.copy() if self._copy else array

    def _shown_obs(self, ended: int) -> np.ndarray:
        """Return the observations with the ended episodes' last ones in their rows
        (NEXT_STEP and DISABLED)."""
        if not ended:
            return self._out(self._obs)
        shown = self._shown
        np.copyto(shown, self._obs)
        np.copyto(shown, self._final_obs, where=self._ended[:, None])
        return shown.copy() if self._copy else _read_only(shown)

    def _as_actions(self, actions: Any) -> np.ndarray:
        """Convert ``actions`` to a contiguous 1-D ``int64`` array, or raise ``ValueError``
        (wrong shape) or ``TypeError`` (not integers)."""
        array = _per_env(actions, self.num_envs, "iu", "actions")
        if array.dtype.kind == "u" and array.dtype.itemsize == 8:
            array = np.minimum(array, np.iinfo(np.int64).max)
        return np.ascontiguousarray(array, dtype=np.int64)

    def _info_views(self) -> None:
        """Lay out, once, the views every episode-end infos dict is copied from."""
        core, mask = self._live(), self._ended
        rows = dict(zip(_native.EPISODE_FIELDS, map(_read_only, core.episode)))
        self._episode = {
            "r": rows.pop("r"),
            "l": _read_only(core.lengths),
            "t": _read_only(core.times),
        }
        self._stats: dict[str, Any] = {"_episode_stats": mask}
        for name, row in rows.items():
            self._stats[name] = row
            self._stats["_" + name] = mask

    def _end_infos(self) -> dict[str, Any]:
        """Return the infos of a step where episodes ended (see the module docs)."""
        stats: dict[str, Any] = {key: self._out(value) for key, value in self._stats.items()}
        stats["episode_stats"] = {key: self._out(v) for key, v in self._episode.items()}
        infos = dict(stats)
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            mask = stats["_episode_stats"]
            infos.update(final_obs=self._out(self._final_obs), _final_obs=mask, _final_info=mask)
            infos["final_info"] = stats
        return infos

    def __repr__(self) -> str:
        """Return ``VectorEnv(num_envs=...)``."""
        return f"VectorEnv(num_envs={self.num_envs})"
