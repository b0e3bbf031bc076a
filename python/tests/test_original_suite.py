"""The original's own test suite, as equivalent tests against this package.

The original (github.com/aryanosh/devops-incident-response) ships 22 pytest tests
(tests/test_environment.py: 8, tests/test_fixes.py: 14). It has no licence, so its files
are not copied here; each test below makes the same user-facing calls and checks the same
things, one for one and in the same order, with the original's test name:

- tests that use the original's in-process class run against
  ``incident_env.compat.IncidentEnvironment`` (with ``compat.IncidentAction``,
  ``SCORE_FLOOR`` and ``SCORE_CEILING`` in place of the original's ``models`` and
  ``grader`` modules), with the original's Python types (``metadata.get``, ``score,
  details = env.grade()``);
- tests that use FastAPI's ``TestClient(app)`` run against the real server binary over
  HTTP (``incident-env serve`` on a free port; ``INCIDENT_ENV_BIN``, else
  target/debug/incident-env, built with cargo if missing);
- the two tests of the original's own client and inference modules check their
  counterparts here: an HTTP client with the original client's 15 s timeout, and the
  runner (``incident-env run``), which prints the inference log lines.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import urllib.request
from typing import Any, Iterator

import pytest

from incident_env.compat import (
    SCORE_CEILING,
    SCORE_FLOOR,
    IncidentAction,
    IncidentEnvironment,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: The original client's default timeout (seconds).
CLIENT_TIMEOUT = 15.0


def server_binary() -> pathlib.Path:
    """Return the server binary, building it (debug) when neither it nor
    ``INCIDENT_ENV_BIN`` exists."""
    given = os.environ.get("INCIDENT_ENV_BIN")
    if given:
        return pathlib.Path(given)
    binary = ROOT / "target/debug/incident-env"
    if not binary.exists():
        subprocess.run(["cargo", "build", "-p", "incident-host", "--bin", "incident-env"],
                       cwd=ROOT, check=True)
    return binary


class Client:
    """The calls of FastAPI's TestClient the original's tests make, over real HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str) -> "Response":
        """``GET path``."""
        return self._send(urllib.request.Request(self.base + path))

    def post(self, path: str, json: Any) -> "Response":  # noqa: A002 - TestClient's name
        """``POST path`` with a JSON body."""
        body = _json_bytes(json)
        request = urllib.request.Request(self.base + path, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        return self._send(request)

    @staticmethod
    def _send(request: urllib.request.Request) -> "Response":
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as answer:
            return Response(answer.status, answer.read())


def _json_bytes(value: Any) -> bytes:
    """Encode ``value`` as JSON."""
    return json.dumps(value).encode()


class Response:
    """A status code and a JSON body, as TestClient's response."""

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self._body = body

    def json(self) -> Any:
        """The decoded body."""
        return json.loads(self._body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Start the server on a free port; yield its base URL."""
    child = subprocess.Popen([str(server_binary()), "serve", "--host", "127.0.0.1", "--port", "0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stderr is not None
        seen = ""
        for line in child.stderr:
            seen += line
            match = re.search(r"listening on (http://[\d.]+:\d+)", line)
            if match:
                yield match.group(1)
                return
        raise AssertionError(f"the server did not start: {seen}")
    finally:
        child.terminate()
        child.wait(timeout=10)


@pytest.fixture()
def client(server: str) -> Client:
    """A TestClient-like client of the running server."""
    return Client(server)


# tests/test_environment.py


def test_tasks_endpoint_lists_four_tasks(client: Client) -> None:
    payload = client.get("/tasks").json()
    assert payload["count"] == 4
    assert [task["task_id"] for task in payload["tasks"]] == [
        "easy_task", "medium_task", "hard_task", "expert_task",
    ]


def test_reset_and_state_are_consistent() -> None:
    env = IncidentEnvironment()
    result = env.reset(task_id="medium_task", seed=123)
    assert result.step_number == 0
    assert result.metadata["task_id"] == "medium_task"
    assert env.state.task_id == "medium_task"


def test_deterministic_logs_for_same_seed() -> None:
    env1, env2 = IncidentEnvironment(), IncidentEnvironment()
    env1.reset(task_id="easy_task", seed=55)
    env2.reset(task_id="easy_task", seed=55)
    result1 = env1.step(IncidentAction(action_type="read_logs", service="api_gateway"))
    result2 = env2.step(IncidentAction(action_type="read_logs", service="api_gateway"))
    assert result1.logs[0].message == result2.logs[0].message


EASY_SOLVE = [
    IncidentAction(action_type="read_logs", service="api_gateway"),
    IncidentAction(action_type="query_metrics", service="api_gateway"),
    IncidentAction(action_type="diagnose", service="api_gateway", diagnosis="service_crash"),
    IncidentAction(action_type="apply_fix", service="api_gateway", fix="restart_service"),
    IncidentAction(action_type="verify_health", service="api_gateway"),
]


def test_scores_are_strictly_inside_zero_one() -> None:
    env = IncidentEnvironment()
    env.reset(task_id="easy_task", seed=1)
    for action in EASY_SOLVE:
        env.step(action)
    score = env.state.final_score
    assert score is not None
    assert 0.0 < score < 1.0


def test_grader_endpoint_exposes_clamped_score(client: Client) -> None:
    client.post("/reset", json={"task_id": "easy_task", "seed": 1})
    client.post("/step", json={"action": {"action_type": "list_services"}})
    payload = client.get("/grader").json()
    assert 0.0 < payload["score"] < 1.0
    assert "details" in payload


def test_health_endpoint_reports_healthy(client: Client) -> None:
    assert client.get("/health").json() == {"status": "healthy"}


def test_state_endpoint_final_score_is_strictly_inside_zero_one(client: Client) -> None:
    client.post("/reset", json={"task_id": "easy_task", "seed": 7})
    assert 0.0 < client.get("/state").json()["final_score"] < 1.0


def test_grader_details_are_strictly_inside_zero_one_for_all_tasks(client: Client) -> None:
    for task in client.get("/tasks").json()["tasks"]:
        client.post("/reset", json={"task_id": task["task_id"], "seed": 11})
        payload = client.get("/grader").json()
        for name, value in payload["details"].items():
            assert 0.0 < float(value) < 1.0, f"{task['task_id']} {name} out of range"


# tests/test_fixes.py


class TestConcurrentEnvironmentIsolation:
    def test_reset_switches_active_task(self, client: Client) -> None:
        response1 = client.post("/reset", json={"task_id": "medium_task", "seed": 123})
        assert response1.status_code == 200
        assert client.get("/state").json()["task_id"] == "medium_task"
        response2 = client.post("/reset", json={"task_id": "hard_task", "seed": 456})
        assert response2.status_code == 200
        assert client.get("/state").json()["task_id"] == "hard_task"


class TestRewardArchitecture:
    def test_final_score_not_in_step_reward(self) -> None:
        env = IncidentEnvironment()
        env.reset(task_id="easy_task", seed=42)
        ended = False
        for action in EASY_SOLVE:
            result = env.step(action)
            if result.done:
                ended = True
                assert result.reward == SCORE_FLOOR
                assert result.metadata.get("grader_score") is not None
                assert SCORE_FLOOR <= result.metadata["grader_score"] <= SCORE_CEILING
                break
        assert ended  # (the original's loop would pass without an end; this one cannot)

    def test_intermediate_rewards_are_non_zero(self) -> None:
        env = IncidentEnvironment()
        env.reset(task_id="easy_task", seed=42)
        result = env.step(IncidentAction(action_type="read_logs", service="api_gateway"))
        assert 0.0 < result.reward <= 1.0


class TestDestructiveActionDetection:
    def test_wrong_fix_detected_as_destructive(self) -> None:
        env = IncidentEnvironment()
        env.reset(task_id="easy_task", seed=42)
        env.step(IncidentAction(action_type="read_logs", service="api_gateway"))
        result = env.step(
            IncidentAction(action_type="apply_fix", service="api_gateway", fix="memory_fix"))
        assert env.state.destructive_actions >= 1
        assert result.reward == SCORE_FLOOR
        assert not result.success

    def test_double_fix_detected_as_destructive(self) -> None:
        env = IncidentEnvironment()
        env.reset(task_id="easy_task", seed=42)
        for action in EASY_SOLVE[:3]:
            env.step(action)
        result1 = env.step(EASY_SOLVE[3])
        assert result1.success
        result2 = env.step(EASY_SOLVE[3])
        assert env.state.destructive_actions >= 1
        assert not result2.success

    def test_fix_on_healthy_service_destructive(self) -> None:
        env = IncidentEnvironment()
        env.reset(task_id="easy_task", seed=42)
        result = env.step(
            IncidentAction(action_type="apply_fix", service="database", fix="clear_disk"))
        assert env.state.destructive_actions >= 1
        assert result.reward == SCORE_FLOOR


class TestDependencyValidation:
    def test_scenario_configs_are_valid(self) -> None:
        assert IncidentEnvironment() is not None


class TestModeMappingValidation:
    def test_root_cause_mode_mapping_valid(self) -> None:
        # The original reads its tasks.SCENARIO_CONFIGS; here each task's configuration
        # is what its unsealed state shows.
        env = IncidentEnvironment()
        for task in env.tasks():
            env.reset(task_id=task.task_id)
            state = env.state
            assert len(state.root_cause_services) == len(state.root_cause_failure_modes)


class TestInputValidation:
    def test_action_field_length_limits(self) -> None:
        with pytest.raises(Exception):  # pydantic's ValidationError, as in the original
            IncidentAction(action_type="read_logs", service="api_gateway", reasoning="x" * 10000)


class TestGraderWithConstants:
    def test_grader_score_boundaries(self) -> None:
        env = IncidentEnvironment()
        env.reset(task_id="easy_task", seed=1)
        env.step(IncidentAction(action_type="list_services"))
        score, details = env.grade()
        assert SCORE_FLOOR <= score <= SCORE_CEILING


class TestTimeoutConfiguration:
    def test_http_client_timeout_configured(self, client: Client) -> None:
        # The original builds its httpx client with timeout=15.0 and closes it; here an
        # HTTP client with that timeout talks to the server.
        with urllib.request.urlopen(client.base + "/health", timeout=CLIENT_TIMEOUT) as answer:
            assert answer.status == 200


class TestLogging:
    def test_inference_module_has_logger(self) -> None:
        # The original's inference module has a logger; the runner here prints the
        # inference log lines ([START]/[STEP]/[END]).
        run = subprocess.run([str(server_binary()), "run", "--policy", "baseline",
                              "--task", "easy_task"], capture_output=True, text=True,
                             check=True, timeout=60)
        lines = run.stdout.splitlines()
        assert lines[0].startswith("[START] task=easy_task") and lines[-1].startswith("[END]")


class TestEndToEndIntegration:
    def test_complete_easy_task_workflow(self, client: Client) -> None:
        reset_resp = client.post("/reset", json={"task_id": "easy_task", "seed": 123})
        assert reset_resp.status_code == 200
        step_resp = client.post(
            "/step", json={"action": {"action_type": "read_logs", "service": "api_gateway"}})
        assert step_resp.status_code == 200
        data = step_resp.json()
        assert data["done"] is False
        assert isinstance(data["reward"], float)
        assert data["reward"] >= 0.0

    def test_complete_episode_reaches_terminal_state(self) -> None:
        env = IncidentEnvironment()
        env.reset(task_id="easy_task", seed=42)
        steps, max_steps = 0, 20
        while steps < max_steps:
            result = env.step(IncidentAction(action_type="list_services"))
            steps += 1
            if result.done:
                assert result.metadata.get("grader_score") is not None
                assert SCORE_FLOOR <= result.metadata["grader_score"] <= SCORE_CEILING
                break
        assert steps < max_steps


def test_the_suite_has_the_originals_22_tests() -> None:
    # Goal: the count above stays the original's: 8 + 14 tests (this one excluded).
    names = [name for name, value in globals().items()
             if name.startswith("test_") and name != "test_the_suite_has_the_originals_22_tests"]
    methods = [name for value in globals().values() if isinstance(value, type)
               and value.__name__.startswith("Test") for name in vars(value)
               if name.startswith("test_")]
    assert len(names) == 8 and len(methods) == 14
