"""Gemma 4 on the tiny kit: its soundtrack as audio items of its own, long tracks split, both backends.

The vLLM engine starts once, in a process of its own (this test session's in-process engine is
Qwen's): an ``aurelia eval`` command on two samples, the shared 30 s clip and a 60 s clip made of it
twice, answers every default arm; transformers answers the same samples and arms in this process
meanwhile, and the two must agree token for token with the same prompts.
"""

import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aurelia_local.core.catalog import FAMILIES, default_arms
from aurelia_local.core.errors import MediaError
from aurelia_local.core.records import read_eval_rows
from aurelia_local.engines.families import family_of
from aurelia_local.engines.families.media_encoding import video_metadata
from aurelia_local.engines.request import load_av_inputs, question_request

pytestmark = pytest.mark.engine
QUESTION = "What instrument is heard first in the video?"
MAX_TOKENS = 8
V0_TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "v0" / "traces.jsonl"
# 4 frames of 168 x 298 px, each resized to 288 x 528 (16-px patches pooled 3 x 3): 6 x 11 soft tokens
VIDEO_TOKENS = 4 * 66


@pytest.fixture(scope="module")
def clip60(daily_omni_clip, tmp_path_factory) -> Path:
    """The shared clip twice in a row: 60 s of video with its soundtrack."""
    folder = tmp_path_factory.mktemp("clip60")
    listing = folder / "list.txt"
    listing.write_text(f"file '{daily_omni_clip}'\nfile '{daily_omni_clip}'\n")
    out = folder / "long60.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i",
                    str(listing), "-c", "copy", str(out)], check=True)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def gemma(models_dir):
    """The family plugin and the tiny model's processor (no weights loaded)."""
    family = family_of("gemma4")
    return family, family.load_processor(models_dir / "tiny" / "gemma4", False)


def _daily_omni(root: Path, clips: dict[str, Path]) -> Path:
    """A Daily-Omni folder with one question on each clip, in the benchmark's own layout."""
    records = []
    for vid, clip in clips.items():
        (root / "Videos" / vid).mkdir(parents=True)
        (root / "Videos" / vid / f"{vid}_video.mp4").symlink_to(clip)
        options = ["A. guitar", "B. piano", "C. drums", "D. voice"]
        records.append({"Question": QUESTION, "Choice": options, "Answer": "B", "video_id": vid,
                        "Type": "Audio", "video_duration": "60s"})  # fmt: skip
    (root / "qa.json").write_text(json.dumps(records))
    return root


def _traces(path: Path, ids: list[str]) -> Path:
    """r* for each sample: the version-0 fixture's finished trace under each id (read back migrated)."""
    trace = next(t for t in map(json.loads, V0_TRACES.read_text().splitlines()) if t["status"] == "ok")
    path.write_text("".join(json.dumps({**trace, "id": i}) + "\n" for i in ids))
    return path


@pytest.fixture(scope="module")
def evaluated(models_dir, smoke, daily_omni_clip, clip60, tmp_path_factory):
    """Rows of one eval per backend, keyed by (video id, arm); vLLM in a CLI process, transformers here."""
    from aurelia_local.app.eval.runner import load_benchmark, run_eval
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    tmp = tmp_path_factory.mktemp("gemma_eval")
    root = _daily_omni(tmp / "daily_omni", {"d6b4OmUFt7I": daily_omni_clip, "long60": clip60})
    ids = [s.id for s in load_benchmark("daily_omni", root, smoke)]
    traces = _traces(tmp / "traces.jsonl", ids)
    arms = list(default_arms())
    # No vLLM plugin loads in the command (VLLM_PLUGINS names none): the family's own fix for the
    # oneDNN GEMM must carry the audio encoder by itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURELIA_")} | {"VLLM_PLUGINS": ""}
    cmd = [sys.executable, "-m", "aurelia_local.app.cli", "eval", "--benchmark", "daily_omni",
           "--data-root", str(root), "--target", "tiny_gemma4", "--arms", ",".join(arms), "--reasoning",
           str(traces), "--out", str(tmp / "vllm"), "--backend", "vllm", "--no-progress",
           "--set", f"models_dir={models_dir}", "--set", f"sampling.max_tokens={MAX_TOKENS}"]  # fmt: skip
    log = (tmp / "vllm.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        settings = smoke.model_copy(
            update={"sampling": smoke.sampling.model_copy(update={"max_tokens": MAX_TOKENS})}
        )
        card = load_card("tiny_gemma4", settings)
        run_eval(settings, "daily_omni", root, {"tiny_gemma4": OmniAdapter(card, settings, "hf")}, arms,
                 tmp / "hf", traces=traces, progress=False, backend="hf")  # fmt: skip
        assert proc.wait(timeout=600) == 0, (tmp / "vllm.log").read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = {}
    for backend in ("vllm", "hf"):
        got = read_eval_rows(tmp / backend / "samples.jsonl")
        rows[backend] = {(r.sample_id.rsplit("-", 1)[0], r.arm): r for r in got}
    return rows, arms


