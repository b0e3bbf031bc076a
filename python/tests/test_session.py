"""incident_env.Session answers with exactly the HTTP routes' documents."""

from __future__ import annotations

import json

import pytest

import traces
from incident_env.session import ApiError, Session


def answer(session: Session, request: dict):
    """Send one recorded request through the session's public methods (raw bodies through
    its native half, as the HTTP layer would see the bytes)."""
    path = request["path"]
    if "raw_body" in request or "no_body" in request:
        raw = request.get("raw_body", "").encode()
        call = session._api.reset if path == "/reset" else session._api.step
        status, body = call(raw)
        if status != 200:
            raise ApiError(status, json.loads(body))
        return json.loads(body)
    body = request.get("body")
    if path == "/reset":
        return session.reset(**(body or {}))
    if path == "/step":
        return session.step(body)
    return {"/state": session.state, "/grader": session.grade}.get(path, session.baseline)()


def test_session_reproduces_every_reference_document():
    # Goal: every recorded /reset, /step, /state, /grader and /baseline body equals the
    # Session's dict as JSON text (key order included; episode_id only as a string);
    # recorded refusals (the original's 500s are our 422s) raise ApiError and change nothing.
    compared = 0
    for path in traces.files():
        session = Session()
        partial = False
        for exchange in traces.exchanges(path):
            request, response = exchange["request"], exchange["response"]
            before = session.state()
            try:
                ours = answer(session, request)
            except ApiError as error:
                assert response["status"] >= 422, f"{path.name}:{exchange['seq']} refused"
                assert error.status == 422 and "detail" in error.body
                assert session.state() == before, "a refused request changed the state"
                partial = partial or (request["path"] == "/reset" and response["status"] == 500)
                continue
            assert response["status"] == 200, f"{path.name}:{exchange['seq']} accepted"
            partial = partial and request["path"] != "/reset"
            expected = traces.normalise(response["json"])
            ours = traces.normalise(ours)
            if partial:
                expected = traces.mask_partial_reset(expected, request["path"])
                ours = traces.mask_partial_reset(ours, request["path"])
            assert json.dumps(ours) == json.dumps(expected), f"{path.name}:{exchange['seq']}"
            compared += 1
    assert compared > 300


def test_session_errors_are_the_routes_errors():
    # Goal: a bad action raises ApiError carrying the 422 FastAPI-style body.
    session = Session()
    session.reset(task_id="hard_task", seed=7)
    with pytest.raises(ApiError) as caught:
        session.step({"action_type": "reboot"})
    assert caught.value.status == 422
    assert session.state()["step_count"] == 0


def test_sealed_session_hides_the_answer():
    # Goal: sealed=True hides the root causes from state(), as `serve --sealed`.
    open_state = Session().state()
    sealed_state = Session(sealed=True).state()
    hidden = set(open_state) - set(sealed_state)
    assert hidden, "sealed state shows every field"
    assert any("root" in key for key in hidden)
