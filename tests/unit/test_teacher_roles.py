"""AVRT's single-modality teachers without a model: media refused by kind, token arithmetic, frame
times, records that name the teachers, and the doctor's view of the teacher roles."""

import json
from pathlib import Path

import numpy as np
import pytest

from aurelia_local.core.config import load_settings
from aurelia_local.core.errors import MediaError
from aurelia_local.engines.families import family_of
from aurelia_local.engines.request import AVInputs

V0 = Path(__file__).resolve().parents[1] / "fixtures" / "v0"
FRAMES = np.zeros((4, 32, 32, 3), dtype=np.uint8)
AUDIO = np.zeros(16000, dtype=np.float32)


@pytest.mark.parametrize(
    ("kind", "inputs", "refused"),
    [
        ("qwen3_vl", AVInputs(FRAMES, AUDIO), "not audio"),
        ("audio_flamingo3", AVInputs(FRAMES, AUDIO), "not video"),
        ("audio_flamingo3", AVInputs(None, AUDIO, image=FRAMES[0]), "not image"),
        ("text_llm", AVInputs(FRAMES, AUDIO), "not video and audio"),
    ],
)
def test_a_model_kind_refuses_media_it_does_not_take(kind, inputs, refused):
    with pytest.raises(MediaError, match=f"model kind '{kind}' takes .*, {refused}; ask it without"):
        family_of(kind).check_inputs(inputs, "request")


def test_what_a_kind_takes_passes():
    family_of("qwen3_vl").check_inputs(AVInputs(FRAMES, None), "request")
    family_of("qwen3_vl").check_inputs(AVInputs(None, None, image=FRAMES[0]), "request")
    family_of("audio_flamingo3").check_inputs(AVInputs(None, AUDIO), "request")
    family_of("qwen2_5_omni").check_inputs(AVInputs(FRAMES, AUDIO, audio_in_video=True), "request")


def test_audio_flamingo_tokens_follow_its_windows():
    from aurelia_local.engines.families.audio_flamingo import expected_audio_tokens

    assert expected_audio_tokens(30 * 16000, 16000) == 750  # one full window: 3000 mel frames -> 750
    assert expected_audio_tokens(45 * 16000, 16000) == 750 + 375  # a second, half-full window
    assert expected_audio_tokens(600 * 16000, 16000) == 20 * 750
    assert expected_audio_tokens(8000, 16000) == 12  # 50 frames -> 25 -> 12


def test_qwen_vl_frames_carry_their_own_times_and_the_clip_pixel_range():
    from aurelia_local.engines.families.media_encoding import video_metadata
    from aurelia_local.engines.families.qwen_vl import video_kwargs

    times = (5.0, 15.0, 25.004)
    inputs = AVInputs(FRAMES[:3], None, fps=0.1, min_pixels=100, max_pixels=1000, frame_times=times)
    meta = video_metadata(inputs)
    assert meta["frames_indices"] == [500, 1500, 2500] and meta["fps"] == 100.0
    assert meta["total_num_frames"] == 2501
    # the processor bounds the whole clip: 3 frames pad to 4 (the temporal patch pairs them)
    assert video_kwargs(inputs)["size"] == {"shortest_edge": 400, "longest_edge": 4000}
    untimed = video_metadata(AVInputs(FRAMES[:2], None, fps=0.5))  # frame i at i / fps
    assert [i / untimed["fps"] for i in untimed["frames_indices"]] == [0.0, 2.0]


def test_records_name_the_teachers_and_version_1_records_still_read():
    from aurelia_local.core.records import SCHEMA_VERSION, TraceRecord, trace_line

    line = json.loads((V0 / "traces_avrt.jsonl").read_text())
    v1 = {**line, "schema_version": 1, "media": None, "backend": "vllm_local"}
    old = trace_line(v1)
    assert old.schema_version == SCHEMA_VERSION == 2 and old.rounds[0].avrt.models == {}
    rounds = [r.model_dump() for r in old.rounds]
    rounds[0]["avrt"]["models"] = {"vision_teacher": {"kind": "qwen3_vl", "folder": "Qwen3-VL-8B-Instruct"}}
    new = TraceRecord.model_validate({**old.model_dump(), "rounds": rounds})
    again = trace_line(json.loads(new.model_dump_json()))
    assert again.rounds[0].avrt.models["vision_teacher"].kind == "qwen3_vl"


def test_the_doctor_requires_the_teachers_only_for_avrt(tmp_path):
    from aurelia_local.app.doctor import check_model_folders

    def checks(*sets):
        settings = load_settings("default", overrides=[f"models_dir={tmp_path}", *sets], environ={})
        return {c.name: c for c in check_model_folders(settings)}

    plain = checks()
    assert not plain["model generator"].ok and plain["model generator"].required
    teacher = plain["model vision_teacher"]
    assert not teacher.ok and not teacher.required and "needed by AVRT" in teacher.detail
    assert "aurelia models download --profile default --role vision_teacher" in teacher.fix
    assert checks("loop.generator=avrt")["model audio_teacher"].required


@pytest.mark.parametrize("profile", ["default", "large"])
def test_real_profiles_name_where_the_teachers_come_from(profile):
    settings = load_settings(profile, environ={})
    vision, audio = settings.models["vision_teacher"], settings.models["audio_teacher"]
    assert (vision.kind, audio.kind) == ("qwen3_vl", "audio_flamingo3")
    assert vision.source.startswith("hf:Qwen/Qwen3-VL-") and audio.source == "hf:nvidia/audio-flamingo-3-hf"


def test_a_served_family_names_a_placeholder_for_each_medium_it_takes():
    from pydantic import ValidationError

    from aurelia_local.core.catalog import ModelFamily

    entry = dict(key="x", summary="s", inputs=("audio", "text"), plugin="m:C", model_class="C",
                 required_files=(("config.json",),))  # fmt: skip
    with pytest.raises(ValidationError, match=r"placeholder token for each \(audio_token missing\)"):
        ModelFamily(**entry)
    assert ModelFamily(**entry, audio_token="<sound>").inputs == ("audio", "text")
    assert ModelFamily(**{**entry, "plugin": None}).plugin is None  # an encoder no engine serves
