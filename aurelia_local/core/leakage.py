"""Answer leakage: does r* state the gold answer or an option's text verbatim?

r* is meant to guide the target model without answering for it. Matching is case-insensitive on
whole words with whitespace normalised; bare option letters are not searched (too short to mean
anything). A flag is recorded, never acted on silently.
"""

from __future__ import annotations

import re

from aurelia_local.core.text import letter


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _contains(haystack: str, needle: str) -> bool:
    needle = _norm(needle)
    if len(needle) < 2:
        return False
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def find_leakage(steps: list[str], answer: str | None, choices: list[str] | None) -> dict:
    """Return ``{"gold": bool, "options": [letters whose text appears], "leaked": bool}``."""
    from aurelia_local.core.datasets import gold_text

    text = _norm(" ".join(steps))
    gold_answer = gold_text(answer, choices)
    gold = bool(gold_answer) and _contains(text, gold_answer)
    options = [letter(i) for i, c in enumerate(choices or []) if _contains(text, c)]
    return {"gold": gold, "options": options, "leaked": gold or bool(options)}
