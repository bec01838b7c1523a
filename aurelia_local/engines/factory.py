"""The one engine factory: every engine the project runs is built here, and only here.

``build_engine`` builds one engine for a model folder (vLLM or transformers); ``load_role`` does so
for a profile role; ``open_agent_engines`` yields the engines a profile's roles need (in-process vLLM
or clients of vLLM servers), one per model folder: roles that share a folder share an engine.
``EnginePool`` keeps engines open for a whole process (LangGraph's server, cluster workers), so a
loop started by a request reuses them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from aurelia_local.core.config import ModelRef, Settings
    from aurelia_local.engines.protocol import Engine

Backend = Literal["vllm", "hf"]

# Every engine built in this process and not known to be closed. Held strongly: an engine dropped
# without being closed still holds its memory (a stepping thread, an engine-core process).
_BUILT: list[Engine] = []


def _track(engine: Engine) -> Engine:
    open_engines()
    _BUILT.append(engine)
    return engine


def open_engines() -> list[Engine]:
    """The engines built in this process that are not closed yet (what still holds model memory)."""
    _BUILT[:] = [engine for engine in _BUILT if not engine.closed]
    return list(_BUILT)


def build_engine(
    path: Path, ref: ModelRef, settings: Settings, backend: Backend = "vllm", role: str | None = None
) -> Engine:
    """An in-process engine for the model in ``path``: vLLM (continuous batching) or transformers.

    ``role`` picks the engine's GPU memory share (``engine.gpu_memory_shares``).
    """
    if backend == "vllm":
        from aurelia_local.engines.vllm_engine import VllmEngine

        share = settings.engine.gpu_memory_shares.get(role) if role else None
        return _track(VllmEngine(path, ref, settings.engine, settings.sampling.seed, share))
    from aurelia_local.engines.hf import HfEngine

    return _track(HfEngine(path, ref))


def load_role(settings: Settings, role: str, backend: Backend = "vllm") -> Engine:
    """The engine of the model that fills ``role`` under ``settings`` (of any kind an engine serves).

    A request with media the kind does not take is refused when it is asked (``Family.check_inputs``).
    """
    from aurelia_local.engines.families import family_of

    ref = settings.models[role]
    family_of(ref.kind)  # fails early for a role filled by a model no engine serves (an encoder)
    return build_engine(settings.model_path(role), ref, settings, backend, role)


def _for_role(settings: Settings, role: str) -> tuple[str, Callable[[], Engine]]:
    """What identifies ``role``'s engine, and how to build it.

    A server role, else the model folder and how it is loaded (dtype, parallelism, remote code).
    """
    if settings.engine.backend == "vllm_server":
        from aurelia_local.engines.server import ServerEngine

        return f"server:{role}", lambda: _track(ServerEngine(role, settings))
    path, ref = settings.model_path(role), settings.models[role]
    loaded = ref.model_dump_json(exclude={"source"})  # roles on one folder loaded alike share an engine
    return f"{path}|{loaded}", lambda: build_engine(path, ref, settings, role=role)


class EnginePool:
    """Engines kept open for the life of a process, keyed by what they serve.

    Two requests for the same model folder (or server role) under the same engine settings get the
    same engine; engines start in the calling thread, one at a time.
    """

    def __init__(self):
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, settings: Settings, role: str) -> Engine:
        """The engine for ``role`` under ``settings``, started on first use."""
        serves, build = _for_role(settings, role)
        key = f"{serves}|{settings.engine.model_dump_json()}"
        with self._lock:
            if key not in self._engines:
                self._engines[key] = build()
            return self._engines[key]

    async def aclose(self) -> None:
        """Close every engine and forget them."""
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            await engine.aclose()


POOL = EnginePool()  # the process's pool (nothing starts until ``get`` is called)


@asynccontextmanager
async def open_agent_engines(settings: Settings, roles: list[str], pool: EnginePool | None = None):
    """Yield ``{role: engine}`` for ``roles``; close them afterwards unless they come from ``pool``."""
    from aurelia_local.core.model_files import require_models

    local = settings.engine.backend == "vllm_local"
    if local:
        require_models(settings, roles)
    own = pool is None
    pool = pool or EnginePool()
    engines: dict[str, Engine] = {}
    try:
        for role in roles:
            # vLLM starts in the calling (main) thread; a server client is made off the event loop
            engines[role] = (
                pool.get(settings, role) if local else await asyncio.to_thread(pool.get, settings, role)
            )
        yield engines
    finally:
        if own:
            await pool.aclose()
