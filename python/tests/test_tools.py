"""The TRL environment_factory contract of incident_env.tools.IncidentToolEnv."""

from __future__ import annotations

import inspect
import json
import os

import pytest

from incident_env import ACTIONS
from incident_env.tools import DIAGNOSES, FIXES, SERVICES, IncidentToolEnv

TOOLS = ["list_services", "read_logs", "query_metrics", "inspect_dependencies",
         "diagnose", "apply_fix", "verify_health"]


def public_methods() -> list[str]:
    """Return the public methods TRL exposes as tools (besides reset/get_reward)."""
    return [name for name, _ in inspect.getmembers(IncidentToolEnv, inspect.isfunction)
            if not name.startswith("_") and name not in ("reset", "get_reward")]


def test_one_tool_per_action_type():
    # Goal: each action type of the core is exactly one public method.
    assert sorted(public_methods()) == sorted(TOOLS)
    assert sorted({a["action_type"] for a in ACTIONS}) == sorted(TOOLS)


def test_docstrings_parse_into_tool_schemas():
    # Goal: every tool has a description and one documented argument per parameter, and
    # the arguments list the valid names (with transformers' get_json_schema, the helper
    # TRL uses, when it is installed; otherwise by reading the Google-style docstrings).
    try:
        from transformers.utils import get_json_schema
    except ImportError:
        # test.sh installs transformers and sets this, so CI never falls back.
        assert os.environ.get("INCIDENT_ENV_TOOL_SCHEMA") != "required", "no transformers"
        get_json_schema = None
    for name in TOOLS:
        method = getattr(IncidentToolEnv, name)
        params = [p for p in inspect.signature(method).parameters if p != "self"]
        doc = inspect.getdoc(method)
        assert doc and doc.splitlines()[0]
        for param in params:
            assert f"{param}:" in doc, f"{name} documents {param}"
        names = {"service": SERVICES, "diagnosis": DIAGNOSES, "fix": FIXES}
        for param in params:
            assert all(value in doc for value in names[param]), f"{name}.{param} lists names"
        if get_json_schema is not None:
            schema = get_json_schema(getattr(IncidentToolEnv(), name))
            assert schema["function"]["name"] == name
            assert sorted(schema["function"]["parameters"].get("properties", {})) == sorted(params)


def test_episode_through_the_tools_and_the_reward():
    # Goal: reset returns the briefing text; tool calls return JSON observations; solving
    # the easy incident gives the graded score; calls after the end change nothing.
    env = IncidentToolEnv()
    briefing = env.reset(task_id="easy_task", seed=3, prompt="ignored")
    assert isinstance(briefing, str) and "api_gateway" in briefing
    first = json.loads(env.read_logs("api_gateway"))
    assert first["success"] is True and len(first["logs"]) == 4
    env.diagnose("api_gateway", "service_crash")
    env.apply_fix("api_gateway", "restart_service")
    last = json.loads(env.verify_health("api_gateway"))
    assert last["done"] is True
    assert env.get_reward() == pytest.approx(0.92)
    assert "over" in env.list_services()
    fresh = IncidentToolEnv()
    fresh.reset()
    assert fresh.diagnose("api_gateway", "x" * 200).startswith("Invalid action")


def test_reset_honours_every_server_field_of_a_dataset_row():
    # Goal: a dataset row's task_id, seed, split and episode_id reach the server's reset
    # (a held-out test incident differs from the train incident of the same seed, as the
    # server's own reset gives them), other columns are ignored, and None means absent.
    from incident_env import Session

    env = IncidentToolEnv()
    rows = [{"prompt": [{"role": "user", "content": "fix it"}], "task_id": "gen_hard",
             "seed": seed, "split": split, "episode_id": f"row-{seed}-{split}"}
            for seed in range(6) for split in ("train", "test")]
    briefings = {}
    for row in rows:
        briefings[(row["seed"], row["split"])] = env.reset(**row)
        state = env._session.state()
        assert state["task_id"] == "gen_hard" and state["episode_id"] == row["episode_id"]
        unsealed = Session()
        expected = unsealed.reset(task_id="gen_hard", seed=row["seed"], split=row["split"])
        assert briefings[(row["seed"], row["split"])] == env._briefing(expected["observation"])
    assert any(briefings[(s, "train")] != briefings[(s, "test")] for s in range(6))
    env.reset(task_id=None, seed=None, split=None, episode_id=None)
    assert env._session.state()["task_id"] == "easy_task"


@pytest.mark.parametrize("row, match", [
    ({"task_id": "hard"}, "unknown task_id 'hard'"),
    ({"task_id": "uniform"}, "unknown task_id"),
    ({"task_id": "gen_hard", "split": "validation"}, "unknown split 'validation'"),
    ({"task_id": "gen_hard", "seed": -1}, "non-negative"),
    ({"task_id": "easy_task", "seed": "abc"}, "seed must be"),
    ({"episode_id": "x" * 300}, "episode_id"),
])
def test_reset_refuses_unknown_task_ids_and_bad_fields_clearly(row, match):
    # Goal: a row naming an unknown task or split, or a seed or episode_id the server
    # refuses, raises ValueError saying what is wrong, and the episode is unchanged.
    env = IncidentToolEnv()
    env.reset(task_id="medium_task", seed=5)
    env.read_logs("database")
    with pytest.raises(ValueError, match=match):
        env.reset(**row)
    state = env._session.state()
    assert state["task_id"] == "medium_task" and state["step_count"] == 1
