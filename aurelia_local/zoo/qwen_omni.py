"""Qwen2.5-Omni and Qwen3-Omni (thinker) as target models, through transformers or vLLM."""

from __future__ import annotations

import dataclasses
from typing import Literal

from aurelia_local.core.config import Settings, model_folder
from aurelia_local.core.errors import ConfigError, ModelMissingError
from aurelia_local.core.model_files import missing_files
from aurelia_local.engines.protocol import BlockingEngine
from aurelia_local.engines.request import EngineRequest, bundle_inputs, question_request
from aurelia_local.zoo.base import TargetRequest
from aurelia_local.zoo.cards import ModelCard


class QwenOmniAdapter:
    """A Qwen omni thinker answering target requests; one backend, loaded once."""

    def __init__(
        self, card: ModelCard, settings: Settings, backend: Literal["hf", "vllm"] = "vllm", engine=None
    ):
        """Load the model from the card's folder (under ``models_dir`` unless absolute), or use ``engine``."""
        from aurelia_local.core.config import ModelRef

        self.key = card.key
        self.card = card
        self.backend = backend
        self.media = settings.media  # the bundle was decoded with these; card.frames is advice
        self.sampling = settings.sampling
        ref = ModelRef(kind=card.kind, folder=card.folder, dtype=card.dtype, tiny=card.tiny)
        path = model_folder(card.folder, settings.models_dir)
        if engine is not None:
            self.engine = engine
            return
        if missing := missing_files(path, ref):
            raise ModelMissingError(
                f"zoo model {card.key}: no usable weights in {path} (missing {', '.join(missing)}); "
                + ("run `aurelia models build-tiny`" if card.tiny else f"download {card.hub_id} there")
            )
        from aurelia_local.engines.factory import build_engine

        self.engine = build_engine(path, ref, settings, backend, role="target")

    def answer(self, requests: list[TargetRequest]):
        """Answer every request; vLLM batches them, transformers runs them one by one.

        A request that needs a modality the card does not list is refused; the soundtrack is
        interleaved with the video only when the card says the model takes it so.
        """
        built = []
        for r in requests:
            self.check(r)
            inputs = bundle_inputs(r.media, self.media)
            inputs = dataclasses.replace(
                inputs,
                frames=inputs.frames if r.video else None,
                audio=inputs.audio if r.audio else None,
                audio_in_video=self.card.audio_in_video and inputs.audio_in_video and r.video and r.audio,
            )
            built.append(EngineRequest(question_request(r.text, inputs), r.sampling or self.sampling))
        return BlockingEngine(self.engine).generate_items(built)

    def check(self, request: TargetRequest) -> None:
        """Raise ``ConfigError`` when ``request`` needs a modality the card does not list."""
        needed = [m for m, on in (("video", request.video), ("audio", request.audio)) if on]
        if missing := [m for m in needed if m not in self.card.modalities]:
            raise ConfigError(
                f"zoo model {self.key} takes {', '.join(self.card.modalities)}: this arm needs "
                f"{' and '.join(missing)}, which its card does not list"
            )
