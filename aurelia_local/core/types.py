"""Typed records that cross process, file or model boundaries."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Generation(BaseModel):
    """One model output with what is needed to audit it."""

    model_config = ConfigDict(frozen=True)
    text: str
    token_ids: list[int]
    prompt_tokens: int
    media_tokens: dict[str, int]
    finish_reason: str | None = None
    prompt_token_ids: list[int] | None = Field(default=None, exclude=True)  # for checks, never recorded


class Reasoning(BaseModel):
    """The generator's structured output: numbered steps, an answer per step, a final answer."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")
    steps: list[str]
    step_answers: list[str]
    final_answer: str