def test_every_default_arm_answers_in_both_backends_with_equal_greedy_tokens(evaluated):
    rows, arms = evaluated
    keys = {(vid, arm) for vid in ("d6b4OmUFt7I", "long60") for arm in arms}
    assert set(rows["vllm"]) == set(rows["hf"]) == keys
    for key in sorted(keys):
        v, h = rows["vllm"][key], rows["hf"][key]
        assert v.status == h.status == "ok", (key, v.error, h.error)
        assert (v.backend, h.backend) == ("vllm", "hf")
        assert v.media_tokens == h.media_tokens and v.prompt_tokens == h.prompt_tokens, key
        assert 0 < len(v.output_tokens) <= MAX_TOKENS and v.output_tokens == h.output_tokens, key
        _, arm = key
        assert (v.media_tokens["video"] > 0) == (arm != "audio_only")
        assert (v.media_tokens["audio"] > 0) == (arm != "video_only") and v.media_tokens["image"] == 0
        assert (v.r_star is not None) == (arm == "aurelia")


def test_the_shared_clip_reaches_both_backends_with_all_its_audio_and_frames(evaluated):
    rows, _ = evaluated
    for backend in ("vllm", "hf"):
        zero = rows[backend][("d6b4OmUFt7I", "zero_shot")]
        assert zero.media_tokens == {"audio": 750, "video": VIDEO_TOKENS, "image": 0}  # 30 s at 25 a second
        assert rows[backend][("d6b4OmUFt7I", "video_only")].media_tokens["audio"] == 0
        assert rows[backend][("d6b4OmUFt7I", "audio_only")].prompt_tokens < zero.prompt_tokens


def test_a_60_s_track_reaches_both_backends_whole_as_items_of_at_most_30_s(evaluated, gemma, clip60, smoke):
    rows, _ = evaluated
    family, processor = gemma
    inputs = load_av_inputs(clip60, None, smoke.media)
    seconds = inputs.audio.size / inputs.sample_rate
    items = family.audio_items(inputs)
    limit = FAMILIES.get("gemma4").audio_item_seconds * inputs.sample_rate
    assert seconds > 59.9 and len(items) == math.ceil(inputs.audio.size / limit) >= 2
    assert all(item.size <= limit for item in items) and sum(item.size for item in items) == inputs.audio.size
    for backend in ("vllm", "hf"):
        for arm in ("zero_shot", "audio_only", "aurelia"):
            audio = rows[backend][("long60", arm)].media_tokens["audio"]
            assert audio == pytest.approx(seconds * 25, abs=2 * len(items)), (backend, arm)  # nothing cut


def test_audio_past_the_extractors_limit_in_one_item_is_cut_and_refused(gemma, clip60, smoke):
    family, processor = gemma
    inputs = load_av_inputs(clip60, None, smoke.media)
    request = question_request(QUESTION, dataclasses.replace(inputs, audio_in_video=False))
    whole = type(family)(FAMILIES.get("gemma4").model_copy(update={"audio_item_seconds": None}))
    tok = processor.tokenizer
    for fam, audio_tokens in ((family, 1500), (whole, 750)):  # one 60 s item: the extractor keeps 30 s
        ids = fam.hf_inputs(processor, request)["input_ids"][0].tolist()
        counts = fam.media_tokens(ids, tok.convert_tokens_to_ids)
        assert counts["audio"] == pytest.approx(audio_tokens, abs=4)
    family.check_media(family.media_tokens(
        family.hf_inputs(processor, request)["input_ids"][0].tolist(), tok.convert_tokens_to_ids
    ), request.inputs, "x")  # fmt: skip
    with pytest.raises(MediaError, match="audio cut or dropped"):
        whole.check_media(counts, request.inputs, "transformers prompt")
    with pytest.raises(MediaError, match="audio dropped"):
        family.check_media({**counts, "audio": 0}, request.inputs, "vLLM prompt")


