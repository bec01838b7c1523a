"""The loop's state: the sample, every round so far, and the result.

Values are plain JSON-able data so LangGraph's checkpointer can store them; decoded media and models
live in the run context (``graphs.context``), never in the state.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class LoopInput(TypedDict):
    """What a run starts from: one sample (``aurelia_local.core.datasets.Sample`` as a dict)."""

    sample: dict[str, Any]


class LoopState(TypedDict, total=False):
    """Everything the loop knows about one sample.

    ``rounds`` accumulates one record per finished round: reasoning, caption, score, sub-scores,
    timings and token counts. ``pending`` holds the round in progress between nodes.
    """

    sample: dict[str, Any]
    rounds: Annotated[list[dict[str, Any]], operator.add]
    pending: dict[str, Any] | None
    feedback: str | None
    result: dict[str, Any] | None
