"""Requests for the Qwen omni thinkers, built once and rendered for vLLM or for transformers.

Both backends get the same decoded frames, the same audio and the same processor arguments, so
greedy outputs can be compared token for token. The prompt text always comes from the model's own
chat template.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aurelia_local.core.catalog import FAMILIES, ModelFamily
from aurelia_local.core.config import MediaConfig
from aurelia_local.core.errors import AureliaError, MediaError
from aurelia_local.engines.request import AVInputs, OmniRequest


def is_omni(kind: str) -> bool:
    """Whether a model kind takes video and audio in one prompt (its registry entry says)."""
    return kind in FAMILIES and FAMILIES.get(kind).omni


def family(kind: str) -> ModelFamily:
    """Return the registry entry of an omni model kind, or raise for a kind that is not an omni model."""
    if not is_omni(kind):
        omni = ", ".join(f.key for f in FAMILIES.select(lambda f: f.omni))
        raise AureliaError(f"model kind {kind!r} is not an omni model ({omni})")
    return FAMILIES.get(kind)


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
