"""Score a policy saved by ``train_ppo.py`` on generated incidents, without retraining.

    python python/examples/eval_policy.py runs/ppo/model.npz --split test
    python python/examples/eval_policy.py runs/ppo/model.npz --split both --episodes 1000 \
        --references --by-root

Plays incidents ``0 .. episodes-1`` of every tier of the split(s) greedily, one episode each
(the evaluation set of ``train_ppo.py``), and prints the table (mean score, success rate,
mean steps, time to mitigation); ``--references`` adds the random policy, the rule
baseline and the oracle on the same incidents; ``--by-root`` adds the policy's mean score
and success rate per root ``(service, mode)`` pair over the incidents that have it (the
roots are the ones the oracle diagnoses).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def root_pairs(tp, evaluator, tier: str, split: str) -> list[set]:
    """Return the root ``(service, mode)`` pairs of each incident of the set: the
    diagnoses the oracle makes in its episode."""
    steps = []

    def oracle(env, obs):
        steps.append(env.policy_actions("oracle"))
        return steps[-1]

    lengths = evaluator.play(tier, split, oracle)["steps"]
    pairs: list[set] = [set() for _ in lengths]
    for t, actions in enumerate(steps):
        for i in (t < lengths).nonzero()[0]:
            action = tp.ie.ACTIONS[actions[i]]
            if action["action_type"] == "diagnose":
                pairs[i].add((action["service"], action["diagnosis"]))
    return pairs


def by_root(tp, evaluator, policy, splits) -> str:
    """Render the policy's mean score and success per root pair and split as Markdown."""
    stats: dict = defaultdict(list)
    for tier in tp.TIERS:
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
    args = parser.parse_args()

    import train_ppo as tp  # pins --threads before it imports jax

    params, config = tp.load_model(args.model)
    evaluator = tp.Evaluator(args.episodes)
    policy = tp.greedy_policy(params, config)
    references = tp.reference_policies(config.seed) if args.references else {}
    splits = tp.SPLITS if args.split == "both" else (args.split,)
    rows = {}
    for tier in tp.TIERS:
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


if __name__ == "__main__":
    main()
