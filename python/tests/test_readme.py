"""The README's Python training loop runs as written."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

import incident_env

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def readme_python_blocks() -> list[str]:
    """Return the README's ```python blocks that use incident_env."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [block for block in blocks if "incident_env" in block]


def test_readme_training_loop_runs_as_written():
    # Goal: the snippet a newcomer copies runs unchanged and reports episode scores.
    blocks = readme_python_blocks()
    assert len(blocks) == 1, "exactly one incident_env snippet in README.md"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "README.md", "exec"), {"__name__": "__readme__"})
    lines = out.getvalue().splitlines()
    assert lines and all("mean score" in line for line in lines)
    scores = [float(line.rsplit(" ", 1)[1]) for line in lines]
    floor, ceiling = incident_env._native.SCORE_FLOOR, incident_env._native.SCORE_CEILING
    assert all(floor <= score <= ceiling for score in scores)
