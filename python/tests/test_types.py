"""The package's type information holds: the extension's stubs match the extension, and
the Python modules type-check against them."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from mypy import api as mypy

#: mypy's cache, under the repository's (gitignored) target/.
CACHE = pathlib.Path(__file__).resolve().parents[2] / "target" / "mypy-cache"


def test_stubs_match_the_extension():
    # Goal: _native.pyi declares exactly the extension's names and signatures (mypy's
    # stubtest compares it with the imported module; PEP 800 disjoint-base marks aside).
    CACHE.mkdir(parents=True, exist_ok=True)  # stubtest keeps its cache in its cwd
    run = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--ignore-disjoint-bases", "incident_env._native"],
        capture_output=True, text=True, cwd=CACHE,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_package_type_checks():
    # Goal: the installed package's modules (their hints against the stubs, numpy's and
    # gymnasium's) have no mypy error.
    out, err, status = mypy.run(["-p", "incident_env", "--cache-dir", str(CACHE)])
    assert status == 0, out + err
