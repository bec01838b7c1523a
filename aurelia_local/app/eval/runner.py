"""``aurelia eval``: every target model answers every sample in every arm; resumable; a report.

r* comes from the loop once per sample (or from a ``distill`` run's traces) and is shared by every
target and arm. Rows go to ``samples.jsonl`` as they are answered, keyed by (sample, target, arm),
so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurelia_local.core.answers import extract_choice, first_letter, normalize_open_answer
from aurelia_local.core.catalog import ARMS as ARM_REGISTRY
from aurelia_local.core.catalog import BENCHMARKS
from aurelia_local.core.config import Settings, stamp
from aurelia_local.core.datasets import Sample, SampleError, data_root_of, sample_key
from aurelia_local.core.errors import AureliaError, ConfigError, EngineError
from aurelia_local.core.injection import INJECTION_VERSION, REASONING_ARMS, arm_modalities, target_prompt
from aurelia_local.core.jsonl import RecordWriter
from aurelia_local.core.protocols import (
    arm_sampling,
    check_protocol,
    extracts_first_letter,
    protocol_of,
    target_media,
)
from aurelia_local.core.records import Draw, EvalResults, EvalRow, TraceRecord, read_eval_rows, read_traces
from aurelia_local.core.registry import load
from aurelia_local.core.shards import Lease, Shard

BATCH = 16


def load_benchmark(name: str, data_root: Path, settings: Settings) -> list[Sample | SampleError]:
    """The samples of a benchmark under ``data_root`` (its own layout), read by its registry loader."""
    return list(load(BENCHMARKS.get(name).loader)(Path(data_root), settings.data))


def extract(text: str, sample: Sample, script: bool = False) -> str | None:
    """The answer an output commits to: an option letter, or a normalised open answer.

    ``script``: read it as the protocol's official script does (the first letter).
    """
    if sample.choices:
        return first_letter(text, sample.choices) if script else extract_choice(text, sample.choices)
    return normalize_open_answer(text) or None


def reasoning_for(
    settings: Settings,
    samples: list[Sample],
    arms: list[str],
    out: Path,
    traces: Path | None,
    ctx,
    progress: bool,
    data_root: Path | None = None,
    costs: dict[str, dict] | None = None,
    ray=None,
) -> dict[str, dict[str, list[str]]]:
    """r* per arm and sample id, for every arm whose registry entry injects r*.

    An arm's r* comes from the loop with that arm's topology (``out/reasoning`` for ``aurelia``,
    ``out/reasoning_<topology>`` for others); ``traces`` replaces the ``aurelia`` topology's run.
    ``costs`` receives what the loop spent per sample for each arm (``metrics.loop_cost``); ``ray``
    (``app.ray_pool.RayPlan``) runs the loop in a pool of Ray actors.
    """
    from aurelia_local.app.distill import distill
    from aurelia_local.app.eval.metrics import loop_cost

    found: dict[str, dict[str, list[str]]] = {}
    wanted = {s.id for s in samples}
    for arm in arms:
        topology = ARM_REGISTRY.get(arm).r_star
        if topology is None:
            continue
        folder = reasoning_folder(topology)
        path = traces if topology == "aurelia" and traces is not None else out / folder / "traces.jsonl"
        if path != traces:
            # r* for evaluation never uses gold answers: no agreement filter here
            loop = settings.loop.model_copy(update={"generator": topology, "agreement_filter": False})
            run = settings.model_copy(update={"loop": loop})
            run_ctx = dataclasses.replace(ctx, settings=run) if ctx is not None else None
            videos = [s for s in samples if s.video is not None]  # the loop reasons over videos
            if videos:
                distill(
                    run, videos, out / folder, progress=progress, ctx=run_ctx, data_root=data_root, ray=ray
                )
        ok = (
            [r for r in read_traces(path) if isinstance(r, TraceRecord) and r.status == "ok"]
            if path.exists()
            else []
        )
        found[arm] = {r.id: r.reasoning_steps for r in ok}
        if costs is not None:
            costs[arm] = loop_cost([r for r in ok if r.id in wanted])
    return found


def reasoning_folder(topology: str) -> str:
    """The folder of an eval run that holds the loop's r* traces for ``topology``."""
    return "reasoning" if topology == "aurelia" else f"reasoning_{topology}"


