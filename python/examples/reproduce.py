"""Re-run the documented training command (docs/training.md) and compare its table with
the committed one.

    bash python/examples/reproduce.sh                 # fresh clone: builds the venv, seed 1
    target/py-venv/bin/python python/examples/reproduce.py --seed 2
    target/py-venv/bin/python python/examples/reproduce.py --family graph
    target/py-venv/bin/python python/examples/reproduce.py --table runs/seed1/table.md

Runs ``train_ppo.py`` with the documented arguments (:data:`DOCUMENTED`, ``--seed S --out
OUT``) under ``/usr/bin/time -v`` when it is there, samples the 1-minute load average every
30 s, then compares every row of the run's ``table.md`` with the committed
``results/table.md`` (seed 1) or ``results/table_seed2.md`` (seed 2), or with ``--family
graph`` the graph tiers' run and ``results/graph/table.md``: the trained policy's
mean score per tier and split within ``--tolerance`` (:data:`TOLERANCE`, "within noise"),
the random policy, the rule baseline and the oracle (which do not depend on training) within
:data:`REFERENCE_TOLERANCE`. Prints a pass/fail table, writes it with the run's facts (date,
commit, machine, load, package versions, wall time) to ``--report`` (default
``OUT/reproduction.md``) and exits 1 if any row is outside its tolerance. ``--table`` skips
training and compares a table already written; ``--total-steps`` shortens the run (to test
this script; a shortened run is not expected to pass).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RESULTS = HERE / "results"
# The documented training commands (docs/training.md) per tier family, less --seed and
# --out. The graph family's stops training at --time-limit-s, so that the whole run stays
# within 15 minutes on 2 cores even on a loaded machine (table.md says when it stopped).
DOCUMENTED = {
    "gen": ("--total-steps", "1000000", "--threads", "2", "--eval-every", "125000",
            "--eval-episodes", "500"),
    "graph": ("--tiers", "graph", "--total-steps", "7000000", "--threads", "2",
              "--eval-every", "1000000", "--eval-episodes", "500", "--time-limit-s", "810"),
}
# Mean-score tolerance of the trained policy's rows, "within noise": a run of the same seed
# on this machine reproduces the table exactly, and seeds 1-4 of the documented command
# differ by at most 0.008 per tier on test (docs/training.md); another machine's XLA may
# train like another seed.
TOLERANCE = 0.03
# The reference policies do not depend on training: only rounding may differ.
REFERENCE_TOLERANCE = 0.001
EXPECTED = {("gen", 1): RESULTS / "table.md", ("gen", 2): RESULTS / "table_seed2.md",
            ("graph", 1): RESULTS / "graph" / "table.md"}
LOAD_EVERY_S = 30
ROW = re.compile(r"^\| (gen_\w+) \| (train|test) \| (\w+) \| ([\d.]+) \| ([\d.]+)% \| ([\d.]+) \|")


def parse_table(text: str) -> dict[tuple[str, str, str], tuple[float, float, float]]:
    """Return ``{(tier, split, policy): (mean score, success %, mean steps)}`` of a
    ``table.md`` written by ``train_ppo.py``."""
    rows = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            rows[m[1], m[2], m[3]] = (float(m[4]), float(m[5]), float(m[6]))
    return rows


def compare(expected: dict, got: dict, tolerance: float) -> tuple[list[str], bool]:
    """Return the comparison as Markdown table lines and whether every expected row of
    ``got`` is within its tolerance (a missing row fails)."""
    lines = ["| tier | split | policy | committed | reproduced | difference | tolerance | result |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    ok = True
    for key, (want, *_) in expected.items():
        tol = tolerance if key[2] == "PPO" else REFERENCE_TOLERANCE
        have = got.get(key)
        passed = have is not None and abs(have[0] - want) <= tol + 1e-9
        ok &= passed
        shown = "missing" if have is None else f"{have[0]:.3f}"
        diff = "-" if have is None else f"{have[0] - want:+.3f}"
        lines.append(f"| {' | '.join(key)} | {want:.3f} | {shown} | {diff} | {tol:g} "
                     f"| {'pass' if passed else '**FAIL**'} |")
    return lines, ok and bool(expected)


class LoadSampler(threading.Thread):
    """Samples the 1-minute load average every :data:`LOAD_EVERY_S` seconds until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples = [os.getloadavg()[0]]
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(LOAD_EVERY_S):
            self.samples.append(os.getloadavg()[0])

    def summary(self) -> str:
        s = self.samples
        return (f"1-minute load average {min(s):.1f} to {max(s):.1f} (mean "
                f"{sum(s) / len(s):.1f}, {len(s)} samples every {LOAD_EVERY_S} s)")


