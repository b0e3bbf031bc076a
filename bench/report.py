"""Run every benchmark of the repository and write docs/benchmarks.md.

Run through ``bash bench/report.sh [--quick] [--out PATH]``, which builds what this needs
first. Each section runs one existing tool and turns its output into a table:

- ``throughput --json``: in-process steps per second, wall clock and on-CPU; its rows (and
  so the tiers measured) come from the binary, nothing is listed here;
- ``bench/examples/profile.rs`` under callgrind: instructions and simulated branch
  mispredictions per step, for the original tasks and every tier the throughput binary
  measured (its ``single_env_<tier>`` rows);
- ``bench/ws/instructions.sh``: user-space instructions per WebSocket message, our server and
  a server that does no work;
- ``bench/api/cpu_per_request.sh``: the server's CPU time per HTTP and WebSocket request;
- ``bench/ws/burst.sh``: server memory per held WebSocket session (full mode);
- ``python/bench/bench.py``: ``VectorEnv`` from Python beside the core's batch step;
- ``cargo bench -p incident-bench`` (criterion, full mode): wall-clock medians.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Iterable

REPO = pathlib.Path(__file__).resolve().parents[1]
PROFILE_WIDTH = 4096  # environments of the profile example's batch (its WIDTH)
VENV_PYTHON = REPO / "target/py-venv/bin/python"


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: int = 900) -> str:
    """Run ``cmd`` from the repository root; return its stdout (stderr passes through)."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, check=True)
    return done.stdout


def json_lines(text: str) -> list[dict]:
    """Return the JSON objects of the lines of ``text`` that are one."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def target_dir() -> pathlib.Path:
    """Return cargo's target directory for this workspace."""
    meta = json.loads(run(["cargo", "metadata", "--format-version", "1", "--no-deps"]))
    return pathlib.Path(meta["target_directory"])


def first_line(cmd: list[str]) -> str:
    """Return the first line of ``cmd``'s output, or ``"?"``."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def machine() -> list[tuple[str, str]]:
    """Return the machine's description as (what, value) rows."""
    cpu = next((line.split(":", 1)[1].strip() for line in first_lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    mem = next((line.split()[1] for line in first_lines("/proc/meminfo")
                if line.startswith("MemTotal")), "0")
    commit = first_line(["git", "-C", str(REPO), "log", "-1", "--format=%h (%cd)",
                         "--date=format:%Y-%m-%d %H:%M"])
    dirty = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", "HEAD"]).returncode
    return [
        ("commit", commit + (" with uncommitted changes" if dirty else "")),
        ("CPU", f"{cpu}, {os.cpu_count()} logical CPUs"),
        ("memory", f"{int(mem) / 2**20:.1f} GiB"),
        ("kernel", platform.release()),
        ("toolchain", first_line(["rustc", "-V"])),
        ("valgrind", first_line(["valgrind", "--version"])),
        ("Python", first_line([str(VENV_PYTHON), "-V"])),
    ]


def first_lines(path: str) -> list[str]:
    """Return the lines of a small text file, or none."""
    try:
        return pathlib.Path(path).read_text().splitlines()[:64]
    except OSError:
        return []


def load() -> str:
    """Return the 1, 5 and 15-minute load averages."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def mega(rate: float | None) -> str:
    """Format a rate in millions (``-`` for none)."""
    return "-" if rate is None else f"{rate / 1e6:.2f} M"


def table(header: Iterable[str], rows: Iterable[Iterable[object]], right_from: int = 1) -> str:
    """Return a Markdown table; columns from ``right_from`` on are right-aligned."""
    header = list(header)
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def throughput_section(target: pathlib.Path, out: pathlib.Path) -> tuple[str, list[dict]]:
    """Run the throughput binary; return its section and its rows."""
    text = run([str(target / "release/throughput"), "--json"])
    out.write_text(text)
    rows = json_lines(text)
    steps = [r for r in rows if "steps_per_sec" in r]
    size = next((r["bytes"] for r in rows if r["scenario"] == "env_bytes"), None)
    body = table(
        ["scenario", "envs", "threads", "on-CPU steps/s", "wall-clock steps/s", "ns per step"],
        [(f"`{r['scenario']}`", f"{r['envs']:,}", r["threads"], mega(r["cpu_steps_per_sec"]),
          mega(r["steps_per_sec"]),
          f"{1e9 / (r['cpu_steps_per_sec'] or r['steps_per_sec']):.1f}") for r in steps],
        right_from=1)
    return "\n\n".join([
        "## In-process throughput",
        "`cargo run --release -p incident-bench --bin throughput -- --json`: random valid "
        "actions from a pre-generated tape, auto-reset with a uniformly drawn task (the "
        "`_gen_*` rows: incidents of that tier, train split), median of 5 timed runs after a "
        "warm-up. `reset_*` rows count resets per second (generation included for a tier). "
        "Read the on-CPU column (steps per second the measuring thread ran, from "
        "`/proc/thread-self/schedstat`): other work on the machine does not distort it; the "
        "two-thread row has only a wall-clock rate. ns per step is on-CPU where there is "
        "one.",
        body,
        f"One `Env` is **{size} bytes** (`env_bytes`)." if size else ""]), rows


def tiers_of(rows: list[dict]) -> list[str]:
    """Return the scenario suffixes of the throughput binary's ``single_env_<tier>`` rows."""
    return [r["scenario"][len("single_env_"):] for r in rows
            if r["scenario"].startswith("single_env_")]


def tier_name(profile: pathlib.Path, suffix: str) -> str | None:
    """Return the wire name the profile example accepts for a throughput row's suffix: the
    suffix itself (``gen_hard``) or with the generated prefix (``graph_easy`` is
    ``gen_graph_easy``); ``None`` when it takes neither (it exits 2 on an unknown tier)."""
    for name in (suffix, f"gen_{suffix}"):
        if subprocess.run([str(profile), "0", name], capture_output=True).returncode == 0:
            return name
    return None


def callgrind_counts(profile: pathlib.Path, args: list[str]) -> list[int]:
    """Run the profile example under callgrind; return Ir, Bc, Bcm, Bi, Bim."""
    with tempfile.TemporaryDirectory() as work:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--branch-sim=yes",
             f"--callgrind-out-file={work}/out", str(profile), *args],
            capture_output=True, text=True, timeout=900, check=True)
    found = re.search(r"Collected : ([\d ]+)", done.stderr)
    if not found:
        raise RuntimeError(f"no callgrind totals in: {done.stderr[-500:]}")
    return [int(x) for x in found[1].split()]