@dataclass(frozen=True)
class EvalRun:
    """What every row of one eval run shares: its settings, identity, the targets' backend and cards."""

    settings: Settings
    identity: str
    backend: str
    cards: dict[str, str]  # zoo key -> hash of the card the target was loaded from

    def current(self, row: EvalRow, r_star: dict[str, dict[str, list[str]]]) -> bool:
        """Whether ``row`` answers this run's question: same identity, same card, same r*."""
        injected = r_star.get(row.arm, {}).get(row.sample_id) if row.arm in REASONING_ARMS else None
        same_card = row.card == self.cards.get(row.target)
        return row.identity == self.identity and same_card and row.r_star == injected

    def rows(self, path: Path, r_star: dict[str, dict[str, list[str]]]) -> dict[tuple, EvalRow]:
        """The current rows of ``path`` by (sample, target, arm); a later row replaces an earlier one."""
        return {(r.sample_id, r.target, r.arm): r for r in read_eval_rows(path) if self.current(r, r_star)}


def _row(sample: Sample, target: str, arm: str, run: EvalRun, **fields: Any) -> EvalRow:
    return EvalRow(
        sample_id=sample.id, target=target, arm=arm, answer=sample.answer, category=sample.category,
        duration=sample.duration, domain=sample.domain, injection_version=INJECTION_VERSION,
        protocol=run.settings.eval.protocol,
        backend=run.backend, identity=run.identity, card=run.cards.get(target), **fields,
        **stamp(run.settings),
    )  # fmt: skip


def answer_all(adapter, target: str, samples: list[Sample], arms: list[str], r_star: dict, run: EvalRun,
               writer: RecordWriter, done: set, progress: bool) -> None:  # fmt: skip
    """Ask ``adapter`` every (sample, arm) not in ``done``, writing one row each."""
    from tqdm import tqdm

    from aurelia_local.app.logs import user_stderr
    from aurelia_local.core.media.bundle import load_bundle

    jobs = [(s, a) for s in samples for a in arms if (s.id, target, a) not in done]
    bar = tqdm(total=len(jobs), unit="answer", desc=target, disable=not progress, file=user_stderr())
    for start in range(0, len(jobs), BATCH):
        batch, requests = [], []
        for sample, arm in jobs[start : start + BATCH]:
            try:
                asked = requests_for(sample, arm, r_star, run.settings, load_bundle)
            except AureliaError as exc:
                writer.write(_row(sample, target, arm, run, status="error", error=str(exc)))
                bar.update(1)
                continue
            batch.append((sample, arm, len(requests), len(asked)))
            requests += asked
        results = _answer(adapter, requests)
        for sample, arm, first, count in batch:
            writer.write(_answered(sample, target, arm, run, r_star, requests[first : first + count],
                                   results[first : first + count]))  # fmt: skip
            bar.update(1)
    bar.close()


def _answered(sample: Sample, target: str, arm: str, run: EvalRun, r_star: dict, asked: list, results: list):
    """The row of one (sample, arm): its one answer, or a voting arm's draws and their vote."""
    failed = next((r for r in results if isinstance(r, Exception)), None)
    if failed is not None:
        return _row(sample, target, arm, run, status="error", error=f"{type(failed).__name__}: {failed}")
    script = extracts_first_letter(run.settings, arm)
    got = [extract(result.text, sample, script) for result in results]
    fields: dict[str, Any] = {}
    chosen = 0
    if ARM_REGISTRY.get(arm).vote:
        winner, votes, tie = majority(got)
        chosen = got.index(winner) if winner is not None else 0
        draws = [Draw(seed=req.sampling.seed, output=res.text, extracted=g)
                 for req, res, g in zip(asked, results, got, strict=True)]  # fmt: skip
        fields = {"draws": draws, "votes": votes, "tie": tie}
    result = results[chosen]
    return _row(sample, target, arm, run, status="ok", output=result.text, extracted=got[chosen],
                correct=sample.is_correct(got[chosen]), r_star=r_star.get(arm, {}).get(sample.id),
                output_tokens=result.token_ids, prompt_tokens=result.prompt_tokens,
                media_tokens=result.media_tokens, **fields)  # fmt: skip


def majority(answers: list[str | None]) -> tuple[str | None, dict[str, int], bool]:
    """The most frequent extracted answer (None when no draw gave one), the counts, and whether it tied.

    A tie goes to the answer drawn first among the tied ones, so the vote is reproducible.
    """
    votes = dict(Counter(a for a in answers if a is not None))
    if not votes:
        return None, {}, False
    top = max(votes.values())
    tied = [a for a in dict.fromkeys(answers) if a is not None and votes[a] == top]
    return tied[0], votes, len(tied) > 1


