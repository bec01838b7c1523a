"""Where the loop goes after a round is scored, and which round wins: pure functions, no models."""

from __future__ import annotations

from typing import Literal

from aurelia_local.core.records import Round


def should_continue(
    rounds: list[Round], tau: float, max_rounds: int
) -> Literal["build_feedback", "select_best"]:
    """Stop when the last round scored at least ``tau`` or ``max_rounds`` rounds are done."""
    if not rounds:
        return "build_feedback"
    if rounds[-1].value >= tau or len(rounds) >= max_rounds:
        return "select_best"
    return "build_feedback"


def best_round(rounds: list[Round]) -> int:
    """Index of the highest-scoring round; the earliest wins a tie (the paper's argmax)."""
    if not rounds:
        raise ValueError("no rounds to choose from")
    return max(range(len(rounds)), key=lambda i: (rounds[i].value, -i))


def stop_reason(rounds: list[Round], tau: float) -> Literal["threshold", "max_rounds"]:
    """Why the loop stopped: ``threshold`` (the last round passed) or ``max_rounds``."""
    return "threshold" if rounds and rounds[-1].value >= tau else "max_rounds"
