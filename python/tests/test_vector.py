"""The Gymnasium vector API of incident_env: spaces, dtypes, the three autoreset modes
(checked against Gymnasium's own SyncVectorEnv), copies and views, seeding,
batch-versus-sequential equality, episode infos, threads, refused calls."""

from __future__ import annotations

import gc
import pathlib
import re
import time

import numpy as np
import pytest
import gymnasium as gym
from gymnasium.vector import AutoresetMode

import incident_env
from incident_env import ACTION_COUNT, ACTIONS, OBS_LAYOUT, OBS_LEN, VectorEnv

STEP_COUNT_BYTE = OBS_LAYOUT["field"]["STEP_COUNT"]
FLAGS_BYTE = OBS_LAYOUT["field"]["FLAGS"]
DONE_BIT = OBS_LAYOUT["flag"]["DONE"]
RESOLVED_BIT = OBS_LAYOUT["flag"]["RESOLVED"]


def index_of(**fields: str) -> int:
    """Return the discrete index of the action with exactly these JSON fields."""
    return ACTIONS.index(fields)


EASY_SOLUTION = [
    index_of(action_type="read_logs", service="api_gateway"),
    index_of(action_type="diagnose", service="api_gateway", diagnosis="service_crash"),
    index_of(action_type="apply_fix", service="api_gateway", fix="restart_service"),
    index_of(action_type="verify_health", service="api_gateway"),
]


def random_actions(num_envs: int, steps: int, seed: int = 0) -> np.ndarray:
    """Pre-generated uniform action indices, shape (steps, num_envs)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, ACTION_COUNT, size=(steps, num_envs), dtype=np.int64)


def rollout(env: VectorEnv, actions: np.ndarray) -> list[tuple]:
    """Step through `actions` and return copies of every step's outputs."""
    out = []
    for row in actions:
        obs, rew, term, trunc, infos = env.step(row)
        out.append((obs.copy(), rew.copy(), term.copy(), trunc.copy(), sorted(infos)))
    return out


def test_spaces_shapes_and_dtypes():
    # Goal: the spaces come from the core's constants and every returned array has the
    # documented shape and dtype.
    env = VectorEnv(5, task="uniform")
    assert env.single_observation_space.shape == (OBS_LEN,)
    assert env.single_observation_space.dtype == np.uint8
    assert env.single_action_space.n == ACTION_COUNT == len(ACTIONS)
    assert env.observation_space.shape == (5, OBS_LEN)
    assert env.action_space.shape == (5,)
    obs, info = env.reset()
    assert info == {}
    assert obs.shape == (5, OBS_LEN) and obs.dtype == np.uint8
    assert obs in env.observation_space
    obs, rew, term, trunc, infos = env.step(env.action_space.sample())
    assert rew.dtype == np.float32 and rew.shape == (5,)
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert term.shape == trunc.shape == (5,)
    floor, ceiling = incident_env._native.SCORE_FLOOR, incident_env._native.SCORE_CEILING
    assert np.all((rew >= floor) & (rew <= ceiling))
    assert isinstance(infos, dict)


def test_returned_arrays_are_writable_copies_by_default():
    # Goal: as Gymnasium's SyncVectorEnv, step and reset return new writable arrays (a
    # wrapper may change them in place) that later steps do not overwrite.
    env = VectorEnv(3)
    obs0, _ = env.reset(seed=1)
    obs1, rew1, term1, trunc1, _ = env.step(np.zeros(3, np.uint8))
    kept = obs1.copy()
    obs2, rew2, *_ = env.step(np.zeros(3, np.uint8))
    assert obs1 is not obs2 and rew1 is not rew2 and obs0 is not obs1
    for array in (obs1, rew1, term1, trunc1):
        assert array.flags.writeable
    np.testing.assert_array_equal(obs1, kept)
    rew1 *= 2
    obs1[0, 0] = 7


