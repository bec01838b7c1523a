"""Gemma 4 (E2B, E4B): video or an image, audio and text in one prompt, each medium an item of its own.

Gemma 4 never interleaves a soundtrack with its video: the audio goes as audio items beside the
frames, also when it is the video's own track (``AVInputs.audio_in_video``). Its feature extractor
cuts an item at 30 s (``audio_item_seconds`` of the family's registry entry), so a longer track is
split into items of equal length under that limit, each with its own placeholder in the user turn;
the media check compares the audio tokens of the prompt with the track's duration (40 ms a token),
so audio cut or dropped anywhere is an error. Frames go with their metadata (fps, frame indices),
from which the prompt writes each frame's timestamp. Every backend gets the same frames, audio items
and metadata, so greedy outputs can be compared token for token.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from typing_extensions import override

from aurelia_local.core.errors import MediaError
from aurelia_local.engines.families.base import MultimodalFamily
from aurelia_local.engines.families.media_encoding import (
    image_part,
    pil_image,
    video_metadata,
    video_part,
    wav_data_url,
)
from aurelia_local.engines.tiny.tokenizer import GEMMA4_TOKENS, build_gemma_tokenizer

if TYPE_CHECKING:
    from aurelia_local.core.config import EngineConfig
    from aurelia_local.engines.request import AVInputs, OmniRequest

# One audio token per 40 ms (the encoder's 4x reduction of 10 ms frames), unless the registry entry
# says otherwise; a count may differ from the duration's by this many tokens per item (the frame
# arithmetic at an item's two ends).
AUDIO_TOKENS_PER_SECOND = 25
AUDIO_TOKEN_SLACK = 2


def audio_items(audio: np.ndarray, rate: int, seconds: float | None) -> list[np.ndarray]:
    """``audio`` as the fewest items of at most ``seconds`` each, of equal length in whole 10 ms frames.

    Equal lengths leave no short tail item (a few samples give an item without any audio token).
    """
    if seconds is None:
        return [audio]
    hop = max(1, rate // 100)
    limit = max(hop, int(seconds * rate) // hop * hop)
    count = max(1, math.ceil(audio.size / limit))
    size = math.ceil(audio.size / (count * hop)) * hop
    return [audio[i * size : (i + 1) * size] for i in range(count)]


class Gemma4(MultimodalFamily):
    """A Gemma 4 model with its vision and audio towers."""

    # -- loading -------------------------------------------------------------------------------

    @property
    def audio_tokens_per_second(self) -> float:
        """Audio placeholders a prompt holds per second of sound."""
        return self.entry.audio_tokens_per_second or AUDIO_TOKENS_PER_SECOND

    @override
    def media_limits(self, engine: EngineConfig) -> dict[str, int]:
        """Items per prompt: one video or image; as many audio items as the context can hold."""
        per_item = self.audio_tokens_per_second * (self.entry.audio_item_seconds or 30)
        return {"image": 1, "video": 1, "audio": max(1, math.ceil(engine.max_model_len / per_item))}

    @override
    def prepare_vllm(self) -> None:
        from aurelia_local.engines.compat import patch_onednn_mm

        patch_onednn_mm()

    # -- requests ------------------------------------------------------------------------------
    def audio_items(self, inputs: AVInputs) -> list[np.ndarray]:
        """The request's audio as the items the model takes (none without audio)."""
        if inputs.audio is None:
            return []
        return audio_items(inputs.audio, inputs.sample_rate, self.entry.audio_item_seconds)

    @override
    def conversation(self, request: OmniRequest) -> list[dict[str, Any]]:
        """The request's turns in content-part form, with one audio part per audio item.

        A video's own soundtrack has no part in the conversation (Qwen models interleave it); here
        its items follow the video part.
        """
        items = len(self.audio_items(request.inputs))
        conv = [m.to_hf(audio_items=items) for m in request.messages]
        parts = [p for turn in conv for p in turn["content"]]
        if items and not any(p["type"] == "audio" for p in parts):
            turn = next((t for t in conv if any(p["type"] == "video" for p in t["content"])), conv[-1])
            content = turn["content"]
            at = next((i + 1 for i, p in enumerate(content) if p["type"] == "video"), 0)
            content[at:at] = [{"type": "audio", "audio": ""} for _ in range(items)]
        return conv

    @override
    def vllm_prompt(self, processor, request: OmniRequest) -> dict[str, Any]:
        inputs = request.inputs
        data: dict[str, Any] = {}
        if inputs.image is not None:
            data["image"] = pil_image(inputs.image)
        if inputs.frames is not None:
            data["video"] = (inputs.frames, video_metadata(inputs))
        if items := self.audio_items(inputs):
            data["audio"] = [(item, inputs.sample_rate) for item in items]
        return {"prompt": self.chat_text(processor, request), "multi_modal_data": data}

    @override
    def hf_inputs(self, processor, request: OmniRequest):
        inputs = request.inputs
        kwargs: dict[str, Any] = {}
        if inputs.frames is not None:
            kwargs = {"videos": [inputs.frames], "video_metadata": [video_metadata(inputs)],
                      "do_sample_frames": False}  # fmt: skip
        if items := self.audio_items(inputs):
            kwargs.update(audio=items, sampling_rate=inputs.sample_rate)
        return processor(
            text=self.chat_text(processor, request),
            images=[pil_image(inputs.image)] if inputs.image is not None else None,
            return_tensors="pt",
            **kwargs,
        )

    @override
    def openai_request(self, request: OmniRequest) -> dict[str, Any]:
        """Frames as a ``video/jpeg`` frame sequence, each audio item as a 16 kHz WAV of its own.

        The frames' metadata (``video_metadata``) goes as the request's ``media_io_kwargs`` (the
        server needs ``--trust-request-mm-kwargs``): vLLM builds the video's metadata from it.
        """
        inputs = request.inputs
        items = iter(self.audio_items(inputs))
        messages = []
        for turn in self.conversation(request):
            if all(p["type"] == "text" for p in turn["content"]):
                messages.append(
                    {"role": turn["role"], "content": "\n".join(p["text"] for p in turn["content"])}
                )
                continue
            parts: list[dict[str, Any]] = []
            for part in turn["content"]:
                if part["type"] == "text":
                    parts.append({"type": "text", "text": part["text"]})
                elif part["type"] == "image":
                    parts.append(image_part(inputs))
                elif part["type"] == "video":
                    parts.append(video_part(inputs))
                else:
                    url = wav_data_url(next(items), inputs.sample_rate)
                    parts.append({"type": "audio_url", "audio_url": {"url": url}})
            messages.append({"role": turn["role"], "content": parts})
        body: dict[str, Any] = {"messages": messages}
        if inputs.frames is not None:
            meta = video_metadata(inputs)
            keep = ("fps", "frames_indices", "total_num_frames")
            video = {"num_frames": len(inputs.frames), **{k: meta[k] for k in keep}}
            body["media_io_kwargs"] = {"video": video}
        return body

    # -- checks --------------------------------------------------------------------------------

    @override
    def check_media(self, counts: dict[str, int], inputs: AVInputs, where: str) -> None:
        """The base checks, then the audio tokens against the track's duration (none may be cut)."""
        super().check_media(counts, inputs, where)
        if inputs.audio is None:
            return
        seconds = inputs.audio.size / inputs.sample_rate
        expected = seconds * self.audio_tokens_per_second
        items = len(self.audio_items(inputs))
        if abs(counts["audio"] - expected) > AUDIO_TOKEN_SLACK * items:
            raise MediaError(
                f"{where}: {seconds:.2f} s of audio in {items} item(s) should give about {expected:.0f} "
                f"audio tokens ({self.audio_tokens_per_second:g} a second), the prompt holds "
                f"{counts['audio']} (audio cut or dropped); no audio item may be longer than the feature "
                f"extractor keeps (audio_item_seconds of model kind {self.kind!r} in the catalog)"
            )


