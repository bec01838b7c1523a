"""``aurelia list``: every registry (zoo models, model families, benchmarks, scorers, arms), as text or JSON.

Reading a registry imports no heavy library: entries are data and name code by dotted path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aurelia_local.core import catalog

if TYPE_CHECKING:
    from aurelia_local.core.config import Settings
    from aurelia_local.core.registry import Entry

LISTS = ("models", "families", "benchmarks", "scorers", "arms", "protocols")
_REGISTRIES = {"families": catalog.FAMILIES, "benchmarks": catalog.BENCHMARKS,
               "scorers": catalog.SCORERS, "arms": catalog.ARMS, "protocols": catalog.PROTOCOLS}  # fmt: skip
# What ``aurelia list models`` shows of a card: (label, card field).
CARD_FIELDS = (
    ("family", "kind"), ("modalities", "modalities"), ("audio_in_video", "audio_in_video"),
    ("frames", "frames"), ("fps", "fps"), ("context", "context_length"), ("dtype", "dtype"),
    ("min_gpu_gib", "min_gpu_gib"), ("tiny", "tiny"), ("source", "origin"),
)  # fmt: skip


def entries(what: str, settings: Settings | None = None) -> list[Entry]:
    """The entries of one list; ``models`` reads the zoo cards that ``settings`` sees."""
    if what == "models":
        from aurelia_local.zoo.cards import zoo_cards

        return list(zoo_cards(settings))
    return list(_REGISTRIES[what])


def shown(what: str, entry: Entry) -> dict[str, Any]:
    """The capabilities printed for ``entry`` (a card shows ``CARD_FIELDS``; others, every field)."""
    if what == "models":  # and how long one audio item may be, which its family says
        shown = {label: getattr(entry, name) for label, name in CARD_FIELDS}
        return {**shown, "audio_item_s": catalog.FAMILIES.get(entry.kind).audio_item_seconds}
    if what == "protocols":  # the prompt and system texts span lines: `--json` has them whole
        caps = entry.capabilities()
        shown = {k: caps[k] for k in ("benchmark", "text_first", "audio", "max_tokens", "extraction")}
        return {**shown, "system": caps["system"] is not None, "frames": caps["media"].get("frame_sampling"),
                "source": caps["source"]}  # fmt: skip
    return entry.capabilities()


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, tuple | list):
        return "+".join("|".join(v) if isinstance(v, tuple | list) else str(v) for v in value) or "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(what: str, items: list[Entry]) -> str:
    """One block per entry: ``key  summary``, then its capabilities as ``name=value`` on one line."""
    width = max((len(e.key) for e in items), default=0) + 2
    lines = []
    for entry in items:
        caps = " ".join(f"{k}={_value(v)}" for k, v in shown(what, entry).items())
        lines += [f"{entry.key:<{width}}{entry.summary}", f"{'':<{width}}{caps}"]
    return "\n".join(lines)


def as_json(items: list[Entry]) -> str:
    """Every field of every entry (computed ones included), as a JSON list."""
    return json.dumps([e.model_dump(mode="json") for e in items], indent=2)
