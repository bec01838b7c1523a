"""The loop's nodes: generate_reasoning, summarize, evaluate_caption, build_feedback, select_best.

Each node reads the state, asks one agent through ``graphs.agents`` and returns a state update.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from aurelia_local.core.datasets import Sample
from aurelia_local.core.leakage import find_leakage
from aurelia_local.core.media.bundle import MediaBundle, load_bundle
from aurelia_local.graphs import prompts, routing
from aurelia_local.graphs.agents import ask_avrt, ask_generator, ask_summarizer, token_counts
from aurelia_local.graphs.context import LoopContext
from aurelia_local.graphs.state import LoopState


async def _bundle(state: LoopState, ctx: LoopContext) -> tuple[Sample, MediaBundle]:
    sample = Sample.model_validate(state["sample"])
    bundle = await asyncio.to_thread(load_bundle, sample.video, sample.audio, ctx.settings.media)
    return sample, bundle


async def generate_reasoning(state: LoopState, runtime: Runtime[LoopContext]) -> dict[str, Any]:
    """Ask the omni generator for numbered steps, step answers and a final answer."""
    ctx = runtime.context
    sample, bundle = await _bundle(state, ctx)
    first = not state.get("rounds")
    if first and ctx.settings.loop.generator == "avrt":
        return {"pending": await _avrt_round(sample, bundle, ctx)}
    prompt = state.get("feedback") or prompts.generator_prompt(sample.question, sample.choices)
    reasoning, gen, asks, seconds = await ask_generator(ctx, bundle, prompt)
    pending = {
        "round": len(state.get("rounds") or []) + 1,
        "reasoning": reasoning.model_dump(),
        "generator_output": gen.text,
        "generator_asks": asks,
        "feedback_used": state.get("feedback") is not None,
        "tokens": {"generator": token_counts(gen)},
        "seconds": {"generate": round(seconds, 4)},
    }
    return {"pending": pending}


async def _avrt_round(sample: Sample, bundle: MediaBundle, ctx: LoopContext) -> dict[str, Any]:
    from aurelia_local.core.media.transcribe import transcribe

    speech = await asyncio.to_thread(transcribe, bundle, ctx.settings)
    out = await ask_avrt(ctx, sample, bundle, speech.text if speech else None)
    details = {k: out[k] for k in ("vision", "audio", "merger", "merger_prompt", "agreement")}
    return {
        "round": 1, "reasoning": out["reasoning"].model_dump(), "generator_output": None, "generator_asks": 1,
        "feedback_used": False, "avrt": details, "tokens": out["tokens"],
        "seconds": {"generate": round(out["seconds"], 4)},
    }  # fmt: skip


async def summarize(state: LoopState, runtime: Runtime[LoopContext]) -> dict[str, Any]:
    """Turn the round's reasoning into a caption of what is seen and heard (text LLM)."""
    from aurelia_local.core.media.transcribe import transcribe

    ctx = runtime.context
    sample, bundle = await _bundle(state, ctx)
    pending = dict(state["pending"])
    r = pending["reasoning"]
    speech = await asyncio.to_thread(transcribe, bundle, ctx.settings)
    prompt = prompts.summarizer_prompt(
        sample.question, r["steps"], r["step_answers"], r["final_answer"], speech.text if speech else None
    )
    caption, gen, seconds = await ask_summarizer(ctx, prompt)
    pending["caption"] = caption
    pending["tokens"] = {**pending["tokens"], "summarizer": token_counts(gen)}
    pending["seconds"] = {**pending["seconds"], "summarize": round(seconds, 4)}
    return {"pending": pending}


async def evaluate_caption(
    state: LoopState, runtime: Runtime[LoopContext]
) -> Command[Literal["build_feedback", "select_best"]]:
    """Score the caption against the media, record the round, and route."""
    ctx = runtime.context
    _, bundle = await _bundle(state, ctx)
    pending = dict(state["pending"])
    start = time.perf_counter()
    score = (await asyncio.to_thread(ctx.scorer.score, [(bundle, pending["caption"])]))[0]
    pending["score"] = score.model_dump()
    pending["seconds"] = {**pending["seconds"], "evaluate": round(time.perf_counter() - start, 4)}
    rounds = [*(state.get("rounds") or []), pending]
    goto = routing.should_continue(rounds, ctx.settings.loop.tau, ctx.settings.loop.max_rounds)
    return Command(update={"rounds": [pending], "pending": None}, goto=goto)


def build_feedback(state: LoopState, runtime: Runtime[LoopContext]) -> dict[str, Any]:
    """Write the next round's request: the previous steps, their score and the weakest modality."""
    sample = Sample.model_validate(state["sample"])
    last = state["rounds"][-1]
    score = last["score"]
    text = prompts.feedback_prompt(
        sample.question, sample.choices, last["reasoning"]["steps"], score["value"],
        score["sub_scores"], score["weakest"],
    )  # fmt: skip
    return {"feedback": text}


def select_best(state: LoopState, runtime: Runtime[LoopContext]) -> dict[str, Any]:
    """Pick r*: the highest-scoring round, the earliest on ties; flag answer leakage."""
    sample = Sample.model_validate(state["sample"])
    rounds = state["rounds"]
    best = routing.best_round(rounds)
    r_star = rounds[best]["reasoning"]
    result = {
        "best_round": best + 1,
        "r_star": r_star["steps"],
        "score": rounds[best]["score"]["value"],
        "stop_reason": routing.stop_reason(rounds, runtime.context.settings.loop.tau),
        "rounds_run": len(rounds),
        "leakage": find_leakage(r_star["steps"], sample.answer, sample.choices),
    }
    return {"result": result}
