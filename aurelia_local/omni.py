"""Requests for the Qwen omni thinkers, built once and rendered for vLLM or for transformers.

Both backends get the same decoded frames, the same audio and the same processor arguments, so
greedy outputs can be compared token for token. The prompt text always comes from the model's own
chat template.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aurelia_local.config import MediaConfig
from aurelia_local.errors import AureliaError, MediaError
from aurelia_local.messages import ChatMessage, user_turn

if TYPE_CHECKING:
    from aurelia_local.media.bundle import MediaBundle


@dataclass(frozen=True)
class OmniFamily:
    """What differs between omni model families."""

    kind: str
    model_class: str  # the full (thinker + talker) transformers class; only its thinker is used
    audio_token: str
    video_token: str


FAMILIES = {
    "qwen2_5_omni": OmniFamily(
        "qwen2_5_omni", "Qwen2_5OmniForConditionalGeneration", "<|AUDIO|>", "<|VIDEO|>"
    ),
    "qwen3_omni_moe": OmniFamily(
        "qwen3_omni_moe", "Qwen3OmniMoeForConditionalGeneration", "<|audio_pad|>", "<|video_pad|>"
    ),
}


def family(kind: str) -> OmniFamily:
    """Return the omni family of a model kind, or raise for a kind that is not an omni model."""
    try:
        return FAMILIES[kind]
    except KeyError:
        raise AureliaError(f"model kind {kind!r} is not an omni model ({', '.join(FAMILIES)})") from None


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


@dataclass(frozen=True)
class OmniRequest:
    """One generation request for an omni model."""

    messages: list[ChatMessage]
    inputs: AVInputs


def bundle_inputs(bundle: MediaBundle, media: MediaConfig) -> AVInputs:
    """Return the omni-model inputs of a decoded sample: uniform frames and 16 kHz audio."""
    wav = bundle.audio
    if wav is not None:
        # Whole 10 ms feature frames only: vLLM and transformers count a trailing partial frame
        # differently for Qwen3-Omni (391 vs 390 audio tokens on a 30.0002 s track).
        hop = bundle.sample_rate // 100
        wav = wav[: max(hop, wav.size // hop * hop)]
    in_video = bundle.audio_source == "video" and media.use_audio_in_video
    return AVInputs(bundle.frames, wav, bundle.sample_rate, bundle.frames_fps, in_video)


def load_av_inputs(video: Path, audio: Path | None, media: MediaConfig) -> AVInputs:
    """Decode a sample (separate audio file, else the video's track) into omni-model inputs."""
    from aurelia_local.media.bundle import load_bundle

    return bundle_inputs(load_bundle(video, audio, media), media)


def question_request(question: str, inputs: AVInputs, system: str | None = None) -> OmniRequest:
    """Build a request that asks ``question`` about the media in ``inputs``."""
    messages = user_turn(
        question,
        video=inputs.frames is not None,
        audio=inputs.audio is not None and not inputs.audio_in_video,
        system=system,
    )
    return OmniRequest(messages, inputs)


def processor_kwargs(inputs: AVInputs, media: MediaConfig) -> dict[str, Any]:
    """Return the processor arguments shared by both backends."""
    kwargs: dict[str, Any] = {"use_audio_in_video": inputs.audio_in_video}
    if inputs.frames is not None:
        kwargs["size"] = {"shortest_edge": media.video_min_pixels, "longest_edge": media.video_max_pixels}
        if inputs.fps:
            kwargs["fps"] = inputs.fps
    return kwargs


def render_prompt(processor, request: OmniRequest) -> str:
    """Render the request's conversation with the model's own chat template."""
    conv = [m.to_hf() for m in request.messages]
    return processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)


def vllm_prompt(processor, request: OmniRequest, media: MediaConfig) -> dict[str, Any]:
    """Return a ``vllm.inputs.TextPrompt`` dict for the request."""
    data: dict[str, Any] = {}
    if request.inputs.frames is not None:
        data["video"] = request.inputs.frames
    if request.inputs.audio is not None:
        data["audio"] = (request.inputs.audio, request.inputs.sample_rate)
    kwargs = processor_kwargs(request.inputs, media)
    if "fps" in kwargs:
        # vLLM interleaves audio-in-video chunks by ``second_per_grid_ts`` from these kwargs and
        # assumes 1.0 s when it is absent, whatever fps the HF processor was given.
        kwargs["second_per_grid_ts"] = [processor.video_processor.temporal_patch_size / kwargs["fps"]]
    return {
        "prompt": render_prompt(processor, request),
        "multi_modal_data": data,
        "mm_processor_kwargs": kwargs,
    }


def hf_inputs(processor, request: OmniRequest, media: MediaConfig):
    """Return the processor's tensors (``BatchFeature``) for the request."""
    inputs = request.inputs
    kwargs = processor_kwargs(inputs, media)
    return processor(
        text=render_prompt(processor, request),
        videos=[inputs.frames] if inputs.frames is not None else None,
        audio=[inputs.audio] if inputs.audio is not None else None,
        return_tensors="pt",
        **kwargs,
    )


def count_media_tokens(token_ids: list[int], processor, kind: str) -> dict[str, int]:
    """Count audio and video placeholder tokens in a tokenized prompt."""
    fam = family(kind)
    conv = processor.tokenizer.convert_tokens_to_ids
    ids = np.asarray(token_ids)
    return {
        "audio": int((ids == conv(fam.audio_token)).sum()),
        "video": int((ids == conv(fam.video_token)).sum()),
    }


def check_media_tokens(counts: dict[str, int], inputs: AVInputs, where: str) -> None:
    """Fail loudly when media given to the model produced no placeholder tokens in its prompt.

    Audio silently dropped from a video is a common serving bug; this check makes it an error.
    """
    if inputs.audio is not None and counts["audio"] == 0:
        raise MediaError(f"{where}: audio was given but the prompt holds no audio tokens (audio dropped)")
    if inputs.frames is not None and counts["video"] == 0:
        raise MediaError(f"{where}: video was given but the prompt holds no video tokens (video dropped)")