def test_copy_false_returns_read_only_views_of_the_buffers():
    # Goal: the zero-copy opt-in: the same buffer each step, overwritten in place, not
    # writable by the caller (NEXT_STEP's observations are read-only views too).
    env = VectorEnv(3, copy=False, autoreset_mode=AutoresetMode.SAME_STEP)
    obs0, _ = env.reset(seed=1)
    obs1, rew1, *_ = env.step(np.zeros(3, np.uint8))
    obs2, rew2, *_ = env.step(np.zeros(3, np.uint8))
    assert obs1 is obs2 and rew1 is rew2 and obs0 is obs1
    assert not obs1.flags.writeable
    with pytest.raises(ValueError):
        obs1[0, 0] = 1
    views = VectorEnv(3, copy=False)
    views.reset(seed=1)
    for _ in range(30):
        obs, rew, term, *_ = views.step(np.zeros(3, np.uint8))
        assert not (obs.flags.writeable or rew.flags.writeable or term.flags.writeable)


def test_same_step_autoreset_is_honoured():
    # Goal: on the step that ends an episode the returned observation is already the next
    # episode's first one, final_obs holds the ended one, and the reward is that step's.
    env = VectorEnv(16, task="hard_task", seed=4, autoreset_mode="SameStep")
    assert env.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    env.reset()
    seen_end = False
    steps = 0
    for row in random_actions(16, 40, seed=2):
        obs, rew, term, trunc, infos = env.step(row)
        steps += 1
        ended = term | trunc
        if not ended.any():
            assert infos == {}
            continue
        seen_end = True
        assert not (term & trunc).any()
        np.testing.assert_array_equal(infos["_final_obs"], ended)
        final = infos["final_obs"][ended]
        assert np.all(final[:, FLAGS_BYTE] & DONE_BIT)
        assert np.all(obs[ended, STEP_COUNT_BYTE] == 0)
        assert np.all(obs[ended, FLAGS_BYTE] & DONE_BIT == 0)
        np.testing.assert_array_equal(final[:, STEP_COUNT_BYTE], infos["episode_stats"]["l"][ended])
        # Unresolved random episodes end by the step budget: truncated, not terminated.
        resolved = (final[:, FLAGS_BYTE] & RESOLVED_BIT) != 0
        np.testing.assert_array_equal(resolved, term[ended])
        assert "final_info" in infos and infos["_final_info"] is infos["_final_obs"]
        # Environments that did not end continue their episode.
        assert np.all(obs[~ended, STEP_COUNT_BYTE] > 0)
    assert seen_end and steps == 40


def test_terminated_when_resolved():
    # Goal: solving the easy incident terminates (not truncates) with the grader's score.
    env = VectorEnv(2, task="easy_task")
    env.reset(seed=0)
    for k, action in enumerate(EASY_SOLUTION):
        obs, rew, term, trunc, infos = env.step(np.full(2, action))
        if k < len(EASY_SOLUTION) - 1:
            assert not term.any() and not trunc.any()
    assert term.all() and not trunc.any()
    # NEXT_STEP (the default): the ending step shows the episode's last observation.
    assert np.all(obs[:, FLAGS_BYTE] & RESOLVED_BIT) and "final_obs" not in infos
    assert np.all(infos["score"] > 0.5)
    assert np.all(infos["resolution"] > 0.9)
    np.testing.assert_array_equal(infos["episode_stats"]["l"], [4, 4])


