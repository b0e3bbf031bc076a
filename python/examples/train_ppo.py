"""PPO on generated incidents, CleanRL style in one file (JAX + optax on CPU).

Trains one policy on the *train* split of a family of generated tiers (``--tiers gen``, the
default: ``gen_easy`` ... ``gen_expert``; ``--tiers graph``: ``gen_graph_easy`` ...
``gen_graph_expert``; or a comma-separated list of tiers), an equal share of the
environments each, evaluates it greedily on a fixed set of held-out *test* incidents (and
the same number of train incidents) every ``--eval-every`` steps and at the end, and
writes to ``--out``:

- ``curve.csv``: one row per (evaluation, tier, split): env steps, wall time, mean score,
  success rate, mean steps, time to mitigation;
- ``curve.png``: train and test mean score per tier against env steps, with the rule
  baseline and the oracle on the test incidents as horizontal lines;
- ``table.md``: the final table per tier and split (random policy, rule baseline, trained
  policy and the oracle), then per tier the trained policy's test score as a fraction of
  the oracle's and its train-test gap;
- ``model.npz`` + ``model.json``: the trained parameters and the config to rebuild the
  network (``python python/examples/eval_policy.py OUT/model.npz --split test`` scores it).

The evaluation set: for every tier and split, generated incidents ``0 .. eval_episodes-1``
(``Env::with_scenario(Scenario::generated(seed, tier, split), seed, seed)`` in the core,
the numbering of ``cargo run -p incident-core --example tiers``), one episode each. Training
only ever plays the train split (incident seeds drawn by each environment's generator); the
test split is disjoint from it by incident structure (core/src/generate.rs).

Deterministic given ``--seed`` and ``--threads`` (the environment never depends on threads;
XLA's CPU reductions are fixed by the thread count), unless ``--time-limit-s`` stops it.

    python python/examples/train_ppo.py --total-steps 3000000 --out runs/ppo
    python python/examples/train_ppo.py --tiers graph --out runs/graph
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Config:
    """Everything a run depends on (saved beside the model)."""

    total_steps: int = 3_000_000
    # A family ("gen": the four gen_* tiers; "graph": the four gen_graph_* tiers) or a
    # comma-separated list of tier names; the training envs are split evenly between them.
    tiers: str = "gen"
    # Stop training after this many seconds of wall time (0: no limit), a guard for a time
    # budget: a stopped run trains fewer steps than --total-steps (table.md says so) and
    # is no longer a function of the seed alone.
    time_limit_s: float = 0.0
    num_envs: int = 256
    seed: int = 1
    threads: int = 1
    out: str = "runs/ppo"
    num_steps: int = 16
    learning_rate: float = 1e-3
    anneal_lr: bool = True
    gamma: float = 1.0
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    clip_coef: float = 0.2
    # 0.03: with 0.01, 2 of seeds 1-4 settle in a fix-before-reading policy
    # (docs/training.md); with 0.03 all four learn to read first.
    ent_coef: float = 0.03
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: int = 64
    service_ids: bool = False
    pooled_context: bool = False
    eval_every: int = 500_000
    eval_episodes: int = 500
    progress: bool = True


def parse_args(argv: list[str] | None = None) -> Config:
    """Parse the command line into a :class:`Config`."""
    defaults = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    return Config(**vars(parser.parse_args(argv)))


def set_threads(threads: int) -> None:
    """Pin XLA's CPU thread pool (before jax is imported): results depend on it."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    flags = os.environ.get("XLA_FLAGS", "")
    multi = "true" if threads > 1 else "false"
    os.environ["XLA_FLAGS"] = (
        f"{flags} --xla_cpu_multi_thread_eigen={multi} "
        f"intra_op_parallelism_threads={threads}"
    ).strip()


