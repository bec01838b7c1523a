"""Chat text LLMs (the summarizer and the AVRT merger): text in, text out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typing_extensions import override

from aurelia_local.engines.families.base import Family
from aurelia_local.engines.tiny.tokenizer import build_tokenizer


class TextLLM(Family):
    """The base family's requests: the chat template renders the text conversation."""

    @override
    def load_hf_model(self, path: Path, dtype: Any, trust_remote_code: bool):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(
            path, dtype=dtype, local_files_only=True, trust_remote_code=trust_remote_code
        )


def build_tiny(out: Path, seed: int) -> None:
    """Write a tiny Qwen2ForCausalLM with a ChatML template to ``out``."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = build_tokenizer(None)
    cfg = Qwen2Config(
        vocab_size=len(tok), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
        tie_word_embeddings=False, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        bos_token_id=None,
    )  # fmt: skip
    torch.manual_seed(seed)
    Qwen2ForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
