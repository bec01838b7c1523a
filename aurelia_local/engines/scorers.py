"""Scoring a caption against a sample's media on the 1-10 scale: grounding, judge and hybrid.

``build_scorer`` picks the scorer the profile names (``evaluator.scorer``); heavy libraries are
imported only when a scorer is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aurelia_local.core.config import Settings
    from aurelia_local.core.scoring.base import Scorer

SCORERS = ("grounding", "judge", "hybrid")
SCORER_ROLES = {"grounding": ["clip", "clap"], "judge": ["judge"], "hybrid": ["clip", "clap", "judge"]}


def build_scorer(settings: Settings, judge_engine=None) -> Scorer:
    """Return the scorer named by ``settings.evaluator.scorer``.

    ``judge_engine`` is the omni engine the ``judge`` and ``hybrid`` scorers call (anything with
    ``generate(requests, sampling, structured=...)``, e.g. ``VllmLocal``).
    """
    from aurelia_local.core.errors import ConfigError

    name = settings.evaluator.scorer
    if name in ("judge", "hybrid") and judge_engine is None:
        raise ConfigError(f"evaluator.scorer={name} needs the omni judge engine; none was given")
    if name == "grounding":
        from aurelia_local.core.scoring.grounding import GroundingScorer

        return GroundingScorer(settings)
    from aurelia_local.engines.judge import JudgeScorer

    judge = JudgeScorer(judge_engine, settings)
    if name == "judge":
        return judge
    from aurelia_local.core.scoring.grounding import GroundingScorer
    from aurelia_local.engines.hybrid import HybridScorer

    return HybridScorer(GroundingScorer(settings), judge, settings.evaluator.judge_weight)
