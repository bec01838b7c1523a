"""What every family plugin provides, with the behaviour shared by most of them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

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

    def openai_request(self, request: OmniRequest) -> dict[str, Any]:
        """The messages (and any extra fields) of an OpenAI chat-completions body."""
        return {"messages": [{"role": m.role, "content": m.text()} for m in request.messages]}

    # -- checks --------------------------------------------------------------------------------
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
