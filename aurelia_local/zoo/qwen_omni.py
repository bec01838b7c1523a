"""Qwen2.5-Omni and Qwen3-Omni (thinker) as target models, through transformers or vLLM."""

from __future__ import annotations

import dataclasses
from typing import Literal

from aurelia_local.core.config import Settings
from aurelia_local.core.errors import ModelMissingError
from aurelia_local.engines.request import bundle_inputs, question_request
from aurelia_local.zoo.base import TargetRequest
from aurelia_local.zoo.cards import ModelCard


class QwenOmniAdapter:
    """A Qwen omni thinker answering target requests; one backend, loaded once."""

    def __init__(
        self, card: ModelCard, settings: Settings, backend: Literal["hf", "vllm"] = "vllm", engine=None
    ):
        """Load the model from ``models_dir / card.folder`` unless a loaded ``engine`` is given."""
        from aurelia_local.core.config import ModelRef

        self.key = card.key
        self.card = card
        self.backend = backend
        self.media = settings.media  # the bundle was decoded with these; card.frames is advice
        self.sampling = settings.sampling
        ref = ModelRef(kind=card.kind, folder=card.folder, dtype=card.dtype, tiny=card.tiny)
        path = ref.folder if ref.folder.startswith("/") else settings.models_dir.expanduser() / ref.folder
        if engine is not None:
            self.engine = engine
            return
        if not (path / "config.json").is_file():
            raise ModelMissingError(
                f"zoo model {card.key}: no weights in {path}; "
                + ("run `aurelia models build-tiny`" if card.tiny else f"download {card.hub_id} there")
            )
        if backend == "vllm":
            from aurelia_local.engines.vllm_local import VllmLocal

            self.engine = VllmLocal(path, ref, settings.engine, self.media, settings.sampling.seed)
        else:
            from aurelia_local.engines.hf_omni import HfOmni

            self.engine = HfOmni(path, ref, self.media)

    def answer(self, requests: list[TargetRequest]):
        """Answer every request; vLLM batches them, transformers runs them one by one."""
        built = []
        for r in requests:
            inputs = bundle_inputs(r.media, self.media)
            inputs = dataclasses.replace(
                inputs,
                frames=inputs.frames if r.video else None,
                audio=inputs.audio if r.audio else None,
                audio_in_video=inputs.audio_in_video and r.video and r.audio,
            )
            built.append(question_request(r.text, inputs))
        return self.engine.generate(built, self.sampling)
