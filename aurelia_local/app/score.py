"""``aurelia score``: rate captions against one sample's media with the profile's scorer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aurelia_local.core.config import Settings, stamp
from aurelia_local.core.model_files import require_models


def run_score(
    settings: Settings,
    video: Path,
    captions: list[str],
    audio: Path | None = None,
    with_transcript: bool = False,
) -> dict[str, Any]:
    """Score ``captions`` against the media of ``video`` (and ``audio``); return the full record."""
    from aurelia_local.core.catalog import SCORERS
    from aurelia_local.core.media.bundle import load_bundle
    from aurelia_local.engines.scorers import SCORER_ROLES, build_scorer

    name = settings.evaluator.scorer
    require_models(settings, SCORER_ROLES[name] + (["whisper"] if with_transcript else []))
    start = time.perf_counter()
    bundle = load_bundle(video, audio, settings.media)
    media_s = time.perf_counter() - start
    engine = None
    if SCORERS.get(name).needs_engine:
        from aurelia_local.engines.factory import load_role
        from aurelia_local.engines.protocol import BlockingEngine

        engine = BlockingEngine(load_role(settings, "judge"))
    scorer = build_scorer(settings, engine)
    load_s = time.perf_counter() - start - media_s
    scores = scorer.score([(bundle, c) for c in captions])
    score_s = time.perf_counter() - start - media_s - load_s
    transcript = None
    if with_transcript:
        from aurelia_local.core.media.transcribe import transcribe

        found = transcribe(bundle, settings)
        transcript = found.model_dump() if found else None
    return {
        "video": str(video),
        "audio": str(audio) if audio else None,
        "audio_source": bundle.audio_source,
        "audio_silent": bundle.audio_silent,
        "keyframes": [k.model_dump() for k in bundle.keyframe_records()],
        "scores": [{"caption": c, **s.model_dump()} for c, s in zip(captions, scores, strict=True)],
        "transcript": transcript,
        "scorer": name,
        "provenance": scorer.provenance,
        "evaluator": settings.evaluator.model_dump(),
        **stamp(settings),
        "seconds": {"media": round(media_s, 3), "load": round(load_s, 3), "score": round(score_s, 3)},
    }


def render(record: dict[str, Any]) -> str:
    """Return a readable summary of a score record."""
    frames = ", ".join(f"{k['time_s']:.1f}s ({k['reason']})" for k in record["keyframes"])
    audio = record["audio_source"] or "none (video-only)"
    lines = [
        f"scorer    {record['scorer']} ({', '.join(f'{k} {v}' for k, v in record['provenance'].items())})",
        f"keyframes {frames}",
        f"audio     {audio}{' (silent)' if record['audio_silent'] else ''}",
    ]
    for s in record["scores"]:
        lines.append(f"{s['value']:>2}/10     {s['caption'][:70]!r}  [{s['note']}]")
    if record["transcript"] is not None:
        lines.append(f"speech    {record['transcript']['text'][:200]!r}")
    lines.append(f"config    profile {record['profile']}, hash {record['config_hash']}")
    return "\n".join(lines)
