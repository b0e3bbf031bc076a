"""Score a policy saved by ``train_ppo.py`` on generated incidents, without retraining.

    python python/examples/eval_policy.py runs/ppo/model.npz --split test
    python python/examples/eval_policy.py runs/ppo/model.npz --split both --episodes 1000 \
        --references --by-root --behaviour

Plays incidents ``0 .. episodes-1`` of every tier the model was trained on (its
``--tiers``), of the split(s), greedily, one episode each
(the evaluation set of ``train_ppo.py``), and prints the table (mean score, success rate,
mean steps, time to mitigation); ``--references`` adds the random policy, the rule
baseline and the oracle on the same incidents; ``--by-root`` adds the policy's mean score
and success rate per root ``(service, mode)`` pair over the incidents that have it (the
roots are the ones the oracle diagnoses); ``--behaviour`` adds what the policy does first
(its first three actions per tier, by action type and by which service it picks: the
deepest affected one, another affected one or a healthy one, and how often that is a root)
and how it goes wrong (wrong diagnoses by true and guessed mode, fixes the oracle does not
make, how many of those are on a service that is not a root, and what it does next after a
wrong diagnosis).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def root_pairs(tp, evaluator, tier: str, split: str, kind: str = "diagnose") -> list[set]:
    """Return the root ``(service, mode)`` pairs of each incident of the set: the
    diagnoses the oracle makes in its episode (with ``kind="apply_fix"``: the
    ``(service, fix)`` pairs of the oracle's fixes)."""
    steps = []

    def oracle(env, obs):
        steps.append(env.policy_actions("oracle"))
        return steps[-1]

    lengths = evaluator.play(tier, split, oracle)["steps"]
    field = {"diagnose": "diagnosis", "apply_fix": "fix"}[kind]
    pairs: list[set] = [set() for _ in lengths]
    for t, actions in enumerate(steps):
        for i in (t < lengths).nonzero()[0]:
            action = tp.ie.ACTIONS[actions[i]]
            if action["action_type"] == kind:
                pairs[i].add((action["service"], action[field]))
    return pairs


def record(tp, evaluator, tier: str, split: str, policy) -> dict:
    """Play the set with ``policy``; return per incident its actions and the observations
    they were chosen on (``(T, N)`` and ``(T, N, OBS_LEN)``), its score, length, its root
    pairs and the oracle's fixes."""
    seen: list = []

    def recording(env, obs):
        actions = policy(env, obs)
        seen.append((obs.copy(), np.asarray(actions).copy()))
        return actions

    played = evaluator.play(tier, split, recording)
    return {"obs": np.stack([o for o, _ in seen]), "actions": np.stack([a for _, a in seen]),
            "score": played["score"], "steps": played["steps"].astype(int),
            "roots": root_pairs(tp, evaluator, tier, split),
            "fixes": root_pairs(tp, evaluator, tier, split, "apply_fix")}


def _below(tp, obs: np.ndarray) -> np.ndarray:
    """``below[i, j]``: service ``j`` is a direct or indirect dependency of service ``i`` in
    the graph the observation shows (ruleset v2: the inspected edges only)."""
    x = obs[None].astype(np.int32)
    blocks = x[:, : tp.SERVICES * tp.BLOCK].reshape(1, tp.SERVICES, tp.BLOCK)
    reach = tp.shown_graph(x, blocks, np)[0][0].astype(bool)
    for _ in range(tp.SERVICES):
        reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
    return reach


def where(tp, obs: np.ndarray, service: int) -> str:
    """Say which service of the observation ``service`` is, from what the agent sees: the
    deepest affected one (status not healthy, no affected service below it in the graph
    shown), another affected one, or a healthy one."""
    below = _below(tp, obs)
    affected = obs[tp.SERVICE_FIELD["STATUS"] : tp.SERVICES * tp.BLOCK : tp.BLOCK] != 0
    if not affected[service]:
        return "a healthy service"
    if not (affected & below[service]).any():
        return "the deepest affected service"
    return "an affected service above another"


def describe(tp, action_index: int, obs: np.ndarray) -> tuple[str, str]:
    """Return ``(what, service name or "")`` of an action, ``what`` naming its type (for a
    diagnosis, whether the service's logs or metrics had shown a mode) and, for a service
    action, :func:`where` its service is."""
    action = tp.ie.ACTIONS[action_index]
    if "service" not in action:
        return action["action_type"], ""
    s = tp.SERVICE_NAMES.index(action["service"])
    kind = action["action_type"]
    if kind == "diagnose":
        block = obs[s * tp.BLOCK : (s + 1) * tp.BLOCK]
        read = block[tp.SERVICE_FIELD["LOGS"]] or block[tp.SERVICE_FIELD["METRICS"]]
        kind += " (after its logs/metrics)" if read else " (unread)"
    return f"{kind} on {where(tp, obs, s)}", action["service"]


def _next(tp, r: dict, t: int, i: int, service: str) -> str:
    """Name incident ``i``'s action ``t`` (the one after a wrong diagnosis of ``service``)."""
    action = tp.ie.ACTIONS[r["actions"][t, i]]
    if action.get("service") != service:
        return f"{action['action_type']} elsewhere"
    if action["action_type"] == "apply_fix":
        right = (service, action["fix"]) in r["fixes"][i]
        return "the right fix" if right else "a wrong fix"
    return {"diagnose": "diagnose again"}.get(action["action_type"], action["action_type"])


def behaviour(tp, evaluator, policy, splits, first: int = 3) -> str:
    """Render, per tier and split, the policy's first ``first`` actions (the three most
    common kinds with their shares, and how often the service acted on is a root) and its
    mistakes (wrong diagnoses and the action after one, fixes the oracle does not make) as
    Markdown."""
    steps = ["| tier | split | step | most common actions (share of incidents) "
             "| acts on a root |", "|---|---|---:|---|---:|"]
    wrong = ["| tier | split | mean score | extra steps over the oracle | incidents with a "
             "wrong diagnosis | most common wrong diagnoses (true mode -> diagnosed) "
             "| incidents with a wrong fix (of which on a non-root) "
             "| next action after a wrong diagnosis |", "|---|---|---:|---:|---:|---|---:|---|"]
    for tier in evaluator.tiers:
        for split in splits:
            r = record(tp, evaluator, tier, split, policy)
            oracle = evaluator.play(tier, split, lambda env, obs: env.policy_actions("oracle"))
            n = len(r["score"])
            for t in range(first):
                kinds: Counter = Counter()
                on_root = acted = 0
                for i in (t < r["steps"]).nonzero()[0]:
                    what, service = describe(tp, r["actions"][t, i], r["obs"][t, i])
                    kinds[what] += 1
                    if service:
                        acted += 1
                        on_root += service in {svc for svc, _ in r["roots"][i]}
                top = ", ".join(f"{k} {100 * c / n:.0f}%" for k, c in kinds.most_common(3))
                share = f"{100 * on_root / acted:.0f}%" if acted else "-"
                steps.append(f"| {tier} | {split} | {t + 1} | {top} | {share} |")
            confusions: Counter = Counter()
            after: Counter = Counter()
            diag_wrong = fix_wrong = fix_off_root = 0
            for i in range(n):
                roots = dict(r["roots"][i])
                bad_diag = bad_fix = off_root = False
                for t in range(r["steps"][i]):
                    action = tp.ie.ACTIONS[r["actions"][t, i]]
                    service = action.get("service")
                    if action["action_type"] == "diagnose" and \
                            roots.get(service) != action["diagnosis"]:
                        bad_diag = True
                        truth = roots.get(service, "not a root")
                        confusions[f"{truth} -> {action['diagnosis']}"] += 1
                        if t + 1 < r["steps"][i]:
                            after[_next(tp, r, t + 1, i, service)] += 1
                    if action["action_type"] == "apply_fix" and \
                            (service, action["fix"]) not in r["fixes"][i]:
                        bad_fix = True
                        off_root |= service not in roots
                diag_wrong += bad_diag
                fix_wrong += bad_fix
                fix_off_root += off_root
            extra = r["steps"].mean() - oracle["steps"].mean()
            top = "; ".join(f"{k} ({c})" for k, c in confusions.most_common(3)) or "-"
            total = sum(after.values())
            then = ", ".join(f"{k} {100 * c / total:.0f}%" for k, c in after.most_common(3))
            wrong.append(f"| {tier} | {split} | {r['score'].mean():.3f} | {extra:+.1f} "
                         f"| {100 * diag_wrong / n:.1f}% | {top} | {100 * fix_wrong / n:.1f}% "
                         f"({100 * fix_off_root / n:.1f}%) | {then or '-'} |")
    return "\n".join(steps) + "\n\n" + "\n".join(wrong)


def by_root(tp, evaluator, policy, splits) -> str:
    """Render the policy's mean score and success per root pair and split as Markdown."""
    stats: dict = defaultdict(list)
    for tier in evaluator.tiers:
        for split in splits:
            played = evaluator.play(tier, split, policy)
            for i, pairs in enumerate(root_pairs(tp, evaluator, tier, split)):
                for pair in pairs:
                    stats[(split, pair)].append((played["score"][i], played["resolved"][i]))
    out = ["| split | root service | root mode | incidents | mean score | success |",
           "|---|---|---|---:|---:|---:|"]
    for (split, (service, mode)), rows in sorted(stats.items()):
        score = sum(r[0] for r in rows) / len(rows)
        success = sum(r[1] for r in rows) / len(rows)
        out.append(f"| {split} | {service} | {mode} | {len(rows)} | {score:.3f} "
                   f"| {100 * success:.1f}% |")
    return "\n".join(out)


def main() -> None:
    """Parse the command line, load the model and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="model.npz written by train_ppo.py")
    parser.add_argument("--split", choices=("train", "test", "both"), default="test")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--references", action="store_true",
                        help="also score the random policy, the rule baseline and the oracle")
    parser.add_argument("--by-root", action="store_true",
                        help="also print the policy's score per root (service, mode) pair")
    parser.add_argument("--behaviour", action="store_true",
                        help="also print the policy's first actions and its mistakes per tier")
    args = parser.parse_args()

    import train_ppo as tp  # pins --threads before it imports jax

    params, config = tp.load_model(args.model)
    evaluator = tp.Evaluator(args.episodes, tp.tier_names(config.tiers))
    policy = tp.greedy_policy(params, config)
    references = tp.reference_policies(config.seed) if args.references else {}
    splits = tp.SPLITS if args.split == "both" else (args.split,)
    rows = {}
    for tier in evaluator.tiers:
        for split in splits:
            for name in ("random", "baseline"):
                if name in references:
                    rows[(tier, split, name)] = evaluator.run(tier, split, references[name])
            rows[(tier, split, "PPO")] = evaluator.run(tier, split, policy)
            if "oracle" in references:
                rows[(tier, split, "oracle")] = evaluator.run(tier, split,
                                                              references["oracle"])
    print(tp.table(rows))
    if args.by_root:
        print()
        print(by_root(tp, evaluator, policy, splits))
    if args.behaviour:
        print()
        print(behaviour(tp, evaluator, policy, splits))


if __name__ == "__main__":
    main()
