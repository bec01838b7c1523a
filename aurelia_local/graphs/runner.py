"""Running the reasoning loop on samples: the agents' setup, one sample, and its trace record."""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aurelia_local.core.config import Settings, config_hash, stamp
from aurelia_local.core.datasets import Sample
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.records import ErrorRecord, LoopResult, Round, SampleMedia, TraceRecord
from aurelia_local.graphs.context import LoopContext

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


def loop_versions(settings: Settings) -> dict[str, Any]:
    """The versions of what the loop writes under ``settings``: prompts, state and records."""
    from aurelia_local.core.records import SCHEMA_VERSION
    from aurelia_local.core.scoring.distractors import DISTRACTOR_VERSION
    from aurelia_local.engines.judge import JUDGE_PROMPT_VERSION
    from aurelia_local.graphs.prompts import AVRT_VERSION, PROMPT_VERSION
    from aurelia_local.graphs.state import STATE_VERSION

    return {
        "prompt_version": PROMPT_VERSION,
        "avrt_prompt_version": AVRT_VERSION if settings.loop.generator == "avrt" else None,
        "judge_prompt_version": JUDGE_PROMPT_VERSION if "judge" in scorer_roles(settings) else None,
        "distractor_version": DISTRACTOR_VERSION if "clip" in scorer_roles(settings) else None,
        "state_version": STATE_VERSION,
        "record_schema": SCHEMA_VERSION,
        "loop_backend": settings.engine.backend,
    }


async def build_loop_context(settings: Settings, pool) -> LoopContext:
    """A ``LoopContext`` on engines from ``pool`` (``engines.factory.EnginePool``) and a new scorer."""
    from aurelia_local.core.media.bundle import keep_bundles
    from aurelia_local.core.model_files import require_models
    from aurelia_local.engines.factory import open_agent_engines
    from aurelia_local.engines.protocol import BlockingEngine
    from aurelia_local.engines.scorers import build_scorer
    from aurelia_local.graphs.context import LoopContext
    from aurelia_local.graphs.serving import media_pool

    await asyncio.to_thread(require_models, settings, [r for r in scorer_roles(settings) if r != "judge"])
    keep_bundles(settings.loop.concurrency)
    judge = "judge" in scorer_roles(settings)
    roles = agent_roles(settings) + (["judge"] if judge else [])
    async with open_agent_engines(settings, roles, pool) as engines:
        # the judge scorer runs in a worker thread and sends its requests to this event loop
        bridge = BlockingEngine(engines["judge"], asyncio.get_running_loop()) if judge else None
        scorer = await asyncio.to_thread(build_scorer, settings, bridge)
        teachers = {role: engines[role] for role in AVRT_ROLES if role in engines}
        return LoopContext(
            settings, engines["generator"], engines["summarizer"], scorer, loop_models(settings),
            media_pool=media_pool(settings), **teachers,
        )  # fmt: skip


@asynccontextmanager
async def open_loop(settings: Settings):
    """Yield a ``LoopContext`` with the profile's engines and scorer; close the engines afterwards."""
    from aurelia_local.engines.factory import EnginePool

    pool = EnginePool()
    try:
        yield await build_loop_context(settings, pool)
    finally:
        await pool.aclose()


