"""Model families as plugins: each kind of model the engines serve is one module here.

A family owns everything that differs between kinds of models: how a request is rendered for vLLM
(prompt, ``multi_modal_data``, ``mm_processor_kwargs``), for transformers and for vLLM's
OpenAI-compatible server; which engine arguments it needs; how media tokens are counted and checked
in a prompt. Engines call their family and never branch on a kind. A family is registered once, by
the ``plugin`` field of its entry in ``aurelia_local.core.catalog.FAMILIES``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from aurelia_local.core.catalog import FAMILIES
from aurelia_local.core.errors import AureliaError
from aurelia_local.core.registry import load

if TYPE_CHECKING:
    from aurelia_local.core.catalog import ModelFamily
    from aurelia_local.engines.families.base import Family


@cache
def family_of(kind: str) -> Family:
    """The family plugin that serves models of ``kind``."""
    entry = FAMILIES.get(kind)
    if entry.plugin is None:
        served = ", ".join(f.key for f in FAMILIES.select(lambda f: f.plugin is not None))
        raise AureliaError(f"model kind {kind!r} is not served by an engine (engines serve {served})")
    return load(entry.plugin)(entry)


def is_omni(kind: str) -> bool:
    """Whether a model kind takes video and audio in one prompt (its registry entry says)."""
    return kind in FAMILIES and FAMILIES.get(kind).omni


def family(kind: str) -> ModelFamily:
    """The registry entry of an omni model kind, or raise for a kind that is not an omni model."""
    if not is_omni(kind):
        omni = ", ".join(f.key for f in FAMILIES.select(lambda f: f.omni))
        raise AureliaError(f"model kind {kind!r} is not an omni model ({omni})")
    return FAMILIES.get(kind)
