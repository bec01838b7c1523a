"""Evaluation protocols (official scripts as data, their media arithmetic, their answer reading); samples."""

import pytest
from conftest import with_protocol

from aurelia_local.core.answers import first_letter
from aurelia_local.core.errors import ConfigError

CHOICES = ["A. a guitar", "B. a piano", "C. drums", "D. a violin"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("B", "B"),
        ("b", "B"),
        ("  C. drums", "C"),
        ("assistant\nD", "D"),  # the script reads after "assistant" when a decoder leaves it in
        ("system\nuser\nassistant\n a", "A"),
        ("As an AI, I think B", "A"),  # the script's own reading: its numbers are reproduced, not fixed
        ("The answer is B", None),
        ("E", None),
        ("", None),
    ],
)
def test_the_first_letter_reading_follows_the_daily_omni_script(output, expected):
    assert first_letter(output, CHOICES) == expected


def test_the_official_prompt_is_the_scripts_f_string(smoke):
    """The script writes ``Choices: {choices}`` with the benchmark's own option strings: a Python list."""
    from aurelia_local.core.injection import target_prompt

    question = "Which instrument plays first?"
    script = (  # testmodel.py's f-string, with its leading and trailing newlines
        "\nYour task is to accurately answer multiple-choice questions based on the given video.\n"
        "Select the single most accurate answer from the given choices.\n"
        f"Question: {question}\n"
        f"Choices: {CHOICES}\n"
        "Your answer should be a capital letter representing your choice: A, B, C, or D. "
        "Don't generate any other text.\n"
    )
    stripped = ["a guitar", "a piano", "drums", "a violin"]  # loaders keep options without their letters
    for protocol in ("daily_omni_official", "daily_omni_v1"):
        for arm in ("zero_shot", "video_only", "audio_only", "text_only"):
            assert target_prompt(arm, question, stripped, protocol=protocol) == script
        # the reasoning arms keep the project's instruction and r*
        cot = target_prompt("cot", question, stripped, protocol=protocol)
        assert cot == target_prompt("cot", question, stripped) and "Think step by step" in cot
        aurelia = target_prompt("aurelia", question, stripped, ["look", "listen"], protocol=protocol)
        assert "1. look\n2. listen" in aurelia
    # an option holding a quote is written as Python writes it (double quotes), as the script does
    quoted = target_prompt("zero_shot", "Q?", ["it's loud", "soft"], protocol="daily_omni_official")
    assert "Choices: [\"A. it's loud\", 'B. soft']" in quoted


def test_a_protocol_applies_only_to_its_benchmark_and_sets_the_direct_arms_decoding(smoke):
    from aurelia_local.core.protocols import arm_sampling, check_protocol, target_media

    official = with_protocol(smoke, "daily_omni_official")
    assert check_protocol(official, "daily_omni").key == "daily_omni_official"
    with pytest.raises(ConfigError, match="does not apply to --benchmark worldsense"):
        check_protocol(official, "worldsense")
    assert check_protocol(smoke, "worldsense").key == "project"
    direct = arm_sampling(official, "zero_shot")
    assert (direct.max_tokens, direct.temperature) == (10, 0.0)
    assert arm_sampling(official, "cot") is None and arm_sampling(smoke, "zero_shot") is None
    media = target_media(official)
    assert (media.frame_sampling, media.sample_fps, media.use_audio_in_video) == ("fps", 2.0, True)
    assert target_media(smoke) is smoke.media


def test_the_frame_count_and_size_follow_qwen_omni_utils():
    """The same arithmetic as qwen_omni_utils' smart_nframes and smart_resize, over many videos."""
    from qwen_omni_utils.v2_5.vision_process import smart_nframes, smart_resize

    from aurelia_local.core.media.decode import fps_frame_count, multiple_size

    videos = [(900, 29.97), (1800, 30.0), (50, 25.0), (7, 25.0), (61, 30.0), (25000, 24.0), (4, 2.0)]
    for total, fps in videos:
        assert fps_frame_count(total, fps, 2.0, 4, 768) == smart_nframes({}, total, fps)
    low, high = 128 * 28 * 28, 768 * 28 * 28
    for width, height in [(640, 360), (1920, 1080), (64, 48), (90, 160), (1280, 720), (333, 777), (28, 28)]:
        h, w = smart_resize(height, width, 28, low, high)
        assert multiple_size(width, height, low, high) == (w, h)


def test_a_sample_has_a_video_or_an_image_never_both_nor_neither(tmp_path):
    from pydantic import ValidationError

    from aurelia_local.core.datasets import Sample

    assert Sample(id="a", question="q", image=tmp_path / "x.png").video is None
    for media in ({}, {"video": tmp_path / "v.mp4", "image": tmp_path / "x.png"}):
        with pytest.raises(ValidationError, match="a video or an image"):
            Sample(id="a", question="q", **media)