def per_step(profile: pathlib.Path, tier: str | None, single: bool, steps: int) -> tuple:
    """Return (instructions, mispredictions) per step: an N-step run minus a 0-step run."""
    extra = ([tier] if tier else []) + (["--single"] if single else [])
    full = callgrind_counts(profile, [str(steps), *extra])
    empty = callgrind_counts(profile, ["0", *extra])
    count = PROFILE_WIDTH * steps
    ir = (full[0] - empty[0]) / count
    missed = (full[2] + full[4] - empty[2] - empty[4]) / count
    return ir, missed


def callgrind_section(target: pathlib.Path, tiers: list[str], steps: int) -> str:
    """Instructions and mispredictions per step for the original tasks and every tier."""
    profile = target / "profiling/examples/profile"
    rows = []
    named = [tier_name(profile, suffix) for suffix in tiers]
    for tier in [None, *(name for name in named if name)]:
        single = per_step(profile, tier, True, steps)
        batch = per_step(profile, tier, False, steps)
        name = f"`{tier}` (train)" if tier else "original tasks (uniform)"
        rows.append((name, f"{single[0]:.1f}", f"{single[1]:.2f}", f"{batch[0]:.1f}",
                     f"{batch[1]:.2f}"))
    return "\n\n".join([
        "## Instructions per step (callgrind)",
        "`cargo build --profile profiling -p incident-bench --example profile`, then "
        f"`valgrind --tool=callgrind --branch-sim=yes target/profiling/examples/profile {steps} "
        "[TIER] [--single]`: the same action tape as the throughput report, one environment "
        f"for {PROFILE_WIDTH:,} × {steps} steps (`--single`, the `single_env` path) or a "
        f"{PROFILE_WIDTH:,}-environment `step_batch` for {steps} steps. Each figure is the "
        "run's count minus a 0-step run's (start-up and the batch's first resets cancel), over "
        "the steps. Mispredictions are callgrind's simulated conditional and indirect branch "
        "misses. These counts do not depend on the machine's load; the tiers are those the "
        "throughput binary measured.",
        table(["workload", "one env: instructions", "one env: mispredictions",
               "batch 4096: instructions", "batch 4096: mispredictions"], rows),
        "".join(f"Not profiled (no tier of that name): `single_env_{suffix}`. "
                for suffix, name in zip(tiers, named) if not name)])


def ws_instructions_section(target: pathlib.Path) -> str:
    """User-space instructions per WebSocket message: our server and the no-work floor."""
    rows = []
    for label, arg in (("`incident-env serve`", str(target / "release/incident-env")),
                       ("`ws_floor` (answers from pre-rendered frames, no work)", "floor")):
        text = run(["bash", "bench/ws/instructions.sh", arg], env={"PORT": "18191"})
        found = re.search(r"instructions_per_message=(\d+)", text)
        rows.append((label, f"{int(found[1]):,}" if found else "failed"))
    return "\n\n".join([
        "## WebSocket: instructions per message (callgrind)",
        "`bash bench/ws/instructions.sh target/release/incident-env` and `bash "
        "bench/ws/instructions.sh floor`: the server under callgrind, driven by `ws_load "
        "--sessions 64` for 2 s and for 8 s; the difference of the two instruction totals over "
        "the difference of the messages served (steps and resets). User space only: the "
        "kernel's loopback TCP work is not counted.",
        table(["server", "user-space instructions per message"], rows)])


