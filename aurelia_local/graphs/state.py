"""The loop's state: the sample, what its media showed, every round so far, and the result.

Values are the project's typed records (``aurelia_local.core.records``); LangGraph's checkpointer
stores them and rebuilds them on resume (``STATE_TYPES`` is its allowlist). Decoded media and models
live in the run context (``graphs.context``), never in the state.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from aurelia_local.core.datasets import Sample
from aurelia_local.core.records import LoopResult, Round, SampleMedia

# Bump when the state's shape changes: a checkpoint is resumed only by the state version that wrote it.
STATE_VERSION = 3
STATE_TYPES = (Sample, Round, LoopResult, SampleMedia)


class LoopInput(TypedDict):
    """What a run starts from: one sample (a ``Sample``, or its JSON form)."""

    sample: Sample


class LoopState(TypedDict, total=False):
    """Everything the loop knows about one sample.

    ``rounds`` accumulates one finished ``Round`` per round; ``pending`` holds the round in progress
    between nodes (no caption, then no score yet); ``media`` the keyframes the evaluator used and the
    transcript, so a reader sees the sample without decoding it again.
    """

    sample: Sample
    media: SampleMedia | None
    rounds: Annotated[list[Round], operator.add]
    pending: Round | None
    feedback: str | None
    result: LoopResult | None


def sample_of(state: LoopState) -> Sample:
    """The state's sample (given as JSON by LangGraph's own server, as a ``Sample`` by the runner)."""
    return Sample.model_validate(state["sample"])
