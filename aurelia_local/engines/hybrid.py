"""The hybrid scorer: the grounding score and the omni judge's score, weighted."""

from __future__ import annotations

from collections.abc import Sequence

from aurelia_local.core.media.bundle import MediaBundle
from aurelia_local.core.scoring.base import Score, combine


class HybridScorer:
    """``judge_weight`` x judge + (1 - ``judge_weight``) x grounding, with every sub-score kept."""

    name = "hybrid"

    def __init__(self, grounding, judge, judge_weight: float):
        self.grounding = grounding
        self.judge = judge
        self.judge_weight = judge_weight

    def score(self, items: Sequence[tuple[MediaBundle, str]]) -> list[Score]:
        """Score every pair with both scorers and combine them."""
        out = []
        for g, j in zip(self.grounding.score(items), self.judge.score(items), strict=True):
            if not j.sub_scores:  # empty caption: both scorers gave 1 without looking
                out.append(j.model_copy(update={"scorer": self.name}))
                continue
            # Grounding's share is split between its parts as grounding itself weighs them.
            share = 1 - self.judge_weight
            visual = self.grounding.cfg.visual_weight if "audio" in g.sub_scores else 1.0
            weights = {"visual": share * visual, "audio": share * (1 - visual), "judge": self.judge_weight}
            out.append(combine(g.sub_scores | j.sub_scores, weights, self.name, similarities=g.similarities))
        return out

    @property
    def provenance(self) -> dict[str, str]:
        """What produced the scores (recorded with every result)."""
        return self.grounding.provenance | self.judge.provenance
