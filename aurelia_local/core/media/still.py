"""A still image and its sound (OmniBench's samples): what a target gets instead of a video bundle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aurelia_local.core.config import MediaConfig
from aurelia_local.core.errors import MediaError


@dataclass(frozen=True, eq=False)
class StillMedia:
    """A decoded image (RGB) and its audio, mono at ``sample_rate``."""

    image_path: Path
    image: np.ndarray  # (H, W, 3) uint8
    audio: np.ndarray | None
    sample_rate: int
    audio_path: Path | None


def load_still(image: Path, audio: Path | None, media: MediaConfig) -> StillMedia:
    """Decode an image and its audio file; ``MediaError`` names the file that fails.

    A missing audio file is an error unless ``media.video_only`` (an arm without audio) allows it.
    """
    from PIL import Image, UnidentifiedImageError

    from aurelia_local.core.media.decode import check_file, read_audio

    image = check_file(Path(image))
    try:
        with Image.open(image) as opened:
            pixels = np.asarray(opened.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise MediaError(f"{image}: not a readable image ({exc})") from None
    if audio is None and not media.video_only:
        raise MediaError(f"{image}: no audio file for this image; give one, or run an arm without audio")
    wav = read_audio(audio, media.audio_sample_rate, media.max_audio_seconds) if audio is not None else None
    return StillMedia(image, pixels, wav, media.audio_sample_rate, audio)