def test_a_videos_own_soundtrack_goes_as_audio_items_after_its_frames(gemma, clip60, smoke):
    family, processor = gemma
    inputs = load_av_inputs(clip60, None, smoke.media)
    assert inputs.audio_in_video  # the soundtrack of the video, which Qwen models interleave
    own = family.chat_text(processor, question_request(QUESTION, inputs))
    separate = family.chat_text(
        processor, question_request(QUESTION, dataclasses.replace(inputs, audio_in_video=False))
    )
    items = len(family.audio_items(inputs))
    assert own == separate and f"<|video|>{'<|audio|>' * items}{QUESTION}<turn|>" in own
    prompt = family.vllm_prompt(processor, question_request(QUESTION, inputs))
    frames, _ = prompt["multi_modal_data"]["video"]
    assert frames is inputs.frames
    assert [a.size for a, _ in prompt["multi_modal_data"]["audio"]] == [
        a.size for a in family.audio_items(inputs)
    ]


def test_each_frame_is_stamped_with_the_time_it_was_taken(gemma, clip60, smoke):
    family, processor = gemma
    inputs = load_av_inputs(clip60, None, smoke.media)
    meta = video_metadata(inputs)
    stamps = [i / meta["fps"] for i in meta["frames_indices"]]
    assert stamps == pytest.approx(list(inputs.frame_times), abs=0.01) and stamps[-1] > 45
    ids = family.hf_inputs(processor, question_request(QUESTION, inputs))["input_ids"][0]
    text = processor.tokenizer.decode(ids)
    written = re.findall(r"(\d\d:\d\d) <\|image>", text)  # mm:ss before each frame, as Gemma 4 writes it
    assert written == [f"{int(t) // 60:02d}:{int(t) % 60:02d}" for t in inputs.frame_times]
    untimed = video_metadata(dataclasses.replace(inputs, frame_times=None))
    assert [i / untimed["fps"] for i in untimed["frames_indices"]] == pytest.approx(
        [i / inputs.fps for i in range(len(inputs.frames))]
    )


def test_a_server_request_carries_the_frames_metadata_and_one_wav_per_audio_item(gemma, clip60, smoke):
    family, _ = gemma
    inputs = load_av_inputs(clip60, None, smoke.media)
    body = family.openai_request(question_request(QUESTION, inputs, system="Be brief."))
    system, user = body["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    kinds = [p["type"] for p in user["content"]]
    items = len(family.audio_items(inputs))
    assert kinds == ["video_url"] + ["audio_url"] * items + ["text"]
    assert all(p["audio_url"]["url"].startswith("data:audio/wav;base64,") for p in user["content"][1:-1])
    assert user["content"][0]["video_url"]["url"].count(",") == len(inputs.frames)  # one JPEG a frame
    meta = video_metadata(inputs)
    assert body["media_io_kwargs"] == {"video": {
        "num_frames": len(inputs.frames), "fps": meta["fps"], "frames_indices": meta["frames_indices"],
        "total_num_frames": meta["total_num_frames"],
    }}  # fmt: skip
    flags = family.server_flags(smoke.engine)
    limits = json.loads(flags[flags.index("--limit-mm-per-prompt") + 1])
    assert "--trust-request-mm-kwargs" in flags and limits["audio"] >= items and limits["video"] == 1


def test_the_onednn_fix_loads_in_every_vllm_process_as_a_general_plugin():
    import torch
    from vllm import _custom_ops as ops
    from vllm.plugins import load_plugins_by_group

    from aurelia_local.engines.compat import patch_onednn_mm

    plugins = load_plugins_by_group("vllm.general_plugins")  # what every vLLM process loads at start
    assert "aurelia_compat" in plugins, "reinstall the package (pip install -e .) for its vLLM plugin"
    plugins["aurelia_compat"]()
    patched = ops.onednn_mm
    assert patched._aurelia_patched and patch_onednn_mm() and ops.onednn_mm is patched  # once only
    weight = torch.randn(96, 80)  # (out, in), as a linear layer holds it
    handler = ops.create_onednn_mm(weight.t(), 32)
    x = torch.randn(80, 7).t()  # a transposed input, as Gemma 4's audio light-conv block gives
    with pytest.raises(RuntimeError, match=r"stride\(-1\) == 1"):  # vLLM 0.32's CPU GEMM unpatched
        patched._aurelia_original(handler, x, None)
    assert torch.allclose(patched(handler, x, None), x @ weight.t(), atol=1e-4)
