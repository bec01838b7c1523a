"""Audio Flamingo 3: an audio-language model (audio and text in); AVRT's audio teacher.

A prompt holds one audio item: its processor (and vLLM's) cuts the item into 30 s windows of its
Whisper-style encoder and expands the one ``<sound>`` placeholder to every window's tokens (25 a
second), up to 20 windows; longer audio would be cut at 10 minutes without a word, and the model
takes no second audio item to carry the rest, so such a track is refused (``audio_item_seconds`` of
the family's registry entry). The media check compares the prompt's audio tokens with the number
the track's duration gives, window by window, so audio cut or dropped anywhere is an error. The
model sees nothing: a request with frames or an image is refused (``Family.check_inputs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from aurelia_local.core.errors import MediaError
from aurelia_local.engines.families.base import MultimodalFamily
from aurelia_local.engines.families.media_encoding import wav_data_url
from aurelia_local.engines.tiny.tokenizer import AUDIO_FLAMINGO3_TOKENS, build_chatml_tokenizer

if TYPE_CHECKING:
    from aurelia_local.engines.request import AVInputs, OmniRequest

WINDOW_SECONDS = 30  # the encoder's window (the feature extractor's chunk_length)


def expected_audio_tokens(samples: int, rate: int) -> int:
    """The audio tokens ``samples`` of audio give.

    Per 30 s window: its 10 ms mel frames, halved by a stride-2 convolution, then by a stride-2 pooling.
    """
    window = WINDOW_SECONDS * rate
    hop = rate // 100
    total = 0
    for start in range(0, max(samples, 1), window):
        frames = -(-min(window, samples - start) // hop)
        conv = (frames - 1) // 2 + 1
        total += (conv - 2) // 2 + 1
    return total


class AudioFlamingo3(MultimodalFamily):
    """An Audio Flamingo 3 model: the audio encoder, its projector and the language model."""

    MEDIA_LIMITS = {"audio": 1}
    REQUEST_MM_KWARGS = False

    # -- requests ------------------------------------------------------------------------------
    @override
    def conversation(self, request: OmniRequest) -> list[dict[str, Any]]:
        """The request's turns in content-part form, with the audio's part.

        Audio without a part of its own (a video's soundtrack) gets one in the last user turn.
        """
        conv = [m.to_hf() for m in request.messages]
        parts = [p for turn in conv for p in turn["content"]]
        if request.inputs.audio is not None and not any(p["type"] == "audio" for p in parts):
            turn = next(t for t in reversed(conv) if t["role"] == "user")
            turn["content"].insert(0, {"type": "audio", "audio": ""})
        return conv

    @override
    def vllm_prompt(self, processor, request: OmniRequest) -> dict[str, Any]:
        inputs = request.inputs
        data = {"audio": (inputs.audio, inputs.sample_rate)} if inputs.audio is not None else {}
        return {"prompt": self.chat_text(processor, request), "multi_modal_data": data}

    @override
    def hf_inputs(self, processor, request: OmniRequest):
        inputs = request.inputs
        kwargs = (
            {"audio": [inputs.audio], "sampling_rate": inputs.sample_rate} if inputs.audio is not None else {}
        )
        return processor(text=self.chat_text(processor, request), return_tensors="pt", **kwargs)

    @override
    def openai_request(self, request: OmniRequest) -> dict[str, Any]:
        """The audio as a 16 kHz WAV (32-bit float: the samples arrive unchanged) before the text."""
        inputs = request.inputs
        messages = []
        for turn in self.conversation(request):
            if not any(p["type"] == "audio" for p in turn["content"]):
                messages.append(
                    {"role": turn["role"], "content": "\n".join(p["text"] for p in turn["content"])}
                )
                continue
            url = wav_data_url(inputs.audio, inputs.sample_rate)
            parts: list[dict[str, Any]] = [{"type": "audio_url", "audio_url": {"url": url}}]
            parts += [{"type": "text", "text": p["text"]} for p in turn["content"] if p["type"] == "text"]
            messages.append({"role": turn["role"], "content": parts})
        return {"messages": messages}

    # -- checks --------------------------------------------------------------------------------
    @override
    def check_inputs(self, inputs: AVInputs, where: str) -> None:
        """The base checks, then the track's length against what one audio item carries."""
        super().check_inputs(inputs, where)
        limit = self.entry.audio_item_seconds
        if inputs.audio is not None and limit and inputs.audio.size > limit * inputs.sample_rate:
            raise MediaError(
                f"{where}: {inputs.audio.size / inputs.sample_rate:.1f} s of audio, but model kind "
                f"{self.kind!r} takes one audio item of at most {limit:g} s and would cut the rest; shorten "
                f"the audio (media.max_audio_seconds={limit:g} refuses longer samples) or use another audio "
                "model kind"
            )

    @override
    def check_media(self, counts: dict[str, int], inputs: AVInputs, where: str) -> None:
        """The base checks, then the audio tokens against the track's duration (none may be cut)."""
        super().check_media(counts, inputs, where)
        if inputs.audio is None:
            return
        expected = expected_audio_tokens(inputs.audio.size, inputs.sample_rate)
        if counts["audio"] != expected:
            raise MediaError(
                f"{where}: {inputs.audio.size / inputs.sample_rate:.2f} s of audio should give {expected} "
                f"audio tokens, the prompt holds {counts['audio']} (audio cut or dropped)"
            )


# The tiny kit's Audio Flamingo 3: a two-layer Whisper-style encoder (128 mel bins, the 1500
# positions of a 30 s window) and a two-layer Qwen2 language model with head_dim 64 (vLLM's CPU
# attention supports 32/64/80/...). Every token id comes from the tiny tokenizer.
def build_tiny_audio_flamingo3(out: Path, seed: int) -> None:
    """Write a tiny Audio Flamingo 3 checkpoint with its processor to ``out``."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file
    from transformers import (
        AudioFlamingo3Config,
        AudioFlamingo3ForConditionalGeneration,
        AudioFlamingo3Processor,
        WhisperFeatureExtractor,
    )

    tokens = AUDIO_FLAMINGO3_TOKENS
    tok = build_chatml_tokenizer(tokens)
    cfg = AudioFlamingo3Config(
        audio_config=dict(
            model_type="audioflamingo3_encoder", num_mel_bins=128, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=128, hidden_size=64, max_source_positions=1500,
        ),
        text_config=dict(
            model_type="qwen2", vocab_size=len(tok), hidden_size=128, intermediate_size=256,
            num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None,
            tie_word_embeddings=False,
        ),
        audio_token_id=tok.convert_tokens_to_ids(tokens.audio),
    )  # fmt: skip
    torch.manual_seed(seed)
    AudioFlamingo3ForConditionalGeneration(cfg).save_pretrained(out)
    # transformers 5.19 writes the language model's tensors as ``language_model.model.model.*``;
    # the released checkpoint (and vLLM's loader) name them ``language_model.model.*``.
    weights = out / "model.safetensors"
    with safe_open(str(weights), framework="pt") as f:
        meta = f.metadata()
        tensors = {
            k.replace("language_model.model.model.", "language_model.model."): f.get_tensor(k)
            for k in f.keys()
        }
    save_file(tensors, str(weights), metadata=meta)
    AudioFlamingo3Processor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128, return_attention_mask=True),
        tokenizer=tok,
        chat_template=tok.chat_template,
        audio_token=tokens.audio,
    ).save_pretrained(out)