def test_episode_infos_are_the_episode_statistics():
    # Goal: episode return and length equal the sums the caller saw, the score is the
    # original's weighted sum of the four parts, and every key has its `_key` mask.
    n = 32
    env = VectorEnv(n, task="uniform", seed=11, autoreset_mode=AutoresetMode.SAME_STEP)
    env.reset()
    running = np.zeros(n, np.float64)
    length = np.zeros(n, np.int64)
    checked = 0
    for row in random_actions(n, 60, seed=5):
        obs, rew, term, trunc, infos = env.step(row)
        running += rew
        length += 1
        ended = term | trunc
        if ended.any():
            for key in ["episode_stats", *incident_env.EPISODE_FIELDS[1:]]:
                np.testing.assert_array_equal(infos["_" + key], ended)
            assert "episode" not in infos
            ep = infos["episode_stats"]
            np.testing.assert_allclose(ep["r"][ended], running[ended], atol=1e-4)
            np.testing.assert_array_equal(ep["l"][ended], length[ended])
            assert ep["l"].dtype == np.int32 and ep["r"].dtype == np.float32
            weighted = (
                0.35 * infos["root_cause_identification"]
                + 0.30 * infos["resolution"]
                + 0.20 * infos["efficiency"]
                + 0.15 * infos["safety"]
            )
            np.testing.assert_allclose(infos["score"][ended], weighted[ended], atol=1.5e-3)
            final = infos["final_info"]
            np.testing.assert_array_equal(final["score"], infos["score"])
            checked += int(ended.sum())
            running[ended] = 0
            length[ended] = 0
    assert checked > n


def test_determinism_by_seed():
    # Goal: the same seed gives the same trajectories; a different seed others; the
    # constructor's seed is what the first unseeded reset uses.
    actions = random_actions(8, 30, seed=3)
    a = VectorEnv(8, seed=5)
    b = VectorEnv(8, seed=99)
    obs_a, _ = a.reset()
    obs_a = obs_a.copy()
    obs_b, _ = b.reset(seed=5)
    np.testing.assert_array_equal(obs_a, obs_b)
    run_a, run_b = rollout(a, actions), rollout(b, actions)
    for x, y in zip(run_a, run_b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    c = VectorEnv(8)
    c.reset(seed=6)
    run_c = rollout(c, actions)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(run_a, run_c))


def test_batch_equals_sequential():
    # Goal: environment i of a batch is the same episode stream whatever the batch size,
    # and environment 0 equals the single gymnasium environment stepped one at a time.
    actions = random_actions(16, 40, seed=8)
    big = VectorEnv(16, seed=21, autoreset_mode=AutoresetMode.SAME_STEP)
    small = VectorEnv(4, seed=21, autoreset_mode=AutoresetMode.SAME_STEP)
    big.reset()
    small.reset()
    single = incident_env.IncidentResponseEnv()
    single_obs, _ = single.reset(seed=21)
    np.testing.assert_array_equal(single_obs, big.reset(seed=21)[0][0])
    small.reset(seed=21)
    for row in actions:
        o_big, r_big, t_big, u_big, i_big = big.step(row)
        o_small, r_small, t_small, u_small, _ = small.step(row[:4])
        np.testing.assert_array_equal(o_big[:4], o_small)
        np.testing.assert_array_equal(r_big[:4], r_small)
        np.testing.assert_array_equal(t_big[:4] | u_big[:4], t_small | u_small)
        s_obs, s_rew, s_term, s_trunc, s_info = single.step(int(row[0]))
        assert s_rew == float(r_big[0]) and s_term == t_big[0] and s_trunc == u_big[0]
        if s_term or s_trunc:
            np.testing.assert_array_equal(s_obs, i_big["final_obs"][0])
            assert s_info["score"] == float(i_big["score"][0])
            single_obs, _ = single.reset()
            np.testing.assert_array_equal(single_obs, o_big[0])
        else:
            np.testing.assert_array_equal(s_obs, o_big[0])


def comparable(infos: dict) -> dict:
    """Return ``infos`` flattened to copies, without the wall-clock episode times."""
    flat = {}
    for key, value in infos.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in comparable(value).items()})
        else:
            flat[key] = np.array(value, copy=True)
    flat.pop("episode_stats.t", None)
    flat.pop("final_info.episode_stats.t", None)
    return flat


