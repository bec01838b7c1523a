"""Official protocols on the shared Daily-Omni clip: the script's media and its exact request, no weights."""

import json

import numpy as np
import pytest
from conftest import with_protocol

from aurelia_local.core.jsonl import read_records

OFFICIAL_SYSTEM = (
    "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of perceiving "
    "auditory and visual inputs, as well as generating text and speech."
)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # librosa's audioread path, inside qwen_omni_utils
def test_the_official_media_equal_what_process_mm_info_gives(smoke, daily_omni_clip):
    """Frames (count, size, fps) and audio of the preset against qwen_omni_utils on the official message."""
    from qwen_omni_utils import process_mm_info

    from aurelia_local.core.media.bundle import load_bundle
    from aurelia_local.core.protocols import target_media
    from aurelia_local.engines.request import bundle_inputs

    media = target_media(with_protocol(smoke, "daily_omni_official"))
    ours = load_bundle(daily_omni_clip, None, media)
    message = [{"role": "user", "content": [{"type": "video", "video": str(daily_omni_clip)},
                                            {"type": "text", "text": "?"}]}]  # fmt: skip
    audios, _, videos, kwargs = process_mm_info(message, use_audio_in_video=True, return_video_kwargs=True)
    video = videos[0]  # (T, C, H, W)
    assert ours.frames.shape == (video.shape[0], video.shape[2], video.shape[3], 3) == (60, 364, 644, 3)
    assert ours.frames_fps == pytest.approx(kwargs["fps"][0], rel=1e-9)
    # pixel values differ only by the resampling filter (the decoder's vs torchvision's bicubic)
    assert np.abs(ours.frames.astype(np.float32) - video.numpy().transpose(0, 2, 3, 1)).mean() < 4
    theirs = audios[0]
    assert ours.audio.shape == theirs.shape  # 16 kHz mono, the whole track
    gain = float(np.dot(ours.audio, theirs) / np.dot(theirs, theirs))
    residual = np.sqrt(np.mean((ours.audio - gain * theirs) ** 2)) / np.sqrt(np.mean(theirs**2))
    assert gain == pytest.approx(1.0, abs=0.01) and residual < 0.05  # channels averaged, as librosa does
    inputs = bundle_inputs(ours, media)  # what the engines get: whole 10 ms feature frames, interleaved
    assert inputs.audio_in_video and abs(inputs.audio.size - theirs.size) < 160


@pytest.fixture(scope="module")
def dry_runs(smoke, daily_omni_clip, tmp_path_factory):
    """A dry run of every arm under each Daily-Omni protocol and the project's, on the shared clip."""
    from aurelia_local.app.eval.dry_run import dry_run
    from aurelia_local.core.injection import ARMS
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    root = daily_omni_clip.parents[2]
    found = {}
    for name in ("project", "daily_omni_official", "daily_omni_v1"):
        settings = with_protocol(smoke, name)
        adapter = OmniAdapter(load_card("tiny_qwen2_5_omni", settings), settings, "hf", load=False)
        out = tmp_path_factory.mktemp(name)
        means = dry_run(settings, "daily_omni", root, {"tiny": adapter}, list(ARMS), out, limit=1)
        rows = {r["arm"]: r for r in read_records(out / "requests.jsonl")}
        found[name] = (rows, means["tiny"], adapter)
    return found


def _official_prompt(processor, daily_omni_clip, text_first: bool) -> str:
    """The script's own conversation, rendered by the same processor as the script renders it."""
    qa = json.loads((daily_omni_clip.parents[2] / "qa.json").read_text())[0]
    prompt = f"""
Your task is to accurately answer multiple-choice questions based on the given video.
Select the single most accurate answer from the given choices.
Question: {qa["Question"]}
Choices: {qa["Choice"]}
Your answer should be a capital letter representing your choice: A, B, C, or D. Don't generate any other text.
"""
    parts = [{"type": "video", "video": str(daily_omni_clip)}, {"type": "text", "text": prompt}]
    conversation = [
        {"role": "system", "content": OFFICIAL_SYSTEM},
        {"role": "user", "content": parts[::-1] if text_first else parts},
    ]
    return processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)


def _zero_shot(dry_runs, name: str, clip, snapshot, text_first: bool):
    """The protocol's dry run, after checking its zero_shot prompt is the script's own, exactly."""
    from aurelia_local.engines.families import family_of

    rows, means, adapter = dry_runs[name]
    processor = family_of(adapter.card.kind).load_processor(adapter.path, False)
    zero = rows["zero_shot"]
    assert zero["prompt"] == _official_prompt(processor, clip, text_first=text_first)
    snapshot(f"dry_run_{name}.txt", zero["prompt"])
    order = [p["type"] for p in zero["messages"][1]["content"]]
    assert order == (["text", "video"] if text_first else ["video", "text"])  # the audio rides in the video
    return rows, means, adapter, zero


def test_the_official_zero_shot_request_is_the_scripts_request(dry_runs, daily_omni_clip, snapshot):
    rows, _, adapter, zero = _zero_shot(dry_runs, "daily_omni_official", daily_omni_clip, snapshot, False)
    assert zero["media"] == {"frames": 60, "frame_size": [364, 644], "fps": pytest.approx(1.998, abs=1e-3),
                             "audio_seconds": 30.0, "audio_in_video": True, "image_size": None}  # fmt: skip
    assert (zero["sampling"]["max_tokens"], zero["sampling"]["temperature"]) == (10, 0.0)
    assert zero["protocol"] == "daily_omni_official" and zero["media_tokens"]["audio"] > 0
    # every arm sees the protocol's media and system prompt; reasoning arms keep their budget and text
    for row in rows.values():
        assert row["status"] == "ok", row
        assert row["messages"][0]["content"][0]["text"] == OFFICIAL_SYSTEM
        if row["media"]["frames"]:
            assert row["media"]["frames"] == 60
    for arm in ("cot", "aurelia", "self_consistency"):
        assert rows[arm]["sampling"]["max_tokens"] == adapter.sampling.max_tokens > 10
        assert "Choices: [" not in rows[arm]["prompt"]
    video_only = rows["video_only"]
    assert video_only["media_tokens"]["audio"] == 0 and video_only["sampling"]["max_tokens"] == 10


def test_the_first_script_puts_the_text_first_and_gives_no_audio(dry_runs, daily_omni_clip, snapshot):
    rows, means, _, zero = _zero_shot(dry_runs, "daily_omni_v1", daily_omni_clip, snapshot, True)
    assert zero["media_tokens"]["audio"] == 0 and zero["media"]["audio_seconds"] is None
    assert rows["audio_only"]["status"] == "error" and "daily_omni_v1" in rows["audio_only"]["error"]
    assert means["zero_shot"]["video"] == dry_runs["daily_omni_official"][1]["zero_shot"]["video"]


def test_the_project_protocol_is_unchanged_by_the_presets(dry_runs, snapshot):
    rows, means, _ = dry_runs["project"]
    snapshot("dry_run_zero_shot.txt", rows["zero_shot"]["prompt"])  # the same snapshot as test_eval's
    assert rows["zero_shot"]["messages"][0]["role"] == "user"  # no system turn of its own
    official = dry_runs["daily_omni_official"][1]
    assert means["zero_shot"]["video"] < official["zero_shot"]["video"]  # 8 frames vs 2 a second
