"""How each agent is asked: request building, structured output, parsing and re-asking.

The nodes call these; nothing here knows about the graph.
"""

from __future__ import annotations

import time

from pydantic import ValidationError

from aurelia_graphs.context import LoopContext
from aurelia_graphs.prompts import SUMMARIZER_SYSTEM, reasoning_pattern
from aurelia_local.backends.vllm_local import EngineRequest
from aurelia_local.errors import ModelOutputError
from aurelia_local.media.bundle import MediaBundle
from aurelia_local.messages import user_turn
from aurelia_local.omni import AVInputs, OmniRequest, bundle_inputs, question_request
from aurelia_local.types import Generation, Reasoning


def parse_reasoning(text: str) -> Reasoning:
    """Parse the generator's output with the ``Reasoning`` schema (never evaluated as code)."""
    try:
        return Reasoning.model_validate_json(text.strip())
    except ValidationError as exc:
        raise ModelOutputError(
            f"generator output is not the reasoning JSON ({exc.errors()[0]['msg']}): {text[:200]!r}"
        ) from None


async def ask_generator(
    ctx: LoopContext, bundle: MediaBundle, prompt: str
) -> tuple[Reasoning, Generation, int, float]:
    """Ask the omni generator; re-ask (seeded sampling) when the output does not parse.

    Returns the reasoning, the generation, how many asks it took and the seconds spent. Re-asks do
    not use up loop rounds; after ``loop.parse_retries`` of them the error propagates.
    """
    s = ctx.settings
    structured = {"regex": reasoning_pattern(s.loop.max_steps, s.loop.max_step_chars)}
    request = question_request(prompt, bundle_inputs(bundle, s.media))
    start = time.perf_counter()
    for attempt in range(s.loop.parse_retries + 1):
        update = {"max_tokens": s.loop.generator_max_tokens, "seed": s.sampling.seed + attempt}
        if attempt and s.sampling.temperature == 0:
            update["temperature"] = 0.7  # greedy would repeat the same unparseable output
        sampling = s.sampling.model_copy(update=update)
        gen = (await ctx.generator.generate([EngineRequest(request, sampling, structured)]))[0]
        try:
            return parse_reasoning(gen.text), gen, attempt + 1, time.perf_counter() - start
        except ModelOutputError:
            if attempt == s.loop.parse_retries:
                raise
    raise AssertionError("unreachable")


async def ask_summarizer(ctx: LoopContext, prompt: str) -> tuple[str, Generation, float]:
    """Ask the text summarizer for a caption; return it, the generation and the seconds spent."""
    s = ctx.settings
    request = OmniRequest(user_turn(prompt, system=SUMMARIZER_SYSTEM), AVInputs(None, None))
    sampling = s.sampling.model_copy(update={"max_tokens": s.loop.summarizer_max_tokens})
    start = time.perf_counter()
    gen = (await ctx.summarizer.generate([EngineRequest(request, sampling)]))[0]
    return gen.text.strip(), gen, time.perf_counter() - start


def token_counts(gen: Generation) -> dict[str, int]:
    """Prompt, completion and media token counts of one generation."""
    return {"prompt": gen.prompt_tokens, "completion": len(gen.token_ids), **gen.media_tokens}
