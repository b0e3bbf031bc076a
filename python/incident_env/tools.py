"""`IncidentToolEnv`: the incident episode as tools, for TRL's
``GRPOTrainer(environment_factory=IncidentToolEnv)`` and any tool-calling agent loop.

``reset(**kwargs)`` starts an episode (``task_id``, ``seed``, ``split`` and ``episode_id``
from the dataset row, if present; unknown task ids and splits refused) and returns the
incident briefing as text; each action type is a public method
whose docstring names the valid services, diagnoses and fixes (TRL turns the signatures
and docstrings into tool schemas); each returns the step's observation as JSON text;
``get_reward()`` returns the episode's graded score. The state never shows the hidden
answer (the session is sealed).
"""

from __future__ import annotations

import json
from typing import Any

from incident_env import _native
from incident_env.session import ApiError, Session


def _names(field: str) -> list[str]:
    """Return the values ``field`` takes in the discrete actions, in canonical order."""
    seen: dict[str, None] = {}
    for action in _native.ACTIONS:
        if field in action:
            seen.setdefault(action[field])
    return list(seen)


SERVICES = _names("service")
DIAGNOSES = _names("diagnosis")
FIXES = _names("fix")
#: The reset fields of the server's ``POST /reset`` that a dataset row may carry.
RESET_FIELDS = ("task_id", "seed", "split", "episode_id")
#: Keys of a step observation shown to the agent.
_SHOWN = ("action_result", "success", "message", "logs", "metrics", "service_summaries",
          "active_alerts", "dependency_graph", "steps_remaining")


def _with_names(template: str) -> str:
    """Fill a docstring template with the vocabularies."""
    return template.format(
        services=", ".join(SERVICES), diagnoses=", ".join(DIAGNOSES), fixes=", ".join(FIXES)
    )


class IncidentToolEnv:
    """One incident episode driven by tool calls (see the module docs)."""

    def __init__(self) -> None:
        self._session = Session(sealed=True)
        self._done = False

    @property
    def session(self) -> Session:
        """The episode's :class:`Session` (state, grade with its parts), for reward functions
        and logging; a property, so TRL does not offer it to the model as a tool."""
        return self._session

    def reset(self, **kwargs: Any) -> str:
        """Start an episode and return the incident briefing.

        TRL passes the dataset row as ``kwargs``: its ``task_id`` (an original task or a
        generated tier, ``incident_env.TASK_IDS``), ``seed``, ``split`` (``"train"`` or
        ``"test"``: a generated tier's held-out incidents) and ``episode_id`` are the
        server's reset fields (absent or ``None``: the server's defaults); other columns,
        such as the prompt, are ignored. An unknown ``task_id`` or ``split``, or a seed
        the server refuses, raises ``ValueError`` (the server itself answers an unknown
        original task id with ``easy_task``, as the original does; a dataset row should
        not silently train on another task).
        """
        request = {key: kwargs[key] for key in RESET_FIELDS if kwargs.get(key) is not None}
        task, split = request.get("task_id"), request.get("split")
        if task is not None and task not in _native.TASK_IDS:
            raise ValueError(f"unknown task_id {task!r}; expected one of {_native.TASK_IDS}")
        if split is not None and split not in _native.SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {_native.SPLITS}")
        response = self._session.reset(**request)
        self._done = False
        return self._briefing(response["observation"])

    def get_reward(self) -> float:
        """Return the episode's graded score, live if the episode is not over (an original
        task's clamped to 0.05..0.95, a generated incident's exact ruleset v1 score)."""
        return float(self._session.grade()["score"])

    def list_services(self) -> str:
        """List every service with its status and dependencies."""
        return self._act({"action_type": "list_services"})

    def read_logs(self, service: str) -> str:
        return self._act({"action_type": "read_logs", "service": service})

    def query_metrics(self, service: str) -> str:
        return self._act({"action_type": "query_metrics", "service": service})

    def inspect_dependencies(self, service: str) -> str:
        return self._act({"action_type": "inspect_dependencies", "service": service})

    def diagnose(self, service: str, diagnosis: str) -> str:
        return self._act({"action_type": "diagnose", "service": service, "diagnosis": diagnosis})

    def apply_fix(self, service: str, fix: str) -> str:
        return self._act({"action_type": "apply_fix", "service": service, "fix": fix})

    def verify_health(self, service: str) -> str:
        return self._act({"action_type": "verify_health", "service": service})

    read_logs.__doc__ = _with_names("""Read the recent logs of a service.

        Args:
            service: The service to read, one of: {services}.
        """)
    query_metrics.__doc__ = _with_names("""Query the current metrics of a service.

        Args:
            service: The service to query, one of: {services}.
        """)
    inspect_dependencies.__doc__ = _with_names("""Show which services a service depends on.

        Args:
            service: The service to inspect, one of: {services}.
        """)
    diagnose.__doc__ = _with_names("""Record a root-cause diagnosis for a service.

        Args:
            service: The service diagnosed, one of: {services}.
            diagnosis: The failure mode, one of: {diagnoses}.
        """)
    apply_fix.__doc__ = _with_names("""Apply a remediation to a service.

        Args:
            service: The service to fix, one of: {services}.
            fix: The remediation, one of: {fixes}.
        """)
    verify_health.__doc__ = _with_names("""Check whether a service is healthy after a fix.

        Args:
            service: The service to verify, one of: {services}.
        """)

    def _act(self, action: dict[str, str]) -> str:
        """Apply one action and return what the agent sees, as JSON text."""
        if self._done:
            return "The episode is over; no further actions are taken."
        try:
            response = self._session.step(action)
        except ApiError as error:
            return f"Invalid action: {json.dumps(error.body)}"
        self._done = bool(response["done"])
        shown = {key: response["observation"][key] for key in _SHOWN}
        shown.update(reward=response["reward"], done=response["done"])
        return json.dumps(shown)

    @staticmethod
    def _briefing(observation: dict[str, Any]) -> str:
        """Return the reset observation as the incident briefing."""
        alerts = "\n".join(
            f"- [{a['severity']}] {a['service']}: {a['title']}. {a['description']}"
            for a in observation["active_alerts"]
        )
        services = ", ".join(
            f"{s['service_name']} ({s['status']})" for s in observation["service_summaries"]
        )
        return (
            f"{observation['action_result']} {observation['message']}\n"
            f"Active alerts:\n{alerts}\nServices: {services}\n"
            f"You have {observation['steps_remaining']} steps. Investigate, diagnose the root "
            "cause, apply the fix and verify the service's health."
        )
