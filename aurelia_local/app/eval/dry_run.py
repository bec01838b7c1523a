"""``aurelia eval --dry-run``: what exactly each target would see, without loading any model weights.

For every sample x target x arm, ``requests.jsonl`` gets the conversation as the model's processor
renders it with its own chat template, the media the request carries (frame count and size, fps,
audio seconds, whether the soundtrack is interleaved with the video), the decoding settings, and
the prompt and media token counts that the processor produces. Only processors are loaded. r* is
taken from ``--reasoning`` traces when given; otherwise reasoning arms show a marked placeholder
(the loop needs the agents' weights, which a dry run never loads).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from aurelia_local.core.catalog import ARMS as ARM_REGISTRY
from aurelia_local.core.config import Settings, stamp
from aurelia_local.core.datasets import Sample

REQUESTS = "requests.jsonl"
PLACEHOLDER = "<r* from the loop: not run in a dry run>"


def dry_run(
    settings: Settings, benchmark: str, data_root: Path, targets: dict[str, Any], arms: list[str], out: Path,
    limit: int | None = None, traces: Path | None = None,
) -> dict[str, dict[str, dict]]:  # fmt: skip
    """Write ``out/requests.jsonl``; return the mean token counts per target and arm.

    ``targets``: zoo key -> an adapter built with ``load=False`` (its processor and card, no weights).
    An (arm, target) whose every request failed maps to ``{"errors": n, "error": first message}``.
    """
    from aurelia_local.app.eval.runner import load_benchmark
    from aurelia_local.core.jsonl import RecordWriter
    from aurelia_local.core.protocols import check_protocol
    from aurelia_local.core.records import TraceRecord, read_traces
    from aurelia_local.engines.families import family_of

    check_protocol(settings, benchmark)
    samples = [s for s in load_benchmark(benchmark, data_root, settings)[:limit] if isinstance(s, Sample)]
    given = {}
    if traces is not None:
        given = {r.id: r.reasoning_steps for r in read_traces(traces) if isinstance(r, TraceRecord)}
    # --reasoning traces stand for the aurelia topology's loop (as in a real eval); others get the placeholder
    topology = {arm: ARM_REGISTRY.get(arm).r_star for arm in arms if ARM_REGISTRY.get(arm).r_star}
    # the loop reasons over videos: image samples get no r*, as in a real run
    r_star = {arm: {s.id: (given if t == "aurelia" else {}).get(s.id, [PLACEHOLDER]) for s in samples
                    if s.video is not None} for arm, t in topology.items()}  # fmt: skip
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / REQUESTS).unlink(missing_ok=True)
    writer = RecordWriter(out / REQUESTS)
    totals: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    failed: dict[str, dict[str, list[str]]] = defaultdict(dict)
    try:
        for key, adapter in targets.items():
            family = family_of(adapter.card.kind)
            processor = family.load_processor(adapter.path, adapter.ref.trust_remote_code)
            for sample in samples:
                for arm in arms:
                    row = _row(sample, key, arm, adapter, family, processor, r_star, settings)
                    writer.write(row)
                    if row.status == "ok":
                        totals[key][arm].append({"prompt": row.prompt_tokens, **row.media_tokens})
                    else:
                        failed[key].setdefault(arm, []).append(row.error)
    finally:
        writer.close()
    means = {key: {arm: _mean(rows) for arm, rows in by_arm.items()} for key, by_arm in totals.items()}
    for key, by_arm in failed.items():
        for arm, errors in by_arm.items():
            means.setdefault(key, {}).setdefault(arm, {"errors": len(errors), "error": errors[0]})
    return means


def _row(sample: Sample, key: str, arm: str, adapter, family, processor, r_star: dict, settings: Settings):
    """The request row of (sample, arm) for one target, or the error that stops it."""
    from aurelia_local.app.eval.runner import requests_for
    from aurelia_local.core.errors import AureliaError
    from aurelia_local.core.media.bundle import load_bundle
    from aurelia_local.core.records import RequestRow

    head = {
        "sample_id": sample.id,
        "target": key,
        "arm": arm,
        "protocol": settings.eval.protocol,
        **stamp(settings),
    }
    try:
        asked = requests_for(sample, arm, r_star, settings, load_bundle)
        built = adapter.build(asked[0])
    except AureliaError as exc:
        return RequestRow(**head, status="error", error=str(exc))
    request = built.request
    ids = family.hf_inputs(processor, request)["input_ids"][0].tolist()
    tokenizer = getattr(processor, "tokenizer", processor)
    return RequestRow(
        **head, status="ok", prompt=family.chat_text(processor, request),
        messages=[m.to_hf() for m in request.messages], media=_media(request.inputs),
        sampling=built.sampling.model_dump(), draws=len(asked),
        r_star_placeholder=r_star.get(arm, {}).get(sample.id) == [PLACEHOLDER],
        prompt_tokens=len(ids), media_tokens=family.media_tokens(ids, tokenizer.convert_tokens_to_ids),
    )  # fmt: skip


def _media(inputs) -> dict[str, Any]:
    frames = inputs.frames
    return {
        "frames": 0 if frames is None else int(frames.shape[0]),
        "frame_size": None if frames is None else [int(frames.shape[1]), int(frames.shape[2])],
        "image_size": None
        if inputs.image is None
        else [int(inputs.image.shape[0]), int(inputs.image.shape[1])],
        "fps": inputs.fps if frames is not None else None,
        "audio_seconds": None if inputs.audio is None else round(len(inputs.audio) / inputs.sample_rate, 3),
        "audio_in_video": inputs.audio_in_video,
    }


def _mean(rows: list[dict]) -> dict[str, float]:
    return {k: round(sum(r[k] for r in rows) / len(rows), 1) for k in rows[0]} if rows else {}
