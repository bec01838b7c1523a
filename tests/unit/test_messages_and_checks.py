import numpy as np
import pytest

from aurelia_local.core.errors import MediaError
from aurelia_local.core.media.decode import probe, read_audio, uniform_indices
from aurelia_local.core.messages import user_turn
from aurelia_local.engines.families import family_of
from aurelia_local.engines.request import AVInputs


def test_conversation_converts_for_both_consumers():
    turns = user_turn("What?", video=True, audio=True, system="Be brief.")
    assert [t.role for t in turns] == ["system", "user"]
    hf = turns[1].to_hf()["content"]
    assert [p["type"] for p in hf] == ["video", "audio", "text"]


def test_uniform_indices_are_ordered_distinct_and_bounded():
    assert uniform_indices(720, 4) == [90, 270, 450, 630]
    assert uniform_indices(3, 8) == [0, 1, 2]
    assert uniform_indices(0, 4) == []


def test_dropped_audio_or_video_is_an_error():
    inputs = AVInputs(frames=np.zeros((2, 8, 8, 3), np.uint8), audio=np.zeros(16000, np.float32))
    check_media_tokens = family_of("qwen2_5_omni").check_media
    check_media_tokens({"audio": 5, "video": 4}, inputs, "x")
    with pytest.raises(MediaError, match="audio dropped"):
        check_media_tokens({"audio": 0, "video": 4}, inputs, "vLLM prompt")
    with pytest.raises(MediaError, match="video dropped"):
        check_media_tokens({"audio": 3, "video": 0}, inputs, "vLLM prompt")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty"),
        (lambda p: (p.write_text("not a video"), p)[1], "not a readable video"),
    ],
)
def test_bad_media_is_a_clear_error_naming_the_file(tmp_path, make, message):
    path = make(tmp_path / "clip.mp4")
    with pytest.raises(MediaError, match=message) as err:
        probe(path)
    assert str(path) in str(err.value)


def test_real_clip_has_video_and_audio(daily_omni_clip, daily_omni_wav, tmp_path):
    info = probe(daily_omni_clip)
    assert info.has_audio and 29 < info.duration_s < 31 and info.num_frames > 100
    a = read_audio(daily_omni_clip, 16000)
    b = read_audio(daily_omni_wav, 16000)
    assert abs(a.size - 30 * 16000) < 1600 and abs(b.size - a.size) < 1600
    with pytest.raises(MediaError, match="no audio track"):
        read_audio(_silent_video(tmp_path), 16000)


def _silent_video(folder):
    import subprocess

    out = folder / "noaudio.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1",
         "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    return out