def _pin_threads_from_argv() -> None:
    """Apply ``--threads`` of this command line (this script's or ``eval_policy.py``'s)
    before jax is imported."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=Config.threads)
    set_threads(parser.parse_known_args()[0].threads)


_pin_threads_from_argv()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from gymnasium.vector import AutoresetMode  # noqa: E402

import incident_env as ie  # noqa: E402

FAMILIES = {
    "gen": ("gen_easy", "gen_medium", "gen_hard", "gen_expert"),
    "graph": ("gen_graph_easy", "gen_graph_medium", "gen_graph_hard", "gen_graph_expert"),
}
SPLITS = ("train", "test")


def tier_names(tiers: str) -> tuple[str, ...]:
    """Return the tiers a ``--tiers`` value names (a family or a comma-separated list)."""
    names = FAMILIES.get(tiers) or tuple(t.strip() for t in tiers.split(",") if t.strip())
    unknown = [t for t in names if t not in ie.TASK_CHOICES or not t.startswith("gen_")]
    if unknown or not names:
        raise ValueError(f"--tiers {tiers!r}: unknown tiers {unknown}; expected a family "
                         f"({', '.join(FAMILIES)}) or generated tiers from {ie.TASK_CHOICES}")
    return names


def graph_features(config: Config) -> bool:
    """Whether the encoder adds the graph family's features (ruleset v2's visible graph,
    pending fixes, error budget): only when a graph tier is trained, so a ``gen`` run's
    network and results stay what they were."""
    return any(t.startswith(GRAPH_PREFIX) for t in tier_names(config.tiers))

# ---------------------------------------------------------------------------------------
# The observation (ie.OBS_LAYOUT, the core's core/src/obs.rs) and the action table.
# ---------------------------------------------------------------------------------------
LAYOUT = ie.OBS_LAYOUT
OBS_LAYOUT_VERSION = LAYOUT["version"]
SERVICES = LAYOUT["service_count"]
BLOCK = LAYOUT["service_block"]
SERVICE_FIELD, FIELD, CLASSES = LAYOUT["service_field"], LAYOUT["field"], LAYOUT["classes"]
TIER_BYTE, STEP_BYTE, MAX_STEPS_BYTE = FIELD["TIER"], FIELD["STEP_COUNT"], FIELD["MAX_STEPS"]
FLAGS_BYTE, ERROR_BYTE = FIELD["FLAGS"], FIELD["LAST_ERROR"]
DESTRUCTIVE_BYTE, INVALID_BYTE = FIELD["DESTRUCTIVE"], FIELD["INVALID"]
LOGS_RUN, METRICS_RUN = FIELD["LOGS_RUN"], FIELD["METRICS_RUN"]
RULESET_BYTE, MITIGATED_BYTE = FIELD["RULESET"], FIELD["MITIGATED_AT"]
BUDGET_BYTE = FIELD["BUDGET_BURNED"]  # ruleset v2: error-budget steps burned
RULESET_V2 = LAYOUT["ruleset"]["V2"]
GRAPH_PREFIX = "gen_graph_"
# Ruleset v2's dependency byte (INSPECTED): 0 until shown, then this bit with the shown
# dependency mask in the low bits (bit j = service j).
SHOWN_BIT = LAYOUT["edges_shown"].bit_length() - 1
TIER_CODES = CLASSES["TIER"]  # every task id's code (the graph features one-hot them all)
# A ``gen`` run's network one-hots the codes below the graph family's (the original tasks
# and the gen_* tiers).
GEN_TIER_CODES = LAYOUT["tier_code"][FAMILIES["graph"][0]]
RULESETS = CLASSES["RULESET"]
STEP_SCALE = float(ie.STEP_COUNT_MAX)  # the longest episode, in steps
ERROR_CODES = CLASSES["LAST_ERROR"]  # 0 none, else 1 + the error's index
RUN_CAP = 4  # agreement runs 0, 1, 2, 3, >=4


def bit_count(bits: dict[str, int]) -> int:
    """Return the bits 0 .. n-1 a bit set's byte spans (up to its highest bit)."""
    return max(bits.values()).bit_length()


FLAG_BITS, VERDICT_BITS = bit_count(LAYOUT["flag"]), bit_count(LAYOUT["verdict"])
# (byte in the service block, classes) of the categorical bytes, one-hot encoded: status,
# alert, and logs / metrics / diagnosis (0 none or 1 + mode).
CATEGORICAL = tuple((SERVICE_FIELD[name], CLASSES[name])
                    for name in ("STATUS", "ALERT", "LOGS", "METRICS", "DIAGNOSIS"))
# (byte in the service block, bits) of the bit fields: inspected (0 / 1), verdicts, and
# remediation without ruleset v2's pending-fix bit.
_SETTLED = {k: v for k, v in LAYOUT["remediation"].items() if k != "PENDING"}
BITS = ((SERVICE_FIELD["INSPECTED"], 1), (SERVICE_FIELD["VERDICTS"], VERDICT_BITS),
        (SERVICE_FIELD["REMEDIATION"], bit_count(_SETTLED)))
# With the graph features: verdicts and remediation with its pending-fix bit (INSPECTED,
# the shown dependencies, is read by shown_graph).
GRAPH_BITS = ((SERVICE_FIELD["VERDICTS"], VERDICT_BITS),
              (SERVICE_FIELD["REMEDIATION"], bit_count(LAYOUT["remediation"])))
# The fixed graph (core/src/topology.rs DEPENDS_ON): service i calls the services in row i.
DEPENDS_ON = np.array([[(mask >> j) & 1 for j in range(SERVICES)]
                       for mask in LAYOUT["depends_on"]], np.float32)

