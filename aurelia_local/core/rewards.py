"""GRPO's rewards for the AVRT student: format, accuracy and a Gaussian length bonus, on one completion.

A completion earns the format reward when it is exactly ``<think>...</think><answer>...</answer>``
(whitespace around them allowed), the accuracy reward when the answer block commits to the gold
option (read by the project's one answer extractor), and the length reward by the words of its
reasoning: the full ``weight`` inside the window (AVRT: 100 to 200 words), falling off as a
Gaussian of the distance to the window with standard deviation ``width`` words outside it. Trainers
call these as plain functions; nothing here imports a training library.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aurelia_local.core.answers import extract_choice

_NO_TAG = r"((?:(?!</?(?:think|answer)>).)*)"  # text holding neither block's tags
_FORMAT = re.compile(rf"\s*<think>{_NO_TAG}</think>\s*<answer>{_NO_TAG}</answer>\s*", re.S)


class RewardConfig(BaseModel):
    """The length bonus's window and shape, and each reward's weight."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format_weight: float = Field(default=1.0, ge=0)
    accuracy_weight: float = Field(default=1.0, ge=0)
    length_weight: float = Field(default=0.5, ge=0)
    length_low: int = Field(default=100, ge=0, description="words of reasoning the bonus starts at")
    length_high: int = Field(default=200, ge=0, description="words of reasoning the bonus ends at")
    length_width: float = Field(default=50.0, gt=0, description="fall-off outside the window (words)")

    @model_validator(mode="after")
    def _window(self) -> RewardConfig:
        if self.length_low > self.length_high:
            raise ValueError(f"length_low {self.length_low} is above length_high {self.length_high}")
        return self


DEFAULT = RewardConfig()


def parts(completion: str) -> tuple[str, str] | None:
    """The reasoning and the answer of a well-formed completion, else None."""
    found = _FORMAT.fullmatch(completion)
    return (found.group(1), found.group(2)) if found else None


def format_reward(completion: str, config: RewardConfig = DEFAULT) -> float:
    """``format_weight`` for ``<think>...</think><answer>...</answer>`` and nothing else, else 0."""
    return config.format_weight if parts(completion) is not None else 0.0


def accuracy_reward(completion: str, gold: str, choices: list[str], config: RewardConfig = DEFAULT) -> float:
    """``accuracy_weight`` when the answer block names the gold option's letter, else 0."""
    found = parts(completion)
    if found is None or not choices:
        return 0.0
    return config.accuracy_weight if extract_choice(found[1], choices) == gold.strip().upper() else 0.0


def length_reward(completion: str, config: RewardConfig = DEFAULT) -> float:
    """The Gaussian length bonus of the reasoning's word count (0 for a malformed completion)."""
    found = parts(completion)
    if found is None:
        return 0.0
    words = len(found[0].split())
    distance = max(config.length_low - words, words - config.length_high, 0)
    return config.length_weight * math.exp(-(distance**2) / (2 * config.length_width**2))
