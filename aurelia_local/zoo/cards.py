"""The zoo's registry: model cards (data) and the adapter each family uses (a lazy dotted path)."""

from __future__ import annotations

import importlib
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from aurelia_local.core.errors import ConfigError

# One adapter per model family; capabilities live on the cards.
ADAPTERS = {
    "qwen2_5_omni": "aurelia_local.zoo.qwen_omni:QwenOmniAdapter",
    "qwen3_omni_moe": "aurelia_local.zoo.qwen_omni:QwenOmniAdapter",
}


class ModelCard(BaseModel):
    """What the harness needs to know about a target model."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str
    kind: str
    hub_id: str | None
    folder: str
    dtype: str
    frames: int
    audio_rate: int
    min_gpu_gib: float
    audio_in_video: bool
    licence: str
    tiny: bool = False


def list_cards() -> list[str]:
    """Keys of every card in the zoo."""
    folder = resources.files("aurelia_local.zoo").joinpath("cards")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_card(key: str) -> ModelCard:
    """The card of ``key``, or a ``ConfigError`` listing the keys that exist."""
    if key not in list_cards():
        raise ConfigError(f"unknown zoo model {key!r}; choose from {', '.join(list_cards())}")
    text = resources.files("aurelia_local.zoo").joinpath("cards", f"{key}.yaml").read_text()
    try:
        card = ModelCard.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise ConfigError(f"zoo card {key}.yaml is invalid: {exc}") from None
    if card.key != key or card.kind not in ADAPTERS:
        raise ConfigError(f"zoo card {key}.yaml: key must be {key!r} and kind one of {', '.join(ADAPTERS)}")
    return card


def adapter_class(card: ModelCard):
    """Import and return the adapter class of the card's family."""
    module, _, name = ADAPTERS[card.kind].partition(":")
    return getattr(importlib.import_module(module), name)
