"""Rollouts on Ray: each actor holds one ``incident_env.VectorEnv`` and collects batches.

Past one machine, rollout collection is spread over a Ray cluster: ``--workers`` Ray
actors (one CPU each), each holding a ``VectorEnv`` of ``--envs`` environments, step their
environments ``--steps`` times with a policy and send back the batch (observations,
actions, rewards, episode ends, per-episode scores) as numpy arrays. The driver (a learner
in a real training loop) gathers them with ``ray.get``.

Everything an actor returns depends only on its arguments (task, split, seed, policy), never
on where it ran: actor ``i`` uses seed ``seed + i``, so the same command gives the same
batches on one machine or a hundred (``test_ray_rollouts.py`` checks the Ray batches equal
the same rollouts done in-process).

Local (starts a Ray instance on this machine)::

    python python/examples/ray_rollouts.py --workers 2 --envs 64 --steps 256

On a cluster (docs/scale.md): every node has this package installed (``pip install
./python`` or the built wheel), ``ray start --head`` on one, ``ray start --address
HEAD:6379`` on the others, then on the head::

    python python/examples/ray_rollouts.py --address auto --workers 16 --envs 256

Policies: ``random`` (uniform actions from a generator seeded per actor; what an untrained
learner sends), ``baseline`` (the original's rule baseline) or ``oracle`` (reads the
hidden answer; the upper reference), the last two computed by the core
(``VectorEnv.policy_actions``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import ray
from gymnasium.vector import AutoresetMode

import incident_env

#: The policies an actor can roll out.
POLICIES = ("random", "baseline", "oracle")


@dataclass
class Batch:
    """One actor's rollout: ``steps`` rows of ``envs`` environments each."""

    #: Observation each action was chosen from, ``(steps, envs, OBS_LEN)`` uint8.
    obs: np.ndarray
    #: Actions taken, ``(steps, envs)`` int64.
    actions: np.ndarray
    #: Rewards received, ``(steps, envs)`` float32.
    rewards: np.ndarray
    #: Whether the step ended the environment's episode, ``(steps, envs)`` bool.
    ends: np.ndarray
    #: The grader's final score of every episode that ended, in order of ending.
    scores: np.ndarray
    #: The process that collected the batch.
    pid: int

    def summary(self) -> dict[str, Any]:
        """Return the batch's size and mean episode score as plain numbers."""
        return {
            "transitions": int(self.actions.size),
            "episodes": int(self.scores.size),
            "mean_score": float(self.scores.mean()) if self.scores.size else 0.0,
        }


def rollout(
    task: str, split: str, num_envs: int, seed: int, steps: int, policy: str
) -> Batch:
    """Roll ``policy`` out for ``steps`` steps of a new ``VectorEnv`` and return the batch.

    SAME_STEP autoreset, so every row's observation is one an action was chosen from.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    env = incident_env.VectorEnv(
        num_envs, task=task, split=split, seed=seed, autoreset_mode=AutoresetMode.SAME_STEP
    )
    rng = np.random.default_rng(seed)
    obs = np.empty((steps, num_envs, incident_env.OBS_LEN), np.uint8)
    actions = np.empty((steps, num_envs), np.int64)
    rewards = np.empty((steps, num_envs), np.float32)
    ends = np.empty((steps, num_envs), np.bool_)
    scores: list[np.ndarray] = []
    current, _ = env.reset()
    for t in range(steps):
        obs[t] = current
        if policy == "random":
            actions[t] = rng.integers(0, incident_env.ACTION_COUNT, num_envs)
        else:
            actions[t] = env.policy_actions(policy)
        current, rewards[t], terminated, truncated, infos = env.step(actions[t])
        ends[t] = terminated | truncated
        if "_score" in infos:
            scores.append(infos["score"][infos["_score"]])
    env.close()
    ended = np.concatenate(scores) if scores else np.empty(0, np.float32)
    return Batch(obs, actions, rewards, ends, ended, os.getpid())


@ray.remote(num_cpus=1)
class RolloutWorker:
    """A Ray actor that collects batches from its own environments."""

    def __init__(self, task: str, split: str, num_envs: int, seed: int) -> None:
        self.task, self.split, self.num_envs, self.seed = task, split, num_envs, seed

    def collect(self, steps: int, policy: str) -> Batch:
        """Return a batch of ``steps`` steps of ``policy`` (see :func:`rollout`)."""
        return rollout(self.task, self.split, self.num_envs, self.seed, steps, policy)


def collect(
    workers: int, task: str, split: str, num_envs: int, seed: int, steps: int, policy: str
) -> list[Batch]:
    """Start ``workers`` actors (actor ``i`` seeded ``seed + i``), collect one batch from
    each in parallel, stop them and return the batches in actor order."""
    actors = [RolloutWorker.remote(task, split, num_envs, seed + i) for i in range(workers)]
    try:
        return ray.get([actor.collect.remote(steps, policy) for actor in actors])
    finally:
        for actor in actors:
            ray.kill(actor)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", help="a Ray cluster's address ('auto' on a node of it)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local instance (no --address)")
    parser.add_argument("--workers", type=int, default=2, help="Ray actors (one CPU each)")
    parser.add_argument("--envs", type=int, default=64, help="environments per actor")
    parser.add_argument("--steps", type=int, default=256, help="steps per actor")
    parser.add_argument("--task", default="gen_hard", help="incident_env.TASK_CHOICES")
    parser.add_argument("--split", default="train", choices=incident_env.SPLITS)
    parser.add_argument("--seed", type=int, default=0, help="actor i uses seed + i")
    parser.add_argument("--policy", default="random", choices=POLICIES)
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> None:
    """Collect one batch per actor and print each batch's summary as JSON lines (in a
    process already connected to Ray, on that instance)."""
    args = parse_args(argv)
    owns_ray = not ray.is_initialized()
    if owns_ray:
        ray.init(address=args.address, num_cpus=None if args.address else args.num_cpus)
    started = time.perf_counter()
    batches = collect(
        args.workers, args.task, args.split, args.envs, args.seed, args.steps, args.policy
    )
    elapsed = time.perf_counter() - started
    for i, batch in enumerate(batches):
        print(json.dumps({"worker": i, "pid": batch.pid, **batch.summary()}))
    total = sum(batch.actions.size for batch in batches)
    print(json.dumps({"transitions": total, "seconds": round(elapsed, 3)}))
    if owns_ray:
        ray.shutdown()


if __name__ == "__main__":
    main()