def cpu_per_request_section(target: pathlib.Path, runs: int, secs: int) -> str:
    """The server's CPU time per HTTP and WebSocket request (median over rounds)."""
    if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode:
        return "## Server CPU per request\n\nSkipped: `wrk` is not installed."
    text = run(["bash", "bench/api/cpu_per_request.sh", str(target / "release/incident-env")],
               env={"RUNS": str(runs), "DURATION": str(secs), "PORT": "18192"})
    http = re.findall(r"http_step req/s=(\d+) server_cpu_us_per_req=([\d.]+)", text)
    ws = re.findall(r"ws_step steps/s=(\d+) server_cpu_us_per_step=([\d.]+)", text)
    rows = [(name, f"{statistics.median(float(c) for _, c in got):.2f}",
             f"{statistics.median(int(r) for r, _ in got):,}")
            for name, got in (("HTTP `POST /step` (wrk, 64 connections)", http),
                              ("WebSocket step (`ws_load`, 64 sessions)", ws)) if got]
    return "\n\n".join([
        "## Server CPU per request",
        f"`RUNS={runs} DURATION={secs} bash bench/api/cpu_per_request.sh`: the release server on "
        "loopback, `POST /step` with a `/reset` every 16 requests (`bench/http/step.lua`), then "
        "WebSocket steps; the server's user + system CPU time (`/proc/PID/stat`) over the "
        f"requests served, median of {runs} round(s). The load generator shares the machine, so "
        "requests per second are wall-clock figures of this machine, not the server's ceiling.",
        table(["load", "server CPU µs per request", "requests per second"], rows)])


def burst_section() -> str:
    """Server memory per held WebSocket session, all 16,384 at once."""
    text = run(["bash", "bench/ws/burst.sh"], env={"PORT": "18193"}, timeout=300)
    found = re.search(r"(\d+) sessions: (\d+) connected in ([\d.]+) s.*?per held session: "
                      r"([\d.]+) KiB", text)
    if not found:
        return f"## WebSocket sessions held at once\n\nNo result: `{text.strip()[:200]}`"
    return "\n\n".join([
        "## WebSocket sessions held at once",
        "`bash bench/ws/burst.sh`: 16,384 sessions connect at once, all are held, each resets "
        "and steps; the server's resident-set growth over the sessions held.",
        table(["sessions", "connected", "connect time", "server RSS per held session"],
              [(f"{int(found[1]):,}", f"{int(found[2]):,}", f"{found[3]} s",
                f"{found[4]} KiB")])])


def python_section(rust_json: pathlib.Path, runs: int, quick: bool) -> str:
    """VectorEnv from Python, beside the core's batch step in the same process."""
    cmd = [str(VENV_PYTHON), "python/bench/bench.py", "--json", "--runs", str(runs)]
    cmd += ["--ratio-only"] if quick else ["--rust-json", str(rust_json)]
    rows = [r for r in json_lines(run(cmd, timeout=1800)) if "what" in r]
    # "rust <scenario>" rows repeat the throughput section; CoreBatch rows are this bench's.
    shown = [r for r in rows if r.get("steps_per_sec")
             and (not r["what"].startswith("rust ") or "CoreBatch" in r["what"])]
    body = table(
        ["what", "envs", "threads", "on-CPU steps/s", "wall-clock steps/s", "µs per call"],
        [(r["what"], f"{r['envs']:,}", r["threads"], mega(r.get("cpu_steps_per_sec")),
          mega(r["steps_per_sec"]), f"{r['us_per_call']:.2f}" if "us_per_call" in r else "-")
         for r in shown], right_from=1)
    ratios = [f"- {r['envs']:,} env(s): VectorEnv's on-CPU rate is **{r['ratio']:.0%}** of the "
              "core's batch step" for r in rows if "ratio" in r]
    flag = "--ratio-only " if quick else ""
    return "\n\n".join([
        "## Python: `incident_env.VectorEnv`",
        f"`target/py-venv/bin/python python/bench/bench.py {flag}--runs {runs}` (the venv "
        "from `python/venv.sh`): random actions from a pre-generated array, auto-reset, median "
        "of the runs after a warm-up; on-CPU = steps per second of the process's CPU time. "
        "\"beside core\" rows alternate runs of `VectorEnv.step` (one thread, zero-copy views, "
        "`SAME_STEP`) and the core's own `step_batch` in the same process on the same actions "
        "(`_native.CoreBatch`); the ratio is the median of the per-run on-CPU ratios."
        + ("" if quick else " EnvPool rows appear only when `target/envpool-venv` has "
           "envpool installed."),
        body, "\n".join(ratios)])


