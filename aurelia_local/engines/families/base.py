"""What every family plugin provides, with the behaviour shared by most of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from typing_extensions import override

from aurelia_local.core.errors import MediaError

if TYPE_CHECKING:
    from aurelia_local.core.catalog import ModelFamily
    from aurelia_local.core.config import EngineConfig
    from aurelia_local.engines.request import AVInputs, OmniRequest


class Family:
    """A kind of model as the engines see it; subclasses override what differs."""

    def __init__(self, entry: ModelFamily):
        self.entry = entry
        self.kind = entry.key

    @property
    def omni(self) -> bool:
        """Takes video and audio in one prompt."""
        return self.entry.omni

    # -- loading -------------------------------------------------------------------------------
    def load_processor(self, path: Path, trust_remote_code: bool):
        """The processor (or tokenizer) that renders this family's prompts."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)

    def vllm_args(self, engine: EngineConfig) -> dict[str, Any]:
        """Engine arguments this family needs besides the common ones."""
        return {}

    def prepare_vllm(self) -> None:
        """Apply the process-wide fixes this family's models need before a vLLM engine is built here."""

    def server_flags(self, engine: EngineConfig) -> list[str]:
        """``vllm serve`` flags this family needs besides the common ones."""
        return []

    def load_hf_model(self, path: Path, dtype: Any, trust_remote_code: bool):
        """The transformers model that generates text for this family."""
        from aurelia_local.core.errors import ConfigError

        raise ConfigError(f"model kind {self.kind!r} has no transformers engine; use the vLLM backend")

    # -- requests ------------------------------------------------------------------------------
    def vllm_prompt(self, processor, request: OmniRequest) -> dict[str, Any]:
        """The ``vllm.inputs.TextPrompt`` dict of a request."""
        return {"prompt": self.chat_text(processor, request)}

    def chat_text(self, processor, request: OmniRequest) -> str:
        """The request's conversation rendered with the model's own chat template."""
        conv = [{"role": m.role, "content": m.text()} for m in request.messages]
        return processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)

    def hf_inputs(self, processor, request: OmniRequest):
        """The tensors transformers generates from."""
        return processor(text=self.chat_text(processor, request), return_tensors="pt")

    def hf_generate_kwargs(self, request: OmniRequest) -> dict[str, Any]:
        """Arguments of transformers' ``generate`` besides the tensors and the decoding settings."""
        return {}

    def openai_request(self, request: OmniRequest) -> dict[str, Any]:
        """The messages (and any extra fields) of an OpenAI chat-completions body."""
        return {"messages": [{"role": m.role, "content": m.text()} for m in request.messages]}

    # -- checks --------------------------------------------------------------------------------
    def check_inputs(self, inputs: AVInputs, where: str) -> None:
        """Refuse media this kind of model does not take, before any prompt is built.

        A vision-only model asked with audio (or an audio-only one with frames) would otherwise
        answer without it and look as if it had heard (or seen) the sample.
        """
        given = {"video": inputs.frames, "audio": inputs.audio, "image": inputs.image}
        refused = [
            medium for medium, value in given.items() if value is not None and medium not in self.entry.inputs
        ]
        if refused:
            media = " and ".join(refused)
            raise MediaError(
                f"{where}: model kind {self.kind!r} takes {', '.join(self.entry.inputs)}, not {media}; ask "
                f"it without {media}, or give the role a model kind that takes {media} "
                "(`aurelia list families`)"
            )

    def media_token_strings(self) -> dict[str, str]:
        """Medium -> the placeholder token a prompt holds for it."""
        return {}

    def media_tokens(self, token_ids: list[int], token_id) -> dict[str, int]:
        """Count each medium's placeholder tokens in a tokenized prompt.

        ``token_id`` maps a token string to its id (the tokenizer's, or a server's ``/tokenize``).
        """
        ids = np.asarray(token_ids)
        counts = {"audio": 0, "video": 0}
        for medium, token in self.media_token_strings().items():
            if token is not None:
                counts[medium] = int((ids == token_id(token)).sum())
        return counts

    def check_media(self, counts: dict[str, int], inputs: AVInputs, where: str) -> None:
        """Fail loudly when media given to the model produced no placeholder tokens in its prompt.

        Audio silently dropped from a video is a common serving bug; this check makes it an error.
        """
        if inputs.audio is not None and counts["audio"] == 0:
            raise MediaError(f"{where}: audio was given but the prompt holds no audio tokens (audio dropped)")
        if inputs.frames is not None and counts["video"] == 0:
            raise MediaError(f"{where}: video was given but the prompt holds no video tokens (video dropped)")
        if inputs.image is not None and counts.get("image", 0) == 0:
            raise MediaError(
                f"{where}: an image was given but the prompt holds no image tokens (image dropped)"
            )


