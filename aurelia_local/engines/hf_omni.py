"""transformers backend for the omni thinkers (the talker is never loaded)."""

from __future__ import annotations

from pathlib import Path

from aurelia_local.core.config import MediaConfig, ModelRef, SamplingConfig
from aurelia_local.core.types import Generation
from aurelia_local.engines.omni import check_media_tokens, count_media_tokens, family, hf_inputs
from aurelia_local.engines.request import OmniRequest


class HfOmni:
    """An omni thinker run by transformers; requests run one at a time."""

    def __init__(self, model_dir: Path, ref: ModelRef, media: MediaConfig, device: str | None = None):
        import torch
        import transformers
        from transformers import AutoProcessor

        self.kind = ref.kind
        self.media = media
        self.model_dir = Path(model_dir)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cls = getattr(transformers, family(ref.kind).model_class)
        dtype = getattr(torch, ref.dtype) if ref.dtype != "auto" else "auto"
        self.processor = AutoProcessor.from_pretrained(
            self.model_dir, local_files_only=True, trust_remote_code=ref.trust_remote_code
        )
        full = cls.from_pretrained(
            self.model_dir,
            dtype=dtype,
            enable_audio_output=False,
            local_files_only=True,
            trust_remote_code=ref.trust_remote_code,
        )
        # The full model's generate() insists on a talker; the thinker generates text on its own.
        self.model = full.thinker.to(self.device).eval()

    def generate(self, requests: list[OmniRequest], sampling: SamplingConfig) -> list[Generation]:
        """Generate for each request (greedy when temperature is 0)."""
        import torch

        results = []
        for request in requests:
            batch = hf_inputs(self.processor, request, self.media).to(self.device)
            ids = batch["input_ids"][0].tolist()
            counts = count_media_tokens(ids, self.processor, self.kind)
            check_media_tokens(counts, request.inputs, f"transformers prompt for {self.model_dir.name}")
            sample = sampling.temperature > 0
            extra = {"temperature": sampling.temperature, "top_p": sampling.top_p} if sample else {}
            if sample:
                torch.manual_seed(sampling.seed)
            with torch.inference_mode():
                out = self.model.generate(
                    **batch,
                    use_audio_in_video=request.inputs.audio_in_video,
                    max_new_tokens=sampling.max_tokens,
                    do_sample=sample,
                    **extra,
                )
            new = out[0, len(ids) :].tolist()
            eos = self.processor.tokenizer.eos_token_id
            finish = "stop" if new and new[-1] == eos else "length"
            results.append(
                Generation(
                    text=self.processor.tokenizer.decode(new, skip_special_tokens=True),
                    token_ids=new,
                    prompt_tokens=len(ids),
                    media_tokens=counts,
                    finish_reason=finish,
                )
            )
        return results
