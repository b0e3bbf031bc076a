"""Steps per second of incident_env from Python, beside the Rust batch, Gymnasium's
SyncVectorEnv over our single environment, and EnvPool's CartPole.

    target/py-venv/bin/python python/bench/bench.py [--runs 5] [--envpool-python PATH]
        [--ratio-only] [--json]

Every figure is the median of ``--runs`` timed runs after one warm-up run, with random
actions from a pre-generated numpy array (uniform over the discrete actions) and automatic
resets, so it is the environment's cost plus the Python call. Beside the wall-clock rate it
prints the on-CPU rate (steps per second of the process's CPU time, ``time.process_time``,
which counts every thread): on a machine shared with other work the wall clock is
distorted, the on-CPU rate much less. The Rust figures come from
``cargo run --release -p incident-bench --bin throughput -- --json`` (run by this script
unless ``--rust-json FILE`` gives its output), which reports the same two rates.

Beside ``VectorEnv`` at one thread it times the core's plain ``step_batch`` in the same
process on the same actions (``incident_env._native.CoreBatch``: no Python between steps),
alternating one run of each, so both rates meet the same load; the ratio of the two is
the median of the per-run ratios. ``--ratio-only`` prints just those rows.

EnvPool runs in its own interpreter (``--envpool-python``, default
``target/envpool-venv/bin/python``, a venv with ``pip install envpool``); without it
EnvPool's rows say "not installed".
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
from typing import Callable

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
#: Environment counts and thread counts measured.
SIZES = (1, 64, 4096, 65536)
THREADS = (1, 2)
#: Environment steps per timed run (fewer calls for bigger batches).
STEPS_PER_RUN = 2_000_000
#: Most calls per timed run (the 1-environment case).
CALLS_MAX = 200_000
#: Distinct pre-generated action rows (cycled).
ACTION_ROWS = 64


def calls_for(num_envs: int, steps: int = STEPS_PER_RUN) -> int:
    """Return the calls of one timed run of ``num_envs`` environments."""
    return max(10, min(CALLS_MAX, steps // num_envs))


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Run ``work()`` once; return its wall-clock and on-CPU seconds."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall0, time.process_time() - cpu0


def rates(walls: list[float], cpus: list[float], calls: int, steps: int) -> dict:
    """Return the median wall and on-CPU rates of timed runs of ``calls`` calls."""
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {
        "steps_per_sec": steps / wall,
        "cpu_steps_per_sec": steps / cpu if cpu > 0 else None,
        "us_per_call": wall / calls * 1e6,
        "cpu_us_per_call": cpu / calls * 1e6,
    }


def measure(step: Callable[[int], None], calls: int, steps: int, runs: int) -> dict:
    """Time ``step(k)`` for ``k in range(calls)``; return median wall and on-CPU rates."""
    step_all = lambda: [step(k) for k in range(calls)]  # noqa: E731
    step_all()
    walls, cpus = zip(*(timed(step_all) for _ in range(runs)))
    return rates(list(walls), list(cpus), calls, steps)


#: VectorEnv's fast path, timed here: read-only views of its own arrays (no copies) and
#: the core's own autoreset (SAME_STEP). The defaults (copies, NEXT_STEP) add a copy of
#: each returned array per step.
ZERO_COPY = {"copy": False, "autoreset_mode": "SameStep"}


def ours(num_envs: int, threads: int, runs: int) -> dict:
    """Measure incident_env.VectorEnv."""
    import incident_env

    env = incident_env.VectorEnv(num_envs, task="uniform", seed=0, num_threads=threads,
                                 **ZERO_COPY)
    env.reset()
    rng = np.random.default_rng(7)
    actions = rng.integers(0, incident_env.ACTION_COUNT, (ACTION_ROWS, num_envs), np.uint8)
    calls = calls_for(num_envs)
    step = lambda k: env.step(actions[k % ACTION_ROWS])  # noqa: E731
    return measure(step, calls, calls * num_envs, runs)


def side_by_side(num_envs: int, runs: int) -> tuple[dict, dict, float]:
    """Time VectorEnv.step (one thread) and the core's step_batch (CoreBatch) on the same
    environments and actions, alternating runs; return both rows and the median of the
    per-run on-CPU ratios (VectorEnv / core)."""
    import incident_env
    from incident_env import _native

    env = incident_env.VectorEnv(num_envs, task="uniform", seed=0, **ZERO_COPY)
    env.reset()
    core = _native.CoreBatch(num_envs, "uniform", "train", 0)
    rng = np.random.default_rng(7)
    actions = rng.integers(0, incident_env.ACTION_COUNT, (ACTION_ROWS, num_envs), np.uint8)
    calls = calls_for(num_envs)
    ours_all = lambda: [env.step(actions[k % ACTION_ROWS]) for k in range(calls)]  # noqa: E731
    core_all = lambda: core.step_rows(actions, calls)  # noqa: E731
    ours_all(), core_all()
    ours_t, core_t = [], []
    for _ in range(runs):
        ours_t.append(timed(ours_all))
        core_t.append(timed(core_all))
    ratio = statistics.median(c[1] / o[1] for o, c in zip(ours_t, core_t))
    steps = calls * num_envs
    ours_row = rates([t[0] for t in ours_t], [t[1] for t in ours_t], calls, steps)
    core_row = rates([t[0] for t in core_t], [t[1] for t in core_t], calls, steps)
    return ours_row, core_row, ratio


def sync_vector(num_envs: int, runs: int) -> dict:
    """Measure Gymnasium's SyncVectorEnv over incident_env's single environment."""
    import gymnasium as gym
    import incident_env

    env = gym.make_vec(
        incident_env.ENV_ID,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        task="uniform",
    )
    env.reset(seed=0)
    rng = np.random.default_rng(7)
    actions = rng.integers(0, incident_env.ACTION_COUNT, (ACTION_ROWS, num_envs), np.int64)
    calls = calls_for(num_envs, steps=40_000)
    step = lambda k: env.step(actions[k % ACTION_ROWS])  # noqa: E731
    return measure(step, calls, calls * num_envs, runs)


ENVPOOL_SCRIPT = r"""
import json, statistics, sys, time
import numpy as np, envpool
sizes, threads, runs, steps_per_run, calls_max = json.loads(sys.argv[1])
for n in sizes:
    for t in threads:
        env = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=n, batch_size=n,
                           num_threads=t, seed=0)
        env.reset()
        actions = np.random.default_rng(7).integers(0, 2, (64, n), np.int32)
        calls = max(10, min(calls_max, steps_per_run // n))
        def run():
            for k in range(calls):
                env.step(actions[k % 64])
        run()
        walls, cpus = [], []
        for _ in range(runs):
            w, c = time.perf_counter(), time.process_time()
            run()
            walls.append(time.perf_counter() - w); cpus.append(time.process_time() - c)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(json.dumps({"envs": n, "threads": t, "steps_per_sec": calls * n / wall,
                          "cpu_steps_per_sec": calls * n / cpu if cpu > 0 else None,
                          "us_per_call": wall / calls * 1e6, "version": envpool.__version__}))
"""


def envpool_rows(python: pathlib.Path, runs: int) -> dict:
    """Measure EnvPool's CartPole-v1 in ``python``; return ``{(envs, threads): row}``."""
    if not python.exists():
        return {}
    args = json.dumps([SIZES, THREADS, runs, STEPS_PER_RUN // 4, CALLS_MAX // 4])
    done = subprocess.run(
        [str(python), "-W", "ignore", "-c", ENVPOOL_SCRIPT, args],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        print("envpool failed:", done.stderr[-2000:], file=sys.stderr)
        return {}
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {(row["envs"], row["threads"]): row for row in rows}


def rust_rows(rust_json: str | None) -> dict:
    """Return the Rust throughput report's rows by scenario name."""
    if rust_json:
        text = pathlib.Path(rust_json).read_text()
    else:
        command = ["cargo", "run", "--release", "-q", "-p", "incident-bench",
                   "--bin", "throughput", "--", "--json"]
        text = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              check=True).stdout
    rows = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return {row["scenario"]: row for row in rows}


def fmt(rate: float | None) -> str:
    """Format a rate in steps per second."""
    return "-" if rate is None else f"{rate:,.0f}"


def main() -> None:
    """Run every measurement and print the table (``--json`` for JSON lines)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rust-json", help="saved output of the throughput binary's --json")
    parser.add_argument("--envpool-python", default=str(REPO / "target/envpool-venv/bin/python"))
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--ratio-only", action="store_true",
                        help="only VectorEnv beside the in-process core batch, one thread")
    args = parser.parse_args()
    pairs = []
    for n in SIZES:
        ours_row, core_row, ratio = side_by_side(n, args.runs)
        pairs.append({"what": "incident_env.VectorEnv (beside core)", "envs": n, "threads": 1,
                      **ours_row})
        pairs.append({"what": "rust step_batch in-process (CoreBatch)", "envs": n,
                      "threads": 1, "ratio": ratio, **core_row})
    if args.ratio_only:
        emit(pairs, args.json)
        return
    rust = rust_rows(args.rust_json)
    pool = envpool_rows(pathlib.Path(args.envpool_python), args.runs)
    rows = []
    for n in SIZES:
        for t in THREADS:
            row = {"what": "incident_env.VectorEnv", "envs": n, "threads": t}
            row.update(ours(n, t, args.runs))
            rows.append(row)
    for n in SIZES[:3]:
        row = {"what": "gymnasium SyncVectorEnv(IncidentResponse-v0)", "envs": n, "threads": 1}
        row.update(sync_vector(n, args.runs))
        rows.append(row)
    for n in SIZES:
        for t in THREADS:
            row = {"what": "envpool CartPole-v1", "envs": n, "threads": t}
            row.update(pool.get((n, t), {"steps_per_sec": None, "cpu_steps_per_sec": None}))
            rows.append(row)
    for name, n, t in (("single_env", 1, 1), ("batch_4096", 4096, 1),
                       ("batch_4096_threads_2", 4096, 2), ("batch_1m", 1_000_000, 1)):
        r = rust.get(name, {})
        rows.append({"what": f"rust {name}", "envs": n, "threads": t,
                     "steps_per_sec": r.get("steps_per_sec"),
                     "cpu_steps_per_sec": r.get("cpu_steps_per_sec")})
    rows += pairs
    if args.json:
        emit(rows, True)
        return
    print_table(rows, rust, pool)


def emit(rows: list[dict], as_json: bool) -> None:
    """Print the date, the load average and ``rows`` (a Markdown table, or JSON lines), then
    the in-process ratios of the rows that have one."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if as_json:
        print(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          "loadavg": load}))
        for row in rows:
            print(json.dumps(row))
        return
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load}")
    print("| what | envs | threads | steps/s (wall) | steps/s (on-CPU) | µs/call |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        us = row.get("us_per_call")
        print(f"| {row['what']} | {row['envs']:,} | {row['threads']} | "
              f"{fmt(row.get('steps_per_sec'))} | {fmt(row.get('cpu_steps_per_sec'))} | "
              f"{'-' if us is None else f'{us:.2f}'} |")
    print()
    for row in rows:
        if "ratio" in row:
            print(f"{row['envs']} envs, 1 thread, on-CPU, same process: VectorEnv is "
                  f"{row['ratio']:.1%} of the core's step_batch (median of per-run ratios; "
                  "target >= 80% at 4096)")


def print_table(rows: list[dict], rust: dict, pool: dict) -> None:
    """Print the rows and the issue's targets as a Markdown table."""
    emit(rows, False)
    ours_4096 = next(r for r in rows if r["what"].startswith("incident") and
                     r["envs"] == 4096 and r["threads"] == 1)
    one = next(r for r in rows if r["what"].startswith("incident") and r["envs"] == 1
               and r["threads"] == 1)
    base = rust.get("batch_4096", {})
    print()
    for key, label in (("steps_per_sec", "wall"), ("cpu_steps_per_sec", "on-CPU")):
        if base.get(key) and ours_4096.get(key):
            print(f"4096 envs, 1 thread, {label}: {ours_4096[key] / base[key]:.0%} of the "
                  "Rust batch (target >= 80%)")
        if pool.get((4096, 1), {}).get(key) and ours_4096.get(key):
            print(f"4096 envs, 1 thread, {label}: {ours_4096[key] / pool[(4096, 1)][key]:.1f}x "
                  "EnvPool CartPole (target >= 20x)")
    print(f"per-call overhead at 1 env: {one['us_per_call']:.2f} µs wall, "
          f"{one['cpu_us_per_call']:.2f} µs on-CPU per step() call")
    if not pool:
        print("envpool: not installed (no --envpool-python interpreter with envpool)")


if __name__ == "__main__":
    main()
