"""Chat text LLMs (the summarizer and the AVRT merger): text in, text out."""

from __future__ import annotations

from aurelia_local.engines.families.base import Family


class TextLLM(Family):
    """Every behaviour is the base family's: the chat template renders the text conversation."""
