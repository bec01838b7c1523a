"""The tiny omni thinkers generate from the real Daily-Omni clip in vLLM (CPU) and in transformers.

One vLLM engine per model for the whole session; greedy outputs must be equal token for token.
"""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from aurelia_local.engines.protocol import generate_blocking
from aurelia_local.engines.request import AVInputs, load_av_inputs, question_request

pytestmark = pytest.mark.engine
QUESTION = "What instrument is heard first in the video?"


@pytest.fixture(scope="session")
def av_inputs(smoke, daily_omni_clip):
    return load_av_inputs(daily_omni_clip, None, smoke.media)


def _variants(av: AVInputs, wav_inputs: AVInputs) -> dict[str, AVInputs]:
    return {
        "audio_in_video": av,
        "video_only": dataclasses.replace(av, audio=None, audio_in_video=False),
        "separate_audio_file": wav_inputs,
        "text_only": AVInputs(None, None),
    }


@pytest.fixture(scope="session")
def wav_inputs(smoke, daily_omni_clip, daily_omni_wav):
    return load_av_inputs(daily_omni_clip, daily_omni_wav, smoke.media)


@pytest.fixture(scope="session")
def qwen2_5_hf(smoke):
    from aurelia_local.engines.factory import build_engine

    return build_engine(smoke.model_path("generator"), smoke.models["generator"], smoke, "hf")


def test_audio_in_video_reaches_both_backends_with_equal_greedy_output(
    qwen2_5_vllm, qwen2_5_hf, av_inputs, smoke
):
    assert av_inputs.audio_in_video and av_inputs.frames.shape[0] == smoke.media.num_frames
    request = question_request(QUESTION, av_inputs)
    v = generate_blocking(qwen2_5_vllm, [request], smoke.sampling)[0]
    h = generate_blocking(qwen2_5_hf, [request], smoke.sampling)[0]
    # 30 s of audio at 25 tokens/s; 4 frames -> 2 temporal grids of video tokens
    assert v.media_tokens["audio"] == 750 and v.media_tokens["video"] > 0
    assert v.media_tokens == h.media_tokens and v.prompt_tokens == h.prompt_tokens
    assert len(v.token_ids) == smoke.sampling.max_tokens
    assert v.token_ids == h.token_ids


def test_vllm_prompt_interleaves_audio_inside_the_video_block(qwen2_5_vllm, av_inputs, smoke):
    request = question_request(QUESTION, av_inputs)
    prompt = qwen2_5_vllm.family.vllm_prompt(qwen2_5_vllm.processor, request)
    assert prompt["mm_processor_kwargs"]["use_audio_in_video"] is True
    assert set(prompt["multi_modal_data"]) == {"video", "audio"}
    ids = generate_blocking(qwen2_5_vllm, [request], smoke.sampling)[0].prompt_token_ids
    tok = qwen2_5_vllm.processor.tokenizer
    conv = tok.convert_tokens_to_ids
    v0, a0 = ids.index(conv("<|vision_bos|>")), ids.index(conv("<|audio_bos|>"))
    a1, v1 = ids.index(conv("<|audio_eos|>")), ids.index(conv("<|vision_eos|>"))
    assert v0 < a0 < a1 < v1  # <|vision_bos|><|audio_bos|> ... <|audio_eos|><|vision_eos|>
    block = ids[a0 + 1 : a1]
    kinds = [t for i, t in enumerate(block) if i == 0 or t != block[i - 1]]
    assert kinds.count(conv("<|VIDEO|>")) >= 2  # video chunks alternate with audio chunks


def test_batched_vllm_equals_transformers_on_every_media_variant(
    qwen2_5_vllm, qwen2_5_hf, av_inputs, wav_inputs, smoke
):
    variants = _variants(av_inputs, wav_inputs)
    requests = [question_request(QUESTION, inputs) for inputs in variants.values()]
    batched = generate_blocking(qwen2_5_vllm, requests, smoke.sampling)  # concurrent, batched
    for name, request, v in zip(variants, requests, batched, strict=True):
        h = generate_blocking(qwen2_5_hf, [request], smoke.sampling)[0]
        assert v.token_ids == h.token_ids, name
        assert v.prompt_tokens == h.prompt_tokens, name
    by_name = dict(zip(variants, batched, strict=True))
    assert by_name["video_only"].media_tokens["audio"] == 0
    assert by_name["separate_audio_file"].media_tokens["audio"] > 0
    assert by_name["text_only"].media_tokens == {"audio": 0, "video": 0, "image": 0}


def test_generate_command_writes_a_record_with_provenance(models_dir, daily_omni_clip, tmp_path):
    out = tmp_path / "record.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURELIA_")}
    sets = ["--set", f"models_dir={models_dir}", "--set", "sampling.max_tokens=5"]
    cmd = [
        sys.executable,
        "-m",
        "aurelia_local.app.cli",
        "generate",
        str(daily_omni_clip),
        "--question",
        QUESTION,
    ]
    cmd += ["--backend", "hf", *sets, "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "prompt    " in proc.stdout and "750 audio" in proc.stdout
    record = json.loads(out.read_text())
    assert record["generation"]["media_tokens"]["audio"] == 750
    assert len(record["generation"]["token_ids"]) == 5 and record["sampling"]["max_tokens"] == 5
    config_cmd = [sys.executable, "-m", "aurelia_local.app.cli", "config", *sets]
    shown = subprocess.run(config_cmd, capture_output=True, text=True, env=env).stdout
    assert f"config_hash: {record['config_hash']}" in shown