SERVICE_NAMES = [ie.ACTIONS[1 + s]["service"] for s in range(SERVICES)]
DIAGNOSES = [a["diagnosis"] for a in ie.ACTIONS if a.get("service") == SERVICE_NAMES[0]
             and "diagnosis" in a]
FIXES = [a["fix"] for a in ie.ACTIONS if a.get("service") == SERVICE_NAMES[0] and "fix" in a]
PER_SERVICE = (
    [{"action_type": t} for t in ("read_logs", "query_metrics", "inspect_dependencies",
                                  "verify_health")]
    + [{"action_type": "diagnose", "diagnosis": d} for d in DIAGNOSES]
    + [{"action_type": "apply_fix", "fix": f} for f in FIXES]
)


def _action_order() -> np.ndarray:
    """Return, for each core action index, its position in the network's logits
    (``[list_services, service 0's PER_SERVICE actions, service 1's, ...]``)."""
    order = np.empty(ie.ACTION_COUNT, np.int32)
    for index, action in enumerate(ie.ACTIONS):
        if action == {"action_type": "list_services"}:
            order[index] = 0
            continue
        s = SERVICE_NAMES.index(action["service"])
        rest = {k: v for k, v in action.items() if k != "service"}
        order[index] = 1 + s * len(PER_SERVICE) + PER_SERVICE.index(rest)
    assert sorted(order) == list(range(ie.ACTION_COUNT)), "unexpected action table"
    return order


ACTION_ORDER = _action_order()


