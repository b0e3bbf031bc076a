"""Score a policy saved by ``train_ppo.py`` on generated incidents, without retraining.

    python python/examples/eval_policy.py runs/ppo/model.npz --split test
    python python/examples/eval_policy.py runs/ppo/model.npz --split both --episodes 1000 \
        --references

Plays incidents ``0 .. episodes-1`` of every tier of the split(s) greedily, one episode each
(the evaluation set of ``train_ppo.py``), and prints the table (mean score, success rate,
mean steps, time to mitigation); ``--references`` adds the random policy, the rule
baseline and the oracle on the same incidents.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    """Parse the command line, load the model and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="model.npz written by train_ppo.py")
    parser.add_argument("--split", choices=("train", "test", "both"), default="test")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--references", action="store_true",
                        help="also score the random policy, the rule baseline and the oracle")
    args = parser.parse_args()

    import train_ppo as tp  # pins --threads before it imports jax

    params, config = tp.load_model(args.model)
    evaluator = tp.Evaluator(args.episodes)
    policy = tp.greedy_policy(params, config.service_ids)
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


if __name__ == "__main__":
    main()
