"""vLLM with continuous batching: an ``LLMEngine`` stepped by a thread of its own.

Requests are added to the running engine as they arrive and join the batch at its next step; each
caller's future is resolved when its own request finishes, never when a whole batch does. Where the
engine core runs is ``engine.core_placement``:

- ``in_process``: the core and its one worker run in this process, stepped by the engine's thread
  (a few seconds to start on CPU). Only one engine per process can be placed so: a second one would
  clash with the first's torch.distributed state, so it gets a process of its own.
- ``own_process``: the core runs in a process of its own with its worker inside it (``uni``
  executor; about 25 s more to start on 2 CPU cores, for its imports). Its model runs outside this
  process's GIL: media decoding, scoring and the graph here never delay a step.
- ``auto`` (the default): on CUDA every engine gets its own process, as vLLM's ``AsyncLLM`` does:
  a GPU step is short and launched from Python, so a GIL shared with media decoding and scoring
  would leave the GPU waiting, and a start-up of a few more seconds is small next to loading real
  weights. On CPU the first engine stays in this process (it starts in a few seconds) and later
  ones get their own; ``scripts/bench_loop.py --placement`` compares the placements end to end.

A single worker never spins: vLLM's multi-worker executor busy-waits on a shared-memory queue after
every message (``SpinCondition.wait``, 1 s of ``sched_yield``), which took a whole core of a
2-core machine from everything else.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import queue
import threading
from pathlib import Path

from aurelia_local.core.config import EngineConfig, ModelRef, SamplingConfig
from aurelia_local.core.errors import EngineError
from aurelia_local.core.types import Generation
from aurelia_local.engines.families import family_of
from aurelia_local.engines.protocol import Activity
from aurelia_local.engines.request import EngineRequest

_IN_PROCESS: list[object] = []  # the engine whose core runs in this process, if any


def platform_env(kv_cache_gib: int) -> str:
    """Set the vLLM variables every engine or server process needs; return "cuda" or "cpu"."""
    import torch

    from aurelia_local.engines.compat import patch_llvmlite_ffi

    patch_llvmlite_ffi()
    # Without it vLLM finds its own address by "connecting" a UDP socket to 8.8.8.8 (no packet is
    # sent, but it is an outside address); one machine only ever needs loopback.
    os.environ.setdefault("VLLM_HOST_IP", "127.0.0.1")
    if torch.cuda.is_available():
        return "cuda"
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kv_cache_gib))
    return "cpu"


def sampling_params(sampling: SamplingConfig, structured: dict | None):
    """VLLM ``SamplingParams`` for one request (only the final output is returned)."""
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

    return SamplingParams(
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_tokens=sampling.max_tokens,
        seed=sampling.seed,
        structured_outputs=StructuredOutputsParams(**structured) if structured else None,
        output_kind=RequestOutputKind.FINAL_ONLY,
    )


def _resolve(loop: asyncio.AbstractEventLoop, future: asyncio.Future, value) -> None:
    def settle():
        if future.done():  # its caller was cancelled
            return
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the caller's event loop has closed: nobody waits for this result
        pass


def world_size(ref: ModelRef) -> int:
    """The GPUs one engine of ``ref`` spans."""
    return ref.tensor_parallel_size * ref.pipeline_parallel_size


class VllmEngine:
    """One model served by vLLM; any number of callers, on any event loop, share its batches."""

    def __init__(
        self,
        model_dir: Path,
        ref: ModelRef,
        engine: EngineConfig,
        seed: int = 0,
        memory_share: float | None = None,
    ):
        from vllm.engine.arg_utils import EngineArgs
        from vllm.v1.engine.llm_engine import LLMEngine

        self.device = platform_env(engine.cpu_kv_cache_gib)
        # The placement is chosen per engine below, never by vLLM's process-wide switch; children
        # are spawned, never forked from a process whose threads may hold locks.
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
        self.family = family_of(ref.kind)
        self.family.prepare_vllm()
        self.model_dir = Path(model_dir)
        self.model_id = self.model_dir.name
        self.processor = self.family.load_processor(self.model_dir, ref.trust_remote_code)
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self._token_id = tokenizer.convert_tokens_to_ids
        self.own_process = (
            engine.core_placement == "own_process"
            or bool(_IN_PROCESS)
            or (engine.core_placement == "auto" and self.device == "cuda")
        )
        args = dict(
            model=str(self.model_dir),
            dtype=ref.dtype if ref.dtype != "auto" else engine.dtype,
            max_model_len=engine.max_model_len,
            max_num_seqs=engine.max_num_seqs,
            enforce_eager=engine.enforce_eager,
            trust_remote_code=ref.trust_remote_code,
            seed=seed,
            tensor_parallel_size=ref.tensor_parallel_size,
            pipeline_parallel_size=ref.pipeline_parallel_size,
            # one GPU: the worker in the engine core's process; several: one worker process each
            distributed_executor_backend="uni" if world_size(ref) == 1 else "mp",
            disable_log_stats=True,
            **self.family.vllm_args(engine),
        )
        if self.device == "cuda":
            args["gpu_memory_utilization"] = memory_share or engine.gpu_memory_utilization
        self.engine = LLMEngine.from_engine_args(EngineArgs(**args), enable_multiprocessing=self.own_process)
        if not self.own_process:
            _IN_PROCESS.append(self)
        self.activity = Activity()
        self._ids = itertools.count()
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._pending: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self._closing = False
        self._dead: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"vllm-{self.model_id}", daemon=True)
        self._thread.start()

    # -- callers' side -------------------------------------------------------------------------
    async def generate(self, items: list[EngineRequest]) -> list[Generation]:
        """Generations for ``items`` (in order); each request joins the running batch at once."""
        if self._dead is not None or self._closing:
            raise EngineError(f"the {self.model_id} engine has stopped ({self._dead or 'closed'})")
        loop = asyncio.get_running_loop()
        futures, ids = [], []
        for item in items:
            self.family.check_inputs(item.request.inputs, f"vLLM request for {self.model_id}")
            prompt = self.family.vllm_prompt(self.processor, item.request)
            future = loop.create_future()
            rid = str(next(self._ids))
            self._inbox.put(
                ("add", rid, prompt, sampling_params(item.sampling, item.structured), loop, future)
            )
            futures.append(future)
            ids.append(rid)
        self._wake.set()
        try:
            outputs = await asyncio.gather(*futures)
        except BaseException:
            self._inbox.put(("abort", ids))  # nobody waits for the others any more
            self._wake.set()
            raise
        return [self._generation(item, out) for item, out in zip(items, outputs, strict=True)]

    def _generation(self, item: EngineRequest, out) -> Generation:
        counts = self.family.media_tokens(out.prompt_token_ids, self._token_id)
        self.family.check_media(counts, item.request.inputs, f"vLLM prompt for {self.model_id}")
        completion = out.outputs[0]
        return Generation(
            text=completion.text,
            token_ids=list(completion.token_ids),
            prompt_tokens=len(out.prompt_token_ids),
            media_tokens=counts,
            finish_reason=completion.finish_reason,
            prompt_token_ids=list(out.prompt_token_ids),
        )

    # -- the engine's thread -------------------------------------------------------------------
    def _admit(self) -> None:
        from vllm.renderers.inputs.preprocess import parse_model_prompt

        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return
            if message[0] == "abort":
                live = [rid for rid in message[1] if rid in self._pending]
                if live:
                    self.engine.abort_request(live)
                    self._settle(live, None)
                continue
            _, rid, prompt, params, loop, future = message
            try:
                renderer = self.engine.renderer
                parsed = parse_model_prompt(self.engine.model_config, prompt)
                (engine_input,) = renderer.render_cmpl([parsed], renderer.default_cmpl_tok_params)
                self.engine.add_request(rid, engine_input, params)
            except Exception as exc:  # noqa: BLE001 - this request alone is refused; its caller gets why
                _resolve(loop, future, exc)
                continue
            self._pending[rid] = (loop, future)
            self.activity.begin()

    def _settle(self, rids: list[str], value) -> None:
        for rid in rids:
            loop, future = self._pending.pop(rid)
            if value is not None:
                _resolve(loop, future, value)
            self.activity.end()

    def _run(self) -> None:
        try:
            while not self._closing:
                self._admit()
                if not self.engine.has_unfinished_requests():
                    self._wake.wait()
                    self._wake.clear()
                    continue
                for out in self.engine.step():
                    if out.finished and out.request_id in self._pending:
                        loop, future = self._pending[out.request_id]
                        _resolve(loop, future, out)
                        self._settle([out.request_id], None)
        except BaseException as exc:  # noqa: BLE001 - every waiting caller learns the engine died
            self._dead = exc
            error = EngineError(f"the {self.model_id} engine stopped: {type(exc).__name__}: {exc}")
            self._settle(list(self._pending), error)

    # -- closing -------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """Whether ``close`` has run to its end (the engine core is shut down, its memory freed)."""
        return self._closing and self.engine is None

    async def aclose(self) -> None:
        """Stop stepping, shut the engine core down and free its memory."""
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Blocking form of ``aclose``."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        self._thread.join(timeout=60)
        self._settle(list(self._pending), EngineError(f"the {self.model_id} engine was closed"))
        self.engine.engine_core.shutdown()
        if self in _IN_PROCESS:
            from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

            _IN_PROCESS.remove(self)
            self.engine = None  # dropped before the distributed state it was built on
            cleanup_dist_env_and_memory()
        self.engine = None
        gc.collect()
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()
