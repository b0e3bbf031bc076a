"""Checks one `incident-env run --policy llm` against a real model (.ci/llm-probe.sh).

Usage: llm_probe_check.py WORKDIR MODEL TASKS, where WORKDIR holds the run's stdout.txt,
stderr.txt and summary.json and llama_cpp.server's server.log.

- stdout is exactly the original's line format, one [START] .. [END] block per task in
  order, each [END] agreeing with its [STEP] lines and with summary.json;
- the stderr's closing `[llm] the model chose X of Y steps` counts every printed step;
- the model really answered: the server logged a 200 for every reply the runner used or
  refused as unusable (at least one per task), and the baseline chose the rest.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

START = re.compile(r"\[START\] task=(\S+) env=devops_incident_env model=(\S+)")
STEP = re.compile(
    r"\[STEP\] step=(\d+) action=([a-z_]+)\(([a-z_]*)\) reward=(-?\d+\.\d{3}) "
    r"done=(true|false) error=(.+)"
)
END = re.compile(r"\[END\] success=(true|false) steps=(\d+) score=(-?\d+\.\d{3}) rewards=(\S*)")
CHOSE = re.compile(r"\[llm\] the model chose (\d+) of (\d+) steps; the baseline chose (\d+)")
#: A reply the runner received and could not use (the model answered, 200).
UNUSABLE = re.compile(r"\[llm\] \S+ step \d+: unusable reply")
SERVED = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" 200')


def blocks(stdout: str, model: str) -> list[dict[str, object]]:
    """Parse stdout into one dict per task; raise AssertionError on any other line."""
    found: list[dict[str, object]] = []
    current: dict[str, object] | None = None
    for line in stdout.splitlines():
        if match := START.fullmatch(line):
            assert current is None, f"[START] inside a task: {line}"
            assert match[2] == model, line
            current = {"task": match[1], "steps": []}
        elif match := STEP.fullmatch(line):
            assert current is not None, f"[STEP] outside a task: {line}"
            steps = current["steps"]
            assert isinstance(steps, list)
            assert int(match[1]) == len(steps) + 1, line
            assert not any(s[4] == "true" for s in steps), f"a step after done: {line}"
            steps.append(match.groups())
        elif match := END.fullmatch(line):
            assert current is not None, f"[END] outside a task: {line}"
            steps = current["steps"]
            assert isinstance(steps, list)
            assert int(match[2]) == len(steps) > 0, line
            assert match[4] == ",".join(s[3] for s in steps), line
            score = float(match[3])
            assert (match[1] == "true") == (score >= 0.5), line
            current["score"] = score
            found.append(current)
            current = None
        else:
            raise AssertionError(f"not one of the original's lines: {line!r}")
    assert current is None, "the last task has no [END]"
    return found


def main() -> None:
    """Run every check; print a summary line, or fail with the first broken one."""
    workdir, model, tasks = Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
    stdout = (workdir / "stdout.txt").read_text()
    stderr = (workdir / "stderr.txt").read_text()
    summary = json.loads((workdir / "summary.json").read_text())
    served = len(SERVED.findall((workdir / "server.log").read_text()))
    found = blocks(stdout, model)
    assert [b["task"] for b in found] == tasks, [b["task"] for b in found]
    scores = [round(t["score"], 3) for t in summary["tasks"]]
    assert scores == [b["score"] for b in found], (scores, found)
    chose = CHOSE.findall(stderr)
    assert len(chose) == 1, "no closing [llm] line on stderr"
    model_steps, total, fallback = map(int, chose[0])
    printed = sum(len(b["steps"]) for b in found)  # type: ignore[arg-type]
    assert total == printed == model_steps + fallback, (chose, printed)
    unusable = len(UNUSABLE.findall(stderr))
    assert served >= model_steps + unusable >= len(tasks), (served, model_steps, unusable)
    assert fallback > 0 or unusable == 0
    shown = ", ".join(f"{b['task']}={b['score']:.3f}" for b in found)
    print(
        f"llm-probe: PASS: {len(found)} tasks, {printed} steps in the original's format; "
        f"the model answered {served} requests: {model_steps} steps it chose were played, "
        f"{unusable} replies were unusable; the baseline chose {fallback} steps; "
        f"scores {shown}"
    )


if __name__ == "__main__":
    main()