def train(family: str, seed: int, out: Path,
          total_steps: str | None) -> tuple[list[str], dict, str]:
    """Run the family's documented command; return it, ``/usr/bin/time -v``'s figures and
    the load."""
    args = list(DOCUMENTED[family])
    if total_steps is not None:
        args[args.index("--total-steps") + 1] = total_steps
    command = [sys.executable, str(HERE / "train_ppo.py"), *args, "--seed", str(seed),
               "--out", str(out)]
    out.mkdir(parents=True, exist_ok=True)
    timer = shutil.which("time", path="/usr/bin")
    time_file = out / "time.txt"
    wrapped = [timer, "-v", "-o", str(time_file), *command] if timer else command
    sampler = LoadSampler()
    sampler.start()
    start = time.perf_counter()
    done = subprocess.run(wrapped, cwd=REPO)
    wall = time.perf_counter() - start
    sampler.stopped.set()
    if done.returncode != 0:
        sys.exit(f"reproduce.py: training failed (exit {done.returncode})")
    figures = {"wall (this script's clock)": f"{wall:.0f} s"}
    if timer:
        labels = ("Elapsed (wall clock) time", "User time (seconds)", "System time (seconds)",
                  "Percent of CPU this job got", "Maximum resident set size (kbytes)")
        for line in time_file.read_text().splitlines():
            label = next((x for x in labels if line.strip().startswith(x)), None)
            if label:
                figures[line.strip().rsplit(": ", 1)[0]] = line.rsplit(": ", 1)[1]
    return command, figures, sampler.summary()


def facts() -> dict[str, str]:
    """The run's machine, commit and package versions."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown (not a git checkout)"

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    dirty = " plus uncommitted changes" if git("status", "--porcelain", "--", ".") else ""
    versions = []
    for name in ("incident-env", "jax", "jaxlib", "optax", "numpy"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("log", "-1", "--format=%h %s") + dirty,
        "checkout": str(REPO),
        "machine": f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
        "packages": f"Python {platform.python_version()}, " + ", ".join(versions),
    }


def main() -> None:
    """Parse the command line, train (unless ``--table``), compare, report, exit."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=sorted(DOCUMENTED), default="gen",
                        help="which documented run (the tiers it trains on)")
    parser.add_argument("--seed", type=int, choices=sorted({s for _, s in EXPECTED}),
                        default=1)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    parser.add_argument("--out", type=Path, help="run folder (default target/reproduce/seedS)")
    parser.add_argument("--report", type=Path, help="default OUT/reproduction.md")
    parser.add_argument("--table", type=Path, help="compare this table.md; do not train")
    parser.add_argument("--total-steps", help="shorten the run (not the documented command)")
    args = parser.parse_args()
    if (args.family, args.seed) not in EXPECTED:
        parser.error(f"no committed table for --family {args.family} --seed {args.seed}")
    run_name = f"seed{args.seed}" if args.family == "gen" else f"{args.family}-seed{args.seed}"
    out = (args.out or REPO / "target" / "reproduce" / run_name).resolve()
    info = facts()
    if args.table is None:
        command, figures, load = train(args.family, args.seed, out, args.total_steps)
        table_path = out / "table.md"
        shown = ["python"] + [os.path.relpath(c, REPO) if c.startswith(str(REPO)) else c
                              for c in command[1:]]
        info["command"] = "`" + " ".join(shown) + "`"
        info["load during the run"] = load
        info.update(figures)
    else:
        table_path = args.table
        info["compared"] = f"{table_path} (no training run)"
    got = parse_table(table_path.read_text())
    summary = table_path.read_text().strip().splitlines()[-1]
    expected_path = EXPECTED[(args.family, args.seed)]
    lines, ok = compare(parse_table(expected_path.read_text()), got, args.tolerance)
    verdict = ("PASS: every row within its tolerance" if ok
               else "FAIL: some rows are outside their tolerance (marked)")
    report = "\n".join(
        [f"# Reproduction of the documented training run ({args.family} tiers), seed "
         f"{args.seed}", ""]
        + [f"- **{k}**: {v}" for k, v in info.items()]
        + [f"- **run's own summary**: {summary}",
           f"- **committed table**: `{expected_path.relative_to(REPO)}`; tolerance on the mean "
           f"score: {args.tolerance:g} for PPO, {REFERENCE_TOLERANCE:g} for random, baseline "
           "and oracle", "", *lines, "", f"**{verdict}**", ""])
    print("\n" + report)
    report_path = args.report or out / "reproduction.md"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report)
    print(f"(written to {report_path})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
