"""How each agent is asked: request building, structured output, parsing and re-asking.

The nodes call these; nothing here knows about the graph.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time

from pydantic import ValidationError

from aurelia_local.core.datasets import Sample
from aurelia_local.core.errors import ModelOutputError
from aurelia_local.core.media.bundle import MediaBundle
from aurelia_local.core.messages import user_turn
from aurelia_local.core.records import AgentModel, Agreement, AvrtRound, Round, TeacherTrace, TokenCounts
from aurelia_local.core.types import Generation, Reasoning
from aurelia_local.engines.request import (
    AVInputs,
    EngineRequest,
    OmniRequest,
    bundle_inputs,
    question_request,
)
from aurelia_local.graphs import prompts as p
from aurelia_local.graphs.context import LoopContext
from aurelia_local.graphs.prompts import SUMMARIZER_SYSTEM, reasoning_pattern
from aurelia_local.graphs.runner import AVRT_ROLES
from aurelia_local.graphs.serving import in_media_pool


def parse_reasoning(text: str) -> Reasoning:
    """Parse the generator's output with the ``Reasoning`` schema (never evaluated as code)."""
    try:
        return Reasoning.model_validate_json(text.strip())
    except ValidationError as exc:
        raise ModelOutputError(
            f"generator output is not the reasoning JSON ({exc.errors()[0]['msg']}): {text[:200]!r}"
        ) from None


def parse_trace(text: str) -> TeacherTrace:
    """The steps and answer of a ``<think>`` / ``<answer>`` reply, or raise ``ModelOutputError``."""
    match = re.fullmatch(r"\s*<think>\s*(.*?)\s*</think>\s*<answer>(.*?)</answer>\s*", text, re.S)
    steps = (
        [re.sub(r"^\d+\.\s*", "", ln).strip() for ln in match.group(1).splitlines() if ln.strip()]
        if match
        else []
    )
    if not steps or not match.group(2).strip():
        raise ModelOutputError(f"not a <think> steps </think><answer>...</answer> reply: {text[:200]!r}")
    return TeacherTrace(steps=steps, answer=match.group(2).strip())


async def ask_parsed(
    ctx: LoopContext, engine, request: OmniRequest, structured: dict, max_tokens: int, parse
):
    """Ask ``engine`` and parse the reply; re-ask with seeded sampling when it does not parse.

    Returns ``(parsed, generation, asks, seconds)``. Re-asks do not use up loop rounds; after
    ``loop.parse_retries`` of them the ``ModelOutputError`` propagates.
    """
    s = ctx.settings
    start = time.perf_counter()
    for attempt in range(s.loop.parse_retries + 1):
        update = {"max_tokens": max_tokens, "seed": s.sampling.seed + attempt}
        if attempt and s.sampling.temperature == 0:
            update["temperature"] = 0.7  # greedy would repeat the same unparseable output
        sampling = s.sampling.model_copy(update=update)
        gen = (await engine.generate([EngineRequest(request, sampling, structured)]))[0]
        try:
            return parse(gen.text), gen, attempt + 1, time.perf_counter() - start
        except ModelOutputError:
            if attempt == s.loop.parse_retries:
                raise
    raise AssertionError("unreachable")


async def ask_generator(
    ctx: LoopContext, bundle: MediaBundle, prompt: str
) -> tuple[Reasoning, Generation, int, float]:
    """Ask the omni generator for structured reasoning (see ``ask_parsed``)."""
    s = ctx.settings
    structured = {"regex": reasoning_pattern(s.loop.max_steps, s.loop.max_step_chars)}
    request = question_request(prompt, bundle_inputs(bundle, s.media))
    return await ask_parsed(
        ctx, ctx.generator, request, structured, s.loop.generator_max_tokens, parse_reasoning
    )


async def ask_avrt(ctx: LoopContext, sample: Sample, bundle: MediaBundle, transcript: str | None) -> Round:
    """AVRT round one: a vision teacher (frames only), an audio teacher (audio only), a merger.

    The round's reasoning is the merger's trace; ``avrt`` keeps each agent's trace and model, the
    merger's prompt and the agreement of the teachers with the gold answer (when there is one). A
    teacher of one modality (a vision-language or an audio-language model) or an omni model asked
    with one modality alone serve alike: each request holds only its teacher's medium.
    """
    from aurelia_local.core.media.bundle import with_frame_count

    s = ctx.settings
    start = time.perf_counter()
    q, choices = sample.question, sample.choices
    pattern = {"regex": p.trace_pattern(s.loop.max_steps, s.loop.max_step_chars, choices)}
    frames = await in_media_pool(ctx, with_frame_count, bundle, s.loop.avrt_frames, s.media)
    inputs = bundle_inputs(frames, s.media)
    vision_req = question_request(
        p.vision_teacher_prompt(q, choices), dataclasses.replace(inputs, audio=None, audio_in_video=False)
    )
    audio_in = bundle_inputs(bundle, s.media)
    audio_req = question_request(
        p.audio_teacher_prompt(q, choices, transcript), AVInputs(None, audio_in.audio)
    )
    tokens = s.loop.generator_max_tokens
    (vision, vg, *_), (audio, ag, *_) = await asyncio.gather(
        ask_parsed(ctx, ctx.vision_teacher, vision_req, pattern, tokens, parse_trace),
        ask_parsed(ctx, ctx.audio_teacher, audio_req, pattern, tokens, parse_trace),
    )
    merge_text = p.merger_prompt(q, choices, vision.model_dump(), audio.model_dump())
    merge_req = OmniRequest(user_turn(merge_text), AVInputs(None, None))
    merged, mg, *_ = await ask_parsed(ctx, ctx.merger, merge_req, pattern, tokens, parse_trace)
    agreement = None
    if sample.answer is not None:
        right = {"vision": sample.is_correct(vision.answer), "audio": sample.is_correct(audio.answer)}
        agreement = Agreement(**right, kept=all(right.values()))
    return Round(
        round=1, reasoning=Reasoning(steps=merged.steps, step_answers=[], final_answer=merged.answer),
        generator_output=None, generator_asks=1, feedback_used=False,
        avrt=AvrtRound(
            vision=vision, audio=audio, merger=merged, merger_prompt=merge_text, agreement=agreement,
            models={r: AgentModel(kind=s.models[r].kind, folder=s.models[r].folder) for r in AVRT_ROLES},
        ),
        tokens={
            "vision_teacher": token_counts(vg), "audio_teacher": token_counts(ag), "merger": token_counts(mg)
        },
        seconds={"generate": round(time.perf_counter() - start, 4)},
    )  # fmt: skip


async def ask_summarizer(ctx: LoopContext, prompt: str) -> tuple[str, Generation, float]:
    """Ask the text summarizer for a caption; return it, the generation and the seconds spent."""
    s = ctx.settings
    request = OmniRequest(user_turn(prompt, system=SUMMARIZER_SYSTEM), AVInputs(None, None))
    sampling = s.sampling.model_copy(update={"max_tokens": s.loop.summarizer_max_tokens})
    start = time.perf_counter()
    gen = (await ctx.summarizer.generate([EngineRequest(request, sampling)]))[0]
    return gen.text.strip(), gen, time.perf_counter() - start


def token_counts(gen: Generation) -> TokenCounts:
    """Prompt, completion and media token counts of one generation."""
    return TokenCounts(prompt=gen.prompt_tokens, completion=len(gen.token_ids), **gen.media_tokens)