def draw_seed(seed: int, sample_id: str, draw: int) -> int:
    """The seed of one sampled draw: from the run's seed, the sample and the draw's index."""
    digest = hashlib.sha256(f"{seed}|{sample_id}|{draw}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def requests_for(sample: Sample, arm: str, r_star: dict, settings: Settings, load_bundle) -> list:
    """What the target is asked for (sample, arm): one request, or k sampled draws for a voting arm."""
    request = _request(sample, arm, r_star, settings, load_bundle)
    if not ARM_REGISTRY.get(arm).vote:
        return [request]
    k, temperature = settings.eval.self_consistency_k, settings.eval.self_consistency_temperature
    return [
        dataclasses.replace(request, sampling=settings.sampling.model_copy(
            update={"temperature": temperature, "seed": draw_seed(settings.sampling.seed, sample.id, i)}))
        for i in range(k)
    ]  # fmt: skip


def _request(sample: Sample, arm: str, r_star: dict, settings: Settings, load_bundle):
    from aurelia_local.zoo.base import TargetRequest

    protocol = protocol_of(settings)
    video, audio = arm_modalities(arm)
    if not protocol.audio:
        if audio and not video:
            raise AureliaError(f"{sample.id}: the {arm} arm needs the audio, which protocol {protocol.key} "
                               "never gives the model")  # fmt: skip
        audio = False
    media = target_media(settings)
    # an arm without audio accepts samples that have none
    media = media if audio else media.model_copy(update={"video_only": True})
    if arm in REASONING_ARMS and sample.id not in r_star.get(arm, {}):
        why = "the loop reasons over videos; this sample is an image" if sample.image else (
            "the loop failed on it; see its traces.jsonl")  # fmt: skip
        raise AureliaError(f"{sample.id}: no r* for the {arm} arm ({why})")
    if sample.image is not None:
        from aurelia_local.core.media.still import load_still

        bundle = load_still(sample.image, sample.audio, media)
    else:
        bundle = load_bundle(sample.video, sample.audio, media)
    given = r_star.get(arm, {}).get(sample.id)
    text = target_prompt(arm, sample.question, sample.choices, given, protocol.key)
    return TargetRequest(
        bundle, text, video=video, audio=audio and bundle.audio is not None,
        sampling=arm_sampling(settings, arm), system=protocol.system, text_first=protocol.text_first,
    )  # fmt: skip


def _answer(adapter, requests: list) -> list:
    from aurelia_local.engines.isolate import each_or_error

    return each_or_error(adapter.answer, requests, fatal=(EngineError,)) if requests else []


def run_eval(settings: Settings, benchmark: str, data_root: Path, targets: dict[str, Any], arms: list[str],
             out: Path, limit: int | None = None, traces: Path | None = None, ctx=None,
             progress: bool = True, backend: str = "vllm", new_run: bool = False,
             cards: dict[str, str] | None = None, shard: Shard | None = None,
             ray=None) -> EvalResults:  # fmt: skip
    """Evaluate ``targets`` (zoo key -> adapter, or a zero-argument loader) on ``arms``; write the outputs.

    ``backend`` names how the targets run (``vllm`` or ``hf``): it is part of the run's identity, so
    rows answered by one backend are never reported as another's. ``cards`` (zoo key -> card hash)
    and the r* a row was given are kept in every row: a row answered from another card (a user
    card pointing a key at other weights) or with another r* is asked again, never reported.

    ``shard`` evaluates one shard of the first ``limit`` samples in ``out/<shard folder>`` under its
    lease (r* too: the loop runs on the shard's samples); ``aurelia merge`` joins the shards. ``ray``
    (``app.ray_pool.RayPlan``) runs the loop that writes r* in a pool of Ray actors.
    """
    check_protocol(settings, benchmark)
    if shard is None:
        return _evaluate(settings, benchmark, data_root, targets, arms, out, limit, traces, ctx, progress,
                         backend, new_run, cards, None, ray=ray)  # fmt: skip
    if new_run:
        raise ConfigError(
            "--new-run applies to a whole run, not to one shard: give the sharded run a new --out"
        )
    with Lease(Path(out) / shard.folder) as lease:
        return _evaluate(settings, benchmark, data_root, targets, arms, Path(out) / shard.folder, limit,
                         traces, ctx, progress, backend, new_run, cards, shard, lease.check, ray)  # fmt: skip


def _evaluate(settings, benchmark, data_root, targets, arms, out, limit, traces, ctx, progress, backend,
              new_run, cards, shard, guard=None, ray=None) -> EvalResults:  # fmt: skip
    """``run_eval`` in the folder it writes to (the run's, or its shard's)."""
    from aurelia_local.app.eval.report import write_report

    root = data_root_of(Path(data_root))
    manifest, out = _start(settings, benchmark, root, out, traces, backend, new_run, limit=limit,
                           shard=str(shard) if shard else None)  # fmt: skip
    (out / "results.json").unlink(missing_ok=True)  # written when the evaluation ends
    run = EvalRun(settings, manifest.identity_hash, backend, dict(cards or {}))
    items = load_benchmark(benchmark, data_root, settings)[:limit]
    if shard is not None:
        items = [i for i in items if shard.owns(sample_key(i))]
    samples = [s for s in items if isinstance(s, Sample)]
    bad = [s for s in items if isinstance(s, SampleError)]
    costs: dict[str, dict] = {}
    r_star = reasoning_for(settings, samples, arms, out, traces, ctx, progress, root, costs, ray)
    path = out / "samples.jsonl"
    done = set(run.rows(path, r_star))
    writer = RecordWriter(path, guard)  # a shard stops writing once it has lost its lease
    skipped: dict[str, dict[str, str]] = {}
    try:
        for key, adapter in targets.items():
            refused = refusals(getattr(adapter, "card", None), samples, arms, settings)
            if refused:
                skipped[key] = {arm: why for (arm, _), why in refused.items()}
            done_or_refused = done | {(s.id, key, a) for s in samples for a in arms
                                      if (a, s.image is not None) in refused}  # fmt: skip
            pending = [s for s in samples if any((s.id, key, a) not in done_or_refused for a in arms)]
            if pending:
                adapter = adapter() if callable(adapter) and not hasattr(adapter, "answer") else adapter
                answer_all(adapter, key, pending, arms, r_star, run, writer, done_or_refused, progress)
    finally:
        writer.close()
    rows = [r.model_dump() for r in run.rows(path, r_star).values()]
    results = _results(
        run, benchmark, data_root, arms, targets, samples, bad, r_star, traces, out, rows, costs, skipped
    )
    (out / "results.json").write_text(results.model_dump_json(indent=2))
    write_report(results.model_dump(mode="json"), out)
    return results


def _start(settings, benchmark, root, out, traces, backend, new_run, **execution) -> tuple:
    """Claim ``out`` for this eval run (see ``aurelia_local.core.identity``); return (manifest, folder).

    Where r* comes from (the loop, or a distill run's traces.jsonl) is recorded, not compared: every
    row keeps the r* it was given. The loop's versions are part of the identity whichever arms run,
    so a folder takes more arms or targets later.
    """
    from aurelia_local.core.identity import start_run
    from aurelia_local.graphs.runner import loop_versions

    avrt = settings.loop.model_copy(update={"generator": "avrt"})  # names every loop prompt version
    versions = {"benchmark": benchmark, "injection_version": INJECTION_VERSION, "target_backend": backend,
                "loop": loop_versions(settings.model_copy(update={"loop": avrt}))}  # fmt: skip
    return start_run(
        out, "eval", settings, versions, root, new_run, legacy_files=("samples.jsonl", "results.json"),
        reasoning_file=str(traces) if traces else None, **execution,
    )  # fmt: skip


def refusals(card, samples: list[Sample], arms: list[str], settings: Settings) -> dict[tuple[str, bool], str]:
    """(arm, still image) -> why the target's card cannot take that arm's inputs; such jobs are skipped.

    A target without a card (an adapter built in code) is asked everything.
    """
    if card is None:
        return {}
    hears = protocol_of(settings).audio
    out = {}
    for arm in arms:
        video, audio = arm_modalities(arm)
        for still in sorted({s.image is not None for s in samples}):
            if why := card.refusal(video, audio and hears, still):
                out[(arm, still)] = why
    return out


def _results(
    run: EvalRun, benchmark, data_root, arms, targets, samples, bad, r_star, traces, out, rows, costs, skipped
) -> EvalResults:
    from aurelia_local.app.eval.metrics import summarize
    from aurelia_local.core.identity import package_versions

    return EvalResults(
        out=str(out),
        benchmark=benchmark, data_root=str(data_root), arms=arms, targets=list(targets), samples=len(samples),
        invalid_records=[b.model_dump() for b in bad],
        summary={k: summarize([r for r in rows if r["target"] == k], arms) for k in targets},
        reasoning={"samples_with_r_star": {arm: len(v) for arm, v in r_star.items()},
                   "source": str(traces) if traces else "loop"},
        injection_version=INJECTION_VERSION, protocol=run.settings.eval.protocol, loop_cost=costs or None,
        skipped=skipped, resolved_config=run.settings.model_dump(mode="json"),
        versions=package_versions(), backend=run.backend, identity=run.identity, **stamp(run.settings),
    )  # fmt: skip
