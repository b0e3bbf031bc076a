"""A drop-in for the original's in-process Python class ``IncidentEnvironment``.

Code written against the original (``from server.environment import
IncidentEnvironment``) switches with one import::

    from incident_env.compat import IncidentEnvironment

    env = IncidentEnvironment()
    obs = env.reset(seed=42, task_id="hard_task")
    obs = env.step({"action_type": "read_logs", "service": "database"})
    print(obs.action_result, obs.logs[0].message, obs.reward, obs.done, obs.metadata)

Observations carry the original's attribute names (``action_result``, ``success``,
``message``, ``logs``, ``metrics``, ``service_summaries``, ``active_alerts``,
``dependency_graph``, ``step_number``, ``max_steps``, ``steps_remaining``,
``available_services``, ``available_actions``, ``reward``, ``done``, ``metadata``) with the
HTTP routes' values; ``model_dump()`` returns them as a dict. An action the original's
``IncidentAction`` model would reject raises :class:`incident_env.session.ApiError`.
"""

from __future__ import annotations

from typing import Any, Mapping

from incident_env.session import Session

#: The original's ``IncidentAction`` fields.
ACTION_FIELDS = ("action_type", "service", "diagnosis", "fix", "reasoning")


class Record:
    """Attribute access over a JSON document (nested objects and lists included)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = dict(document)
        for key, value in document.items():
            setattr(self, key, _wrap(value))

    def model_dump(self) -> dict[str, Any]:
        """Return the document as a dict (as pydantic's ``model_dump``)."""
        return dict(self._document)

    def __getitem__(self, key: str) -> Any:
        """Return field ``key`` (dict-style access)."""
        return getattr(self, key)

    def __repr__(self) -> str:
        """Return the fields as ``Record(key=value, ...)``."""
        fields = ", ".join(f"{key}={value!r}" for key, value in self._document.items())
        return f"Record({fields})"


def _wrap(value: Any) -> Any:
    """Wrap objects (also inside lists) as :class:`Record`s."""
    if isinstance(value, Mapping):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


def _observation(response: Mapping[str, Any]) -> Record:
    """Turn a ``{observation, reward, done, info}`` response into the original's
    ``IncidentObservation`` (``info`` is its ``metadata``)."""
    fields = dict(response["observation"])
    fields.update(reward=response["reward"], done=response["done"], metadata=response["info"])
    return Record(fields)


def _action_fields(action: Any) -> dict[str, Any]:
    """Return the ``IncidentAction`` fields of a dict, a pydantic model or any object."""
    if isinstance(action, Mapping):
        return dict(action)
    if hasattr(action, "model_dump"):
        return {k: v for k, v in action.model_dump().items() if v is not None}
    return {
        field: getattr(action, field)
        for field in ACTION_FIELDS
        if getattr(action, field, None) is not None
    }


class IncidentEnvironment:
    """The original's environment class, backed by the Rust core.

    Args:
        sealed: hide the answer fields from :attr:`state` (the original shows them).
    """

    def __init__(self, sealed: bool = False) -> None:
        self._session = Session(sealed=sealed)

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        task_id: str | None = None,
    ) -> Record:
        """Start an episode (defaults as the original: ``easy_task``, seed 12345, a new
        UUID) and return its first observation."""
        given = {"seed": seed, "episode_id": episode_id, "task_id": task_id}
        return _observation(self._session.reset(**{k: v for k, v in given.items() if v is not None}))

    def step(self, action: Any) -> Record:
        """Apply ``action`` (an ``IncidentAction``, any object with its fields, or a dict)
        and return the observation, with ``reward``, ``done`` and ``metadata``."""
        return _observation(self._session.step(_action_fields(action)))

    @property
    def state(self) -> Record:
        """The episode state (``/state``'s document) with attribute access."""
        return Record(self._session.state())

    def grade(self) -> dict[str, Any]:
        """Grade the episode as it stands: ``/grader``'s ``{task_id, score, details}``."""
        return self._session.grade()
