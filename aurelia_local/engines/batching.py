"""The in-process engine behind an async interface that gathers concurrent requests into batches.

Samples in flight call ``generate`` independently; requests that arrive while the engine is busy,
or within ``batch_window_s`` of each other, go to vLLM together in one ``LLM.generate`` call, so
concurrent samples share the engine's batches instead of queueing one by one.
"""

from __future__ import annotations

import asyncio
import time

from aurelia_local.core.types import Generation
from aurelia_local.engines.isolate import each_or_error
from aurelia_local.engines.request import EngineRequest
from aurelia_local.engines.vllm_local import VllmLocal


class LocalEngine:
    """Async, batching front of one in-process ``VllmLocal``."""

    def __init__(self, backend: VllmLocal, batch_window_s: float = 0.01):
        self.backend = backend
        self.model_id = backend.model_id
        self.window = batch_window_s
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batch_sizes: list[int] = []  # every engine call's batch size, for benchmarks and tests
        self.busy: list[tuple[float, float]] = []  # (start, end) perf_counter of every engine call

    async def generate(self, items: list[EngineRequest]) -> list[Generation]:
        """Queue ``items`` and wait for their generations (in order)."""
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done() or self._loop is not loop:
            # a worker belongs to one event loop; each asyncio.run() gets its own
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run())
            self._loop = loop
        futures = [loop.create_future() for _ in items]
        for item, future in zip(items, futures, strict=True):
            self._queue.put_nowait((item, future))
        return list(await asyncio.gather(*futures))

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(self.window)
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            items = [item for item, _ in batch]
            self.batch_sizes.append(len(items))
            start = time.perf_counter()
            try:
                results = await asyncio.to_thread(each_or_error, self.backend.generate_many, items)
            except BaseException as exc:  # cancelled or interrupted: no caller waits forever
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                raise
            finally:
                self.busy.append((start, time.perf_counter()))
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):  # this request alone failed: its caller gets why
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def aclose(self) -> None:
        """Stop the batching worker."""
        if self._worker is not None and self._loop is asyncio.get_running_loop():
            self._worker.cancel()
        self._worker = None
