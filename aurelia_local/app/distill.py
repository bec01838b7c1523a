"""``aurelia distill``: the loop over a dataset, many samples in flight, resumable, one record each.

Output folder:

- ``traces.jsonl``: one record per sample, ``status`` ``ok`` (every round, r*, provenance) or
  ``error`` (the reason). Appended and flushed as samples finish.
- ``checkpoints.sqlite``: LangGraph's checkpoint of every sample in flight. After an interruption
  (Ctrl-C, kill -9, a server that went away) the same command skips finished samples and resumes
  unfinished ones from their last completed step: nothing lost, nothing done twice.
- ``resolved_config.yaml`` and ``summary.json``.

An unreachable engine stops the run (progress kept) instead of failing every remaining sample.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aurelia_local.core.config import Settings, config_hash, dump_settings
from aurelia_local.core.datasets import Sample, SampleError, iter_samples
from aurelia_local.core.errors import ConfigError, EngineError
from aurelia_local.core.jsonl import RecordWriter, drop_errors, read_records

TRACES = "traces.jsonl"
_END = object()


def thread_id(sample: Sample, settings: Settings) -> str:
    """The checkpoint key of a sample: the same sample under other settings is other work."""
    from aurelia_local.graphs.prompts import PROMPT_VERSION

    return f"{sample.id}|{config_hash(settings)}|{PROMPT_VERSION}"


def _pending(items: Iterator[Sample | SampleError], done: set[str]) -> Iterator[Sample | SampleError]:
    for item in items:
        if item.id is not None and item.id in done:
            continue
        if isinstance(item, SampleError) and f"error:{item.where}" in done:
            continue
        yield item


def distill(
    settings: Settings, source: Path, out: Path, limit: int | None = None, progress: bool = True, ctx=None,
    retry_errors: bool = False,
) -> dict:  # fmt: skip
    """Run the loop over ``source`` (a manifest, a Daily-Omni folder or samples) into ``out``.

    Returns the run summary.

    ``ctx`` reuses an open ``LoopContext`` (engines already loaded) instead of opening one.
    ``retry_errors`` drops the error records of an earlier run so those samples run again (after the
    files were fixed); finished samples are still skipped.
    """
    out.mkdir(parents=True, exist_ok=True)
    _check_resume_config(out, settings)
    if retry_errors:
        drop_errors(out / TRACES)
    return asyncio.run(_distill(settings, source, out, limit, progress, ctx))


def _check_resume_config(out: Path, settings: Settings) -> None:
    resolved = out / "resolved_config.yaml"
    if resolved.is_file():
        import yaml

        previous = yaml.safe_load(resolved.read_text()).get("config_hash")
        if previous != config_hash(settings):
            raise ConfigError(
                f"{out} holds a run with config hash {previous}, this run has {config_hash(settings)}; "
                "use another --out folder (or the same settings to resume)"
            )
    resolved.write_text(dump_settings(settings))


async def _distill(
    settings: Settings, source: Path, out: Path, limit: int | None, progress: bool, ctx
) -> dict:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from tqdm import tqdm

    from aurelia_local.graphs.runner import compile_loop, open_loop

    traces = out / TRACES
    previous = read_records(traces)
    done = {r["id"] for r in previous if r.get("id") is not None}
    done |= {f"error:{r['where']}" for r in previous if r.get("status") == "error" and r.get("where")}
    stream = iter_samples(source, settings.data.confine_to_root) if isinstance(source, Path) else iter(source)
    items = _take(_pending(stream, done), limit, len(previous))
    writer = RecordWriter(traces)
    stats = {"ok": 0, "error": 0, "filtered": 0, "rounds": 0}
    bar = tqdm(total=_remaining(source, limit, len(previous)), unit="sample", disable=not progress,
               desc="distill")  # fmt: skip
    start = time.perf_counter()
    try:
        async with AsyncSqliteSaver.from_conn_string(str(out / "checkpoints.sqlite")) as saver:
            graph = compile_loop(saver)
            async with _context(settings, ctx, open_loop) as ctx:

                async def one(item: Sample | SampleError) -> None:
                    record = await _run_one(graph, ctx, item, settings)
                    writer.write(record)
                    stats[record["status"]] += 1
                    stats["rounds"] += len(record.get("rounds", []))
                    bar.update(1)
                    bar.set_postfix(rounds_per_sample=f"{stats['rounds'] / max(1, stats['ok']):.2f}",
                                    errors=stats["error"])  # fmt: skip

                try:
                    await run_streamed(items, one, settings.loop.concurrency)
                except EngineError as exc:
                    raise EngineError(
                        f"{exc}\nstopped; {len(previous) + _finished(stats)} samples are "
                        f"saved in {out}; rerun the same command to resume"
                    ) from exc
    finally:
        bar.close()
        writer.close()
    seconds = time.perf_counter() - start
    summary = _summary(read_records(traces), seconds, stats, settings)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


async def run_streamed(items: Iterator, work: Callable[[Any], Awaitable[None]], width: int) -> None:
    """Run ``work`` on every item, at most ``width`` at a time, pulling items only as slots free up.

    A source of any length costs memory for ``width`` items. When one item raises (an engine that
    went away), no new item starts, the ones in flight finish (their records are kept) and the
    first exception is raised.
    """
    running: set[asyncio.Task] = set()
    failure: BaseException | None = None
    items = iter(items)
    try:
        while True:
            if len(running) >= width:  # wait for a slot before taking the next item
                finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                failure = next((t.exception() for t in finished if t.exception()), None)
                if failure is not None:
                    break
            item = next(items, _END)
            if item is _END:
                break
            running.add(asyncio.create_task(work(item)))
        if running:
            finished, running = await asyncio.wait(running)
            failure = failure or next((t.exception() for t in finished if t.exception()), None)
    finally:
        for task in running:
            task.cancel()
    if failure is not None:
        raise failure


def _remaining(source, limit: int | None, already: int) -> int | None:
    """Samples left to run, for the progress bar: manifest lines are counted without parsing them."""
    if not isinstance(source, Path) or not source.is_file():
        return None
    with source.open("rb") as handle:
        total = sum(1 for line in handle if line.strip())
    if limit is not None:
        total = min(total, limit)
    return max(0, total - already)


@asynccontextmanager
async def _context(settings: Settings, ctx, open_loop):
    if ctx is not None:
        yield ctx
        return
    async with open_loop(settings) as opened:
        yield opened


def _take(items: Iterator, limit: int | None, already: int) -> Iterator:
    for count, item in enumerate(items):
        if limit is not None and count + already >= limit:
            return
        yield item


async def _run_one(graph, ctx, item: Sample | SampleError, settings: Settings) -> dict[str, Any]:
    from aurelia_local.graphs.runner import error_record, run_sample

    if isinstance(item, SampleError):
        return error_record(item.id, item.where, item.error, settings)
    try:
        return await run_sample(graph, ctx, item, thread_id(item, settings))
    except EngineError:
        raise  # the engine is gone: stop, keep progress, resume later
    except Exception as exc:  # noqa: BLE001 - one bad sample (bad input or a bug) is a record, not the end
        return error_record(item.id, str(item.video), exc, settings)


def _finished(stats: dict) -> int:
    return stats["ok"] + stats["error"] + stats["filtered"]


def _summary(records: list[dict], seconds: float, stats: dict, settings: Settings) -> dict:
    ok = [r for r in records if r.get("status") == "ok"]
    done = _finished(stats)
    return {
        "samples": len(records),
        "ok": len(ok),
        "errors": sum(r.get("status") == "error" for r in records),
        "filtered": sum(r.get("status") == "filtered" for r in records),
        "this_run": {"ok": stats["ok"], "errors": stats["error"], "seconds": round(seconds, 2),
                     "samples_per_s": round(done / seconds, 3) if seconds else None},
        "mean_rounds": round(sum(len(r["rounds"]) for r in ok) / len(ok), 3) if ok else None,
        "passed_threshold": sum(r["stop_reason"] == "threshold" for r in ok),
        "leaked": sum(r["leakage"]["leaked"] for r in ok),
        "config_hash": config_hash(settings),
    }  # fmt: skip
