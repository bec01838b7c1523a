"""Running the reasoning loop on samples: the agents' setup, one sample, and its trace record."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any

from aurelia_local.core.config import Settings, config_hash, stamp
from aurelia_local.core.datasets import Sample

LOOP_ROLES = ["generator", "summarizer"]
AVRT_ROLES = ["vision_teacher", "audio_teacher", "merger"]


def agent_roles(settings: Settings) -> list[str]:
    """The agent roles the configured topology needs."""
    return LOOP_ROLES + (AVRT_ROLES if settings.loop.generator == "avrt" else [])


def scorer_roles(settings: Settings) -> list[str]:
    """The model roles the configured scorer needs."""
    from aurelia_local.engines.scorers import SCORER_ROLES

    return SCORER_ROLES[settings.evaluator.scorer]


def loop_models(settings: Settings) -> dict[str, str]:
    """Role -> model folder of every model the loop uses under ``settings`` (recorded with results)."""
    used = agent_roles(settings) + scorer_roles(settings) + (["whisper"] if settings.media.transcribe else [])
    return {role: settings.models[role].folder for role in dict.fromkeys(used)}


@asynccontextmanager
async def open_loop(settings: Settings):
    """Yield a ``LoopContext`` with the profile's engines and scorer (loaded once)."""
    from aurelia_local.core.model_files import require_models
    from aurelia_local.engines.factory import SyncBridge, open_agent_engines
    from aurelia_local.engines.scorers import build_scorer
    from aurelia_local.graphs.context import LoopContext

    require_models(settings, [r for r in scorer_roles(settings) if r != "judge"])
    judge = "judge" in scorer_roles(settings)
    roles = agent_roles(settings) + (["judge"] if judge else [])
    async with open_agent_engines(settings, roles) as engines:
        bridge = SyncBridge(engines["judge"], asyncio.get_running_loop()) if judge else None
        scorer = await asyncio.to_thread(build_scorer, settings, bridge)
        teachers = {role: engines[role] for role in AVRT_ROLES if role in engines}
        yield LoopContext(
            settings, engines["generator"], engines["summarizer"], scorer, loop_models(settings), **teachers
        )


def compile_loop(checkpointer=None):
    """Compile the loop graph with an optional checkpointer."""
    from aurelia_local.graphs.aurelia_loop import build_aurelia_graph

    return build_aurelia_graph().compile(checkpointer=checkpointer)


async def run_sample(graph, ctx, sample: Sample, thread_id: str | None = None) -> dict[str, Any]:
    """Run (or resume, when the checkpointer holds ``thread_id``) the loop on one sample."""
    # Four nodes per round plus the final one; the loop's own round limit always stops it first.
    limit = 4 * ctx.settings.loop.max_rounds + 10
    config = {"configurable": {"thread_id": thread_id or sample.id}, "recursion_limit": limit}
    start = time.perf_counter()
    payload: Any = {"sample": sample.model_dump(mode="json")}
    if graph.checkpointer is not None:
        snapshot = await graph.aget_state(config)
        if snapshot.values.get("result") is not None:
            return trace_record(sample, snapshot.values, ctx, 0.0)
        if snapshot.next:
            payload = None  # resume from the last finished node
    state = await graph.ainvoke(payload, config=config, context=ctx)
    return trace_record(sample, state, ctx, time.perf_counter() - start)


def provenance(settings: Settings, models: dict[str, str], scorer) -> dict[str, Any]:
    """What produced a result: models, prompt version, sampling, seeds, config hash."""
    from aurelia_local.graphs.prompts import AVRT_VERSION, PROMPT_VERSION

    return {
        "avrt_prompt_version": AVRT_VERSION if settings.loop.generator == "avrt" else None,
        "models": models,
        "scorer": {"name": settings.evaluator.scorer, **getattr(scorer, "provenance", {})},
        "prompt_version": PROMPT_VERSION,
        "sampling": settings.sampling.model_dump(),
        "loop": settings.loop.model_dump(),
        **stamp(settings),
    }


def trace_record(sample: Sample, state: dict[str, Any], ctx, seconds: float) -> dict[str, Any]:
    """One sample's record: the AVReasonBench fields, every round, the chosen round, provenance."""
    result = state["result"]
    avrt = state["rounds"][0].get("avrt")
    filtered = bool(
        avrt and ctx.settings.loop.agreement_filter and avrt["agreement"] and not avrt["agreement"]["kept"]
    )
    return {
        "id": sample.id,
        "status": "filtered" if filtered else "ok",
        "query": sample.question,
        "video_path": str(sample.video),
        "audio_path": str(sample.audio) if sample.audio else None,
        "choices": sample.choices,
        "answer": sample.answer,
        "category": sample.category,
        "reasoning_steps": result["r_star"],
        "best_round": result["best_round"],
        "score": result["score"],
        "stop_reason": result["stop_reason"],
        "leakage": result["leakage"],
        "rounds": state["rounds"],
        "topology": ctx.settings.loop.generator,
        "agreement": avrt["agreement"] if avrt else None,
        "seconds": round(seconds, 3),
        **provenance(ctx.settings, ctx.models, ctx.scorer),
    }


def error_record(sample_id: str | None, where: str, error: BaseException | str, settings: Settings) -> dict:
    """The record of a sample that failed, with the reason."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return {"id": sample_id, "status": "error", "where": where, "error": message,
            "config_hash": config_hash(settings)}  # fmt: skip
