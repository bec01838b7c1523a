"""The ms-swift plugin of ``aurelia train``: GRPO rewards, rollouts without media tokens, progress.

ms-swift imports this file by its path (``--external_plugins``) in every training process, before it
builds the trainer; a plugin registers itself on import, which is ms-swift's plugin contract. Nothing
in aurelia imports it. What a run asks of it (the rewards' settings, the token ids to suppress) is in
the JSON file that the environment variable ``AURELIA_TRAIN_PLUGIN`` names, written by
``aurelia_local.app.train``.

- Rewards, registered in ms-swift's ``orms`` under the names of ``train.grpo.rewards``:
  ``aurelia_format``, ``aurelia_accuracy`` (reads the ``solution`` and ``choices`` columns of
  ``grpo.jsonl``) and ``aurelia_length``, each one of ``aurelia_local.core.rewards`` on one completion.
- ``aurelia_no_media_tokens``: completions sampled through transformers never hold a media
  placeholder. A completion is encoded again with the prompt for the loss, and a stray ``<|VIDEO|>``
  would then count as a second video (a random-weight model samples them; a trained one should not).
- ``aurelia_progress``: one line per logged step on the user's terminal.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any

from swift.callbacks import TrainerCallback, callbacks_map
from swift.rewards import ORM, orms

from aurelia_local.app.logs import user_stderr
from aurelia_local.app.train import PLUGIN_ENV
from aurelia_local.core.rewards import RewardConfig, accuracy_reward, format_reward, length_reward

_LOG = logging.getLogger("aurelia_local.train")


def _plugin_settings() -> dict[str, Any]:
    path = os.environ.get(PLUGIN_ENV)
    if not path:
        raise RuntimeError(f"{PLUGIN_ENV} is not set: this plugin runs under `aurelia train`, which sets it")
    return _read(path)


@functools.cache
def _read(path: str) -> dict[str, Any]:  # one file per run (a process may run several)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _reward_config() -> RewardConfig:
    return RewardConfig.model_validate(_plugin_settings()["reward"])


class FormatReward(ORM):
    """``<think>...</think><answer>...</answer>`` and nothing else."""

    def __call__(self, completions: list[str], **kwargs: Any) -> list[float]:
        """One reward per completion."""
        config = _reward_config()
        return [format_reward(c, config) for c in completions]


class AccuracyReward(ORM):
    """The answer block names the gold option (the ``solution`` column) among ``choices``."""

    def __call__(
        self, completions: list[str], solution: list[str], choices: list[list[str]], **kwargs: Any
    ) -> list[float]:
        """One reward per completion, against its prompt's gold letter and options."""
        config = _reward_config()
        rows = zip(completions, solution, choices, strict=True)
        return [accuracy_reward(c, gold, options, config) for c, gold, options in rows]


class LengthReward(ORM):
    """The Gaussian bonus on the reasoning's word count."""

    def __call__(self, completions: list[str], **kwargs: Any) -> list[float]:
        """One reward per completion."""
        config = _reward_config()
        return [length_reward(c, config) for c in completions]


class NoMediaTokens(TrainerCallback):
    """Add the run's media placeholder ids to the policy's ``suppress_tokens`` before the first rollout.

    transformers' rollouts sample with the model's own generation config (the same object), so the ids
    stay suppressed for the whole run; checkpoints save the model's original generation config.
    """

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        """Suppress the ids in the policy's generation config."""
        engine = getattr(self.trainer, "engine", None)  # ms-swift's transformers rollout engine
        configs = {id(c): c for c in (getattr(x, "generation_config", None) for x in (model, engine)) if c}
        wanted = set(_plugin_settings()["suppress_tokens"])
        for config in configs.values():
            config.suppress_tokens = sorted(set(config.suppress_tokens or []) | wanted)
        _LOG.info("rollouts never sample the media placeholder ids %s", sorted(wanted))


class Progress(TrainerCallback):
    """``sft step 3/10: loss 2.31`` (GRPO: and the mean reward) on the terminal, from the first process."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        """Write the step's line."""
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        reward = f", reward {float(logs['reward']):.3f}" if "reward" in logs else ""
        step = f"{_plugin_settings()['stage']} step {state.global_step}/{state.max_steps}"
        stream = user_stderr()
        stream.write(f"{step}: loss {float(logs['loss']):.4f}{reward}\n")
        stream.flush()


orms.update(aurelia_format=FormatReward, aurelia_accuracy=AccuracyReward, aurelia_length=LengthReward)
callbacks_map.update(aurelia_no_media_tokens=NoMediaTokens, aurelia_progress=Progress)
