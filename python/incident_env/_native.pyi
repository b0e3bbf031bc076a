"""Type stubs of the Rust extension ``incident_env._native`` (python/src/)."""

from typing import Final, TypedDict, final, type_check_only

import numpy as np
import numpy.typing as npt

__all__ = [
    "OBS_LEN",
    "ACTION_COUNT",
    "OBS_LAYOUT",
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
@type_check_only
class ObsServiceFields(TypedDict):
    """Offsets of a service block's bytes within the block (``incident_core::obs::field``)."""

    STATUS: int
    ALERT: int
    LOGS: int
    METRICS: int
    INSPECTED: int
    DIAGNOSIS: int
    VERDICTS: int
    REMEDIATION: int

@type_check_only
class ObsFields(TypedDict):
    """Offsets of the global and evidence bytes (``incident_core::obs::field``);
    ``LOGS_RUN`` and ``METRICS_RUN`` start one byte per service."""

    TIER: int
    STEP_COUNT: int
    STEPS_REMAINING: int
    MAX_STEPS: int
    FLAGS: int
    LAST_ERROR: int
    DESTRUCTIVE: int
    INVALID: int
    LOGS_RUN: int
    METRICS_RUN: int
    VERSION: int
    RULESET: int
    MITIGATED_AT: int
    BUDGET_BURNED: int

@type_check_only
class ObsFlags(TypedDict):
    """The flags byte's bits (``incident_core::obs::flag``)."""

    LISTED: int
    FULL_GRAPH: int
    SUCCESS: int
    RESOLVED: int
    DONE: int

@type_check_only
class ObsVerdicts(TypedDict):
    """The verdicts byte's bits (``incident_core::obs::verdict``)."""

    DIAGNOSIS_ACCEPTED: int
    DIAGNOSIS_REJECTED: int
    FIX_REJECTED: int
    FIX_RELAPSED: int

@type_check_only
class ObsRemediation(TypedDict):
    """The remediation byte's bits (``incident_core::obs::remediation``)."""

    FIXED: int
    VERIFIED: int
    PENDING: int

@type_check_only
class ObsClasses(TypedDict):
    """How many values each categorical byte takes (0 up to the highest the core writes)."""

    STATUS: int
    ALERT: int
    LOGS: int
    METRICS: int
    DIAGNOSIS: int
    TIER: int
    LAST_ERROR: int
    RULESET: int

@type_check_only
class ObsRulesets(TypedDict):
    """The ruleset byte's values (``incident_core::scenario::Ruleset``)."""

    ORIGINAL: int
    V1: int
    V2: int

@type_check_only
class ObsLayout(TypedDict):
    """The numeric observation's layout (``incident_core::obs``; python/src/layout.rs)."""

    #: ``LAYOUT_VERSION``, also the observation's ``field["VERSION"]`` byte.
    version: int
    #: Service blocks: service ``s`` (``Service::ALL[s]``) at ``s * service_block``.
    service_count: int
    #: Bytes per service block (``SERVICE_BLOCK``).
    service_block: int
    #: Offset of the global block (``GLOBAL_OFFSET``).
    global_offset: int
    #: Offset of the evidence blocks (``EVIDENCE_OFFSET``).
    evidence_offset: int
    service_field: ObsServiceFields
    field: ObsFields
    flag: ObsFlags
    verdict: ObsVerdicts
    remediation: ObsRemediation
    #: Ruleset v2: the bit of a service's ``INSPECTED`` byte saying its edges are shown
    #: (the low bits are then its dependency mask, bit ``j`` service ``j``).
    edges_shown: int
    classes: ObsClasses
    #: The tier byte's value of each task id (``TASK_IDS``).
    tier_code: dict[str, int]
    ruleset: ObsRulesets
    #: The fixed dependency graph of the original tasks and ruleset v1
    #: (``incident_core::topology::DEPENDS_ON``): bit ``j`` of entry ``i``: service ``i``
    #: calls service ``j``.
    depends_on: list[int]

#: The observation's layout: byte offsets by name, bit sets, the values of the
#: categorical bytes and the fixed graph, all from the core's constants.
OBS_LAYOUT: Final[ObsLayout]
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
