"""Omni models (Qwen omni thinkers, Gemma 4) as target models, through transformers or vLLM.

The adapter reads everything that differs between models from the card (modalities, whether the
soundtrack is interleaved with the video); the engine's model family renders the requests.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from aurelia_local.core.config import Settings, model_folder
from aurelia_local.core.errors import ConfigError, ModelMissingError
from aurelia_local.core.model_files import missing_files
from aurelia_local.core.protocols import target_media
from aurelia_local.engines.protocol import BlockingEngine
from aurelia_local.engines.request import EngineRequest, bundle_inputs, question_request
from aurelia_local.zoo.base import TargetRequest
from aurelia_local.zoo.cards import ModelCard


class OmniAdapter:
    """An omni model answering target requests; one backend, loaded once."""

    def __init__(
        self, card: ModelCard, settings: Settings, backend: Literal["hf", "vllm"] = "vllm", engine=None,
        load: bool = True,
    ):  # fmt: skip
        """Load the model from the card's folder (under ``models_dir`` unless absolute), or use ``engine``.

        ``load=False`` builds the requests without any engine (``aurelia eval --dry-run``).
        """
        from aurelia_local.core.config import ModelRef

        self.key = card.key
        self.card = card
        self.backend = backend
        self.media = target_media(settings)  # the bundle was decoded with these; card.frames is advice
        self.sampling = settings.sampling
        ref = ModelRef(kind=card.kind, folder=card.folder, dtype=card.dtype, tiny=card.tiny)
        self.ref = ref
        path = model_folder(card.folder, settings.models_dir)
        self.path = path
        if engine is not None or not load:
            self.engine = engine
            return
        if missing := missing_files(path, ref):
            raise ModelMissingError(
                f"zoo model {card.key}: no usable weights in {path} (missing {', '.join(missing)}); "
                + ("run `aurelia models build-tiny`" if card.tiny else f"download {card.hub_id} there")
            )
        from aurelia_local.engines.factory import build_engine

        if card.context_length is not None and card.context_length < settings.engine.max_model_len:
            # the engine's context is the card's when the model takes less than the profile asks
            engine_cfg = settings.engine.model_copy(update={"max_model_len": card.context_length})
            settings = settings.model_copy(update={"engine": engine_cfg})
        self.engine = build_engine(path, ref, settings, backend, role="target")

    def answer(self, requests: list[TargetRequest]):
        """Answer every request; vLLM batches them, transformers runs them one by one.

        A request that needs a modality the card does not list is refused; the soundtrack is
        interleaved with the video only when the card says the model takes it so.
        """
        return BlockingEngine(self.engine).generate_items([self.build(r) for r in requests])

    def build(self, request: TargetRequest) -> EngineRequest:
        """The engine request for ``request``: the card's modalities checked, its media and decoding."""
        self.check(request)
        inputs = bundle_inputs(request.media, self.media)
        both = request.video and request.audio
        inputs = dataclasses.replace(
            inputs,
            frames=inputs.frames if request.video else None,
            image=inputs.image if request.video else None,
            audio=inputs.audio if request.audio else None,
            audio_in_video=self.card.audio_in_video and inputs.audio_in_video and both,
        )
        asked = question_request(request.text, inputs, system=request.system, text_first=request.text_first)
        return EngineRequest(asked, request.sampling or self.sampling)

    def check(self, request: TargetRequest) -> None:
        """Raise ``ConfigError`` when ``request`` needs a modality the card does not list."""
        if why := self.card.refusal(request.video, request.audio, request.still):
            raise ConfigError(why)
