"""Speech to text with openai-whisper from a local checkpoint, cached per sample.

Agents without audio input (the summarizer, text-only teachers) read what is said from here. The
model is loaded once per process; a sample's transcript is computed once per process (keyed by
the sample's media key and the checkpoint) and, with ``cache_dir``, kept on disk across runs.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from aurelia_local.core.config import Settings
from aurelia_local.core.errors import ModelMissingError
from aurelia_local.core.media.bundle import MediaBundle
from aurelia_local.core.records import Segment, Transcript

_MEMORY: OrderedDict[str, Transcript] = OrderedDict()  # the most recent transcripts
MEMORY_SIZE = 256
# openai-whisper keeps decoding state in hooks on the model: one transcription at a time.
_LOCK = threading.Lock()


def whisper_checkpoint(settings: Settings) -> Path:
    """Return the Whisper checkpoint file the profile names, or raise naming the fix."""
    ref = settings.models["whisper"]
    folder = settings.model_path("whisper")
    path = folder / ref.file if ref.file else folder
    if not path.is_file():
        raise ModelMissingError(
            f"Whisper checkpoint {path} does not exist; run `aurelia models download --role whisper` "
            "(or `aurelia models build-tiny` for the smoke profile)"
        )
    return path


@lru_cache(maxsize=1)
def _load(path: Path):
    import whisper

    return whisper.load_model(str(path), device="cpu")


def transcribe(bundle: MediaBundle, settings: Settings, cache_dir: Path | None = None) -> Transcript | None:
    """Return the transcript of a sample's audio, or None when it has none or transcription is off."""
    if bundle.audio is None or not settings.media.transcribe:
        return None
    with _LOCK:
        return _transcribe(bundle, settings, cache_dir)


def _transcribe(bundle: MediaBundle, settings: Settings, cache_dir: Path | None) -> Transcript:
    checkpoint = whisper_checkpoint(settings)
    key = f"{bundle.key}-{checkpoint.stat().st_size}-{checkpoint.name}"
    if key in _MEMORY:
        _MEMORY.move_to_end(key)
        return _MEMORY[key]
    disk = Path(cache_dir) / f"transcript-{key}.json" if cache_dir else None
    if disk is not None and disk.is_file():
        return _remember(key, Transcript.model_validate_json(disk.read_text()))
    import numpy as np

    result = _load(checkpoint).transcribe(
        np.ascontiguousarray(bundle.audio, dtype=np.float32), fp16=False, temperature=0.0,
        condition_on_previous_text=False, language=settings.media.language, verbose=None,
    )  # fmt: skip
    transcript = Transcript(
        text=result["text"].strip(),
        language=result.get("language"),
        segments=[
            Segment(start=s["start"], end=s["end"], text=s["text"].strip()) for s in result["segments"]
        ],
        model=checkpoint.name,
    )
    if disk is not None:
        disk.parent.mkdir(parents=True, exist_ok=True)
        disk.write_text(json.dumps(transcript.model_dump(), ensure_ascii=False))
    return _remember(key, transcript)


def _remember(key: str, transcript: Transcript) -> Transcript:
    _MEMORY[key] = transcript
    while len(_MEMORY) > MEMORY_SIZE:
        _MEMORY.popitem(last=False)
    return transcript
