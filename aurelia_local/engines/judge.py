"""The paper's evaluator: the omni model sees the frames and hears the audio and rates the caption.

The answer is constrained to ``{"score": 1..10}`` by the engine's structured outputs and then
parsed with pydantic; anything else is a ``ModelOutputError`` that names the model and quotes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aurelia_local.core.config import Settings
from aurelia_local.core.errors import ModelOutputError
from aurelia_local.core.media.bundle import MediaBundle
from aurelia_local.core.scoring.base import Score
from aurelia_local.core.text import render

JUDGE_PROMPT_VERSION = "judge-1"
JUDGE_PROMPT = (
    "Watch the video and listen to its audio. Then rate how well the caption below describes what "
    "is seen and heard, with one integer from 1 (does not match at all) to 10 (matches fully). "
    "Judge only the match with the video and audio, not whether the caption is interesting.\n"
    'Answer with JSON only: {{"score": <integer 1-10>}}\n\n'  # ``{{ }}``: literal braces for ``render``
    "Caption: {caption}"
)


class JudgeVerdict(BaseModel):
    """The judge's structured answer."""

    model_config = ConfigDict(strict=True, extra="forbid")
    score: int = Field(ge=1, le=10)


# A regular expression rather than a JSON schema: vLLM's JSON grammar lets a weak model fill its
# token budget with whitespace inside the object (measured with the tiny kit), a pattern cannot.
JUDGE_CONSTRAINT = {"regex": r'\{"score": ?([1-9]|10)\}'}


def judge_prompt(caption: str) -> str:
    """Render the judge prompt for one caption."""
    return render(JUDGE_PROMPT, caption=caption.strip())


def parse_verdict(text: str, model: str) -> JudgeVerdict:
    """Parse the judge's output, or raise ``ModelOutputError`` quoting it."""
    try:
        return JudgeVerdict.model_validate_json(text.strip())
    except ValidationError as exc:
        first = exc.errors()[0]["msg"]
        raise ModelOutputError(
            f'judge {model}: output is not {{"score": 1..10}} ({first}): {text[:200]!r}'
        ) from None


class JudgeScorer:
    """Rates captions with the omni judge model, all pairs in one engine call."""

    name = "judge"

    def __init__(self, engine, settings: Settings):
        self.engine = engine
        self.media = settings.media
        self.sampling = settings.sampling.model_copy(
            update={"temperature": 0.0, "max_tokens": settings.evaluator.judge_max_tokens}
        )
        self.model = settings.models["judge"].folder

    def score(self, items: Sequence[tuple[MediaBundle, str]]) -> list[Score]:
        """Score every ``(media, caption)`` pair; an empty caption scores 1 without a model call."""
        from aurelia_local.engines.request import bundle_inputs, question_request

        asked = [i for i, (_, caption) in enumerate(items) if caption.strip()]
        requests = [
            question_request(judge_prompt(items[i][1]), bundle_inputs(items[i][0], self.media)) for i in asked
        ]
        outputs = []
        if requests:
            outputs = self.engine.generate(requests, self.sampling, structured=JUDGE_CONSTRAINT)
        scores = [Score(value=1, scorer=self.name, note="empty caption") for _ in items]
        for i, out in zip(asked, outputs, strict=True):
            verdict = parse_verdict(out.text, self.model)
            scores[i] = Score(
                value=verdict.score, scorer=self.name, sub_scores={"judge": verdict.score},
                note=f"judge={verdict.score}",
            )  # fmt: skip
        return scores

    @property
    def provenance(self) -> dict[str, str]:
        """What produced the scores (recorded with every result)."""
        return {"judge": self.model, "judge_prompt": JUDGE_PROMPT_VERSION}
