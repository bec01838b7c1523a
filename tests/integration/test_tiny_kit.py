"""The kit builds deterministically and every model loads in its real library."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aurelia_local.engines.tiny.kit import KIT, MARKER, build_kit, build_one

TEXT_LLM = next(spec for spec in KIT if spec.name == "text_llm")  # the quickest to build


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update({f"{f.name}:{k}": v for k, v in load_file(f).items()})
    for f in sorted(folder.glob("*.pt")):
        state = torch.load(f, weights_only=True)
        state = state.get("model_state_dict", state)
        out.update({f"{f.name}:{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
    return out


def test_same_seed_same_tensors_other_seed_other_tensors(models_dir, tmp_path):
    again = build_kit(tmp_path / "again", seed=0)
    other = build_one(KIT[0], tmp_path / "other", seed=1)
    for result in again:
        ref = _tensors(models_dir / Path(result.path).relative_to(tmp_path / "again"))
        new = _tensors(result.path)
        assert ref.keys() == new.keys() and ref, result.name
        for key in ref:
            assert torch.equal(ref[key], new[key]), f"{result.name} {key}"
        # tokenizers and configs are byte-identical too
        for name in ("tokenizer.json", "config.json", "open_clip_config.json"):
            if (result.path / name).exists():
                assert (result.path / name).read_bytes() == (
                    models_dir / "tiny" / result.path.name / name
                ).read_bytes()
    seed0 = _tensors(models_dir / "tiny" / "qwen2_5_omni")
    seed1 = _tensors(other.path)
    assert any(not torch.equal(seed0[k], seed1[k]) for k in seed0 if seed0[k].numel() > 1)


def test_rebuild_is_a_no_op_and_force_rebuilds(tmp_path):
    first = build_one(TEXT_LLM, tmp_path, seed=0)
    marker = first.path / MARKER
    stamp = marker.stat().st_mtime_ns
    second = build_one(TEXT_LLM, tmp_path, seed=0)
    assert first.built and not second.built and marker.stat().st_mtime_ns == stamp
    third = build_one(TEXT_LLM, tmp_path, seed=0, force=True)
    assert third.built and marker.stat().st_mtime_ns != stamp
    assert not list(tmp_path.glob("tiny/.*partial"))


def test_incomplete_folder_is_rebuilt(tmp_path):
    result = build_one(TEXT_LLM, tmp_path, seed=0)
    (result.path / MARKER).unlink()
    assert build_one(TEXT_LLM, tmp_path, seed=0).built
    marker = json.loads((result.path / MARKER).read_text())
    assert marker["seed"] == 0 and "model.safetensors" in marker["files"]


def test_kit_is_small(models_dir):
    total = sum(p.stat().st_size for p in (models_dir / "tiny").rglob("*") if p.is_file())
    assert total < 100e6, f"{total / 1e6:.1f} MB"


def test_open_clip_loads_from_local_dir_and_scores(models_dir):
    import open_clip
    from PIL import Image

    folder = models_dir / "tiny" / "open_clip"
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    image = preprocess(Image.new("RGB", (64, 48), (200, 30, 30))).unsqueeze(0)
    with torch.no_grad():
        img = model.encode_image(image, normalize=True)
        txt = model.encode_text(tokenizer(["a red square", "a dog barking"]), normalize=True)
    assert img.shape == (1, 64) and txt.shape == (2, 64)
    assert torch.allclose(img.norm(dim=-1), torch.ones(1), atol=1e-5)


def test_clap_scores_audio_against_text(models_dir):
    from transformers import ClapModel, ClapProcessor

    folder = models_dir / "tiny" / "clap"
    model = ClapModel.from_pretrained(folder, local_files_only=True).eval()
    proc = ClapProcessor.from_pretrained(folder, local_files_only=True)
    t = np.arange(48000) / 48000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    batch = proc(
        text=["a tone", "speech"], audio=[tone], sampling_rate=48000, return_tensors="pt", padding=True
    )
    with torch.no_grad():
        out = model(**batch)
    assert out.logits_per_audio.shape == (1, 2)
    assert torch.isfinite(out.logits_per_audio).all()


def test_whisper_transcribes_the_real_clip(models_dir, daily_omni_wav):
    import whisper

    from aurelia_local.core.media.decode import read_audio

    model = whisper.load_model(str(models_dir / "tiny" / "whisper" / "whisper.pt"), device="cpu")
    audio = read_audio(daily_omni_wav, 16000)[: 5 * 16000]
    result = model.transcribe(
        audio, fp16=False, temperature=0.0, language="en", condition_on_previous_text=False
    )
    assert set(result) >= {"text", "segments", "language"} and result["language"] == "en"


def test_text_llm_chats_in_transformers(models_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = models_dir / "tiny" / "text_llm"
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "Summarize."}], add_generation_prompt=True, tokenize=False
    )
    assert text == "<|im_start|>user\nSummarize.<|im_end|>\n<|im_start|>assistant\n"
    ids = tok(text, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == ids["input_ids"].shape[1] + 4


@pytest.mark.parametrize("kind", ["qwen2_5_omni", "qwen3_omni_moe"])
def test_omni_templates_render_media_placeholders(models_dir, kind):
    from transformers import AutoProcessor

    from aurelia_local.core.messages import user_turn
    from aurelia_local.engines.families import family

    proc = AutoProcessor.from_pretrained(models_dir / "tiny" / kind, local_files_only=True)
    conv = [m.to_hf() for m in user_turn("Q?", video=True, audio=True)]
    text = proc.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
    fam = family(kind)
    assert text.count(fam.video_token) == 1 and text.count(fam.audio_token) == 1
    assert text.endswith("Q?<|im_end|>\n<|im_start|>assistant\n")
