"""The one engine interface, async, and the busy/idle accounting every engine keeps.

An engine takes typed requests (``EngineRequest``: decoded media, a conversation, decoding settings,
an optional output constraint) and returns ``Generation`` records (text, token ids, prompt and
media-token counts, finish reason), in order. Implementations: ``vllm_engine.VllmEngine`` (vLLM with
continuous batching), ``server.ServerEngine`` (vLLM's OpenAI-compatible server) and
``hf.HfEngine`` (transformers). ``factory`` is the only place that builds them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from aurelia_local.core.config import SamplingConfig
    from aurelia_local.core.types import Generation
    from aurelia_local.engines.request import EngineRequest, OmniRequest


class Activity:
    """When an engine had work: intervals during which at least one request was unfinished.

    Idle time is wall time outside these intervals: with continuous batching, a request in flight
    keeps the engine busy whether or not its caller is waiting on it.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._open = 0
        self._since = 0.0
        self.intervals: list[tuple[float, float]] = []  # (start, end), time.perf_counter()
        self.requests = 0
        self.peak = 0  # most requests unfinished at once

    def begin(self, n: int = 1) -> None:
        """``n`` requests were handed to the engine."""
        with self._lock:
            if self._open == 0:
                self._since = time.perf_counter()
            self._open += n
            self.requests += n
            self.peak = max(self.peak, self._open)

    def end(self, n: int = 1) -> None:
        """``n`` requests finished (or failed)."""
        with self._lock:
            self._open -= n
            if self._open == 0:
                self.intervals.append((self._since, time.perf_counter()))

    def busy_seconds(self, lo: float, hi: float) -> float:
        """Seconds within [lo, hi] during which the engine had work (an open interval counts to now)."""
        with self._lock:
            spans = list(self.intervals) + ([(self._since, time.perf_counter())] if self._open else [])
        return union_seconds(spans, lo, hi)


def union_seconds(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the union of ``intervals`` clipped to [lo, hi]."""
    total, end = 0.0, lo
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


@runtime_checkable
class Engine(Protocol):
    """What every engine offers."""

    model_id: str
    activity: Activity

    @property
    def closed(self) -> bool:
        """Whether ``aclose`` has run (the engine holds no model memory any more)."""
        ...

    async def generate(self, items: list[EngineRequest]) -> list[Generation]:
        """Generations for ``items``, in order; each request joins the running batch on arrival."""
        ...

    async def aclose(self) -> None:
        """Stop the engine and free its memory."""
        ...


class BlockingEngine:
    """``generate(requests, sampling, structured)`` for synchronous callers of an async engine.

    Without ``loop`` each call runs on an event loop of its own (commands, the zoo, tests); with the
    running ``loop`` of the engine's owner, a worker thread (the judge scorer during the loop) sends
    its requests there, where engines bound to that loop (the server client) live.
    """

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop | None = None):
        self.engine = engine
        self.loop = loop
        self.model_id = engine.model_id

    def generate(
        self, requests: list[OmniRequest], sampling: SamplingConfig, structured: dict | None = None
    ) -> list[Generation]:
        """Generations for ``requests`` with shared settings, in order."""
        from aurelia_local.engines.request import EngineRequest

        return self.generate_items([EngineRequest(r, sampling, structured) for r in requests])

    def generate_items(self, items: list[EngineRequest]) -> list[Generation]:
        """Generations for ``items``, each with its own decoding settings, in order."""
        if self.loop is None:
            return asyncio.run(self.engine.generate(items))
        return asyncio.run_coroutine_threadsafe(self.engine.generate(items), self.loop).result()


def generate_blocking(
    engine: Engine, requests: list[OmniRequest], sampling: SamplingConfig, structured: dict | None = None
) -> list[Generation]:
    """Generate from synchronous code with no event loop running (commands, the zoo, tests)."""
    return BlockingEngine(engine).generate(requests, sampling, structured)
