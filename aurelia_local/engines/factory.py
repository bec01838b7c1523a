"""The engine layer: one async interface for every agent, in-process vLLM or vLLM servers.

Every engine has ``model_id`` and ``async generate(list[EngineRequest]) -> list[Generation]``.
``open_agent_engines`` builds the engines a profile's loop needs; ``SyncBridge`` lets synchronous
code running in a worker thread (the omni judge scorer) call an async engine on the event loop.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aurelia_local.core.config import Settings


class SyncBridge:
    """``generate(requests, sampling, structured)`` for sync callers, sent to an async engine."""

    def __init__(self, engine, loop: asyncio.AbstractEventLoop):
        self.engine = engine
        self.loop = loop
        self.model_id = engine.model_id

    def generate(self, requests, sampling, structured: dict | None = None):
        """Run the async engine from a worker thread and wait for the result."""
        from aurelia_local.engines.request import EngineRequest

        items = [EngineRequest(r, sampling, structured) for r in requests]
        return asyncio.run_coroutine_threadsafe(self.engine.generate(items), self.loop).result()


def _local_engine(settings: Settings, role: str, cache: dict[str, Any]):
    from aurelia_local.engines.batching import LocalEngine
    from aurelia_local.engines.vllm_local import VllmLocal

    path = settings.model_path(role)
    if str(path) not in cache:  # roles that share a model folder share one engine
        backend = VllmLocal(
            path, settings.models[role], settings.engine, settings.media, settings.sampling.seed
        )
        cache[str(path)] = LocalEngine(backend, settings.engine.batch_window_s)
    return cache[str(path)]


@asynccontextmanager
async def open_agent_engines(settings: Settings, roles: list[str]):
    """Yield ``{role: engine}`` for ``roles`` on the configured backend; close them afterwards."""
    from aurelia_local.core.model_files import require_models

    engines: dict[str, Any] = {}
    if settings.engine.backend == "vllm_local":
        require_models(settings, roles)
        cache: dict[str, Any] = {}
        for role in roles:
            engines[role] = _local_engine(settings, role, cache)  # vLLM starts in the main thread
    else:
        from aurelia_local.engines.server import ServerEngine

        engines = {role: ServerEngine(role, settings) for role in roles}
    try:
        yield engines
    finally:
        for engine in {id(e): e for e in engines.values()}.values():
            await engine.aclose()
