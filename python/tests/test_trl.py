"""TRL's real ``GRPOTrainer(environment_factory=IncidentToolEnv)`` on CPU, offline.

Each test builds everything locally: a byte-level BPE tokenizer trained on a few strings
(``tokenizers``) with TRL's own Qwen2.5 chat template (so TRL knows how to parse its tool
calls), and a one-layer Llama with random weights built from a config. Nothing comes from
a hub (``HF_HUB_OFFLINE=1``). Each runs one GRPO step (a rollout per slot, rewards, one
optimizer step) over a dataset whose rows carry ``task_id``, ``seed`` and ``split``.

What this proves: TRL creates and pools our environments, calls ``reset(**row)`` with each
row's fields (its briefing is the incident of that row's task, seed and split, held-out
test split included), turns our methods into tools, parses a model's tool call, runs the
method on that rollout's own episode and returns its observation to the model, survives
completions that are not tool calls, and takes the reward from our grade (both through
``get_reward`` and through a reward function reading ``session.grade()``).
What it does not prove: that GRPO learns anything here (one step of a random model), or
that any real model calls the tools well.

The suite needs TRL and PyTorch (~6 GB with PyPI's CUDA packages), which live in their
own venv: ``test.sh`` runs this file in target/trl-venv (``python/venv.sh --trl``) and
sets ``INCIDENT_ENV_TRL=required``; elsewhere, without TRL, it is skipped.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

if os.environ.get("INCIDENT_ENV_TRL") != "required":
    pytest.importorskip("trl", reason="TRL runs in target/trl-venv (python/venv.sh --trl)")
# Before transformers is imported: no hub access at all; TRL's note on experimental APIs off.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRL_EXPERIMENTAL_SILENCE"] = "1"

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402
from trl.chat_template_utils import qwen2_5_chat_template  # noqa: E402

from incident_env.tools import IncidentToolEnv  # noqa: E402

#: The dataset: an original task, a generated tier's train incident and the same tier's
#: held-out test incident of the same seed (its briefing differs: checked below).
ROWS = [
    {"task_id": "easy_task", "seed": 3, "split": "train"},
    {"task_id": "gen_hard", "seed": 5, "split": "train"},
    {"task_id": "gen_hard", "seed": 5, "split": "test"},
]
#: The tool call the fitted model emits: one added token, so a few optimizer steps fit it.
TOOL_CALL = ('<tool_call>\n{"name": "read_logs", "arguments": {"service": "api_gateway"}}'
             "\n</tool_call>")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def briefing(row: dict[str, Any]) -> str:
    """The text ``reset(**row)`` returns, from a fresh environment outside TRL."""
    return IncidentToolEnv().reset(**row)


def build_tokenizer() -> PreTrainedTokenizerFast:
    """Train a small byte-level BPE locally and wrap it with TRL's Qwen2.5 chat template."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    corpus = [briefing(row) for row in ROWS] + [TOOL_CALL, "system user assistant tool"]
    core.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=512, special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        padding_side="left", chat_template=qwen2_5_chat_template)
    tokenizer.add_tokens([TOOL_CALL])
    return tokenizer


