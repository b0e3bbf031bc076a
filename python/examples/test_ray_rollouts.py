"""ray_rollouts.py on a local Ray instance (``ray.init(num_cpus=2)``): two actors, each with
its own ``VectorEnv``, in two other processes, return exactly the batches the same rollouts
give in-process; the command line prints one summary per actor."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import ray

EXAMPLES = str(Path(__file__).resolve().parent)
sys.path.insert(0, EXAMPLES)
import ray_rollouts  # noqa: E402

#: Small enough to keep the test to seconds; large enough that episodes end in it.
WORKERS, ENVS, STEPS, SEED = 2, 8, 64, 5


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray instance of two CPUs for the module's tests, on loopback, without usage
    reports; its workers import ray_rollouts from this folder."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"PYTHONPATH": EXAMPLES}},
    )
    yield
    ray.shutdown()


@pytest.mark.parametrize(("task", "policy"), [("gen_hard", "random"), ("cycle", "baseline")])
def test_ray_batches_equal_in_process_rollouts(local_ray: None, task: str, policy: str) -> None:
    # Goal: the actors ran elsewhere (two other processes) and sent back the very batches
    # the same seeds give here. Random actions: actor i is seeded seed + i, so the two
    # batches differ. The baseline: its episodes score what `incident-env eval` reports
    # for the original tasks (host/RUNNER.md: 0.800, 0.860, 0.117, 0.117).
    batches = ray_rollouts.collect(WORKERS, task, "train", ENVS, SEED, STEPS, policy)
    assert len(batches) == WORKERS
    assert len({b.pid for b in batches} | {os.getpid()}) == WORKERS + 1
    for i, batch in enumerate(batches):
        local = ray_rollouts.rollout(task, "train", ENVS, SEED + i, STEPS, policy)
        for name in ("obs", "actions", "rewards", "ends", "scores"):
            np.testing.assert_array_equal(getattr(batch, name), getattr(local, name), name)
        assert batch.obs.shape == (STEPS, ENVS, ray_rollouts.incident_env.OBS_LEN)
        assert batch.scores.size == batch.ends.sum() > 0
    if policy == "random":
        assert not np.array_equal(batches[0].actions, batches[1].actions)
        assert not np.array_equal(batches[0].obs, batches[1].obs)
    else:
        scores = np.concatenate([b.scores for b in batches])
        assert {round(float(score), 3) for score in scores} == {0.8, 0.86, 0.117}


def test_command_line_prints_one_summary_per_actor(
    local_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Goal: the documented command runs against an existing instance (ray.init is then a
    # no-op connect) and prints every actor's summary and the total.
    ray_rollouts.main(["--workers", "2", "--envs", "4", "--steps", "32", "--task", "gen_easy"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("worker") for line in lines[:2]] == [0, 1]
    assert all(line["transitions"] == 4 * 32 for line in lines[:2])
    assert lines[2]["transitions"] == 2 * 4 * 32