def criterion_section(target: pathlib.Path) -> str:
    """Criterion's wall-clock medians, after a short run of every bench."""
    started = time.time()
    run(["cargo", "bench", "-q", "-p", "incident-bench", "--bench", "env", "--bench", "host",
         "--", "--warm-up-time", "1", "--measurement-time", "2", "--noplot"], timeout=1800)
    found = []
    for meta in (target / "criterion").glob("**/new/benchmark.json"):
        if meta.stat().st_mtime < started:
            continue  # a bench of an earlier run that this one no longer has
        bench = json.loads(meta.read_text())
        median = json.loads((meta.parent / "estimates.json").read_text())["median"]
        elements = (bench.get("throughput") or {}).get("Elements") or 1
        found.append((bench["group_id"], elements, bench["full_id"], median["point_estimate"]))
    rows = [(f"`{name}`", f"{ns:,.1f}", f"{ns / n:.2f}" if n > 1 else "-")
            for _, n, name, ns in sorted(found)]
    return "\n\n".join([
        "## Criterion benches",
        "`cargo bench -p incident-bench --bench env --bench host -- --warm-up-time 1 "
        "--measurement-time 2`: wall-clock medians (`target/criterion/*/new/estimates.json`), "
        "so on a shared machine they move with its load; `step_batch/N` steps N environments "
        "per iteration.",
        table(["bench", "median ns per iteration", "ns per environment (batches)"], rows)])


OTHER_TOOLS = """## Other tools (not run by this report)

- `bash bench/http/run.sh`: `POST /step` with wrk at 1 and 64 connections, requests per
  second and p50/p99 latency (wall clock: meaningful on a quiet machine only).
- `bash bench/ws/floor.sh`: server CPU per WebSocket message at 64 and 1,024 sessions, ours
  interleaved with the no-work `ws_floor` server, on-CPU time rather than instructions.
- `cargo run --release -p incident-bench --example predictability`: how the step's branches
  behave under different action mixes.
- `cargo run --release -p incident-python --example lanes_speed`: the Python binding's batch
  loop beside the core's `step_batch` without Python (also under callgrind).
- `target/profiling/examples/profile` under `valgrind --tool=callgrind` then
  `callgrind_annotate`: where a step's instructions go, function by function.

The original Python environment's code is not in this workspace, so there is no
side-by-side figure against it."""


def header(args: argparse.Namespace, started: str, load_start: str, load_end: str) -> str:
    """The page's title, command, machine and date (once for every table)."""
    mode = "`bash bench/report.sh --quick`" if args.quick else "`bash bench/report.sh`"
    rows = [("date", f"{started} – {time.strftime('%H:%M UTC', time.gmtime())}"),
            *machine(), ("load average (1 / 5 / 15 min)", f"{load_start} at the start, "
                         f"{load_end} at the end")]
    return "\n\n".join([
        "# Benchmarks",
        f"Generated by {mode} (`--quick`: fewer runs, shorter loads, no criterion or burst "
        "sections); do not edit by hand, re-run it. Every table below was measured in this "
        "one run, on this machine:",
        table(["", ""], [(f"**{k}**", v) for k, v in rows], right_from=2),
        "Two kinds of figure: **instruction counts** (callgrind) do not depend on what else "
        "runs on the machine, and are the ones to compare across commits; **on-CPU medians** "
        "count only the time the measuring thread or process actually ran, so preemption "
        "does not lower them, but they still move with what shares the core's caches and "
        "clock. Wall-clock rates are given beside them and mean something only when the "
        "load average is below the core count."])


def main() -> None:
    """Run every section and write the page."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, no criterion/burst")
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks.md"))
    args = parser.parse_args()
    started, load_start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load()
    target = target_dir()
    with tempfile.TemporaryDirectory() as work:
        rust_json = pathlib.Path(work) / "throughput.json"
        text, rows = throughput_section(target, rust_json)
        sections = [text, callgrind_section(target, tiers_of(rows), 50 if args.quick else 200),
                    python_section(rust_json, 3 if args.quick else 5, args.quick),
                    ws_instructions_section(target),
                    cpu_per_request_section(target, 1 if args.quick else 3,
                                            5 if args.quick else 10)]
        if not args.quick:
            sections += [burst_section(), criterion_section(target)]
    page = "\n\n".join([header(args, started, load_start, load()), *sections, OTHER_TOOLS])
    pathlib.Path(args.out).write_text(page.rstrip() + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