def checkpoint_serde():
    """LangGraph's serializer, allowed to rebuild the state's record types (and nothing else of ours)."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from aurelia_local.graphs.state import STATE_TYPES

    return JsonPlusSerializer(allowed_msgpack_modules=list(STATE_TYPES))


def compile_loop(checkpointer=None):
    """Compile the loop graph with an optional checkpointer."""
    from aurelia_local.graphs.aurelia_loop import build_aurelia_graph

    return build_aurelia_graph().compile(checkpointer=checkpointer)


async def run_sample(
    graph, ctx, sample: Sample, thread_id: str | None = None, data_root: Path | None = None
) -> TraceRecord:
    """Run (or resume, when the checkpointer holds ``thread_id``) the loop on one sample."""
    # Four nodes per round plus the final one; the loop's own round limit always stops it first.
    limit = 4 * ctx.settings.loop.max_rounds + 10
    config = {"configurable": {"thread_id": thread_id or sample.id}, "recursion_limit": limit}
    start = time.perf_counter()
    payload: Any = {"sample": sample}
    if graph.checkpointer is not None:
        snapshot = await graph.aget_state(config)
        _check_state(snapshot.values, thread_id)
        if snapshot.values.get("result") is not None:
            return trace_record(sample, snapshot.values, ctx, 0.0, data_root)
        if snapshot.next:
            payload = None  # resume from the last finished node
    state = await graph.ainvoke(payload, config=config, context=ctx)
    return trace_record(sample, state, ctx, time.perf_counter() - start, data_root)


def _check_state(values: dict[str, Any], thread_id: str | None) -> None:
    """Refuse a checkpoint whose values are not this version's records (written by another version)."""
    typed = {"rounds": Round, "result": LoopResult, "media": SampleMedia}
    for key, kind in typed.items():
        value = values.get(key)
        items = value if isinstance(value, list) else [value]
        if any(item is not None and not isinstance(item, kind) for item in items):
            raise ConfigError(
                f"the checkpoint of {thread_id} was written by another version of aurelia ({key} is not a "
                f"{kind.__name__}); delete checkpoints.sqlite in the output folder to run unfinished "
                "samples again from their start (finished records are kept)"
            )


def media_path(path: Path | None, data_root: Path | None) -> str | None:
    """``path`` relative to ``data_root`` when it lies inside it (records survive a moved dataset)."""
    if path is None:
        return None
    if data_root is not None:
        full, root = os.path.abspath(path), os.path.abspath(data_root)
        if full.startswith(root + os.sep):
            return Path(os.path.relpath(full, root)).as_posix()
    return str(path)


def provenance(settings: Settings, models: dict[str, str], scorer) -> dict[str, Any]:
    """What produced a result: models, prompt version, sampling, seeds, config hash, backend."""
    versions = loop_versions(settings)
    return {
        "avrt_prompt_version": versions["avrt_prompt_version"],
        "models": models,
        "scorer": {"name": settings.evaluator.scorer, **getattr(scorer, "provenance", {})},
        "prompt_version": versions["prompt_version"],
        "sampling": settings.sampling.model_dump(),
        "loop": settings.loop.model_dump(exclude={"concurrency"}),
        "backend": settings.engine.backend,
        **stamp(settings),
    }


def trace_record(
    sample: Sample, state: dict[str, Any], ctx, seconds: float, data_root: Path | None = None
) -> TraceRecord:
    """One sample's record: the AVReasonBench fields, every round, the chosen round, provenance."""
    result: LoopResult = state["result"]
    rounds: list[Round] = state["rounds"]
    avrt = rounds[0].avrt
    agreement = avrt.agreement if avrt else None
    filtered = bool(ctx.settings.loop.agreement_filter and agreement is not None and not agreement.kept)
    return TraceRecord(
        id=sample.id, status="filtered" if filtered else "ok", query=sample.question,
        video_path=media_path(sample.video, data_root), audio_path=media_path(sample.audio, data_root),
        choices=sample.choices, answer=sample.answer, category=sample.category,
        reasoning_steps=result.r_star, best_round=result.best_round, score=result.score,
        stop_reason=result.stop_reason, leakage=result.leakage, rounds=rounds,
        topology=ctx.settings.loop.generator, agreement=agreement, seconds=round(seconds, 3),
        media=state.get("media"), **provenance(ctx.settings, ctx.models, ctx.scorer),
    )  # fmt: skip


def error_record(
    sample_id: str | None, where: str, error: BaseException | str, settings: Settings
) -> ErrorRecord:
    """The record of a sample that failed, with the reason."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return ErrorRecord(id=sample_id, where=where, error=message, config_hash=config_hash(settings))
