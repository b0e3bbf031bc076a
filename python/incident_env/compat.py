"""A drop-in for the original's in-process Python class ``IncidentEnvironment``.

Code written against the original (``from server.environment import IncidentEnvironment``
and ``from models import IncidentAction``) switches with one import::

    from incident_env.compat import IncidentAction, IncidentEnvironment

    env = IncidentEnvironment()
    obs = env.reset(seed=42, task_id="hard_task")
    obs = env.step(IncidentAction(action_type="read_logs", service="database"))
    print(obs.action_result, obs.logs[0].message, obs.reward, obs.done, obs.metadata)
    score, details = env.grade()

The types are the original's: pydantic models with its field names and Python types
(``IncidentObservation``, ``EnvironmentState``, ``ServiceLog``, ``ServiceMetrics``,
``ServiceSummary``, ``Alert``, ``TaskDefinition``, ``IncidentAction``), whose ``dict``
fields (``metadata``, ``dependency_graph``, ``final_details``, ``required_fixes``, the
history records) are plain dicts and whose lists are lists; ``grade()`` returns a
``(score, details)`` tuple of a float and a dict; ``tasks()`` a list of ``TaskDefinition``;
``tasks_payload()`` and ``manifest()`` dicts. The values are the original class's: the
HTTP routes' documents, except ``trajectory_reward`` before the first step of an original
task, which the class shows as 0.0 and its routes as 0.05.
``IncidentAction`` validates as the original's does (``pydantic.ValidationError`` for an
unknown action type or an over-long field); an action the server refuses raises
:class:`incident_env.session.ApiError`. Needs pydantic 2 (``pip install
"incident-env[compat]"``), as the original does.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple

try:
    from pydantic import BaseModel, ConfigDict, Field
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        'incident_env.compat needs pydantic 2: pip install "incident-env[compat]"'
    ) from error

from incident_env import _native
from incident_env.session import Session

#: The original's lowest and highest shown score and step reward.
SCORE_FLOOR: float = _native.SCORE_FLOOR
SCORE_CEILING: float = _native.SCORE_CEILING
#: The original's input length limits (characters).
MAX_SERVICE_NAME_LENGTH = MAX_DIAGNOSIS_LENGTH = MAX_FIX_LENGTH = _native.FIELD_CHARS_MAX
MAX_REASONING_LENGTH: int = _native.REASONING_CHARS_MAX


class _Document(BaseModel):
    """A response document as a model: unknown fields are kept, never dropped."""

    model_config = ConfigDict(extra="allow")


class ServiceLog(_Document):
    """One log line of ``read_logs``."""

    timestamp: str
    level: str
    service: str
    message: str
    trace_id: str


class ServiceMetrics(_Document):
    """The metrics of ``query_metrics``."""

    service_name: str
    cpu_percent: float
    memory_mb: float
    memory_limit_mb: float
    request_latency_p50_ms: float
    request_latency_p99_ms: float
    error_rate_percent: float
    active_connections: int
    connection_pool_size: int
    disk_used_gb: float
    disk_total_gb: float
    status: str
    uptime_seconds: float


class ServiceSummary(_Document):
    """One service's status and dependencies."""

    service_name: str
    status: str
    depends_on: List[str] = Field(default_factory=list)


class Alert(_Document):
    """One active alert."""

    severity: str
    service: str
    title: str
    description: str
    triggered_at: str
    runbook_hint: Optional[str] = None


class IncidentAction(BaseModel):
    """An action, validated as the original's ``IncidentAction``."""

    action_type: Literal[
        "read_logs",
        "query_metrics",
        "diagnose",
        "apply_fix",
        "verify_health",
        "list_services",
        "inspect_dependencies",
    ]
    service: Optional[str] = Field(None, max_length=MAX_SERVICE_NAME_LENGTH)
    diagnosis: Optional[str] = Field(None, max_length=MAX_DIAGNOSIS_LENGTH)
    fix: Optional[str] = Field(None, max_length=MAX_FIX_LENGTH)
    reasoning: Optional[str] = Field(None, max_length=MAX_REASONING_LENGTH)


class IncidentObservation(_Document):
    """What ``reset`` and ``step`` return: the observation with its reward, done flag and
    ``metadata`` (the HTTP responses' ``info``)."""

    action_result: str
    success: bool
    message: str
    logs: List[ServiceLog] = Field(default_factory=list)
    metrics: Optional[ServiceMetrics] = None
    service_summaries: List[ServiceSummary] = Field(default_factory=list)
    active_alerts: List[Alert] = Field(default_factory=list)
    dependency_graph: Dict[str, List[str]] = Field(default_factory=dict)
    step_number: int
    max_steps: int
    steps_remaining: int
    available_services: List[str] = Field(default_factory=list)
    available_actions: List[str] = Field(default_factory=list)
    reward: Optional[float] = None
    done: bool = False
    metadata: Dict[str, Any] = Field(default_factory=dict)


