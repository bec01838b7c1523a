"""``aurelia generate``: one question about one video, answered by an omni model, with provenance."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from aurelia_local.core.config import Settings, stamp
from aurelia_local.core.model_files import require_models
from aurelia_local.engines.factory import load_role
from aurelia_local.engines.protocol import generate_blocking
from aurelia_local.engines.request import load_av_inputs, question_request

Backend = Literal["vllm", "hf"]


def run_generate(
    settings: Settings,
    video: Path,
    question: str,
    audio: Path | None = None,
    backend: Backend = "vllm",
    role: str = "generator",
) -> dict[str, Any]:
    """Answer ``question`` about ``video`` (and ``audio``) and return the full record."""
    require_models(settings, [role])
    start = time.perf_counter()
    inputs = load_av_inputs(video, audio, settings.media)
    request = question_request(question, inputs)
    media_s = time.perf_counter() - start
    model = load_role(settings, role, backend)
    load_s = time.perf_counter() - start - media_s
    gen = generate_blocking(model, [request], settings.sampling)[0]
    gen_s = time.perf_counter() - start - media_s - load_s
    ref = settings.models[role]
    return {
        "video": str(video),
        "audio": str(audio) if audio else None,
        "question": question,
        "role": role,
        "model": {"kind": ref.kind, "folder": str(settings.model_path(role)), "source": ref.source},
        "backend": backend,
        "frames": int(inputs.frames.shape[0]) if inputs.frames is not None else 0,
        "audio_in_video": inputs.audio_in_video,
        "generation": gen.model_dump(),
        "sampling": settings.sampling.model_dump(),
        **stamp(settings),
        "seconds": {"media": round(media_s, 3), "load": round(load_s, 3), "generate": round(gen_s, 3)},
    }


def render(record: dict[str, Any]) -> str:
    """Return a readable summary of a generation record."""
    gen = record["generation"]
    media = gen["media_tokens"]
    audio = "from the video track" if record["audio_in_video"] else record["audio"] or "none"
    return "\n".join(
        [
            f"model     {record['model']['kind']} ({record['backend']}) from {record['model']['folder']}",
            f"media     {record['frames']} frames, audio {audio}",
            f"prompt    {gen['prompt_tokens']} tokens: {media['video']} video, {media['audio']} audio",
            f"question  {record['question']}",
            f"answer    {gen['text']!r}",
            f"tokens    {len(gen['token_ids'])} generated ({gen['finish_reason']}), "
            f"load {record['seconds']['load']} s, generate {record['seconds']['generate']} s",
            f"config    profile {record['profile']}, hash {record['config_hash']}",
        ]
    )
