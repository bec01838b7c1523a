"""Qwen3-VL: a vision-language model (video frames or an image, and text in); AVRT's vision teacher.

Frames go with their metadata: Qwen3-VL writes each temporal patch's time into the prompt
(``<3.8 seconds>``) from the frames' indices and the metadata's fps. The indices are the frames' own
times on a centisecond timeline, so every backend writes the times the frames were taken at (the
AVRT teacher's uniform frames sit at the centres of equal parts of the clip, not at ``i / fps``).
Qwen3-VL's video processor bounds the pixels of the whole clip, not of one frame: the profile's
per-frame range (``media.video_min_pixels`` / ``video_max_pixels``) is scaled by the number of
frames. Every backend gets the same frames, metadata and processor arguments, so greedy outputs can
be compared token for token. The model hears nothing: a request with audio is refused
(``Family.check_inputs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from aurelia_local.engines.families.base import MultimodalFamily
from aurelia_local.engines.families.media_encoding import pil_image, video_metadata
from aurelia_local.engines.tiny.tokenizer import QWEN3_VL_TOKENS, build_chatml_tokenizer

if TYPE_CHECKING:
    from aurelia_local.engines.request import AVInputs, OmniRequest


def video_kwargs(inputs: AVInputs) -> dict[str, Any]:
    """Processor arguments for the frames: the clip's pixel range, and no resampling of the frames."""
    kwargs: dict[str, Any] = {"do_sample_frames": False, "cap_pixels_per_frame": False}
    if inputs.min_pixels is not None and inputs.max_pixels is not None:
        frames = len(inputs.frames) + len(inputs.frames) % 2  # the temporal patch pairs frames
        kwargs["size"] = {
            "shortest_edge": inputs.min_pixels * frames,
            "longest_edge": inputs.max_pixels * frames,
        }
    return kwargs


class QwenVL(MultimodalFamily):
    """A Qwen3-VL model: the vision tower and the language model, no audio."""

    MEDIA_LIMITS = {"video": 1, "image": 1}

    @override
    def vllm_prompt(self, processor, request: OmniRequest) -> dict[str, Any]:
        inputs = request.inputs
        prompt: dict[str, Any] = {"prompt": self.chat_text(processor, request), "multi_modal_data": {}}
        if inputs.image is not None:
            prompt["multi_modal_data"]["image"] = pil_image(inputs.image)
        if inputs.frames is not None:
            prompt["multi_modal_data"]["video"] = (inputs.frames, video_metadata(inputs))
            prompt["mm_processor_kwargs"] = video_kwargs(inputs)
        return prompt

    @override
    def hf_inputs(self, processor, request: OmniRequest):
        inputs = request.inputs
        kwargs: dict[str, Any] = {}
        if inputs.frames is not None:
            kwargs = {
                "videos": [inputs.frames],
                "video_metadata": [video_metadata(inputs)],
                **video_kwargs(inputs),
            }
        return processor(
            text=self.chat_text(processor, request),
            images=[pil_image(inputs.image)] if inputs.image is not None else None,
            return_tensors="pt",
            **kwargs,
        )

    @override
    def openai_request(self, request: OmniRequest) -> dict[str, Any]:
        """Frames as a ``video/jpeg`` frame sequence with their metadata (``media_io_kwargs``).

        The server builds the frames' metadata from the request's ``media_io_kwargs`` (frame
        indices, fps, frame count) and passes ``mm_processor_kwargs`` to the processor; both need
        ``--trust-request-mm-kwargs``. JPEG frames differ from the decoded ones by its compression.
        """
        inputs = request.inputs
        body: dict[str, Any] = {"messages": self.openai_messages(request)}
        if inputs.frames is not None:
            meta = video_metadata(inputs)
            body["media_io_kwargs"] = {"video": {"num_frames": len(inputs.frames), **meta}}
            body["mm_processor_kwargs"] = video_kwargs(inputs)
        return body


# The tiny kit's Qwen3-VL. Sizes follow what vLLM's CPU backend accepts: text head_dim 64 (CPU
# attention supports 32/64/80/...), ``sum(mrope_section) == head_dim / 2`` (interleaved, as the real
# models), the vision output width equal to the text hidden size, 2304 = 48 x 48 learned vision
# positions. Every token id comes from the tiny tokenizer, never from the real models' defaults. A
# small pixel budget keeps the number of video tokens (and CPU time) low.
TINY_MIN_PIXELS = 16 * 32 * 32
TINY_MAX_PIXELS = 64 * 32 * 32


def build_tiny_qwen3_vl(out: Path, seed: int) -> None:
    """Write a tiny Qwen3-VL checkpoint with its processor to ``out``."""
    import torch
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
    )
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    tokens = QWEN3_VL_TOKENS
    tok = build_chatml_tokenizer(tokens)
    conv = tok.convert_tokens_to_ids
    cfg = Qwen3VLConfig(
        text_config=dict(
            vocab_size=len(tok), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=4096,
            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False,
            rope_parameters={"rope_type": "default", "rope_theta": 5e5, "mrope_section": [12, 10, 10],
                             "mrope_interleaved": True},
        ),
        vision_config=dict(
            depth=2, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=128, patch_size=16,
            spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=2304,
            deepstack_visual_indexes=[0],
        ),
        image_token_id=conv(tokens.image), video_token_id=conv(tokens.video),
        vision_start_token_id=conv(tokens.vision_bos), vision_end_token_id=conv(tokens.vision_eos),
        tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    Qwen3VLForConditionalGeneration(cfg).save_pretrained(out)
    half = [0.5, 0.5, 0.5]
    patches = dict(patch_size=16, merge_size=2, temporal_patch_size=2, image_mean=half, image_std=half)
    # the video range is the whole clip's (8 frames); a request's own range replaces it
    clip = {"shortest_edge": TINY_MIN_PIXELS * 8, "longest_edge": TINY_MAX_PIXELS * 8}
    Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS, **patches
        ),
        video_processor=Qwen3VLVideoProcessor(size=clip, **patches),
        tokenizer=tok,
        chat_template=tok.chat_template,
    ).save_pretrained(out)
