"""Type stubs of the Rust extension ``incident_env._native`` (python/src/)."""

from typing import Final, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "OBS_LEN",
    "ACTION_COUNT",
    "OBS_DTYPE",
    "OBS_LOW",
    "OBS_HIGH",
    "STEP_COUNT_MAX",
    "SEED_MAX",
    "NEGATIVE_SEED",
    "NEGATIVE_INCIDENT_SEED",
    "ACTIONS",
    "TASK_CHOICES",
    "TASK_IDS",
    "SPLITS",
    "EPISODE_FIELDS",
    "NUM_ENVS_MAX",
    "NUM_THREADS_MAX",
    "MIN_ENVS_PER_THREAD",
    "FIELD_CHARS_MAX",
    "REASONING_CHARS_MAX",
    "SCORE_FLOOR",
    "SCORE_CEILING",
    "tasks_json",
    "manifest_json",
    "VecCore",
    "ApiSession",
    "CoreBatch",
]

#: Bytes of one numeric observation (``incident_core::OBS_LEN``).
OBS_LEN: Final[int]
#: Number of discrete actions (``incident_core::ACTION_COUNT``): the action space is
#: ``Discrete(ACTION_COUNT)``.
ACTION_COUNT: Final[int]
#: The numpy dtype name of an observation's elements (``"uint8"``).
OBS_DTYPE: Final[str]
#: Lowest value of an observation element (the observation space's ``low``).
OBS_LOW: Final[int]
#: Highest value of an observation element (the observation space's ``high``).
OBS_HIGH: Final[int]
#: Longest episode of any task or tier, in steps (``incident_core::constants::STEP_COUNT_MAX``).
STEP_COUNT_MAX: Final[int]
#: Largest seed (batch seeds and incident seeds are unsigned 64-bit numbers).
SEED_MAX: Final[int]
#: The words refusing a negative seed (then ``, got <seed>``), as the server words them.
NEGATIVE_SEED: Final[str]
#: The server's refusal of a generated tier's negative seed (then ``, got <seed>``), also
#: used for a negative incident index.
NEGATIVE_INCIDENT_SEED: Final[str]
#: The action of each discrete index as the original's JSON action fields.
ACTIONS: Final[list[dict[str, str]]]
#: Valid ``task`` arguments: each original task's id, each generated tier, then
#: ``"uniform"`` and ``"cycle"``.
TASK_CHOICES: Final[list[str]]
#: Task ids a reset request names (the server's ``task_id``): each original task's id,
#: then each generated tier.
TASK_IDS: Final[list[str]]
#: Valid ``split`` arguments.
SPLITS: Final[list[str]]
#: Rows of ``VecCore.episode``: ``"r"`` (return), ``"score"`` and the grade's four parts.
EPISODE_FIELDS: Final[list[str]]
#: Largest ``num_envs``.
NUM_ENVS_MAX: Final[int]
#: Largest ``num_threads``.
NUM_THREADS_MAX: Final[int]
#: Fewest environments one thread of a step is given.
MIN_ENVS_PER_THREAD: Final[int]
#: Longest ``service``, ``diagnosis`` or ``fix`` an action may carry (characters).
FIELD_CHARS_MAX: Final[int]
#: Longest ``reasoning`` an action may carry (characters).
REASONING_CHARS_MAX: Final[int]
#: Lowest score and step reward the original tasks show (the original's ``SCORE_FLOOR``).
SCORE_FLOOR: Final[float]
#: Highest score and step reward the original tasks show (the original's ``SCORE_CEILING``).
SCORE_CEILING: Final[float]

def tasks_json(generated: bool = False) -> bytes:
    """``GET /tasks`` (``?include=generated`` with ``generated``) as JSON bytes."""
def manifest_json(generated: bool = False) -> bytes:
    """``GET /manifest`` (``?include=generated`` with ``generated``) as JSON bytes."""

@final
class VecCore:
    """A batch of environments stepping in place into the numpy arrays it owns."""

    #: ``(num_envs, OBS_LEN)`` uint8: the current observations.
    observations: npt.NDArray[np.uint8]
    #: ``(num_envs, OBS_LEN)`` uint8: the last observation of each episode that ended.
    final_observations: npt.NDArray[np.uint8]
    #: ``(num_envs,)`` float32: the last step's rewards.
    rewards: npt.NDArray[np.float32]
    #: ``(3, num_envs)`` bool: rows terminated, truncated, ended.
    flags: npt.NDArray[np.bool_]
    #: ``(len(EPISODE_FIELDS), num_envs)`` float32: each ended episode's return and grade.
    episode: npt.NDArray[np.float32]
    #: ``(num_envs,)`` int32: each ended episode's length.
    lengths: npt.NDArray[np.int32]
    #: ``(num_envs,)`` float64: each ended episode's wall-clock seconds.
    times: npt.NDArray[np.float64]

    def __new__(
        cls, num_envs: int, task: str, split: str, seed: int, num_threads: int
    ) -> VecCore:
        """Create the environments of ``VectorEnv(num_envs, task, split, seed, num_threads)``."""
    def __len__(self) -> int:
        """Return the number of environments."""
    @property
    def workers(self) -> int:
        """Persistent worker threads a step uses besides the calling one."""
    def set_task(self, task: str, split: str) -> None:
        """Choose the task of every later (auto-)reset."""
    def reset(
        self, seed: int | None = None, mask: npt.NDArray[np.bool_] | None = None
    ) -> None:
        """Start new episodes (all, or where ``mask`` is true); writes ``observations``."""
    def reset_incidents(self, seeds: npt.NDArray[np.uint64]) -> None:
        """Make environment ``i`` generated incident ``seeds[i]`` of the tier and split."""
    def policy_actions(self, policy: str) -> npt.NDArray[np.uint8]:
        """Return ``"oracle"``'s or ``"baseline"``'s action in every environment."""
    def step(
        self,
        actions: npt.NDArray[np.uint8] | npt.NDArray[np.int64],
        held: npt.NDArray[np.bool_] | None = None,
    ) -> int:
        """Step every environment with the GIL released; return how many episodes ended.
        Where ``held`` is true the environment ignores its action and keeps its state,
        showing reward 0 and neither flag (``NEXT_STEP`` autoreset)."""

@final
class CoreBatch:
    """The core's plain ``step_batch`` over Rust-owned buffers: the Python benchmark's
    reference rate, timed in the same process as ``VectorEnv``."""

    def __new__(cls, num_envs: int, task: str, split: str, seed: int) -> CoreBatch:
        """Create environment ``i`` as ``VectorEnv(num_envs, task, split, seed)`` does."""
    def step_rows(self, actions: npt.NDArray[np.uint8], calls: int) -> int:
        """Make ``calls`` batch steps, step ``k`` with row ``k % len(actions)``; return the
        episodes ended so far."""

@final
class ApiSession:
    """One text-level episode through incident-api; methods return ``(status, body)``."""

    def __new__(cls, sealed: bool = False) -> ApiSession:
        """Create a fresh server's default episode."""
    def reset(self, body: bytes) -> tuple[int, bytes]:
        """``POST /reset`` with JSON ``body`` (empty: defaults)."""
    def step(self, body: bytes) -> tuple[int, bytes]:
        """``POST /step`` with JSON ``body``."""
    def state(self) -> tuple[int, bytes]:
        """``GET /state``."""
    def grade(self) -> tuple[int, bytes]:
        """``GET /grader``."""
    def baseline(self) -> tuple[int, bytes]:
        """``GET /baseline``."""
