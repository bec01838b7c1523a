"""Building the scorer the profile names (``evaluator.scorer``) from its entry in the scorer registry.

The entries (``aurelia_local.core.catalog.SCORERS``) say which roles a scorer needs, whether it
needs the omni judge engine, which class implements it and which scorers it combines; heavy
libraries are imported only when a scorer is built.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from aurelia_local.core.catalog import SCORERS, ScorerEntry
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.registry import load

if TYPE_CHECKING:
    from aurelia_local.core.config import Settings
    from aurelia_local.core.scoring.base import Scorer

# The model roles each scorer needs (read from its registry entry).
SCORER_ROLES = MappingProxyType({s.key: list(s.roles) for s in SCORERS})


def build_scorer(settings: Settings, judge_engine=None) -> Scorer:
    """Return the scorer named by ``settings.evaluator.scorer``.

    ``judge_engine`` is the omni engine the scorers with ``needs_engine`` call (anything with
    ``generate(requests, sampling, structured=...)``: an ``engines.protocol.BlockingEngine``).
    """
    entry = SCORERS.get(settings.evaluator.scorer)
    if entry.needs_engine and judge_engine is None:
        raise ConfigError(f"evaluator.scorer={entry.key} needs the omni judge engine; none was given")
    return _build(entry, settings, judge_engine)


def _build(entry: ScorerEntry, settings: Settings, judge_engine) -> Scorer:
    cls = load(entry.class_path)
    if entry.parts:  # a weighted combination: its parts, in order, then the judge's share
        parts = [_build(SCORERS.get(p), settings, judge_engine) for p in entry.parts]
        return cls(*parts, settings.evaluator.judge_weight)
    return cls(judge_engine, settings) if entry.needs_engine else cls(settings)
