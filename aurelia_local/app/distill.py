"""``aurelia distill``: the loop over a dataset, many samples in flight, resumable, one record each.

Output folder:

- ``traces.jsonl``: one record per sample, ``status`` ``ok`` (every round, r*, provenance) or
  ``error`` (the reason). Appended and flushed as samples finish.
- ``checkpoints.sqlite`` (or under ``data.checkpoint_dir``, see ``checkpoint_path``): LangGraph's
  checkpoint of every sample in flight (a sample's checkpoints
  are deleted once its record is written, so the file holds only samples in flight). After an
  interruption (Ctrl-C, kill -9, a server that went away) the same command skips finished samples
  and resumes unfinished ones from their last completed step: nothing lost, nothing done twice.
- ``run.json`` (what produced the run; a rerun of another identity is refused),
  ``resolved_config.yaml`` and ``summary.json`` (written when the run ends, removed when one starts).

With a shard (``--shard I/N``) all of this goes to ``OUT/shard-IIII-of-NNNN``, the shard's samples
only, under a lease (``aurelia_local.core.shards``); ``aurelia merge OUT`` joins the shards.

An unreachable engine stops the run (progress kept) instead of failing every remaining sample.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurelia_local.core.config import Settings, config_hash
from aurelia_local.core.datasets import Sample, SampleError, data_root_of, iter_samples, sample_key
from aurelia_local.core.errors import ConfigError, EngineError
from aurelia_local.core.identity import start_run
from aurelia_local.core.jsonl import RecordWriter, drop_errors, read_records
from aurelia_local.core.records import DistillSummary, ErrorRecord, RunManifest, TraceRecord, read_traces
from aurelia_local.core.shards import Lease, Shard

if TYPE_CHECKING:
    from aurelia_local.app.ray_pool import RayPlan

TRACES = "traces.jsonl"
_END = object()


def thread_id(sample: Sample, manifest: RunManifest) -> str:
    """The checkpoint key of a sample: the same sample in a run of another identity is other work."""
    return f"{sample.id}|{manifest.identity_hash}"


def _pending(items: Iterator[Sample | SampleError], done: set[str]) -> Iterator[Sample | SampleError]:
    for item in items:
        if item.id is not None and item.id in done:
            continue
        if isinstance(item, SampleError) and f"error:{item.where}" in done:
            continue
        yield item


def distill(
    settings: Settings, source: Path | list, out: Path, limit: int | None = None, progress: bool = True,
    ctx=None, retry_errors: bool = False, new_run: bool = False, data_root: Path | None = None,
    shard: Shard | None = None, ray: RayPlan | None = None,
) -> DistillSummary:  # fmt: skip
    """Run the loop over ``source`` (a manifest, a Daily-Omni folder or samples) into ``out``.

    Returns the run summary. ``ctx`` reuses an open ``LoopContext`` (engines already loaded); the
    loop's engines are opened only when some sample still needs the loop. ``retry_errors`` drops the
    error records of an earlier run so those samples run again (after the files were fixed);
    finished samples are still skipped. A folder holding a run of another identity is refused, or
    with ``new_run`` the run goes to a new folder beside it. Media paths in records are relative to
    ``data_root`` (default: the manifest's folder or the Daily-Omni folder).

    ``shard`` runs the samples of one shard (of the first ``limit`` of the source) in
    ``out/<shard folder>``, holding its lease; the shards of a run share its identity. ``ray`` hands
    the samples to a pool of Ray actors (``aurelia_local.app.ray_pool``); the records are the same.
    """
    root = data_root
    if root is None and isinstance(source, Path):  # samples given in memory have no data root
        root = data_root_of(source)
    if shard is None:
        return _claimed(
            settings, source, out, limit, progress, ctx, retry_errors, new_run, root, None, ray=ray
        )
    if new_run:
        raise ConfigError(
            "--new-run applies to a whole run, not to one shard: give the sharded run a new --out"
        )
    with Lease(Path(out) / shard.folder) as lease:
        return _claimed(settings, source, Path(out) / shard.folder, limit, progress, ctx, retry_errors,
                        new_run, root, shard, lease.check, ray)  # fmt: skip


def _claimed(
    settings: Settings, source, out: Path, limit: int | None, progress: bool, ctx, retry_errors: bool,
    new_run: bool, root: Path | None, shard: Shard | None, guard=None, ray: RayPlan | None = None,
) -> DistillSummary:  # fmt: skip
    """Claim ``out`` for the run (or the shard) and run it."""
    from aurelia_local.graphs.runner import loop_versions

    execution = {"limit": limit, "shard": str(shard) if shard else None}
    manifest, out = start_run(
        out, "distill", settings, loop_versions(settings), root, new_run,
        legacy_files=(TRACES, "checkpoints.sqlite"), **execution,
    )  # fmt: skip
    if retry_errors:
        drop_errors(out / TRACES)
    return asyncio.run(
        _distill(settings, source, out, limit, progress, ctx, manifest, root, shard, guard, ray)
    )


async def _distill(
    settings: Settings, source, out: Path, limit: int | None, progress: bool, ctx, manifest: RunManifest,
    root: Path | None, shard: Shard | None = None, guard=None, ray: RayPlan | None = None,
) -> DistillSummary:  # fmt: skip
    from tqdm import tqdm

    from aurelia_local.app.logs import user_stderr

    traces = out / TRACES
    (out / "summary.json").unlink(missing_ok=True)  # written when the run ends: its presence says so
    previous = read_records(traces)
    done = {r["id"] for r in previous if r.get("id") is not None}
    done |= {f"error:{r['where']}" for r in previous if r.get("status") == "error" and r.get("where")}
    stream = iter_samples(source, settings.data.confine_to_root) if isinstance(source, Path) else iter(source)
    if shard is None:
        items = _take(_pending(stream, done), limit, len(previous))
    else:  # the shard's part of the source's first ``limit`` samples, the same on every machine
        items = _pending((i for i in _take(stream, limit, 0) if shard.owns(sample_key(i))), done)
    stats = {"ok": 0, "error": 0, "filtered": 0, "rounds": 0}
    first = next(items, _END)
    if first is _END:  # nothing left to run: no engine is opened
        return _write_summary(out, 0.0, stats, settings, manifest)
    items = itertools.chain([first], items)
    writer = RecordWriter(traces, guard)  # a shard stops writing once it has lost its lease
    total = _remaining(source, limit, len(previous)) if shard is None else None  # a shard's share is unknown
    bar = tqdm(total=total, unit="sample", disable=not progress, desc=f"distill {shard or ''}".strip(),
               file=user_stderr())  # fmt: skip
    start = time.perf_counter()

    def account(record: TraceRecord | ErrorRecord) -> None:
        writer.write(record)
        stats[record.status] += 1
        stats["rounds"] += len(record.rounds) if isinstance(record, TraceRecord) else 0
        bar.update(1)
        bar.set_postfix(
            rounds_per_sample=f"{stats['rounds'] / max(1, stats['ok']):.2f}", errors=stats["error"]
        )

    try:
        if ray is not None:
            _on_ray(settings, items, out, root, ray, account)
        else:
            await _in_process(settings, items, out, ctx, manifest, root, previous, account)
    except EngineError as exc:
        raise EngineError(
            f"{exc}\nstopped; {len(previous) + _finished(stats)} samples are "
            f"saved in {out}; rerun the same command to resume"
        ) from exc
    finally:
        bar.close()
        writer.close()
    return _write_summary(out, time.perf_counter() - start, stats, settings, manifest)


async def _in_process(settings, items, out, ctx, manifest, root, previous, account) -> None:
    """Run the loop on ``items`` in this process, ``loop.concurrency`` at a time, checkpointed."""
    from aurelia_local.graphs.runner import compile_loop, open_loop

    finished = {r["id"] for r in previous if r.get("status") in ("ok", "filtered")}
    async with _checkpoints(checkpoint_path(out, manifest, settings), finished) as saver:
        graph = compile_loop(saver)
        async with _context(settings, ctx, open_loop) as ctx:

            async def one(item: Sample | SampleError) -> None:
                tid = thread_id(item, manifest) if isinstance(item, Sample) else None
                record = await run_one(graph, ctx, item, settings, tid, root)
                account(record)
                if isinstance(record, TraceRecord):  # durable and finished: its checkpoints can go
                    await saver.adelete_thread(tid)

            await run_streamed(items, one, settings.loop.concurrency)


def _on_ray(settings, items, out: Path, root: Path | None, plan: RayPlan, account) -> None:
    """Run the loop on ``items`` in a pool of Ray actors; records of bad inputs are written here."""
    from pydantic import TypeAdapter

    from aurelia_local.app.ray_pool import pool_records, start_ray, stop_ray
    from aurelia_local.core.records import TraceLine

    samples = []
    for item in items:
        if isinstance(item, SampleError):
            account(_error_of(item, settings))
        else:
            samples.append(item)
    if not samples:
        return
    from ray.exceptions import RayError

    parse = TypeAdapter(TraceLine).validate_json
    start_ray(plan.address)
    try:
        written = set()
        for text in pool_records(settings, samples, out, root, plan):
            record = parse(text)
            if record.id not in written:  # a retried task's record comes out once
                written.add(record.id)
                account(record)
    except RayError as exc:  # a worker that kept failing (an engine gone, weights missing)
        cause = next((line for line in reversed(str(exc).splitlines()) if "Error" in line), str(exc))
        raise EngineError(f"the Ray pool stopped: {cause.strip()}") from exc
    finally:
        stop_ray()


def checkpoint_path(out: Path, manifest: RunManifest, settings: Settings) -> Path:
    """Where the run in ``out`` keeps its checkpoints: ``out``, or a folder in ``data.checkpoint_dir``.

    That folder is named by the run's identity and its output folder. LangGraph's SQLite
    checkpointer turns on WAL journaling, which needs shared memory that Lustre and NFS do not give;
    the records stay on the shared filesystem, and a shard restarted on another node loses only the
    checkpoints of its samples in flight, which run again.
    """
    import hashlib

    if settings.data.checkpoint_dir is None:
        return out / "checkpoints.sqlite"
    where = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:12]
    folder = Path(settings.data.checkpoint_dir).expanduser() / f"{manifest.identity_hash}-{where}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "checkpoints.sqlite"


@asynccontextmanager
async def _checkpoints(path: Path, finished: set[str]):
    """LangGraph's SQLite checkpointer on ``path``, with the serializer that rebuilds our records.

    Threads of samples already finished (a run killed between writing a record and deleting its
    checkpoints) are deleted first. A failed sample keeps its checkpoints: ``--retry-errors``
    resumes it from its last finished step.
    """
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from aurelia_local.graphs.runner import checkpoint_serde

    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn, serde=checkpoint_serde())
        await saver.setup()
        async with conn.execute("SELECT DISTINCT thread_id FROM checkpoints") as cursor:
            threads = [row[0] async for row in cursor]
        for thread in threads:
            if thread.rpartition("|")[0] in finished:
                await saver.adelete_thread(thread)
        yield saver


def _write_summary(out: Path, seconds: float, stats: dict, settings: Settings, manifest: RunManifest):
    done = _finished(stats)
    rate = round(done / seconds, 3) if seconds else None
    this_run = {"ok": stats["ok"], "filtered": stats["filtered"], "errors": stats["error"],
                "seconds": round(seconds, 2), "samples_per_s": rate}  # fmt: skip
    summary = summarize_run(read_traces(out / TRACES), manifest, out, config_hash(settings), this_run)
    (out / "summary.json").write_text(summary.model_dump_json(indent=2))
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


async def run_one(
    graph, ctx, item: Sample | SampleError, settings: Settings, tid: str | None, root: Path | None
) -> TraceRecord | ErrorRecord:
    """The record of one item: the loop's trace, or an error record (a bad input, a failed sample)."""
    from aurelia_local.graphs.runner import error_record, media_path, run_sample

    if isinstance(item, SampleError):
        return _error_of(item, settings)
    try:
        return await run_sample(graph, ctx, item, tid, root)
    except EngineError:
        raise  # the engine is gone: stop, keep progress, resume later
    except Exception as exc:  # noqa: BLE001 - one bad sample (bad input or a bug) is a record, not the end
        return error_record(item.id, media_path(item.video, root), exc, settings)


def _error_of(item: SampleError, settings: Settings) -> ErrorRecord:
    from aurelia_local.graphs.runner import error_record

    return error_record(item.id, item.where, item.error, settings)


def _finished(stats: dict) -> int:
    return stats["ok"] + stats["error"] + stats["filtered"]


def summarize_run(
    records: list[TraceRecord | ErrorRecord], manifest: RunManifest, out: Path, config: str, this_run: dict,
) -> DistillSummary:  # fmt: skip
    """The summary of a run folder's records (``config``: the settings' hash; ``this_run``: what changed)."""
    traces = [r for r in records if isinstance(r, TraceRecord)]
    ok = [r for r in traces if r.status == "ok"]
    return DistillSummary(
        out=str(out), samples=len(records), ok=len(ok), errors=len(records) - len(traces),
        filtered=len(traces) - len(ok), this_run=this_run,
        mean_rounds=round(sum(len(r.rounds) for r in ok) / len(ok), 3) if ok else None,
        passed_threshold=sum(r.stop_reason == "threshold" for r in ok),
        leaked=sum(r.leakage.leaked for r in ok), config_hash=config, identity=manifest.identity_hash,
    )  # fmt: skip
