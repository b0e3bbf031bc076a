"""`Session`: one text-level episode in-process, answering with exactly the documents the
HTTP routes return (the same JSON, the same numbers), as Python dicts.

It runs the server's own path (``incident-api``: decode, ``Session::apply``, render) with
no server, no sockets and no threads. A refused request raises :class:`ApiError` with the
route's status and JSON error body, and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from incident_env import _native


class ApiError(ValueError):
    """A request the HTTP route would refuse: ``status`` (422 ...) and its JSON ``body``."""

    def __init__(self, status: int, body: Any) -> None:
        """Keep the route's status and decoded error body."""
        super().__init__(f"HTTP {status}: {json.dumps(body)}")
        self.status = status
        self.body = body


def _answer(answer: tuple[int, bytes]) -> dict[str, Any]:
    """Return the decoded body of a 200 answer, or raise :class:`ApiError`."""
    status, body = answer
    document = json.loads(body)
    if status != 200:
        raise ApiError(status, document)
    return document


class Session:
    """One episode, as a fresh server's default HTTP episode (``easy_task``, seed 0).

    Args:
        sealed: hide the answer fields (root causes, required fixes) from :meth:`state`,
            as ``incident-env serve --sealed`` does.
    """

    def __init__(self, sealed: bool = False) -> None:
        self._api = _native.ApiSession(sealed)

    def reset(self, **kwargs: Any) -> dict[str, Any]:
        """``POST /reset`` with ``kwargs`` as the body (``task_id``, ``seed``,
        ``episode_id``); returns ``{observation, reward, done, info}``."""
        body = json.dumps(kwargs).encode() if kwargs else b""
        return _answer(self._api.reset(body))

    def step(self, action: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /step`` with ``action`` (``{"action_type": ..., "service": ...}``, or
        ``{"action": {...}}``); returns ``{observation, reward, done, info}``."""
        return _answer(self._api.step(json.dumps(action).encode()))

    def state(self) -> dict[str, Any]:
        """``GET /state``: the episode state document."""
        return _answer(self._api.state())

    def grade(self) -> dict[str, Any]:
        """``GET /grader``: ``{task_id, score, details}`` for the episode as it stands."""
        return _answer(self._api.grade())

    def baseline(self) -> dict[str, Any]:
        """``GET /baseline``: the original's rule-based agent's next action."""
        return _answer(self._api.baseline())
