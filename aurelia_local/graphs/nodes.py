"""The loop's nodes: generate_reasoning, summarize, evaluate_caption, build_feedback, select_best.

Each node reads the state, asks one agent through ``graphs.agents`` and returns a state update of
typed records (``Round``, ``LoopResult``, ``SampleMedia``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from aurelia_local.core.datasets import Sample
from aurelia_local.core.errors import MediaError
from aurelia_local.core.leakage import find_leakage
from aurelia_local.core.media.bundle import MediaBundle, load_bundle
from aurelia_local.core.records import Leakage, LoopResult, Round, SampleMedia
from aurelia_local.graphs import prompts, routing
from aurelia_local.graphs.agents import ask_avrt, ask_generator, ask_summarizer, token_counts
from aurelia_local.graphs.context import LoopContext, ServedContext
from aurelia_local.graphs.serving import check_posted_sample, in_media_pool, loop_context
from aurelia_local.graphs.state import LoopState, sample_of


async def _bundle(state: LoopState, ctx: LoopContext) -> tuple[Sample, MediaBundle]:
    sample = sample_of(state)
    if sample.video is None:
        raise MediaError(
            f"{sample.id}: the loop reasons over a video; this sample has an image ({sample.image})"
        )
    bundle = await in_media_pool(ctx, load_bundle, sample.video, sample.audio, ctx.settings.media)
    return sample, bundle


async def _transcript(bundle: MediaBundle, ctx: LoopContext):
    from aurelia_local.core.media.transcribe import transcribe

    return await in_media_pool(ctx, transcribe, bundle, ctx.settings)


async def generate_reasoning(state: LoopState, runtime: Runtime[ServedContext]) -> dict[str, Any]:
    """Ask the omni generator (or AVRT's teachers, in round one) for the round's reasoning."""
    ctx = await loop_context(runtime.context)
    rounds = state.get("rounds") or []
    if not rounds and not isinstance(runtime.context, LoopContext):  # posted: its media must be confined
        await asyncio.to_thread(check_posted_sample, sample_of(state), ctx.settings)
    sample, bundle = await _bundle(state, ctx)
    if not rounds and ctx.settings.loop.generator == "avrt":
        speech = await _transcript(bundle, ctx)
        return {"pending": await ask_avrt(ctx, sample, bundle, speech.text if speech else None)}
    prompt = state.get("feedback") or prompts.generator_prompt(sample.question, sample.choices)
    reasoning, gen, asks, seconds = await ask_generator(ctx, bundle, prompt)
    pending = Round(
        round=len(rounds) + 1, reasoning=reasoning, generator_output=gen.text, generator_asks=asks,
        feedback_used=state.get("feedback") is not None, tokens={"generator": token_counts(gen)},
        seconds={"generate": round(seconds, 4)},
    )  # fmt: skip
    return {"pending": pending}


async def summarize(state: LoopState, runtime: Runtime[ServedContext]) -> dict[str, Any]:
    """Turn the round's reasoning into a caption of what is seen and heard (text LLM)."""
    ctx = await loop_context(runtime.context)
    sample, bundle = await _bundle(state, ctx)
    pending: Round = state["pending"]
    r = pending.reasoning
    speech = await _transcript(bundle, ctx)
    prompt = prompts.summarizer_prompt(
        sample.question, r.steps, r.step_answers, r.final_answer, speech.text if speech else None
    )
    caption, gen, seconds = await ask_summarizer(ctx, prompt)
    update = {
        "caption": caption,
        "tokens": {**pending.tokens, "summarizer": token_counts(gen)},
        "seconds": {**pending.seconds, "summarize": round(seconds, 4)},
    }
    media = state.get("media") or SampleMedia(
        keyframes=bundle.keyframe_records(), transcript=speech, audio_source=bundle.audio_source,
    )  # fmt: skip
    return {"pending": pending.model_copy(update=update), "media": media}


async def evaluate_caption(
    state: LoopState, runtime: Runtime[ServedContext]
) -> Command[Literal["build_feedback", "select_best"]]:
    """Score the caption against the media, record the round, and route."""
    ctx = await loop_context(runtime.context)
    _, bundle = await _bundle(state, ctx)
    pending: Round = state["pending"]
    start = time.perf_counter()
    score = (await in_media_pool(ctx, ctx.scorer.score, [(bundle, pending.caption or "")]))[0]
    seconds = {**pending.seconds, "evaluate": round(time.perf_counter() - start, 4)}
    done = pending.model_copy(update={"score": score, "seconds": seconds})
    rounds = [*(state.get("rounds") or []), done]
    goto = routing.should_continue(rounds, ctx.settings.loop.tau, ctx.settings.loop.max_rounds)
    return Command(update={"rounds": [done], "pending": None}, goto=goto)


async def build_feedback(state: LoopState, runtime: Runtime[ServedContext]) -> dict[str, Any]:
    """Write the next round's request: the previous steps, their score and the weakest modality."""
    sample = sample_of(state)
    last: Round = state["rounds"][-1]
    score = last.score
    text = prompts.feedback_prompt(
        sample.question, sample.choices, last.reasoning.steps, score.value, score.sub_scores, score.weakest
    )
    return {"feedback": text}


async def select_best(state: LoopState, runtime: Runtime[ServedContext]) -> dict[str, Any]:
    """Pick r*: the highest-scoring round, the earliest on ties; flag answer leakage."""
    ctx = await loop_context(runtime.context)
    sample = sample_of(state)
    rounds: list[Round] = state["rounds"]
    best = routing.best_round(rounds)
    r_star = rounds[best].reasoning.steps
    result = LoopResult(
        best_round=best + 1, r_star=r_star, score=rounds[best].value,
        stop_reason=routing.stop_reason(rounds, ctx.settings.loop.tau), rounds_run=len(rounds),
        leakage=Leakage(**find_leakage(r_star, sample.answer, sample.choices)),
    )  # fmt: skip
    return {"result": result}
