"""Frames and captions as open_clip embeddings (L2-normalised), one model per process.

The model folder is either an open_clip ``local-dir`` (``open_clip_config.json`` plus weights, the
layout of the LAION releases) or, when the model reference names ``arch`` and ``file``, a plain
checkpoint loaded into that architecture.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from aurelia_local.core.config import ModelRef
from aurelia_local.core.errors import ModelMissingError

TEXT_BATCH = 64
IMAGE_BATCH = 32


class ClipEncoder:
    """open_clip image and text towers on CPU or the first GPU."""

    def __init__(self, model_dir: Path, ref: ModelRef):
        import open_clip
        import torch

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if ref.arch and ref.file:
            name, pretrained = ref.arch, str(Path(model_dir) / ref.file)
        else:
            name, pretrained = f"local-dir:{model_dir}", None
        if not Path(model_dir).is_dir():
            raise ModelMissingError(f"CLIP model folder {model_dir} does not exist")
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(
            name, pretrained=pretrained, device=self.device
        )
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(name)
        self.name = ref.arch or Path(model_dir).name

    def embed_images(self, frames: np.ndarray) -> np.ndarray:
        """Return (N, D) normalised embeddings of uint8 RGB frames (N, H, W, 3)."""
        import torch
        from PIL import Image

        out = []
        with torch.inference_mode():
            for start in range(0, len(frames), IMAGE_BATCH):
                chunk = frames[start : start + IMAGE_BATCH]
                batch = torch.stack([self.preprocess(Image.fromarray(f)) for f in chunk])
                out.append(self.model.encode_image(batch.to(self.device), normalize=True).float().cpu())
        return torch.cat(out).numpy()

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Return (N, D) normalised embeddings of ``texts`` (each truncated to the context length)."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), TEXT_BATCH):
                tokens = self.tokenizer(texts[start : start + TEXT_BATCH]).to(self.device)
                out.append(self.model.encode_text(tokens, normalize=True).float().cpu())
        return torch.cat(out).numpy()


@lru_cache(maxsize=2)
def clip_encoder(model_dir: Path, ref: ModelRef) -> ClipEncoder:
    """Return the process-wide encoder of ``model_dir`` (loaded on first use)."""
    return ClipEncoder(model_dir, ref)