def encode(obs: jnp.ndarray, service_ids: bool,
           graph: bool = False) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Encode uint8 observations ``(B, OBS_LEN)`` as per-service tokens ``(B, SERVICES, F)``
    and global features ``(B, G)``: one-hot categorical bytes, bit fields as bits, counters
    scaled.

    A token is the same function of every service: its own block and agreement runs, and
    the element-wise max over its direct dependencies of their status / logs / metrics
    one-hots *without the "healthy" / "never read" class*, so a service without
    dependencies (the database) looks exactly like one whose dependencies are healthy and
    unread. Nothing in a token names the service (unless ``service_ids``, an ablation).

    With ``graph`` (:func:`graph_features`), the dependencies are the ones the observation
    shows (ruleset v2: only inspected edges; older rulesets: the fixed graph), a token also
    gets the same max over its callers and whether its edges were shown, the remediation
    byte's pending-fix bit, and the globals every tier code, the ruleset and the error
    budget burned.
    """
    x = obs.astype(jnp.int32)
    blocks = x[:, : LAYOUT["global_offset"]].reshape(-1, SERVICES, BLOCK)
    cats = [jax.nn.one_hot(jnp.clip(blocks[..., i], 0, n - 1), n) for i, n in CATEGORICAL]
    bits = [((blocks[..., i : i + 1] >> jnp.arange(n)) & 1).astype(jnp.float32)
            for i, n in (GRAPH_BITS if graph else BITS)]
    runs = [jax.nn.one_hot(jnp.minimum(x[:, start : start + SERVICES], RUN_CAP), RUN_CAP + 1)
            for start in (LOGS_RUN, METRICS_RUN)]
    own = jnp.concatenate(cats + bits + runs, axis=-1)
    seen = jnp.concatenate([c[..., 1:] for c in cats[:1] + cats[2:4]], axis=-1)
    if graph:
        edges, shown = shown_graph(x, blocks)
        deps = jnp.max(seen[:, None, :, :] * edges[..., None], axis=2)
        callers = jnp.max(seen[:, :, None, :] * edges[..., None], axis=1)
        parts = [own, shown[..., None], deps, callers]
    else:
        parts = [own, jnp.max(seen[:, None, :, :] * DEPENDS_ON[None, :, :, None], axis=2)]
    if service_ids:
        parts.append(jnp.broadcast_to(jnp.eye(SERVICES), (x.shape[0], SERVICES, SERVICES)))
    tokens = jnp.concatenate(parts, axis=-1)
    return tokens, global_features(x, graph)


def shown_graph(x, blocks, xp=jnp) -> tuple:
    """Return the dependency edges observations show, ``edges[b, i, j]`` = service ``i``
    calls ``j`` (ruleset v2: the mask in the ``INSPECTED`` byte once shown, else none; older
    rulesets: the fixed graph), and per service whether its edges are known
    ``(B, SERVICES)``. ``x`` is the int32 ``(B, OBS_LEN)`` observations, ``blocks`` their
    ``(B, SERVICES, BLOCK)`` service blocks, ``xp`` the array module (``numpy`` works too)."""
    dep_byte = blocks[..., SERVICE_FIELD["INSPECTED"]]
    v2 = (x[:, RULESET_BYTE] == RULESET_V2)[:, None]
    mask_bits = ((dep_byte[..., None] >> xp.arange(SERVICES)) & 1).astype(np.float32)
    edges = xp.where(v2[..., None], mask_bits, DEPENDS_ON[None])
    shown = xp.where(v2, (dep_byte >> SHOWN_BIT) & 1, 1).astype(np.float32)
    return edges, shown


def global_features(x: jnp.ndarray, graph: bool) -> jnp.ndarray:
    """The global features of observations ``x`` (int32 ``(B, OBS_LEN)``)."""
    flags = (x[:, FLAGS_BYTE : FLAGS_BYTE + 1] >> jnp.arange(FLAG_BITS)) & 1
    codes = TIER_CODES if graph else GEN_TIER_CODES
    parts = [
        jax.nn.one_hot(jnp.clip(x[:, TIER_BYTE], 0, codes - 1), codes),
        x[:, STEP_BYTE : MAX_STEPS_BYTE + 1] / STEP_SCALE,
        flags.astype(jnp.float32),
        jax.nn.one_hot(jnp.clip(x[:, ERROR_BYTE], 0, ERROR_CODES - 1), ERROR_CODES),
        jnp.minimum(x[:, DESTRUCTIVE_BYTE : INVALID_BYTE + 1], 8) / 8.0,
        (x[:, MITIGATED_BYTE : MITIGATED_BYTE + 1] > 0).astype(jnp.float32),
    ]
    if graph:
        parts += [jax.nn.one_hot(jnp.clip(x[:, RULESET_BYTE], 0, RULESETS - 1), RULESETS),
                  x[:, BUDGET_BYTE : BUDGET_BYTE + 1] / STEP_SCALE]
    return jnp.concatenate(parts, axis=-1)


# ---------------------------------------------------------------------------------------
# The network: one encoder shared by the six services and a shared per-service head that
# gives each service its own actions' logits from its token and the global bytes only, so
# "which mode does this evidence show" is learned once for every service and nothing tells
# the head which service it is. (With ``pooled_context``, an ablation, the head also sees
# the mean and max of every service's encoding, so it can learn which service it scores
# from what the others show.) The critic sees the pooled encodings.
# ---------------------------------------------------------------------------------------


def _dense(key: jax.Array, fan_in: int, fan_out: int, scale: float) -> dict:
    """An orthogonally initialised dense layer (CleanRL's layer_init)."""
    w = jax.nn.initializers.orthogonal(scale)(key, (fan_in, fan_out), jnp.float32)
    return {"w": w, "b": jnp.zeros((fan_out,), jnp.float32)}


def init_params(key: jax.Array, hidden: int, service_ids: bool, pooled_context: bool,
                graph: bool = False) -> dict:
    """Return fresh parameters for the given widths."""
    tokens, glob = encode(jnp.zeros((1, ie.OBS_LEN), jnp.uint8), service_ids, graph)
    tok, pooled = tokens.shape[-1], 2 * hidden + glob.shape[-1]
    context = pooled if pooled_context else glob.shape[-1]
    k = jax.random.split(key, 9)
    root2 = float(np.sqrt(2))
    return {
        "enc": _dense(k[0], tok, hidden, root2),
        "ctx": _dense(k[1], context, hidden, root2),
        "svc1": _dense(k[2], 2 * hidden, hidden, root2),
        "svc_out": _dense(k[3], hidden, len(PER_SERVICE), 0.01),
        "glob_out": _dense(k[4], hidden, 1, 0.01),
        "v_enc": _dense(k[5], tok, hidden, root2),
        "v1": _dense(k[6], pooled, hidden, root2),
        "v2": _dense(k[7], hidden, hidden, root2),
        "v_out": _dense(k[8], hidden, 1, 1.0),
    }


def _apply(layer: dict, x: jnp.ndarray) -> jnp.ndarray:
    return x @ layer["w"] + layer["b"]


def _pool(layer: dict, tokens: jnp.ndarray, glob: jnp.ndarray):
    """Encode every token with the shared ``layer``; return the encodings ``(B, 6, H)``
    and their mean and max over the services with the global features ``(B, 2H + G)``."""
    e = jnp.tanh(_apply(layer, tokens))
    return e, jnp.concatenate([e.mean(axis=1), e.max(axis=1), glob], axis=-1)


def forward(params: dict, obs: jnp.ndarray, config: Config):
    """Return (logits in core action order ``(B, ACTION_COUNT)``, values ``(B,)``)."""
    tokens, glob = encode(obs, config.service_ids, graph_features(config))
    e, pooled = _pool(params["enc"], tokens, glob)
    ctx = jnp.tanh(_apply(params["ctx"], pooled if config.pooled_context else glob))
    per = jnp.concatenate([e, jnp.broadcast_to(ctx[:, None, :], e.shape)], axis=-1)
    h = jnp.tanh(_apply(params["svc1"], per))
    svc_logits = _apply(params["svc_out"], h).reshape(h.shape[0], -1)
    ours = jnp.concatenate([_apply(params["glob_out"], ctx), svc_logits], axis=-1)
    logits = ours[:, ACTION_ORDER]
    _, v_pooled = _pool(params["v_enc"], tokens, glob)
    v = jnp.tanh(_apply(params["v2"], jnp.tanh(_apply(params["v1"], v_pooled))))
    return logits, _apply(params["v_out"], v)[:, 0]


# ---------------------------------------------------------------------------------------
# Evaluation on fixed incident sets.
# ---------------------------------------------------------------------------------------


class Evaluator:
    """Plays incidents ``0 .. episodes-1`` of each tier and split, one episode each."""

    def __init__(self, episodes: int, tiers: tuple[str, ...]) -> None:
        self.seeds = np.arange(episodes, dtype=np.uint64)
        self.tiers = tiers
        self.envs = {
            (tier, split): ie.VectorEnv(episodes, task=tier, split=split,
                                        autoreset_mode=AutoresetMode.SAME_STEP)
            for tier in tiers
            for split in SPLITS
        }

    def run(self, tier: str, split: str, policy) -> dict[str, float]:
        """Play the set with ``policy(env, obs) -> actions`` and return its means."""
        r = self.play(tier, split, policy)
        hit = r["mitigated"] > 0
        return {
            "score": float(r["score"].mean()),
            "success": float(r["resolved"].mean()),
            "steps": float(r["steps"].mean()),
            "mitigation": float(r["mitigated"][hit].mean()) if hit.any() else float("nan"),
            "mitigated": float(hit.mean()),
        }

    def play(self, tier: str, split: str, policy) -> dict[str, np.ndarray]:
        """Play the set with ``policy(env, obs) -> actions``; return per incident its score,
        whether it was resolved, its steps and its time to mitigation (0: never)."""
        env = self.envs[(tier, split)]
        obs, _ = env.reset(options={"incident_seeds": self.seeds})
        n = len(self.seeds)
        done = np.zeros(n, bool)
        score, resolved = np.zeros(n), np.zeros(n, bool)
        length, mitigated = np.zeros(n), np.zeros(n)
        while not done.all():
            obs, _, term, trunc, infos = env.step(policy(env, obs))
            new = (term | trunc) & ~done
            if new.any():
                score[new] = infos["score"][new]
                resolved[new] = term[new]
                length[new] = infos["episode_stats"]["l"][new]
                mitigated[new] = infos["final_obs"][new, MITIGATED_BYTE]
            done |= new
        return {"score": score, "resolved": resolved, "steps": length, "mitigated": mitigated}


def greedy_policy(params: dict, config: Config):
    """Return a policy that plays the network's most likely action."""
    act = jax.jit(lambda p, o: jnp.argmax(forward(p, o, config)[0], axis=-1))
    return lambda env, obs: np.asarray(act(params, obs), dtype=np.uint8)


def reference_policies(seed: int) -> dict:
    """The random, rule-baseline and oracle policies of the final table."""
    rng = np.random.default_rng(seed)
    return {
        "random": lambda env, obs: rng.integers(0, ie.ACTION_COUNT, len(obs), dtype=np.int64),
        "baseline": lambda env, obs: env.policy_actions("baseline"),
        "oracle": lambda env, obs: env.policy_actions("oracle"),
    }


def table(rows: dict) -> str:
    """Render ``{(tier, split, policy): stats}`` as a Markdown table."""
    out = [
        "| tier | split | policy | mean score | success | mean steps | time to mitigation |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for (tier, split, policy), r in rows.items():
        ttm = "-" if np.isnan(r["mitigation"]) else f"{r['mitigation']:.1f}"
        out.append(
            f"| {tier} | {split} | {policy} | {r['score']:.3f} | {100 * r['success']:.1f}% "
            f"| {r['steps']:.1f} | {ttm} ({100 * r['mitigated']:.0f}% mitigated) |"
        )
    return "\n".join(out)


# ---------------------------------------------------------------------------------------
# Saving and loading.
# ---------------------------------------------------------------------------------------


def save_model(path: Path, params: dict, config: Config, extra: dict) -> None:
    """Write ``path`` (npz of the parameters) and ``path.with_suffix('.json')``."""
    flat = {f"{layer}.{name}": np.asarray(v) for layer, d in params.items()
            for name, v in d.items()}
    np.savez(path, **flat)
    meta = {"config": asdict(config), "obs_layout_version": OBS_LAYOUT_VERSION, **extra}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def load_model(path: Path) -> tuple[dict, Config]:
    """Return the parameters and config saved by :func:`save_model`."""
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["obs_layout_version"] == OBS_LAYOUT_VERSION, "observation layout changed"
    params: dict = {}
    with np.load(path) as data:
        for key in data.files:
            layer, name = key.split(".")
            params.setdefault(layer, {})[name] = jnp.asarray(data[key])
    return params, Config(**meta["config"])


# ---------------------------------------------------------------------------------------
# Plot and CSV.
# ---------------------------------------------------------------------------------------


def write_curve(out: Path, curve: list[dict], references: dict,
                tiers: tuple[str, ...]) -> None:
    """Write ``curve.csv`` and ``curve.png`` (train and test mean score per tier)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(out / "curve.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(curve[0]))
        writer.writeheader()
        writer.writerows(curve)
    fig, axes = plt.subplots(1, len(tiers), figsize=(4 * len(tiers), 3.4), sharey=True,
                             squeeze=False)
    axes = axes[0]
    for ax, tier in zip(axes, tiers):
        for split, style in (("train", "--"), ("test", "-")):
            pts = [(r["env_steps"], r["score"]) for r in curve
                   if r["tier"] == tier and r["split"] == split]
            ax.plot(*zip(*pts), style, marker="o", ms=3, label=f"PPO {split}")
        for policy, color in (("baseline", "tab:red"), ("oracle", "tab:green")):
            ref = references.get((tier, "test", policy))
            if ref is not None:
                ax.axhline(ref["score"], color=color, lw=1, ls=":", label=f"{policy} (test)")
        ax.set_title(tier)
        ax.set_xlabel("env steps")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean score (greedy)")
    axes[-1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# PPO.
# ---------------------------------------------------------------------------------------


def make_update(config: Config, optimizer):
    """Return the jitted PPO minibatch update."""

    def loss_fn(params, obs, actions, old_logp, advantages, returns):
        logits, values = forward(params, obs, config)
        logp_all = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(logp_all, actions[:, None], axis=-1)[:, 0]
        ratio = jnp.exp(logp - old_logp)
        adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        pg = jnp.maximum(-adv * ratio,
                         -adv * jnp.clip(ratio, 1 - config.clip_coef, 1 + config.clip_coef))
        entropy = -(jnp.exp(logp_all) * logp_all).sum(-1)
        v_loss = 0.5 * ((values - returns) ** 2).mean()
        loss = pg.mean() - config.ent_coef * entropy.mean() + config.vf_coef * v_loss
        return loss, (pg.mean(), v_loss, entropy.mean())

    @jax.jit
    def update(params, opt_state, batch):
        grads, aux = jax.grad(loss_fn, has_aux=True)(params, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, aux

    return update


def make_act(config: Config):
    """Return the jitted sampling step: (params, obs, key) -> (actions, logp, values)."""

    @jax.jit
    def act(params, obs, key):
        logits, values = forward(params, obs, config)
        actions = jax.random.categorical(key, logits)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), actions[:, None], -1)[:, 0]
        return actions.astype(jnp.uint8), logp, values

    return act


@jax.jit
def gae(rewards, values, dones, last_value, gamma, lam):
    """Generalised advantage estimates over a ``(T, N)`` rollout; ``dones[t]`` marks that
    step ``t`` ended its episode (the next observation is a new episode's)."""

    def back(carry, xs):
        next_value, next_adv = carry
        r, v, d = xs
        keep = 1.0 - d
        delta = r + gamma * next_value * keep - v
        adv = delta + gamma * lam * keep * next_adv
        return (v, adv), adv

    _, adv = jax.lax.scan(back, (last_value, jnp.zeros_like(last_value)),
                          (rewards, values, dones), reverse=True)
    return adv, adv + values


class Trainer:
    """The training loop's state: envs, buffers, parameters, timers."""

    def __init__(self, config: Config) -> None:
        self.tiers = tier_names(config.tiers)
        count = len(self.tiers)
        assert config.num_envs % count == 0, f"--num-envs must be a multiple of {count}"
        self.c = config
        per_tier = config.num_envs // count
        self.envs = [ie.VectorEnv(per_tier, task=tier, split="train",
                                  seed=config.seed * count + k,
                                  autoreset_mode=AutoresetMode.SAME_STEP)
                     for k, tier in enumerate(self.tiers)]
        self.obs = np.concatenate([env.reset()[0] for env in self.envs])
        key = jax.random.PRNGKey(config.seed)
        self.key, init_key = jax.random.split(key)
        self.params = init_params(init_key, config.hidden, config.service_ids,
                                  config.pooled_context, graph_features(config))
        self.batch = config.num_envs * config.num_steps
        self.updates = max(1, config.total_steps // self.batch)
        schedule = (optax.linear_schedule(config.learning_rate, 0.0, self.updates
                                          * config.update_epochs * config.num_minibatches)
                    if config.anneal_lr else config.learning_rate)
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                                     optax.adam(schedule, eps=1e-5))
        self.opt_state = self.optimizer.init(self.params)
        self.act = make_act(config)
        self.update = make_update(config, self.optimizer)
        self.env_time = 0.0
        self.recent: dict[str, list] = {tier: [] for tier in self.tiers}

    def step_envs(self, actions: np.ndarray):
        """Step each tier's envs with its slice of ``actions``; return concatenated
        (obs, rewards, dones) and record ended episodes' scores."""
        start = time.perf_counter()
        per = self.c.num_envs // len(self.tiers)
        obs, rew, done = [], [], []
        for k, env in enumerate(self.envs):
            o, r, term, trunc, infos = env.step(actions[k * per : (k + 1) * per])
            obs.append(o)
            rew.append(r)
            done.append(term | trunc)
            if infos:
                scores = infos["score"][infos["_score"]]
                recent = self.recent[self.tiers[k]]
                recent.extend(scores.tolist())
                del recent[: max(0, len(recent) - 1000)]
        out = np.concatenate(obs), np.concatenate(rew), np.concatenate(done)
        self.env_time += time.perf_counter() - start
        return out

    def rollout(self):
        """Collect ``num_steps`` steps of every env."""
        t, n = self.c.num_steps, self.c.num_envs
        obs_buf = np.empty((t, n, ie.OBS_LEN), np.uint8)
        act_buf, logp_buf = np.empty((t, n), np.uint8), np.empty((t, n), np.float32)
        val_buf, rew_buf = np.empty((t, n), np.float32), np.empty((t, n), np.float32)
        done_buf = np.empty((t, n), np.float32)
        for i in range(t):
            obs_buf[i] = self.obs
            self.key, sub = jax.random.split(self.key)
            actions, logp, values = self.act(self.params, self.obs, sub)
            actions = np.asarray(actions)
            act_buf[i], logp_buf[i], val_buf[i] = actions, logp, values
            self.obs, rew_buf[i], done_buf[i] = self.step_envs(actions)
        _, _, last_value = self.act(self.params, self.obs, self.key)
        adv, ret = gae(rew_buf, val_buf, done_buf, last_value, self.c.gamma,
                       self.c.gae_lambda)
        flat = lambda a: np.asarray(a).reshape(t * n, *a.shape[2:])  # noqa: E731
        return [flat(obs_buf), flat(act_buf).astype(np.int32), flat(logp_buf),
                flat(adv), flat(ret)]

    def learn(self, data) -> tuple:
        """Run the PPO epochs over one rollout."""
        self.key, sub = jax.random.split(self.key)
        rng = np.random.default_rng(np.asarray(jax.random.bits(sub, (2,))))
        size = self.batch // self.c.num_minibatches
        aux = (0.0, 0.0, 0.0)
        for _ in range(self.c.update_epochs):
            perm = rng.permutation(self.batch)
            for m in range(self.c.num_minibatches):
                idx = perm[m * size : (m + 1) * size]
                batch = [d[idx] for d in data]
                self.params, self.opt_state, aux = self.update(self.params, self.opt_state,
                                                               batch)
        return aux

    def mean_recent(self) -> float:
        """Mean score of the last training episodes over the tiers."""
        means = [np.mean(v) for v in self.recent.values() if v]
        return float(np.mean(means)) if means else float("nan")


class Run:
    """One training run's evaluator, learning curve and clocks."""

    def __init__(self, config: Config) -> None:
        self.c = config
        self.trainer = Trainer(config)
        self.tiers = self.trainer.tiers
        self.evaluator = Evaluator(config.eval_episodes, self.tiers)
        self.curve: list[dict] = []
        self.start = time.perf_counter()
        self.eval_time = 0.0

    def evaluate(self, steps: int) -> dict:
        """Score the greedy policy on every tier and split; add the rows to the curve."""
        t0 = time.perf_counter()
        policy = greedy_policy(self.trainer.params, self.c)
        rows = {}
        for tier in self.tiers:
            for split in SPLITS:
                r = self.evaluator.run(tier, split, policy)
                rows[(tier, split)] = r
                self.curve.append({"env_steps": steps,
                                   "wall_s": round(time.perf_counter() - self.start, 2),
                                   "tier": tier, "split": split,
                                   **{k: round(v, 4) for k, v in r.items()}})
        self.eval_time += time.perf_counter() - t0
        return rows

    def elapsed(self) -> float:
        """Wall time spent training so far (evaluations excluded)."""
        return time.perf_counter() - self.start - self.eval_time

    def learn(self) -> int:
        """Run the PPO updates (until ``--time-limit-s`` if set); return the env steps."""
        from tqdm import tqdm

        trainer, config = self.trainer, self.c
        bar = tqdm(total=trainer.updates * trainer.batch, unit="step", unit_scale=True,
                   disable=not config.progress, mininterval=1.0, file=sys.stdout)
        next_eval, next_log, steps = config.eval_every, time.perf_counter() + 30, 0
        for update in range(trainer.updates):
            if config.time_limit_s and self.elapsed() >= config.time_limit_s:
                break
            _, _, entropy = trainer.learn(trainer.rollout())
            steps += trainer.batch
            bar.update(trainer.batch)
            bar.set_postfix(score=f"{trainer.mean_recent():.3f}", ent=f"{float(entropy):.2f}",
                            refresh=False)
            if not config.progress and time.perf_counter() > next_log:
                next_log += 30
                print(f"step {steps}: train score "
                      + " ".join(f"{t}={np.mean(v):.3f}" for t, v in trainer.recent.items())
                      + f" entropy {float(entropy):.2f}", flush=True)
            if steps >= next_eval and update + 1 < trainer.updates:
                rows = self.evaluate(steps)
                test = np.mean([rows[(t, "test")]["score"] for t in self.tiers])
                bar.write(f"step {steps}: greedy test score {test:.3f} " + " ".join(
                    f"{t}={rows[(t, 'test')]['score']:.3f}" for t in self.tiers))
                next_eval += config.eval_every
        bar.close()
        return steps

    def final_rows(self, final: dict) -> dict:
        """The final table's rows: random, baseline, the trained policy and the oracle."""
        refs = reference_policies(self.c.seed)
        rows = {}
        for tier in self.tiers:
            for split in SPLITS:
                for name in ("random", "baseline"):
                    rows[(tier, split, name)] = self.evaluator.run(tier, split, refs[name])
                rows[(tier, split, "PPO")] = final[(tier, split)]
                rows[(tier, split, "oracle")] = self.evaluator.run(tier, split, refs["oracle"])
        return rows


def ladder(rows: dict, tiers: tuple[str, ...]) -> str:
    """Render the per-tier summary of the final rows as Markdown: on the test incidents the
    oracle, the trained policy and its fraction of the oracle, the rule baseline and random;
    the trained policy on train and its train-test gap (train minus test)."""
    out = ["| tier | oracle (test) | PPO (test) | PPO / oracle | rule baseline (test) "
           "| random (test) | PPO (train) | train-test gap |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for tier in tiers:
        score = {(split, policy): rows[(tier, split, policy)]["score"] for split in SPLITS
                 for policy in ("random", "baseline", "PPO", "oracle")}
        oracle, ppo = score[("test", "oracle")], score[("test", "PPO")]
        fraction = f"{ppo / oracle:.2f}" if oracle > 0 else "-"
        out.append(f"| {tier} | {oracle:.3f} | {ppo:.3f} | {fraction} "
                   f"| {score[('test', 'baseline')]:.3f} | {score[('test', 'random')]:.3f} "
                   f"| {score[('train', 'PPO')]:.3f} | {score[('train', 'PPO')] - ppo:+.3f} |")
    return "\n".join(out)


def train(config: Config) -> dict:
    """Train, evaluate, write every output; return the final evaluation rows."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    run = Run(config)
    run.evaluate(0)
    steps = run.learn()
    train_wall = run.elapsed()
    final = run.evaluate(steps)
    total_wall = time.perf_counter() - run.start
    rows = run.final_rows(final)
    write_curve(out, run.curve, {k: v for k, v in rows.items() if k[2] != "PPO"}, run.tiers)
    trainer = run.trainer
    timing = {
        "env_steps": steps,
        "train_wall_s": round(train_wall, 1),
        "eval_wall_s": round(run.eval_time, 1),
        "total_wall_s": round(total_wall, 1),
        "steps_per_s": round(steps / train_wall, 1),
        "env_time_s": round(trainer.env_time, 2),
        "env_share": round(trainer.env_time / train_wall, 4),
    }
    save_model(out / "model.npz", trainer.params, config, {"timing": timing})
    planned = trainer.updates * trainer.batch
    stopped = (f" (stopped by --time-limit-s {config.time_limit_s:g} at {steps:,} of "
               f"{planned:,} planned)" if steps < planned else "")
    summary = (
        f"{table(rows)}\n\n{ladder(rows, run.tiers)}\n\nenv steps {steps:,}{stopped}; "
        f"training {train_wall:.0f} s ({timing['steps_per_s']:,.0f} env steps/s including "
        f"the network), evaluation {run.eval_time:.0f} s, total {total_wall:.0f} s; time "
        f"inside env.step {trainer.env_time:.1f} s = {100 * timing['env_share']:.1f}% of "
        "training\n"
    )
    (out / "table.md").write_text(summary)
    print(summary)
    return rows


if __name__ == "__main__":
    train(parse_args())
