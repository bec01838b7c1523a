"""Resolving a run's context: a ``LoopContext`` as is, a ``ServedContext`` through the process pool.

LangGraph's server (``langgraph dev``, ``langgraph.json``) hands the nodes whatever context a run was
posted with; the first node that needs agents asks ``loop_context`` for them. Settings are resolved
as for any run (profile < ``AURELIA_CONFIG`` file < ``AURELIA_*`` environment of the serving process
< the posted overrides), engines come from ``engines.factory.POOL`` and the scorer is built once per
distinct settings, so every later run reuses them.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aurelia_local.core.errors import ConfigError
from aurelia_local.graphs.context import LoopContext, ServedContext

if TYPE_CHECKING:
    from aurelia_local.core.config import Settings

# Setting paths a posted run may change; everything else is the serving process's own configuration.
SERVED_OVERRIDES = ("loop.", "sampling.")

_RESOLVED: dict[tuple, LoopContext] = {}
_LOCK: asyncio.Lock | None = None  # created on first use, on the serving event loop
_MEDIA_POOLS: dict[int, ThreadPoolExecutor] = {}


def media_pool(settings: Settings) -> ThreadPoolExecutor:
    """The process's executor for media work (decoding, keyframes, Whisper, CLIP/CLAP scoring).

    Sized by ``media.workers``: enough to prepare the media of many samples while the engines
    generate, few enough that Python work never crowds out the engines' own threads.
    """
    import os

    size = settings.media.workers or min(8, os.cpu_count() or 1)
    if size not in _MEDIA_POOLS:
        _MEDIA_POOLS[size] = ThreadPoolExecutor(size, thread_name_prefix="aurelia-media")
    return _MEDIA_POOLS[size]


def served_overrides(overrides: list[str]) -> list[str]:
    """``overrides`` if each changes only what a posted run may change, else ``ConfigError``."""
    allowed = ", ".join(p + "*" for p in SERVED_OVERRIDES)
    for item in overrides:
        key = str(item).partition("=")[0].strip()
        if not key.startswith(SERVED_OVERRIDES):
            raise ConfigError(
                f"context override {item!r}: a posted run may change only {allowed} "
                "settings; models, servers, trust_remote_code and data confinement belong to the server's "
                "own configuration (AURELIA_CONFIG or AURELIA_* variables)"
            )
    return list(overrides)


async def loop_context(context: Any) -> LoopContext:
    """The ``LoopContext`` a node works with, for whatever context its run was given."""
    global _LOCK
    if isinstance(context, LoopContext):
        return context
    served = context if isinstance(context, ServedContext) else ServedContext(**(context or {}))
    key = (served.profile, tuple(served_overrides(served.overrides)))
    if key in _RESOLVED:
        return _RESOLVED[key]
    if _LOCK is None:
        _LOCK = asyncio.Lock()
    async with _LOCK:  # concurrent first runs open the engines once
        if key not in _RESOLVED:
            from aurelia_local.core.config import load_settings
            from aurelia_local.engines.factory import POOL
            from aurelia_local.graphs.runner import build_loop_context

            # file reads and stats stay off the server's event loop (LangGraph's server refuses them)
            settings = await asyncio.to_thread(load_settings, served.profile, None, list(key[1]))
            _RESOLVED[key] = await build_loop_context(settings, POOL)
    return _RESOLVED[key]


def check_posted_sample(sample, settings: Settings) -> None:
    """Refuse a posted sample whose media lies outside ``data.serve_root`` (or any, when it is unset)."""
    import os

    root = settings.data.serve_root
    if root is None:
        raise ConfigError(
            "this server takes no posted samples: set data.serve_root (AURELIA_DATA__SERVE_ROOT) in its "
            "own configuration to the folder their media lie in"
        )
    base = os.path.realpath(root)
    for path in (sample.video, sample.audio, sample.image):
        if path is not None and not os.path.realpath(path).startswith(base + os.sep):
            raise ConfigError(f"sample {sample.id}: {path} lies outside data.serve_root ({root})")


async def in_media_pool(ctx: LoopContext, fn, *args):
    """Run ``fn(*args)`` on the media workers (the default executor when the context has none)."""
    return await asyncio.get_running_loop().run_in_executor(ctx.media_pool, fn, *args)
