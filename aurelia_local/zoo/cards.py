"""Zoo targets: the model card schema, the card registry (package and user cards), their adapters.

A card is one ``KEY.yaml`` file: built-in cards live in ``aurelia_local/zoo/cards``; the setting
``zoo.cards_dir`` names a folder of more, where a card with a built-in key replaces the built-in
one. Cards are data: their capability fields (``modalities``, ``audio_in_video``...) are read by the
adapters and shown by ``aurelia list models``. The adapter class is the card family's ``adapter``
(a dotted path in ``aurelia_local.core.catalog.FAMILIES``), imported only when a target is built.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from aurelia_local.core.catalog import FAMILIES
from aurelia_local.core.config import Settings
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.registry import Entry, Registry, load

PACKAGE = "package"  # the origin of a built-in card
PATH_PREFIX = "path:"  # a target given as a checkpoint folder


class ModelCard(Entry):
    """What the harness needs to know about a target model (one YAML file per card)."""

    kind: str = Field(description="the model family (a model kind with a zoo adapter)")
    modalities: tuple[Literal["video", "audio", "image", "text"], ...] = Field(
        min_length=1, description="what the model can be given; an arm that needs more is refused"
    )
    hub_id: str | None
    folder: str = Field(description="under models_dir, or absolute (`~` is expanded)")
    dtype: str
    frames: int = Field(ge=1, description="advice: the frames the model was tuned on")
    fps: float | None = Field(default=None, gt=0, description="advice: the fps its own tools sample at")
    context_length: int | None = Field(default=None, gt=0, description="the longest prompt it takes (tokens)")
    audio_rate: int = Field(gt=0)
    min_gpu_gib: float = Field(ge=0)
    audio_in_video: bool = Field(description="the soundtrack is interleaved with the video in the prompt")
    licence: str
    tiny: bool = False
    real_config: dict[str, Any] | None = Field(
        default=None, description="the published config.json values (the thinker's, for an omni model with a "
        "talker): scripts/gpu_check.py builds the real-size architecture from them, without weights",
    )  # fmt: skip
    origin: str = Field(default=PACKAGE, description="set when loaded: 'package' or the user card's file")

    @model_validator(mode="after")
    def _fits_its_family(self) -> ModelCard:
        family = FAMILIES.get(FAMILIES.check(self.kind))
        if family.adapter is None:
            targets = ", ".join(f.key for f in FAMILIES.select(lambda f: f.adapter is not None))
            raise ValueError(f"model kind {self.kind!r} has no zoo adapter; target kinds: {targets}")
        if extra := [m for m in self.modalities if m not in family.inputs]:
            raise ValueError(f"{self.kind} models take {', '.join(family.inputs)}, not {', '.join(extra)}")
        if self.audio_in_video and not {"video", "audio"} <= set(self.modalities):
            raise ValueError("audio_in_video needs both video and audio in modalities")
        if self.audio_in_video and not family.interleaves_audio:
            raise ValueError(f"{self.kind} models take the soundtrack as audio of its own: "
                             "set audio_in_video: false")  # fmt: skip
        return self

    def refusal(self, video: bool, audio: bool, still: bool = False) -> str | None:
        """Why the model cannot be asked with these inputs (the visual one a still image when ``still``).

        None when it can: every input the request needs is in ``modalities``.
        """
        visual = "image" if still else "video"
        needed = [m for m, on in ((visual, video), ("audio", audio)) if on]
        if missing := [m for m in needed if m not in self.modalities]:
            return (
                f"zoo model {self.key} takes {', '.join(self.modalities)}: this request needs "
                f"{' and '.join(missing)}, which its card does not list"
            )
        return None


def _parse(text: str, stem: str, origin: str) -> ModelCard:
    where = f"zoo card {stem}.yaml" if origin == PACKAGE else f"zoo card {origin}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must hold a mapping, got {type(data).__name__}")
    try:
        card = ModelCard.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        raise ConfigError(f"{where} is invalid: {exc}") from None
    if card.key != stem:
        raise ConfigError(f"{where}: key {card.key!r} must be the file name, {stem!r}")
    return card


@functools.cache
def _package_cards() -> tuple[ModelCard, ...]:
    folder = resources.files("aurelia_local.zoo").joinpath("cards")
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    return tuple(_parse(p.read_text(), p.name.removesuffix(".yaml"), PACKAGE) for p in files)


def _user_cards(folder: Path) -> list[ModelCard]:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"zoo.cards_dir {folder} is not a folder")
    cards = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"zoo card {path} cannot be read: {exc}") from None
        cards.append(_parse(text, path.stem, str(path)))
    return cards


def zoo_cards(source: Settings | Path | None) -> Registry[ModelCard]:
    """Every card: the package's, then those of ``source`` (settings: ``zoo.cards_dir``; or a folder)."""
    folder = source.zoo.cards_dir if isinstance(source, Settings) else source
    built_in = Registry("zoo model", _package_cards())
    return built_in if folder is None else built_in.merged(_user_cards(folder))