def build_model(tokenizer: PreTrainedTokenizerFast) -> torch.nn.Module:
    """A one-layer Llama with random weights (seeded), from a config: no download."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=8192,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return AutoModelForCausalLM.from_config(config)


def fit_tool_call(model: torch.nn.Module, tokenizer: PreTrainedTokenizerFast) -> None:
    """Fit the model to answer every prompt with ``TOOL_CALL`` then end its turn, so the
    rollout's tool path runs deterministically (a random model almost never calls a tool)."""
    call, end = tokenizer.convert_tokens_to_ids([TOOL_CALL, "<|im_end|>"])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    header = tokenizer.encode("<|im_start|>assistant\n")
    for _ in range(60):
        ids = torch.tensor([header + [call, end]])
        loss = model(input_ids=ids, labels=ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


class Recorder:
    """The environments TRL creates (through the factory) and what a reward function saw."""

    def __init__(self) -> None:
        self.created: list[IncidentToolEnv] = []
        self.batches: list[dict[str, Any]] = []

    def factory(self) -> IncidentToolEnv:
        """``environment_factory``: a plain ``IncidentToolEnv``, remembered."""
        env = IncidentToolEnv()
        self.created.append(env)
        return env

    def grade_reward(self, prompts: list, completions: list, environments: list,
                     **columns: Any) -> list[float]:
        """A reward function reading each rollout's grade; keeps its inputs for the asserts."""
        scores = [float(env.session.grade()["score"]) for env in environments]
        self.batches.append({"prompts": prompts, "completions": completions, "columns": columns,
                             "environments": list(environments), "scores": scores,
                             "steps": [env.session.state()["step_count"] for env in environments]})
        return scores


def train_one_step(tokenizer: PreTrainedTokenizerFast, model: torch.nn.Module, tmp_path: Any,
                   max_completion_length: int) -> tuple[Recorder, list[dict[str, float]]]:
    """Run one GRPO step over ``ROWS`` (two rollouts each) and return what was recorded
    (a tool's result counts against ``max_completion_length``: TRL drops what overflows)."""
    recorder = Recorder()
    prompt = [{"role": "user", "content": "Resolve this incident with the tools. "}]
    dataset = Dataset.from_list([{"prompt": prompt, **row} for row in ROWS])
    args = GRPOConfig(
        output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2 * len(ROWS),
        num_generations=2, max_completion_length=max_completion_length,
        max_tool_calling_iterations=1, temperature=0.05, learning_rate=1e-3, use_cpu=True,
        report_to="none", logging_steps=1, save_strategy="no", seed=0)
    trainer = GRPOTrainer(model=model, reward_funcs=recorder.grade_reward, args=args,
                          train_dataset=dataset, processing_class=tokenizer,
                          environment_factory=recorder.factory)
    trainer.train()
    return recorder, trainer.state.log_history


def briefing_grade(row: dict[str, Any]) -> float:
    """The grade of ``row``'s episode right after reset, from a fresh environment."""
    env = IncidentToolEnv()
    env.reset(**row)
    return env.get_reward()


def batch_rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The dataset row of each rollout, from the columns TRL passed the reward function."""
    columns = batch["columns"]
    keys = ("task_id", "seed", "split")
    return [dict(zip(keys, values)) for values in zip(*(columns[key] for key in keys))]


def check_resets_and_rewards(recorder: Recorder, logs: list[dict[str, float]]) -> dict[str, Any]:
    """Assert the reset, pool and reward path of one step; return the step's batch."""
    assert len(recorder.batches) == 1, "one GRPO step scores one batch"
    batch = recorder.batches[0]
    rows = batch_rows(batch)
    assert sorted(map(json.dumps, rows)) == sorted(json.dumps(row) for row in ROWS for _ in (0, 1))
    # One pooled instance per rollout slot, all made by our factory (TRL's probe included).
    assert len(recorder.created) == len(rows)
    assert {id(env) for env in batch["environments"]} == {id(env) for env in recorder.created}
    assert briefing(ROWS[1]) != briefing(ROWS[2]), "the split must change the incident"
    for row, prompt, env in zip(rows, batch["prompts"], batch["environments"]):
        # TRL appends reset's return to the last user message: this row's own incident.
        assert prompt[-1]["content"].endswith(briefing(row))
        state = env.session.state()
        assert (state["task_id"], state["seed"]) == (row["task_id"], row["seed"])
    logged = next(entry for entry in logs if "rewards/IncidentToolEnv/mean" in entry)
    mean = sum(batch["scores"]) / len(batch["scores"])
    assert logged["rewards/IncidentToolEnv/mean"] == pytest.approx(mean, abs=1e-6)
    assert logged["rewards/grade_reward/mean"] == pytest.approx(mean, abs=1e-6)
    assert all(0.0 < score < 1.0 for score in batch["scores"])
    return batch


def test_grpo_step_with_a_random_model(tmp_path):
    # Goal: a random model's completions (not tool calls) leave every episode as reset
    # left it, the step completes, and the reward is each episode's untouched grade.
    tokenizer = build_tokenizer()
    recorder, logs = train_one_step(tokenizer, build_model(tokenizer), tmp_path, 24)
    batch = check_resets_and_rewards(recorder, logs)
    for row, completion, steps, score in zip(batch_rows(batch), batch["completions"],
                                             batch["steps"], batch["scores"]):
        if steps == 0:  # the usual case: no parsable tool call, so no step
            assert not completion[0].get("tool_calls")
            assert score == briefing_grade(row)
    assert any(steps == 0 for steps in batch["steps"]), "a random model called tools every time"


def test_grpo_step_runs_the_models_tool_calls(tmp_path):
    # Goal: a tool call the model emits is parsed by TRL, runs read_logs on that rollout's
    # own episode (one step each), and the observation comes back in the conversation.
    tokenizer = build_tokenizer()
    model = build_model(tokenizer)
    fit_tool_call(model, tokenizer)
    recorder, logs = train_one_step(tokenizer, model, tmp_path, 2048)
    batch = check_resets_and_rewards(recorder, logs)
    assert batch["steps"] == [1] * len(batch["steps"])
    for row, completion, score in zip(batch_rows(batch), batch["completions"], batch["scores"]):
        call, result = completion[0], completion[1]
        assert call["tool_calls"][0]["function"] == {
            "name": "read_logs", "arguments": {"service": "api_gateway"}}
        # The result is this row's own episode's observation, as a fresh one gives it.
        alone = IncidentToolEnv()
        alone.reset(**row)
        assert result == {"role": "tool", "name": "read_logs",
                          "content": alone.read_logs("api_gateway")}
        # The reward is the grade after that step (easy_task's rises from 0.195 to 0.453).
        assert score == alone.get_reward()
    # ... so these rewards are not the reset grades a skipped tool call would leave.
    assert batch["scores"] != [briefing_grade(row) for row in batch_rows(batch)]
    logged = next(entry for entry in logs if "tools/call_frequency" in entry)
    assert logged["tools/call_frequency"] == 1.0 and logged["tools/failure_frequency"] == 0.0
