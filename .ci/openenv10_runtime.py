#!/usr/bin/env python3
"""Run openenv 0.10's RUNTIME graders against an already-running server, without Docker.

`openenv validate --level runtime` normally builds a Docker image and starts it through
its Docker provider. This driver runs the validator's own `run_validation` and passes it
a small validation provider instead. The provider's `build` builds nothing (it returns a
fixed image digest), and its `start` returns the server that is already listening on
loopback. The rest is openenv's own code, unchanged: the manifest parser, the runtime
plan loader, the raw-WebSocket collector (GET /schema, then reset/state/step/state
frames on one /ws session) and the graders.

It needs openenv==0.10.x in the interpreter that runs it:

    python openenv10_runtime.py http://127.0.0.1:8000 [--manifest openenv.yaml]

The staging directory holds a copy of openenv.yaml with a `validation.execution` block
added, plus the probe plan at validation/runtime.json (reset easy_task, then the
optimal four actions). The driver exits 0 only if runtime.startup,
runtime.reward_well_formed, runtime.observation_schema and runtime.state_contract
all PASS.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

try:
    from openenv.validation.runner import run_validation
    from openenv.validation.types import CheckStatus, Level, ProviderCapability
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"FATAL: openenv 0.10's validation package is not importable: {exc!r}")

REQUIRED = (
    "runtime.startup",
    "runtime.reward_well_formed",
    "runtime.observation_schema",
    "runtime.state_contract",
)

# reset easy_task, then the optimal episode for it (the crash of api_gateway).
PLAN = {
    "plan_schema_version": "1",
    "reset": {
        "episode_id": "openenv10-runtime-1",
        "seed": 42,
        "options": {"task_id": "easy_task"},
    },
    "actions": [
        {"action_type": "read_logs", "service": "api_gateway"},
        {
            "action_type": "diagnose",
            "service": "api_gateway",
            "diagnosis": "service_crash",
        },
        {"action_type": "apply_fix", "service": "api_gateway", "fix": "restart_service"},
        {"action_type": "verify_health", "service": "api_gateway"},
    ],
}


class _RunningServer:
    """The RunningSubject protocol over a server that this driver did not start."""

    def __init__(self, base_url):
        self.base_url = base_url

    def inspect(self):
        return {"kind": "preexisting-loopback-server", "base_url": self.base_url}

    def logs(self, max_bytes=65536):
        return ""

    def exec(self, argv, timeout_s):
        raise NotImplementedError("no exec into a loopback server")

    def stop(self):
        pass  # the CI script owns the server's lifetime


class LoopbackProvider:
    """A validation provider whose 'sandbox' is the already-running server."""

    name = "loopback"
    # IMAGE_BUILD is what the runner requires before it attempts a runtime run; the
    # build is a no-op. No NETWORK_POLICY or EXEC: graders needing them SKIP.
    capabilities = frozenset({ProviderCapability.IMAGE_BUILD})
    supported_network_modes = frozenset({"public"})

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.started = 0

    def build(self, root, execution):
        return "sha256:" + "0" * 64

    def start(self, spec):
        self.started += 1
        return _RunningServer(self.base_url)


def stage(manifest_path: Path, directory: Path) -> None:
    doc = yaml.safe_load(manifest_path.read_text())
    doc.setdefault("validation", {})["execution"] = {
        "kind": "openenv_ws",
        "probe_path": "validation/runtime.json",
        "dockerfile": "Dockerfile",
        "context": ".",
    }
    (directory / "openenv.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    (directory / "validation").mkdir()
    (directory / "validation" / "runtime.json").write_text(json.dumps(PLAN, indent=2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base_url", help="server base URL, e.g. http://127.0.0.1:8000")
    ap.add_argument("--manifest", default="openenv.yaml", type=Path)
    ap.add_argument("--artifacts", type=Path, default=None,
                    help="also write openenv's reproduction bundle (raw trace) here")
    args = ap.parse_args()

    provider = LoopbackProvider(args.base_url)
    with tempfile.TemporaryDirectory(prefix="openenv10-runtime-") as tmp:
        root = Path(tmp) / "package"
        root.mkdir()
        stage(args.manifest, root)
        bundle = args.artifacts or Path(tmp) / "artifacts"
        report = run_validation(
            root,
            max_level=Level.RUNTIME,
            provider=provider,
            artifacts_dir=bundle,
        )
        trace = json.loads((bundle / "collector-trace.json").read_text())

    by_id = {r.check_id: r for r in report.results}
    print(f"[openenv {_version()} runtime graders, loopback provider, {args.base_url}]")
    for r in report.results:
        if r.check_id in REQUIRED or r.check_id == "static.manifest" or r.status in (
            CheckStatus.FAIL,
            CheckStatus.ERROR,
        ):
            print(f"  {r.status.value.upper():5} {r.check_id}: {'; '.join(r.evidence)[:300]}")
    skipped = sum(1 for r in report.results if r.status is CheckStatus.SKIP)
    print(f"  ({skipped} other checks SKIP: not implemented in this build or need "
          "Docker/exec/network isolation)")
    problems = [
        cid for cid in ("static.manifest", *REQUIRED)
        if cid not in by_id or by_id[cid].status is not CheckStatus.PASS
    ]
    # The plan must really play the episode out: every planned step taken, the
    # last one ending it (otherwise the graders would judge a truncated episode).
    steps = [row["response_json"]["data"] for row in trace if row["operation"] == "step"]
    print(f"  episode: {len(steps)} steps, rewards {[s.get('reward') for s in steps]}, "
          f"done={bool(steps) and steps[-1].get('done')}")
    if len(steps) != len(PLAN["actions"]) or not steps[-1].get("done"):
        problems.append("the probe plan did not run to done")
    if provider.started != 1:
        problems.append(f"provider started {provider.started} times, expected 1")
    if problems:
        print(f"OPENENV10 RUNTIME FAILED: {', '.join(problems)}")
        return 1
    print(f"OPENENV10 RUNTIME PASSED (overall verdict {report.verdict.value}: "
          "the unimplemented/skipped checks keep it from PASS)")
    return 0


def _version() -> str:
    from importlib.metadata import version

    try:
        return version("openenv")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
