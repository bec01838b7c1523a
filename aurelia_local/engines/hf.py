"""The transformers engine: for targets vLLM does not serve and for parity tests with vLLM.

Requests run one at a time, in a thread of their own (the event loop is never blocked).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from aurelia_local.core.config import ModelRef
from aurelia_local.core.types import Generation
from aurelia_local.engines.families import family_of
from aurelia_local.engines.protocol import Activity
from aurelia_local.engines.request import EngineRequest


class HfEngine:
    """A model run by transformers (greedy when temperature is 0)."""

    def __init__(self, model_dir: Path, ref: ModelRef, device: str | None = None):
        import torch

        self.family = family_of(ref.kind)
        self.model_dir = Path(model_dir)
        self.model_id = self.model_dir.name
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, ref.dtype) if ref.dtype != "auto" else "auto"
        self.processor = self.family.load_processor(self.model_dir, ref.trust_remote_code)
        model = self.family.load_hf_model(self.model_dir, dtype, ref.trust_remote_code)
        self.model = model.to(self.device).eval()
        self.activity = Activity()
        self._lock = threading.Lock()

    async def generate(self, items: list[EngineRequest]) -> list[Generation]:
        """Generate for each item in turn."""
        self.activity.begin(len(items))
        try:
            return await asyncio.to_thread(self._generate_all, items)
        finally:
            self.activity.end(len(items))

    def _generate_all(self, items: list[EngineRequest]) -> list[Generation]:
        with self._lock:
            return [self._one(item) for item in items]

    def _one(self, item: EngineRequest) -> Generation:
        import torch

        request, sampling = item.request, item.sampling
        self.family.check_inputs(request.inputs, f"transformers request for {self.model_id}")
        batch = self.family.hf_inputs(self.processor, request).to(self.device)
        ids = batch["input_ids"][0].tolist()
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        counts = self.family.media_tokens(ids, tokenizer.convert_tokens_to_ids)
        self.family.check_media(counts, request.inputs, f"transformers prompt for {self.model_id}")
        sample = sampling.temperature > 0
        extra = {"temperature": sampling.temperature, "top_p": sampling.top_p} if sample else {}
        if sample:
            torch.manual_seed(sampling.seed)
        extra.update(self.family.hf_generate_kwargs(request))
        with torch.inference_mode():
            out = self.model.generate(**batch, max_new_tokens=sampling.max_tokens, do_sample=sample, **extra)
        new = out[0, len(ids) :].tolist()
        # generate() stops at any of the generation config's end tokens (Gemma 4 ends a turn with <turn|>)
        stops = self.model.generation_config.eos_token_id
        stops = {tokenizer.eos_token_id, *(stops if isinstance(stops, list) else [stops])}
        finish = "stop" if new and new[-1] in stops else "length"
        return Generation(
            text=tokenizer.decode(new, skip_special_tokens=True),
            token_ids=new,
            prompt_tokens=len(ids),
            media_tokens=counts,
            finish_reason=finish,
        )

    @property
    def closed(self) -> bool:
        """Whether ``aclose`` has run (the model is dropped)."""
        return self.model is None

    async def aclose(self) -> None:
        """Free the model's memory."""
        self.model = None
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()