def test_threads_do_not_change_results():
    # Goal: num_threads splits a step across persistent workers (none for 1 thread, one
    # fewer than the threads used) without changing any output, episode infos included.
    n = 3 * incident_env.MIN_ENVS_PER_THREAD + 3
    actions = random_actions(n, 25, seed=1)
    envs = [VectorEnv(n, num_threads=t) for t in (1, 2, 3)]
    assert [env._core.workers for env in envs] == [0, 1, 2]
    assert VectorEnv(incident_env.MIN_ENVS_PER_THREAD, num_threads=2)._core.workers == 0
    for env in envs:
        env.reset(seed=2)
    ended = 0
    for row in actions:
        first, *others = (env.step(row) for env in envs)
        for other in others:
            for u, v in zip(first[:4], other[:4]):
                np.testing.assert_array_equal(u, v)
            a, b = comparable(first[4]), comparable(other[4])
            assert sorted(a) == sorted(b)
            for key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        ended += int((first[2] | first[3]).sum())
    assert ended > n


def worker_threads() -> set[int]:
    """Return the thread ids of this process's native threads named ``incident-env-*``."""
    out = set()
    for task in pathlib.Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
        except FileNotFoundError:  # the thread ended while we looked
            continue
        if name.startswith("incident-env-"):
            out.add(int(task.name))
    return out


