"""Qwen omni thinkers (Qwen2.5-Omni, Qwen3-Omni-MoE): video, audio and text in one prompt.

Every backend gets the same decoded frames, the same audio and the same processor arguments, so
greedy outputs can be compared token for token. The prompt text always comes from the model's own
chat template. The soundtrack of a video is interleaved with its frames by time
(``use_audio_in_video``) in vLLM's offline engine and in transformers; vLLM's OpenAI server gets it
as an audio input of its own (see ``openai_request``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from aurelia_local.engines.families.base import MultimodalFamily
from aurelia_local.engines.families.media_encoding import pil_image
from aurelia_local.engines.tiny.tokenizer import QWEN2_5_OMNI_TOKENS, QWEN3_OMNI_TOKENS, build_tokenizer

if TYPE_CHECKING:
    from aurelia_local.engines.request import AVInputs, OmniRequest


def processor_kwargs(inputs: AVInputs) -> dict[str, Any]:
    """The processor arguments every backend passes for ``inputs`` (their own pixel range and fps)."""
    kwargs: dict[str, Any] = {"use_audio_in_video": inputs.audio_in_video}
    if inputs.frames is not None:
        if inputs.min_pixels is not None and inputs.max_pixels is not None:
            kwargs["size"] = {"shortest_edge": inputs.min_pixels, "longest_edge": inputs.max_pixels}
        if inputs.fps:
            kwargs["fps"] = inputs.fps
    return kwargs


class QwenOmni(MultimodalFamily):
    """A Qwen omni thinker; the talker is never loaded."""

    MEDIA_LIMITS = {"audio": 1, "video": 1, "image": 1}

    @override
    def load_hf_model(self, path: Path, dtype: Any, trust_remote_code: bool):
        import transformers

        cls = getattr(transformers, self.entry.model_class)
        full = cls.from_pretrained(
            path, dtype=dtype, enable_audio_output=False, local_files_only=True,
            trust_remote_code=trust_remote_code,
        )  # fmt: skip
        # The full model's generate() insists on a talker; the thinker generates text on its own.
        return full.thinker

    @override
    def hf_generate_kwargs(self, request: OmniRequest) -> dict[str, Any]:
        return {"use_audio_in_video": request.inputs.audio_in_video}

    @override
    def vllm_prompt(self, processor, request: OmniRequest) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if request.inputs.image is not None:
            data["image"] = pil_image(request.inputs.image)
        if request.inputs.frames is not None:
            data["video"] = request.inputs.frames
        if request.inputs.audio is not None:
            data["audio"] = (request.inputs.audio, request.inputs.sample_rate)
        kwargs = processor_kwargs(request.inputs)
        if "fps" in kwargs:
            # vLLM interleaves audio-in-video chunks by ``second_per_grid_ts`` from these kwargs and
            # assumes 1.0 s when it is absent, whatever fps the HF processor was given.
            kwargs["second_per_grid_ts"] = [processor.video_processor.temporal_patch_size / kwargs["fps"]]
        return {"prompt": self.chat_text(processor, request), "multi_modal_data": data,
                "mm_processor_kwargs": kwargs}  # fmt: skip

    @override
    def hf_inputs(self, processor, request: OmniRequest):
        inputs = request.inputs
        return processor(
            text=self.chat_text(processor, request),
            images=[pil_image(inputs.image)] if inputs.image is not None else None,
            videos=[inputs.frames] if inputs.frames is not None else None,
            audio=[inputs.audio] if inputs.audio is not None else None,
            return_tensors="pt",
            **processor_kwargs(inputs),
        )

    @override
    def openai_request(self, request: OmniRequest) -> dict[str, Any]:
        """Frames as a ``video/jpeg`` frame sequence (with their fps), audio as a 16 kHz WAV.

        The audio goes as its own input, never ``use_audio_in_video``: vLLM 0.32's server cannot take
        the audio of a frame sequence, and asked to take it from the video file it resamples with
        torchaudio (absent on CPU) and, patched to scipy, hangs on CPU (measured).
        """
        inputs = request.inputs
        body: dict[str, Any] = {"messages": self.openai_messages(request)}
        if inputs.frames is not None:
            body["mm_processor_kwargs"] = {**processor_kwargs(inputs), "use_audio_in_video": False}
        return body


# The tiny kit's thinkers. Sizes follow what vLLM's CPU backend accepts: text head_dim 64 (CPU
# attention supports 32/64/80/...), ``sum(mrope_section) == head_dim / 2``, and the vision output width
# equal to the text hidden size. Every token id comes from the tiny tokenizer, never from the real
# models' defaults. A small pixel budget keeps the number of video tokens (and CPU time) low.
TINY_MIN_PIXELS = 16 * 28 * 28
TINY_MAX_PIXELS = 64 * 28 * 28
TINY_TEXT = dict(
    hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
    num_key_value_heads=1, max_position_embeddings=4096, tie_word_embeddings=False,
)  # fmt: skip
TINY_AUDIO = dict(
    num_mel_bins=128,
    encoder_layers=2,
    encoder_attention_heads=2,
    encoder_ffn_dim=128,
    d_model=64,
    output_dim=128,
)


def _ids(tok, tokens) -> dict[str, int]:
    conv = tok.convert_tokens_to_ids
    return {
        "audio": conv(tokens.audio), "image": conv(tokens.image), "video": conv(tokens.video),
        "audio_start": conv(tokens.audio_bos), "audio_end": conv(tokens.audio_eos),
        "vision_start": conv(tokens.vision_bos), "vision_end": conv(tokens.vision_eos),
        "pad": tok.pad_token_id, "eos": tok.eos_token_id, "user": tok.encode("user")[0],
    }  # fmt: skip


def _tiny_processor(cls, tok, patch_size: int, **image_kwargs):
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor, WhisperFeatureExtractor

    pixels = dict(min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS, patch_size=patch_size)
    pixels.update(image_kwargs)
    return cls(
        image_processor=Qwen2VLImageProcessor(**pixels),
        video_processor=Qwen2VLVideoProcessor(**pixels),
        feature_extractor=WhisperFeatureExtractor(feature_size=128),
        tokenizer=tok,
        chat_template=tok.chat_template,
    )


def build_tiny_qwen2_5_omni(out: Path, seed: int) -> None:
    """Write a tiny Qwen2.5-Omni (thinker only) checkpoint with its processor to ``out``."""
    import torch
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration, Qwen2_5OmniProcessor

    tok = build_tokenizer(QWEN2_5_OMNI_TOKENS)
    ids = _ids(tok, QWEN2_5_OMNI_TOKENS)
    thinker = dict(
        text_config=dict(
            vocab_size=len(tok), eos_token_id=ids["eos"], pad_token_id=ids["pad"], **TINY_TEXT,
            rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [8, 12, 12]},
        ),
        vision_config=dict(
            depth=2, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=128,
            fullatt_block_indexes=[1], window_size=112, patch_size=14, spatial_merge_size=2,
            temporal_patch_size=2,
        ),
        audio_config=dict(n_window=100, max_source_positions=1500, **TINY_AUDIO),
        audio_token_index=ids["audio"], image_token_index=ids["image"], video_token_index=ids["video"],
        audio_start_token_id=ids["audio_start"], audio_end_token_id=ids["audio_end"],
        vision_start_token_id=ids["vision_start"], vision_end_token_id=ids["vision_end"],
        user_token_id=ids["user"], position_id_per_seconds=25, seconds_per_chunk=2,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Qwen2_5OmniForConditionalGeneration(
        Qwen2_5OmniConfig(thinker_config=thinker, enable_audio_output=False)
    )
    model.save_pretrained(out)
    # from_pretrained of the full model insists on a speaker dictionary; the thinker needs none.
    torch.save({}, out / "spk_dict.pt")
    _tiny_processor(Qwen2_5OmniProcessor, tok, patch_size=14).save_pretrained(out)


def build_tiny_qwen3_omni_moe(out: Path, seed: int) -> None:
    """Write a tiny Qwen3-Omni-MoE (thinker only, 4 experts) checkpoint with its processor to ``out``."""
    import torch
    from transformers import Qwen3OmniMoeConfig, Qwen3OmniMoeForConditionalGeneration, Qwen3OmniMoeProcessor

    tok = build_tokenizer(QWEN3_OMNI_TOKENS)
    ids = _ids(tok, QWEN3_OMNI_TOKENS)
    thinker = dict(
        text_config=dict(
            vocab_size=len(tok), eos_token_id=ids["eos"], pad_token_id=ids["pad"], head_dim=64, **TINY_TEXT,
            moe_intermediate_size=64, num_experts=4, num_experts_per_tok=2, decoder_sparse_step=1,
            rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [12, 10, 10],
                             "interleaved": True, "mrope_interleaved": True},
        ),
        # vLLM reads image_size and apply_vit_abs_pos_embed, which the transformers dataclass lacks.
        vision_config=dict(
            depth=2, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=128,
            deepstack_visual_indexes=[0], patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
            num_position_embeddings=2304, image_size=768, apply_vit_abs_pos_embed=True,
        ),
        audio_config=dict(
            downsample_hidden_size=32, n_window=50, n_window_infer=800, conv_chunksize=500, **TINY_AUDIO
        ),
        audio_token_id=ids["audio"], image_token_id=ids["image"], video_token_id=ids["video"],
        audio_start_token_id=ids["audio_start"], audio_end_token_id=ids["audio_end"],
        vision_start_token_id=ids["vision_start"], vision_end_token_id=ids["vision_end"],
        position_id_per_seconds=13, seconds_per_chunk=2,
    )  # fmt: skip
    torch.manual_seed(seed)
    cfg = Qwen3OmniMoeConfig(
        thinker_config=thinker,
        enable_audio_output=False,
        im_start_token_id=tok.convert_tokens_to_ids("<|im_start|>"),
        im_end_token_id=ids["eos"],
    )
    Qwen3OmniMoeForConditionalGeneration(cfg).save_pretrained(out)
    half = [0.5, 0.5, 0.5]
    processor = _tiny_processor(Qwen3OmniMoeProcessor, tok, patch_size=16, image_mean=half, image_std=half)
    processor.save_pretrained(out)
