"""Audio and captions as CLAP embeddings (transformers ``ClapModel``), one model per process.

CLAP sees 10 s windows; its feature extractor crops longer audio at random (``rand_trunc``), which
would make scores change from run to run. Longer audio is therefore split here into windows of at
most ``audio_window_s``, spread evenly (at most ``max_audio_windows``), embedded one by one and
mean-pooled: deterministic, and covering the whole track.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from aurelia_local.core.config import ModelRef
from aurelia_local.core.errors import ModelMissingError

CLAP_RATE = 48000
TEXT_BATCH = 64


def audio_windows(wav: np.ndarray, rate: int, window_s: float, max_windows: int) -> list[np.ndarray]:
    """Split ``wav`` into at most ``max_windows`` evenly spread windows of ``window_s`` seconds."""
    size = int(window_s * rate)
    if wav.size <= size:
        return [wav]
    count = min(max_windows, int(np.ceil(wav.size / size)))
    starts = np.linspace(0, wav.size - size, count).round().astype(int)
    return [wav[s : s + size] for s in starts]


class ClapEncoder:
    """CLAP audio and text towers on CPU or the first GPU."""

    def __init__(self, model_dir: Path, ref: ModelRef):
        import torch
        from transformers import ClapModel, ClapProcessor

        if not Path(model_dir).is_dir():
            raise ModelMissingError(f"CLAP model folder {model_dir} does not exist")
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        kwargs = dict(local_files_only=True, trust_remote_code=ref.trust_remote_code)
        self.model = ClapModel.from_pretrained(model_dir, **kwargs).to(self.device).eval()
        self.processor = ClapProcessor.from_pretrained(model_dir, **kwargs)
        self.name = Path(model_dir).name

    def embed_audio(self, windows: list[np.ndarray]) -> np.ndarray:
        """Return (N, D) normalised embeddings of 48 kHz mono windows."""
        import torch

        feats = self.processor.feature_extractor(windows, sampling_rate=CLAP_RATE, return_tensors="pt")
        feats = {k: v.to(self.device) for k, v in feats.items()}
        with torch.inference_mode():
            emb = self.model.get_audio_features(**feats).pooler_output.float()
        return torch.nn.functional.normalize(emb, dim=-1).cpu().numpy()

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Return (N, D) normalised embeddings of ``texts`` (each truncated to the model's limit)."""
        import torch

        out = []
        for start in range(0, len(texts), TEXT_BATCH):
            tokens = self.processor.tokenizer(
                texts[start : start + TEXT_BATCH], padding=True, truncation=True, return_tensors="pt"
            ).to(self.device)
            with torch.inference_mode():
                emb = self.model.get_text_features(**tokens).pooler_output.float()
            out.append(torch.nn.functional.normalize(emb, dim=-1).cpu())
        return torch.cat(out).numpy()


@lru_cache(maxsize=2)
def clap_encoder(model_dir: Path, ref: ModelRef) -> ClapEncoder:
    """Return the process-wide encoder of ``model_dir`` (loaded on first use)."""
    return ClapEncoder(model_dir, ref)
