"""incident_env.compat.IncidentEnvironment behaves as the original's Python class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest

import traces
from incident_env.compat import IncidentEnvironment
from incident_env.session import ApiError


@dataclass
class IncidentAction:
    """A stand-in for the original's pydantic IncidentAction (same fields)."""

    action_type: str
    service: Optional[str] = None
    diagnosis: Optional[str] = None
    fix: Optional[str] = None
    reasoning: Optional[str] = None


def in_process(route: str, document: dict) -> dict:
    """Return a recorded HTTP document as the original's class shows it: its routes clamp
    trajectory_reward, which the class holds at 0.0 before the first step."""
    if route == "/state" and document["step_count"] == 0:
        return dict(document, trajectory_reward=0.0)
    if route in ("/reset", "/step") and document["observation"]["step_number"] == 0:
        return dict(document, info=dict(document["info"], trajectory_reward=0.0))
    return document


def test_replaying_the_reference_traces_through_the_class():
    # Goal: driving IncidentEnvironment with the recorded requests (reset keyword
    # arguments, action objects) gives observations whose fields are the recorded
    # responses' observation + reward/done/info(metadata), and state/grade documents equal
    # to /state and /grader (trajectory_reward 0.0 before the first step, as the class
    # holds it; its routes show 0.05).
    compared = 0
    for path in traces.files():
        if path.name.startswith("bad-inputs"):
            continue  # raw HTTP bodies: no Python-call equivalent (covered in test_session)
        env = IncidentEnvironment()
        for exchange in traces.exchanges(path):
            request, response = exchange["request"], exchange["response"]
            route, body = request["path"], request.get("body")
            if route in ("/baseline", "/sample_action"):
                continue
            try:
                if route == "/reset":
                    obs = env.reset(**(body or {}))
                elif route == "/step":
                    fields = body.get("action", body)
                    obs = env.step(IncidentAction(**fields))
                elif route == "/state":
                    got = env.state.model_dump()
                else:
                    score, details = env.grade()
                    got = {"task_id": env.state.task_id, "score": score, "details": details}
            except (ApiError, TypeError):
                assert response["status"] >= 422
                continue
            expected = in_process(route, response["json"])
            if route in ("/reset", "/step"):
                want = dict(expected["observation"], reward=expected["reward"],
                            done=expected["done"], metadata=expected["info"])
                assert obs.model_dump() == want, f"{path.name}:{exchange['seq']}"
                assert obs.step_number == want["step_number"]
                got, expected = obs.model_dump(), want
            assert traces.normalise(got) == traces.normalise(expected)
            compared += 1
    assert compared > 200


def test_observation_attributes_have_the_original_names():
    # Goal: the attribute names of the original's observation work, nested included.
    env = IncidentEnvironment()
    obs = env.reset(seed=42, task_id="hard_task")
    assert obs.step_number == 0 and obs.done is False and obs.metadata["task_id"] == "hard_task"
    assert isinstance(obs.metadata, dict) and obs.metadata.get("last_action_error") is None
    # The class holds trajectory_reward at 0.0 before a step (its routes show 0.05).
    assert obs.metadata["trajectory_reward"] == env.state.trajectory_reward == 0.0
    obs = env.step({"action_type": "read_logs", "service": "database"})
    assert obs.action_result and obs.success is True
    assert len(obs.logs) == 4 and isinstance(obs.logs[0].message, str)
    assert obs.service_summaries[0].service_name == "api_gateway"
    assert obs.reward == pytest.approx(obs.reward) and obs.steps_remaining == obs.max_steps - 1
    assert env.state.step_count == 1
    score, details = env.grade()
    assert isinstance(score, float) and 0 < score < 1 and details["score"] == score


def test_a_generated_incident_shows_exact_rewards():
    # Goal: on a generated incident the drop-in class shows ruleset v1's exact rewards, not
    # the original's [0.05, 0.95] display: a wrong fix's reward is negative, and the
    # rewards of an episode then played by the answer sum to its grade and final score.
    env = IncidentEnvironment()
    env.reset(seed=7, task_id="gen_hard")
    state = env.state.model_dump()
    roots = state["root_cause_services"]
    wrong = {"action_type": "apply_fix", "service": roots[0], "fix": "clear_cache"}
    rewards = [env.step(wrong).reward]
    for service, mode in zip(roots, state["root_cause_failure_modes"]):
        fix = state["required_fixes"][service]
        for action in (
            {"action_type": "read_logs", "service": service},
            {"action_type": "diagnose", "service": service, "diagnosis": mode},
            {"action_type": "apply_fix", "service": service, "fix": fix},
            {"action_type": "verify_health", "service": service},
        ):
            obs = env.step(action)
            rewards.append(obs.reward)
    assert obs.done and rewards[0] < 0, rewards
    assert sum(rewards) == pytest.approx(env.grade()[0], abs=1e-9)
    assert sum(rewards) == pytest.approx(env.state.final_score, abs=1e-9)