def list_cards(source: Settings | Path | None) -> list[str]:
    """Keys of every card in the zoo (``source`` as in ``zoo_cards``), sorted."""
    return sorted(zoo_cards(source).keys())


def load_card(key: str, source: Settings | Path | None) -> ModelCard:
    """The card of ``key`` (``source`` as in ``zoo_cards``), or a ``ConfigError`` listing the keys.

    ``path:DIR`` is a checkpoint folder outside the zoo (a trained student): see ``path_card``.
    """
    if key.startswith(PATH_PREFIX):
        return path_card(key)
    return zoo_cards(source).get(key)


def path_card(spec: str) -> ModelCard:
    """The card of a checkpoint folder ``path:DIR``: its family from the architecture in its config.json.

    The card takes every input its family takes, the soundtrack interleaved where the family can; its
    key is ``path_`` and the folder's name. A user card (``zoo.cards_dir``) says more when needed.
    """
    folder = Path(spec.removeprefix(PATH_PREFIX)).expanduser().resolve()
    config = folder / "config.json"
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--target {spec}: cannot read {config} ({exc}); give a checkpoint folder"
        ) from None
    names = data.get("architectures") or []
    kind = data.get("model_type")
    family = next((f for f in FAMILIES if f.adapter and (f.model_class in names or f.key == kind)), None)
    if family is None:
        known = ", ".join(f.model_class for f in FAMILIES if f.adapter and f.model_class)
        raise ConfigError(f"--target {spec}: {config} names {names or kind}; the zoo's targets are {known}")
    name = re.sub(r"[^a-z0-9]+", "_", folder.name.lower()).strip("_") or "model"
    where = hashlib.sha256(str(folder).encode()).hexdigest()[:6]  # two folders of one name stay apart
    return ModelCard(
        key=f"path_{name}_{where}", summary=f"the checkpoint in {folder} (weights {_fingerprint(folder)})",
        kind=family.key,
        modalities=family.inputs, hub_id=None, folder=str(folder),
        dtype=str(data.get("dtype") or data.get("torch_dtype") or "auto"), frames=8, audio_rate=16000,
        min_gpu_gib=0, audio_in_video=family.interleaves_audio, licence="the checkpoint's own",
        origin=str(folder),
    )  # fmt: skip


def _fingerprint(folder: Path) -> str:
    """Names, sizes and times of a folder's weight files: retrained weights make another card."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".pt") and p.is_file())
    blob = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def adapter_class(card: ModelCard):
    """Import and return the adapter class of the card's family."""
    return load(FAMILIES.get(card.kind).adapter)


@dataclasses.dataclass(frozen=True)
class Target:
    """A zoo target not loaded yet: its card is read first (an arm it cannot take is skipped unasked)."""

    card: ModelCard
    settings: Settings
    backend: str = "vllm"

    def __call__(self):
        """Load the target: its family's adapter on the card."""
        return adapter_class(self.card)(self.card, self.settings, self.backend)


def card_hash(card: ModelCard) -> str:
    """A short hash of what a card says (not where it was read from): rows record which card answered."""
    blob = json.dumps(
        card.model_dump(mode="json", exclude={"origin", "real_config"}), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
