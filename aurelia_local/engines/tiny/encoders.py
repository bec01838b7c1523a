"""Tiny open_clip, CLAP and Whisper checkpoints, saved in the formats the real ones ship in.

- open_clip: a ``local-dir`` folder (``open_clip_config.json`` + ``open_clip_model.safetensors``),
  the layout of the LAION releases, loaded with ``create_model_and_transforms("local-dir:...")``.
- CLAP: a transformers ``ClapModel`` folder with an offline ``ClapProcessor``.
- Whisper: an openai-whisper ``.pt`` checkpoint (``{"dims": ..., "model_state_dict": ...}``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

OPEN_CLIP_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 224, "layers": 1, "width": 64, "head_width": 32, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}
CLAP_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def build_open_clip(out: Path, seed: int) -> None:
    """Write a tiny random open_clip model as a ``local-dir`` folder to ``out``."""
    import torch
    from open_clip.model import CLIP
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    model = CLIP(**OPEN_CLIP_CFG)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "open_clip_model.safetensors"))
    preprocess = {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]}
    config = {"model_cfg": OPEN_CLIP_CFG, "preprocess_cfg": preprocess}
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2))


def _clap_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from aurelia_local.engines.tiny.tokenizer import CORPUS, VOCAB_SIZE

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=CLAP_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )  # fmt: skip
    tok.train_from_iterator([CORPUS] * 50, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        mask_token="<mask>", model_max_length=64,
    )  # fmt: skip


def build_clap(out: Path, seed: int) -> None:
    """Write a tiny random CLAP (unfused) model and its offline processor to ``out``."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor

    tok = _clap_tokenizer()
    cfg = ClapConfig(
        text_config=dict(
            vocab_size=len(tok), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=128, max_position_embeddings=80, pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, projection_dim=32,
        ),
        audio_config=dict(
            patch_embeds_hidden_size=32, depths=[1, 1, 1, 1], num_attention_heads=[2, 2, 2, 2],
            hidden_size=256, projection_dim=32, enable_fusion=False,
        ),
        projection_dim=32,
    )  # fmt: skip
    torch.manual_seed(seed)
    ClapModel(cfg).save_pretrained(out)
    # "fusion" truncation yields 4-channel features that an unfused model cannot take.
    features = ClapFeatureExtractor(truncation="rand_trunc", padding="repeatpad")
    ClapProcessor(feature_extractor=features, tokenizer=tok).save_pretrained(out)


def build_whisper(out: Path, seed: int) -> None:
    """Write a tiny random openai-whisper checkpoint to ``out / "whisper.pt"``."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    # n_audio_ctx stays 1500 (a 30 s window) and n_vocab 51865 (the multilingual tokenizer).
    dims = ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Whisper(dims)
    # The text decoder's positional embedding is allocated with torch.empty and never initialised.
    torch.nn.init.normal_(model.decoder.positional_embedding, std=0.02)
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, out / "whisper.pt")
