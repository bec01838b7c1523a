"""What an engine is asked: decoded media, a conversation, decoding settings, an output constraint.

Every backend (vLLM in-process, vLLM server, transformers) takes these same types, so greedy outputs
can be compared token for token across backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aurelia_local.core.config import MediaConfig, SamplingConfig
from aurelia_local.core.messages import ChatMessage, user_turn

if TYPE_CHECKING:
    from aurelia_local.core.media.bundle import MediaBundle
    from aurelia_local.core.media.still import StillMedia


@dataclass(frozen=True)
class AVInputs:
    """Decoded media for one request.

    ``audio_in_video`` marks audio taken from the video's own track: Qwen omni models then
    interleave audio and video tokens by time (``use_audio_in_video``).
    """

    frames: np.ndarray | None  # (T, H, W, 3) uint8
    audio: np.ndarray | None  # mono float32
    sample_rate: int = 16000
    fps: float | None = None  # sampled frames per second of video time
    audio_in_video: bool = False
    min_pixels: int | None = None  # the frames' pixel range for the processor (``media.video_*_pixels``)
    max_pixels: int | None = None
    image: np.ndarray | None = None  # (H, W, 3) uint8: a still image instead of frames
    frame_times: tuple[float, ...] | None = None  # where each frame lies in the video (s)


@dataclass(frozen=True)
class OmniRequest:
    """One generation request for an omni model."""

    messages: list[ChatMessage]
    inputs: AVInputs


def bundle_inputs(bundle: MediaBundle | StillMedia, media: MediaConfig) -> AVInputs:
    """Return the omni-model inputs of a decoded sample: its frames (or image) and 16 kHz audio."""
    from aurelia_local.core.media.still import StillMedia

    wav = bundle.audio
    if wav is not None:
        # Whole 10 ms feature frames only: vLLM and transformers count a trailing partial frame
        # differently for Qwen3-Omni (391 vs 390 audio tokens on a 30.0002 s track).
        hop = bundle.sample_rate // 100
        wav = wav[: max(hop, wav.size // hop * hop)]
    if isinstance(bundle, StillMedia):
        return AVInputs(None, wav, bundle.sample_rate, image=bundle.image)
    in_video = bundle.audio_source == "video" and media.use_audio_in_video
    return AVInputs(
        bundle.frames, wav, bundle.sample_rate, bundle.frames_fps, in_video,
        min_pixels=media.video_min_pixels, max_pixels=media.video_max_pixels, frame_times=bundle.frame_times,
    )  # fmt: skip


def load_av_inputs(video: Path, audio: Path | None, media: MediaConfig) -> AVInputs:
    """Decode a sample (separate audio file, else the video's track) into omni-model inputs."""
    from aurelia_local.core.media.bundle import load_bundle

    return bundle_inputs(load_bundle(video, audio, media), media)


def question_request(
    question: str, inputs: AVInputs, system: str | None = None, text_first: bool = False
) -> OmniRequest:
    """A request that asks ``question`` about the media in ``inputs`` (media first unless ``text_first``)."""
    messages = user_turn(
        question,
        video=inputs.frames is not None,
        audio=inputs.audio is not None and not inputs.audio_in_video,
        system=system,
        text_first=text_first,
        image=inputs.image is not None,
    )
    return OmniRequest(messages, inputs)


@dataclass(frozen=True)
class EngineRequest:
    """One request with its own decoding settings and optional output constraint.

    ``structured`` holds the fields of vLLM's ``StructuredOutputsParams`` (``{"regex": ...}``,
    ``{"json": schema}``, ``{"choice": [...]}``).
    """

    request: OmniRequest
    sampling: SamplingConfig
    structured: dict | None = None