class MultimodalFamily(Family):
    """A family whose processor takes media beside the text (``AutoProcessor``, content-part turns).

    ``MEDIA_LIMITS`` are the media items a prompt may hold; ``REQUEST_MM_KWARGS``: the family sends
    per-request processor or media arguments to a server (frame times, pixel ranges), which the server
    must be told to trust.
    """

    MEDIA_LIMITS: dict[str, int] = {}
    REQUEST_MM_KWARGS = True

    def media_limits(self, engine: EngineConfig) -> dict[str, int]:
        """The media items one prompt may hold."""
        return dict(self.MEDIA_LIMITS)

    @override
    def load_processor(self, path: Path, trust_remote_code: bool):
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)

    @override
    def vllm_args(self, engine: EngineConfig) -> dict[str, Any]:
        return {
            "limit_mm_per_prompt": self.media_limits(engine),
            "mm_processor_cache_gb": engine.mm_cache_gib,
        }

    @override
    def server_flags(self, engine: EngineConfig) -> list[str]:
        trust = ["--trust-request-mm-kwargs"] if self.REQUEST_MM_KWARGS else []
        return ["--limit-mm-per-prompt", json.dumps(self.media_limits(engine)), *trust,
                "--mm-processor-cache-gb", str(engine.mm_cache_gib)]  # fmt: skip

    @override
    def load_hf_model(self, path: Path, dtype: Any, trust_remote_code: bool):
        import transformers

        cls = getattr(transformers, self.entry.model_class)
        return cls.from_pretrained(
            path, dtype=dtype, local_files_only=True, trust_remote_code=trust_remote_code
        )

    def conversation(self, request: OmniRequest) -> list[dict[str, Any]]:
        """The request's turns in content-part form (media parts, then or before the text)."""
        return [m.to_hf() for m in request.messages]

    @override
    def media_token_strings(self) -> dict[str, str]:
        tokens = (("audio", self.entry.audio_token), ("video", self.entry.video_token),
                  ("image", self.entry.image_token))  # fmt: skip
        return {medium: token for medium, token in tokens if token is not None}

    def openai_messages(self, request: OmniRequest) -> list[dict[str, Any]]:
        """The conversation of an OpenAI body: a user turn's image, frames and audio, then its text.

        The audio goes as a WAV of its own (also a video's soundtrack).
        """
        from aurelia_local.engines.families.media_encoding import image_part, video_part, wav_data_url

        inputs = request.inputs
        messages = []
        for m in request.messages:
            if m.role != "user":
                messages.append({"role": m.role, "content": m.text()})
                continue
            parts: list[dict[str, Any]] = []
            if inputs.image is not None:
                parts.append(image_part(inputs))
            if inputs.frames is not None:
                parts.append(video_part(inputs))
            if inputs.audio is not None:
                url = wav_data_url(inputs.audio, inputs.sample_rate)
                parts.append({"type": "audio_url", "audio_url": {"url": url}})
            parts.append({"type": "text", "text": m.text()})
            messages.append({"role": m.role, "content": parts})
        return messages

    @override
    def chat_text(self, processor, request: OmniRequest) -> str:
        return processor.apply_chat_template(
            self.conversation(request), add_generation_prompt=True, tokenize=False
        )