class EnvironmentState(_Document):
    """The episode state (``/state``). With ``sealed=True`` the answer fields
    (``root_cause_services``, ``root_cause_failure_modes``, ``required_fixes``,
    ``affected_services``) are ``None``: hidden, not empty."""

    episode_id: str
    step_count: int = 0
    task_id: str
    difficulty: str
    max_steps: int
    is_resolved: bool = False
    done: bool = False
    seed: Optional[int] = None
    trajectory_reward: float = 0.0
    final_score: Optional[float] = None
    final_details: Dict[str, float] = Field(default_factory=dict)
    services_investigated: List[str] = Field(default_factory=list)
    dependencies_inspected: List[str] = Field(default_factory=list)
    metrics_queried: List[str] = Field(default_factory=list)
    diagnoses: List[Dict[str, Any]] = Field(default_factory=list)
    fixes_applied: List[Dict[str, Any]] = Field(default_factory=list)
    correct_fixes: List[str] = Field(default_factory=list)
    successful_verifications: List[str] = Field(default_factory=list)
    destructive_actions: int = 0
    invalid_actions: int = 0
    diagnosis_correct_count: int = 0
    fix_correct_count: int = 0
    root_cause_services: Optional[List[str]] = None
    root_cause_failure_modes: Optional[List[str]] = None
    required_fixes: Optional[Dict[str, str]] = None
    affected_services: Optional[List[str]] = None
    action_history: List[Dict[str, Any]] = Field(default_factory=list)
    last_action_error: Optional[str] = None


class TaskDefinition(_Document):
    """One task of ``tasks()`` (a generated tier's also has ``splits`` and ``seed``)."""

    task_id: str
    name: str
    description: str
    difficulty: str
    max_steps: int


#: The original tasks' ids (``GET /tasks`` without the generated tiers).
ORIGINAL_TASK_IDS = tuple(task["task_id"] for task in json.loads(_native.tasks_json())["tasks"])


def _in_process(document: dict[str, Any], task_id: str, step: int) -> dict[str, Any]:
    """Return ``document`` with the original class's own ``trajectory_reward`` before the
    first step of an original task: 0.0 (its HTTP routes, and so our documents, show the
    0.05 floor; after a step the two agree, every step reward being at least 0.05)."""
    if step == 0 and task_id in ORIGINAL_TASK_IDS and "trajectory_reward" in document:
        document = dict(document, trajectory_reward=0.0)
    return document


def _observation(response: Mapping[str, Any]) -> IncidentObservation:
    """Turn a ``{observation, reward, done, info}`` response into the original's
    ``IncidentObservation`` (``info`` is its ``metadata``)."""
    fields = dict(response["observation"])
    info = response["info"]
    metadata = _in_process(info, info.get("task_id", ""), fields["step_number"])
    fields.update(reward=response["reward"], done=response["done"], metadata=metadata)
    return IncidentObservation.model_validate(fields)


def _action_fields(action: Any) -> dict[str, Any]:
    """Return the action fields of a dict, a pydantic model or any object with them."""
    if isinstance(action, Mapping):
        return dict(action)
    if hasattr(action, "model_dump"):
        return {k: v for k, v in action.model_dump().items() if v is not None}
    names = IncidentAction.model_fields
    return {name: getattr(action, name) for name in names if getattr(action, name, None) is not None}


class IncidentEnvironment:
    """The original's environment class, backed by the Rust core.

    Args:
        sealed: hide the answer fields from :attr:`state` (the original shows them).
    """

    def __init__(self, sealed: bool = False) -> None:
        self._session = Session(sealed=sealed)

    def reset(
        self,
        seed: Optional[int] = None,
        episode_id: Optional[str] = None,
        task_id: Optional[str] = None,
        **kwargs: Any,
    ) -> IncidentObservation:
        """Start an episode and return its first observation. Defaults as the original:
        ``easy_task`` (also for an unknown original task id), seed 12345, a new UUID;
        ``split="test"`` (a keyword) picks a generated tier's held-out incidents."""
        given = {"seed": seed, "episode_id": episode_id, "task_id": task_id, **kwargs}
        return _observation(self._session.reset(**{k: v for k, v in given.items() if v is not None}))

    def step(self, action: Any, timeout_s: Optional[float] = None, **kwargs: Any) -> IncidentObservation:
        """Apply ``action`` (an ``IncidentAction``, any object with its fields, or a dict)
        and return the observation, with ``reward``, ``done`` and ``metadata``.
        ``timeout_s`` is accepted and unused, as in the original."""
        return _observation(self._session.step(_action_fields(action)))

    @property
    def state(self) -> EnvironmentState:
        """The episode state (``/state``'s document; ``trajectory_reward`` as the original's
        class shows it)."""
        state = self._session.state()
        return EnvironmentState.model_validate(_in_process(state, state["task_id"], state["step_count"]))

    def grade(self, task_id: Optional[str] = None) -> Tuple[float, Dict[str, float]]:
        """Grade the episode as it stands: ``(score, details)``, details holding the four
        parts and the score (``/grader``'s). ``task_id`` is accepted and unused, as in the
        original."""
        document = self._session.grade()
        return float(document["score"]), dict(document["details"])

    def tasks(self) -> List[TaskDefinition]:
        """The four original tasks' definitions."""
        return [TaskDefinition.model_validate(task) for task in self.tasks_payload()["tasks"]]

    def tasks_payload(self) -> Dict[str, Any]:
        """``GET /tasks``'s document: ``{benchmark, count, tasks}``."""
        return json.loads(_native.tasks_json())

    def manifest(self) -> Dict[str, Any]:
        """``GET /manifest``'s document."""
        return json.loads(_native.manifest_json())