def wait_until(condition, seconds: float = 10.0) -> bool:
    """Poll ``condition`` every 10 ms for up to ``seconds``; return its last value."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


@pytest.mark.skipif(not pathlib.Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_worker_threads_persist_across_steps():
    # Goal: num_threads > 1 starts its workers once; steps reuse the same threads (no
    # spawn per call), and they end with the environment. Only this environment's threads
    # are followed: an earlier test's pool may still be winding down on a loaded machine
    # (waited for first: a thread shows its name only once it runs).
    gc.collect()
    wait_until(lambda: not worker_threads())
    before = worker_threads()
    env = VectorEnv(2 * incident_env.MIN_ENVS_PER_THREAD, num_threads=2)
    env.reset(seed=0)
    wait_until(lambda: len(worker_threads() - before) == 1)
    ours = worker_threads() - before
    assert len(ours) == 1, (ours, before)
    for row in random_actions(env.num_envs, 5):
        env.step(row)
        now = worker_threads()
        assert ours <= now and not (now - before - ours)
    del env
    gc.collect()
    assert wait_until(lambda: not (worker_threads() & ours))


def test_episode_time_is_recorded_at_episode_end():
    # Goal: infos["episode_stats"]["t"] (float64 seconds) is the wall-clock time of each
    # ended episode: positive, at most the time since the reset, and measured again from
    # each episode's own start.
    env = VectorEnv(8, task="easy_task", autoreset_mode=AutoresetMode.SAME_STEP)
    start = time.perf_counter()
    env.reset(seed=0)
    time.sleep(0.02)
    for action in EASY_SOLUTION[:-1]:
        env.step(np.full(8, action))
    before_last = time.perf_counter()
    *_, infos = env.step(np.full(8, EASY_SOLUTION[-1]))
    elapsed = time.perf_counter() - start
    t = infos["episode_stats"]["t"]
    assert t.dtype == np.float64 and infos["_episode_stats"].all()
    np.testing.assert_array_equal(infos["final_info"]["episode_stats"]["t"], t)
    assert np.all(t >= 0.02) and np.all(t <= elapsed)
    for action in EASY_SOLUTION:
        *_, infos = env.step(np.full(8, action))
    second = infos["episode_stats"]["t"]
    assert np.all(second >= 0) and np.all(second <= time.perf_counter() - before_last)
    single = incident_env.IncidentResponseEnv(task="easy_task")
    single.reset(seed=0)
    for action in EASY_SOLUTION:
        *_, info = single.step(action)
    t = info["episode_stats"]["t"]
    assert isinstance(t, float) and 0 <= t < elapsed


def test_reset_options_task_and_mask():
    # Goal: options["task"] switches the task; options["reset_mask"] resets only those.
    env = VectorEnv(4, task="easy_task")
    obs, _ = env.reset(seed=0, options={"task": "expert_task"})
    assert np.all(obs[:, 48] == 3)
    env.step(np.zeros(4, np.uint8))
    mask = np.array([True, False, True, False])
    obs, _ = env.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(obs[:, STEP_COUNT_BYTE], [0, 1, 0, 1])


def test_actions_of_any_integer_dtype_and_out_of_range():
    # Goal: uint8, int64, int32 and lists are accepted; out-of-range indices are unknown
    # actions (never wrapped into a valid one); wrong lengths are a clear ValueError.
    env = VectorEnv(3, task="easy_task")
    env.reset(seed=0)
    for actions in (np.array([0, 1, 2], np.uint8), np.array([0, 1, 2], np.int32), [0, 1, 2]):
        env.step(actions)
    env.reset(seed=0)
    obs, *_ = env.step(np.array([ACTION_COUNT, 256 + 1, -1], np.int64))
    # Byte 55 counts invalid actions, 53 is the last error (1 + code).
    assert np.all(obs[:, 55] == 1) and np.all(obs[:, 53] > 0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((3, 1), np.int64))
    with pytest.raises(ValueError, match="entries"):
        env.step(np.zeros(4, np.uint8))


def test_bad_arguments_are_value_errors():
    # Goal: bad constructor arguments name the valid choices instead of crashing.
    with pytest.raises(ValueError, match="easy_task"):
        VectorEnv(2, task="nope")
    with pytest.raises(ValueError, match="train"):
        VectorEnv(2, split="validation")
    with pytest.raises(ValueError, match="num_envs"):
        VectorEnv(0)
    with pytest.raises(ValueError, match="num_threads"):
        VectorEnv(1, num_threads=0)


def test_generated_tiers_and_splits():
    # Goal: the core's generated tiers are task choices; the test split holds other
    # incidents than the train split; episodes end with the same infos.
    assert {"gen_easy", "gen_expert"} <= set(incident_env.TASK_CHOICES)
    train = VectorEnv(64, task="gen_hard", split="train", seed=3)
    test = VectorEnv(64, task="gen_hard", split="test", seed=3)
    obs_train, _ = train.reset()
    obs_train = obs_train.copy()
    obs_test, _ = test.reset()
    assert np.all(obs_train[:, 48] == 4 + 2) and np.all(obs_test[:, 48] == 4 + 2)
    ended = 0
    for row in random_actions(64, 40, seed=4):
        *_, infos = train.step(row)
        if infos:
            ended += int(infos["_score"].sum())
            scores = infos["score"][infos["_score"]]
            assert np.all((scores >= 0) & (scores <= 1))
    assert ended > 0
    a = VectorEnv(64, task="gen_hard", split="train", seed=3)
    b = VectorEnv(64, task="gen_hard", split="test", seed=3)
    a.reset()
    b.reset()
    actions = random_actions(64, 20, seed=9)
    runs = [rollout(env, actions) for env in (a, b)]
    assert any(not np.array_equal(x[1], y[1]) or not np.array_equal(x[0], y[0])
               for x, y in zip(*runs))


def test_core_batch_is_the_same_work_as_the_vector_env():
    # Goal: the benchmark's reference (the core's plain step_batch, _native.CoreBatch)
    # steps the same episodes as VectorEnv (SAME_STEP, as the benchmark times it) on the
    # same actions: as many episodes end.
    from incident_env import _native

    n, rows = 64, random_actions(64, 50, seed=4).astype(np.uint8)
    env = VectorEnv(n, task="uniform", seed=3, autoreset_mode=AutoresetMode.SAME_STEP)
    env.reset()
    ended = 0
    for row in rows:
        _, _, term, trunc, _ = env.step(row)
        ended += int((term | trunc).sum())
    core = _native.CoreBatch(n, "uniform", "train", 3)
    assert core.step_rows(rows, len(rows)) == ended > 0
    with pytest.raises(ValueError, match="shape"):
        core.step_rows(rows[:, :3], 1)


def sync_twin(mode: AutoresetMode, task: str):
    """Gymnasium's own SyncVectorEnv over one IncidentResponseEnv, in autoreset ``mode``."""
    return gym.make_vec(incident_env.ENV_ID, num_envs=1, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": mode}, task=task)


@pytest.mark.parametrize("mode", list(AutoresetMode))
@pytest.mark.parametrize("task", ["hard_task", "gen_medium"])
def test_autoreset_modes_step_as_gymnasiums_sync_vector_env(mode, task):
    # Goal: each autoreset mode is Gymnasium's own semantics: VectorEnv(1) and
    # SyncVectorEnv over the single environment (which is environment 0 of a batch) give
    # the same observations, rewards and flags on the same actions through several
    # episode ends, including the NEXT_STEP step that ignores its action and the
    # DISABLED reset of the ended environment by reset_mask.
    ours = VectorEnv(1, task=task, autoreset_mode=mode)
    theirs = sync_twin(mode, task)
    assert ours.metadata["autoreset_mode"] is mode
    a, _ = ours.reset(seed=21)
    b, _ = theirs.reset(seed=21)
    np.testing.assert_array_equal(a, b)
    ends = 0
    for row in random_actions(1, 120, seed=7):
        a = ours.step(row)
        b = theirs.step(row)
        for x, y in zip(a[:4], b[:4]):
            np.testing.assert_array_equal(np.asarray(x, np.float64), np.asarray(y, np.float64))
        if mode is AutoresetMode.SAME_STEP and (a[2] | a[3]).any():
            np.testing.assert_array_equal(a[4]["final_obs"][0], b[4]["final_obs"][0])
        if (a[2] | a[3]).any():
            ends += 1
            theirs_info = b[4]["final_info"] if mode is AutoresetMode.SAME_STEP else b[4]
            np.testing.assert_array_equal(a[4]["score"], theirs_info["score"])
            if mode is AutoresetMode.DISABLED:
                with pytest.raises(RuntimeError, match="DISABLED"):
                    ours.step(row)
                mask = np.array([True])
                x, _ = ours.reset(options={"reset_mask": mask})
                y, _ = theirs.reset(options={"reset_mask": mask})
                np.testing.assert_array_equal(x, y)
    assert ends >= 3


def test_next_step_holds_ended_environments_for_one_step():
    # Goal: under NEXT_STEP, in a batch, the step after an episode end ignores the ended
    # environments' actions and shows their new episode's first observation (what
    # SAME_STEP showed one step earlier) with reward 0 and neither flag, while the others
    # step on as in SAME_STEP.
    n = 16
    nxt = VectorEnv(n, task="easy_task", seed=3)
    same = VectorEnv(n, task="easy_task", seed=3, autoreset_mode=AutoresetMode.SAME_STEP)
    nxt.reset()
    same.reset()
    actions = random_actions(n, 40, seed=1)
    for k, row in enumerate(actions):
        o_n, r_n, t_n, u_n, i_n = nxt.step(row)
        o_s, r_s, t_s, u_s, i_s = same.step(row)
        ended = t_s | u_s
        if ended.any():
            break
    np.testing.assert_array_equal(o_n[ended], i_s["final_obs"][ended])
    np.testing.assert_array_equal(r_n, r_s)
    first = o_s.copy()
    o_n, r_n, t_n, u_n, i_n = nxt.step(actions[k + 1])
    o_s, r_s, *_ = same.step(actions[k + 1])
    np.testing.assert_array_equal(o_n[ended], first[ended])
    assert np.all(r_n[ended] == 0) and not (t_n[ended] | u_n[ended]).any()
    np.testing.assert_array_equal(o_n[~ended], o_s[~ended])
    np.testing.assert_array_equal(r_n[~ended], r_s[~ended])


def state_of(env: VectorEnv) -> tuple:
    """Return what a reset could change: the task, and a copy of the next step's outputs
    on a fixed action (taken on a copy of nothing: the env is stepped, so call last)."""
    obs, *_ = env.step(np.zeros(env.num_envs, np.int64))
    return env._task, env._split, obs.copy()


@pytest.mark.parametrize("seed, options, error", [
    (2**64, {"task": "gen_expert"}, ValueError),
    (-1, {"task": "gen_expert"}, ValueError),
    (1.5, {"task": "gen_expert"}, TypeError),
    (True, {"task": "gen_expert"}, TypeError),
    (None, {"task": "gen_expert", "incident_seeds": [1, 2]}, ValueError),
    (None, {"task": "gen_expert", "incident_seeds": [1, 2, -3]}, ValueError),
    (None, {"task": "gen_expert", "incident_seeds": [1, 2, 2**64]}, ValueError),
    (None, {"task": "gen_expert", "incident_seeds": [1.0, 2.0, 3.0]}, TypeError),
    (3, {"task": "gen_expert", "incident_seeds": [1, 2, 3]}, ValueError),
    (None, {"task": "easy_task", "incident_seeds": [1, 2, 3]}, ValueError),
    (None, {"task": "gen_expert", "reset_mask": [True, False]}, ValueError),
    (None, {"task": "gen_expert", "reset_mask": [1, 0, 1]}, TypeError),
    (None, {"task": "gen_expert", "split": "validation"}, ValueError),
    (None, {"task": "nope"}, ValueError),
    (None, {"task": "gen_expert", "tasks": "typo"}, ValueError),
])
def test_a_refused_reset_changes_nothing(seed, options, error):
    # Goal: every refused reset (a seed negative, 2**64 or more, or not an integer, wrong-length
    # or non-integer incident_seeds, a wrong-length or non-bool reset_mask, an unknown
    # task, split or option) raises before applying anything: the task, the episodes and
    # the next step are what they would have been without the call.
    touched, untouched = VectorEnv(3, task="medium_task"), VectorEnv(3, task="medium_task")
    for env in (touched, untouched):
        env.reset(seed=4)
        env.step(np.array([1, 2, 3]))
    with pytest.raises(error):
        touched.reset(seed=seed, options=options)
    a, b = state_of(touched), state_of(untouched)
    assert a[:2] == b[:2] == ("medium_task", "train")
    np.testing.assert_array_equal(a[2], b[2])


def test_seeds_are_checked_the_same_way_everywhere():
    # Goal: the constructor, the vector reset and the single environment's reset refuse
    # a negative seed with the same message; 0 and 2**64-1 are accepted.
    message = re.escape(f"{incident_env._native.NEGATIVE_SEED}, got -1")
    with pytest.raises(ValueError, match=message):
        VectorEnv(2, seed=-1)
    with pytest.raises(ValueError, match=message):
        VectorEnv(2).reset(seed=-1)
    with pytest.raises(ValueError, match=message):
        incident_env.IncidentResponseEnv().reset(seed=-1)
    for seed in (0, 2**64 - 1):
        VectorEnv(2, seed=seed).reset(seed=seed)
        incident_env.IncidentResponseEnv().reset(seed=seed)


@pytest.mark.parametrize("actions", [
    np.array([0.0, 1.9, 2.0]), [0.5, 1, 2], np.array([True, False, True]), [True, False, True],
])
def test_float_and_bool_actions_are_refused(actions):
    # Goal: actions that are not integer indices are refused (TypeError) rather than
    # truncated to another action, and the refused step changes nothing.
    env, twin = VectorEnv(3, task="hard_task"), VectorEnv(3, task="hard_task")
    env.reset(seed=2)
    twin.reset(seed=2)
    with pytest.raises(TypeError, match="integer"):
        env.step(actions)
    np.testing.assert_array_equal(env.step([1, 2, 3])[0], twin.step([1, 2, 3])[0])
    single = incident_env.IncidentResponseEnv()
    single.reset(seed=0)
    for action in (1.0, True, np.float32(2.0), np.bool_(False)):
        with pytest.raises(TypeError, match="integer"):
            single.step(action)
    single.step(np.int64(3))
    single.step(np.array(4))


def test_stepping_after_close_raises_a_clear_error():
    # Goal: close() releases the environments; step, reset and policy_actions afterwards
    # raise a RuntimeError that says so; close() twice is harmless.
    env = VectorEnv(2)
    env.reset(seed=0)
    env.close()
    env.close()
    for call in (lambda: env.step([0, 0]), lambda: env.reset(), lambda: env.policy_actions("oracle")):
        with pytest.raises(RuntimeError, match="closed"):
            call()
