"""The score record, the scorer interface, and caption splitting shared by every scorer."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from aurelia_local.core.media.bundle import MediaBundle

MODALITIES = ("visual", "audio", "judge")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class Score(BaseModel):
    """How well a caption matches the media, on the integer 1-10 scale, with its parts.

    ``weakest`` names the part that pulled the score down (the lowest sub-score, when the parts
    disagree); the loop's feedback quotes it to the generator.
    """

    model_config = ConfigDict(frozen=True)
    value: int = Field(ge=1, le=10)
    scorer: str
    sub_scores: dict[str, int] = Field(default_factory=dict)
    similarities: dict[str, float] = Field(default_factory=dict)
    weakest: str | None = None
    note: str = ""


class Scorer(Protocol):
    """Scores captions against the media of their samples, in one batch."""

    name: str

    def score(self, items: Sequence[tuple[MediaBundle, str]]) -> list[Score]:
        """Return one score per ``(media, caption)`` pair, in order."""
        ...


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (Python's ``round`` rounds halves to even)."""
    return int(math.floor(x + 0.5))


def split_sentences(caption: str, limit: int) -> list[str]:
    """Split a caption into at most ``limit`` non-empty sentences, in order."""
    parts = (p.strip() for p in _SENTENCE_END.split(caption.strip()))
    return [p for p in parts if p][:limit]


def combine(sub_scores: dict[str, int], weights: dict[str, float], scorer: str, **extra) -> Score:
    """Weighted mean of the sub-scores present, rounded half up, naming the weakest part."""
    present = {k: v for k, v in sub_scores.items() if weights.get(k, 0) > 0}
    total = sum(weights[k] for k in present)
    value = round_half_up(sum(weights[k] * v for k, v in present.items()) / total) if total else 1
    weakest = None
    if len(set(present.values())) > 1:
        weakest = min(present, key=lambda k: (present[k], MODALITIES.index(k)))
    note = " ".join(f"{k}={v}" for k, v in sub_scores.items())
    if weakest:
        note += f"; {weakest} pulls the score down"
    return Score(
        value=min(10, max(1, value)), scorer=scorer, sub_scores=sub_scores, weakest=weakest, note=note,
        **extra,
    )  # fmt: skip
