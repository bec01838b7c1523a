"""The one engine factory: every model the project runs is built here.

``load_model`` loads a model in-process (vLLM or transformers); ``load_role`` does so for a profile
role; ``open_agent_engines`` builds the async engines a profile's loop needs (in-process batching
or vLLM servers). Every async engine has ``model_id`` and
``async generate(list[EngineRequest]) -> list[Generation]``; ``SyncBridge`` lets synchronous code
running in a worker thread (the omni judge scorer) call an async engine on the event loop.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from aurelia_local.core.config import ModelRef, Settings


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


def load_model(path: Path, ref: ModelRef, settings: Settings, backend: Literal["vllm", "hf"] = "vllm"):
    """The one place a model is loaded in-process: vLLM (batched) or transformers (omni models only)."""
    if backend == "vllm":
        from aurelia_local.engines.vllm_local import VllmLocal

        return VllmLocal(path, ref, settings.engine, settings.media, seed=settings.sampling.seed)
    from aurelia_local.engines.hf_omni import HfOmni

    return HfOmni(path, ref, settings.media)


def load_role(settings: Settings, role: str, backend: Literal["vllm", "hf"] = "vllm"):
    """Load the omni model that fills ``role`` under ``settings``."""
    from aurelia_local.engines.omni import family

    ref = settings.models[role]
    family(ref.kind)  # fails early for a role that is not filled by an omni model
    return load_model(settings.model_path(role), ref, settings, backend)


def _local_engine(settings: Settings, role: str, cache: dict[str, Any]):
    from aurelia_local.engines.batching import LocalEngine

    path = settings.model_path(role)
    if str(path) not in cache:  # roles that share a model folder share one engine
        model = load_model(path, settings.models[role], settings)
        cache[str(path)] = LocalEngine(model, settings.engine.batch_window_s)
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
