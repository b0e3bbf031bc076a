"""The spaces, the observation layout and the seed refusals come from one declaration
each: the extension's (python/src/constants.rs and layout.rs, from the core's constants)
and the server's wording (incident-api's parse.rs)."""

from __future__ import annotations

import re

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

import incident_env
from incident_env import _native
from incident_env.vector import VectorEnv


def declared_spaces() -> tuple[spaces.Box, spaces.Discrete]:
    """The spaces of one environment as the extension declares them."""
    observation = spaces.Box(
        _native.OBS_LOW, _native.OBS_HIGH, (_native.OBS_LEN,), np.dtype(_native.OBS_DTYPE)
    )
    return observation, spaces.Discrete(_native.ACTION_COUNT)


def test_every_space_is_the_declared_one():
    # Goal: VectorEnv, make_vec, IncidentResponseEnv and make all show the declared
    # spaces (the batch spaces are the single ones batched).
    observation, action = declared_spaces()
    vector = VectorEnv(3)
    made_vec = gymnasium.make_vec(incident_env.ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    for env in (vector, made_vec):
        assert env.single_observation_space == observation
        assert env.single_action_space == action
        assert env.observation_space == gymnasium.vector.utils.batch_space(observation, 3)
        assert env.action_space == gymnasium.vector.utils.batch_space(action, 3)
    for env in (incident_env.IncidentResponseEnv(), gymnasium.make(incident_env.ENV_ID)):
        assert env.observation_space == observation and env.action_space == action


def test_the_declaration_is_what_the_core_produces():
    # Goal: the declared bounds are the observation dtype's whole range, the core's own
    # buffers have the declared shape and dtype, every observation of a random rollout
    # over every task lies in the space, every episode fits STEP_COUNT_MAX steps, and
    # ACTIONS lists exactly ACTION_COUNT distinct actions.
    observation, action = declared_spaces()
    info = np.iinfo(observation.dtype)
    assert (info.min, info.max) == (_native.OBS_LOW, _native.OBS_HIGH)
    assert len({tuple(sorted(a.items())) for a in _native.ACTIONS}) == action.n
    rng = np.random.default_rng(0)
    for task in _native.TASK_CHOICES:
        core = _native.VecCore(16, task, "train", 0, 1)
        assert core.observations.shape == (16, _native.OBS_LEN)
        assert core.observations.dtype == observation.dtype
        env = VectorEnv(16, task=task, autoreset_mode="SameStep")
        obs, _ = env.reset(seed=1)
        for _ in range(3 * _native.STEP_COUNT_MAX):
            assert all(observation.contains(row) for row in obs)
            obs, _, _, _, infos = env.step(rng.integers(0, action.n, 16))
            if infos:
                lengths = infos["episode_stats"]["l"][infos["_episode_stats"]]
                assert (lengths <= _native.STEP_COUNT_MAX).all(), task


def test_seed_refusals_use_the_servers_words():
    # Goal: a negative incident index is refused in the server's words (the same string
    # the Session's reset, the server's path, answers for a generated tier), and a
    # negative batch seed with the words that string starts with; 2**64 names its bound.
    with pytest.raises(incident_env.ApiError) as refused:
        incident_env.Session().reset(task_id="gen_easy", seed=-1)
    server = refused.value.body["detail"]
    assert server == f"{_native.NEGATIVE_INCIDENT_SEED}, got -1"
    assert _native.NEGATIVE_INCIDENT_SEED.startswith(_native.NEGATIVE_SEED)
    env = VectorEnv(2, task="gen_easy")
    for seeds in ([0, -1], np.array([0, -1]), [2**64, -1]):
        with pytest.raises(ValueError) as refused:
            env.reset(options={"incident_seeds": seeds})
        assert str(refused.value) == f"incident_seeds: {server}", seeds
    with pytest.raises(ValueError, match=re.escape(f"{_native.NEGATIVE_SEED}, got -1")):
        VectorEnv(2, seed=-1)
    with pytest.raises(ValueError, match=re.escape(f"{_native.NEGATIVE_SEED} below 2**64, got {2**64}")):
        incident_env.IncidentResponseEnv().reset(seed=2**64)
    assert _native.SEED_MAX == 2**64 - 1


LAYOUT = _native.OBS_LAYOUT
FIELD, SERVICE_FIELD = LAYOUT["field"], LAYOUT["service_field"]


def service_mask(names: list[str]) -> int:
    """Return the mask of services ``names`` (bit ``i``: ``Service::ALL[i]``)."""
    order = [action["service"] for action in _native.ACTIONS[1 : 1 + LAYOUT["service_count"]]]
    return sum(1 << order.index(name) for name in names)


def check_globals(row: np.ndarray, task: str, doc: dict, state: dict) -> None:
    """Assert that the global and evidence bytes of ``row`` say what the Session's reset or
    step answer ``doc`` and its ``state`` document say."""
    shown = doc["observation"]
    assert row[FIELD["TIER"]] == LAYOUT["tier_code"][task]
    assert row[FIELD["VERSION"]] == LAYOUT["version"]
    v2 = task.startswith("gen_graph_")
    assert (row[FIELD["RULESET"]] == LAYOUT["ruleset"]["V2"]) == v2
    original = not task.startswith("gen_")
    assert (row[FIELD["RULESET"]] == LAYOUT["ruleset"]["ORIGINAL"]) == original
    assert row[FIELD["STEP_COUNT"]] == shown["step_number"] == state["step_count"]
    assert row[FIELD["STEPS_REMAINING"]] == shown["steps_remaining"]
    assert row[FIELD["MAX_STEPS"]] == shown["max_steps"] == state["max_steps"]
    assert row[FIELD["DESTRUCTIVE"]] == state["destructive_actions"]
    assert row[FIELD["INVALID"]] == state["invalid_actions"]
    assert (row[FIELD["LAST_ERROR"]] == 0) == (state["last_action_error"] is None)
    assert v2 or row[FIELD["BUDGET_BURNED"]] == 0
    flags = {name: bool(row[FIELD["FLAGS"]] & bit) for name, bit in LAYOUT["flag"].items()}
    listed = any(a["action_type"] == "list_services" for a in state["action_history"])
    assert flags["LISTED"] == listed and flags["SUCCESS"] == shown["success"]
    assert flags["RESOLVED"] == state["is_resolved"] and flags["DONE"] == doc["done"]


def check_service(row: np.ndarray, s: int, summary: dict, state: dict, v2: bool,
                  statuses: dict) -> None:
    """Assert that service ``s``'s bytes of ``row`` say what its summary and the state
    document say; ``statuses`` collects the status byte of each status name seen."""
    block = row[s * LAYOUT["service_block"] : (s + 1) * LAYOUT["service_block"]]
    name = summary["service_name"]
    byte = {field: int(block[offset]) for field, offset in SERVICE_FIELD.items()}
    assert statuses.setdefault(summary["status"], byte["STATUS"]) == byte["STATUS"]
    assert (byte["STATUS"] == 0) == (summary["status"] == "healthy")
    for field, classes in LAYOUT["classes"].items():
        assert field not in byte or byte[field] < classes, (field, byte)
    read = name in state["services_investigated"]
    assert (byte["LOGS"] > 0) == read == (row[FIELD["LOGS_RUN"] + s] > 0)
    queried = name in state["metrics_queried"]
    assert (byte["METRICS"] > 0) == queried == (row[FIELD["METRICS_RUN"] + s] > 0)
    diagnoses = [d["correct"] for d in state["diagnoses"] if d["service"] == name]
    assert (byte["DIAGNOSIS"] > 0) == bool(diagnoses)
    verdicts = LAYOUT["verdict"]
    assert bool(byte["VERDICTS"] & verdicts["DIAGNOSIS_ACCEPTED"]) == any(diagnoses)
    assert bool(byte["VERDICTS"] & verdicts["DIAGNOSIS_REJECTED"]) == (False in diagnoses)
    remediation = LAYOUT["remediation"]
    fixed = name in state["correct_fixes"]
    assert bool(byte["REMEDIATION"] & remediation["FIXED"]) == fixed
    verified = name in state["successful_verifications"]
    assert bool(byte["REMEDIATION"] & remediation["VERIFIED"]) == verified
    edges = byte["INSPECTED"]
    if v2:
        assert bool(edges & LAYOUT["edges_shown"]) == (summary["depends_on"] is not None)
        if summary["depends_on"] is not None:
            assert edges & ~LAYOUT["edges_shown"] == service_mask(summary["depends_on"])
    else:
        assert (edges != 0) == (name in state["dependencies_inspected"])


@pytest.mark.parametrize("task", _native.TASK_IDS)
def test_the_layout_names_the_bytes_the_core_writes(task):
    # Goal: on every task id, at every step of episodes mixing the oracle's and random
    # actions, the bytes OBS_LAYOUT names hold what the Session's documents (the server's
    # path, same incident and actions) say: tier code, version, ruleset, step counts,
    # counters, flags (LISTED after list_services), and each service's status, evidence,
    # diagnosis, verdicts, remediation and shown edges; every categorical byte is below
    # its class count; the original and v1 rulesets show the exported fixed graph.
    rng = np.random.default_rng(7)
    statuses: dict[str, int] = {}
    for seed in range(3):
        env = VectorEnv(1, task=task)
        if task.startswith("gen_"):
            obs, _ = env.reset(options={"incident_seeds": [seed]})
        else:
            obs, _ = env.reset(seed=seed)
        session = incident_env.Session()
        doc = session.reset(task_id=task, seed=seed)
        v2 = task.startswith("gen_graph_")
        if not v2:
            summaries = doc["observation"]["service_summaries"]
            assert [service_mask(x["depends_on"]) for x in summaries] == LAYOUT["depends_on"]
        for _ in range(_native.STEP_COUNT_MAX):
            state = session.state()
            check_globals(obs[0], task, doc, state)
            for s, summary in enumerate(doc["observation"]["service_summaries"]):
                check_service(obs[0], s, summary, state, v2, statuses)
            if doc["done"]:
                break
            oracle = int(env.policy_actions("oracle")[0])
            action = oracle if rng.random() < 0.6 else int(rng.integers(0, _native.ACTION_COUNT))
            obs, *_ = env.step([action])
            doc = session.step(_native.ACTIONS[action])
        assert doc["done"]
    assert len(set(statuses.values())) == len(statuses)
