"""Qwen2.5-Omni and Qwen3-Omni (thinker) as target models, through transformers or vLLM."""

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


class QwenOmniAdapter:
    """A Qwen omni thinker answering target requests; one backend, loaded once."""

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
        visual = "image" if request.still else "video"
        needed = [m for m, on in ((visual, request.video), ("audio", request.audio)) if on]
        if missing := [m for m in needed if m not in self.card.modalities]:
            raise ConfigError(
                f"zoo model {self.key} takes {', '.join(self.card.modalities)}: this arm needs "
                f"{' and '.join(missing)}, which its card does not list"
            )