# The tiny kit's Gemma 4: both towers, four text layers (sliding and full attention alternating, the
# last two sharing the KV cache of earlier ones, as the real models' last layers do), per-layer inputs.
# The text head sizes are ones vLLM's CPU attention supports (32 for sliding, 64 for full layers).
# ``default_output_length`` is read by vLLM, not by the transformers config class. The audio
# subsampling's first conv keeps 128 channels (the mel bins it folds). Every token id comes from the
# tiny tokenizer, never from the real models' defaults.
TINY_TEXT = dict(
    hidden_size=128, intermediate_size=256, num_hidden_layers=4,
    layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    num_attention_heads=2, num_key_value_heads=1, head_dim=32, global_head_dim=64,
    hidden_size_per_layer_input=16, num_kv_shared_layers=2, sliding_window=512, max_position_embeddings=4096,
    rope_parameters={
        "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
        "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1e6},
    },
)  # fmt: skip
TINY_VISION = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
    head_dim=32, patch_size=16, pooling_kernel_size=3, position_embedding_size=256, default_output_length=280,
)  # fmt: skip
TINY_AUDIO = dict(
    hidden_size=64, num_hidden_layers=2, num_attention_heads=2, subsampling_conv_channels=[128, 8],
    output_proj_dims=64,
)  # fmt: skip


def build_tiny_gemma4(out: Path, seed: int) -> None:
    """Write a tiny Gemma 4 (vision and audio towers) with its processor to ``out``."""
    import torch
    from transformers import (
        Gemma4AudioFeatureExtractor,
        Gemma4Config,
        Gemma4ForConditionalGeneration,
        Gemma4ImageProcessor,
        Gemma4Processor,
        Gemma4VideoProcessor,
    )

    tokens = GEMMA4_TOKENS
    tok = build_gemma_tokenizer(tokens)
    conv = tok.convert_tokens_to_ids
    text = dict(
        vocab_size=len(tok), vocab_size_per_layer_input=len(tok), pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id, eos_token_id=[tok.eos_token_id, conv(tokens.turn_end)], **TINY_TEXT,
    )  # fmt: skip
    cfg = Gemma4Config(
        text_config=text, vision_config=dict(TINY_VISION), audio_config=dict(TINY_AUDIO),
        boi_token_id=conv(tokens.image_bos), eoi_token_id=conv(tokens.image_eos),
        image_token_id=conv(tokens.image), video_token_id=conv(tokens.video),
        boa_token_id=conv(tokens.audio_bos), eoa_token_index=conv(tokens.audio_eos),
        eoa_token_id=conv(tokens.audio_eos), audio_token_id=conv(tokens.audio),
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Gemma4ForConditionalGeneration(cfg)
    # A random model emits media placeholders and markers, and the backends embed a generated
    # placeholder differently (their outputs part from there on); neither may generate one.
    # transformers and vLLM's Gemma 4 both read ``suppress_tokens`` from the generation config.
    media = (tokens.image, tokens.image_bos, tokens.image_eos, tokens.video, tokens.audio, tokens.audio_bos,
             tokens.audio_eos)  # fmt: skip
    model.generation_config.suppress_tokens = sorted(conv(t) for t in media)
    model.save_pretrained(out)
    processor = Gemma4Processor(
        feature_extractor=Gemma4AudioFeatureExtractor(),
        image_processor=Gemma4ImageProcessor(max_soft_tokens=280),
        video_processor=Gemma4VideoProcessor(),
        tokenizer=tok,
        image_seq_length=280,
        chat_template=tok.chat_template,
    )
    processor.save_pretrained(out)
