"""Decoding a sample once: frames, keyframes and audio, on the real clip and on generated clips."""

import numpy as np
import pytest

from aurelia_local.errors import MediaError
from aurelia_local.media.bundle import clear_bundle_cache, load_bundle


def _dominant_hz(wav: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wav))
    return float(np.fft.rfftfreq(wav.size, 1 / rate)[spectrum.argmax()])


def test_real_clip_decodes_once_with_ordered_keyframes_and_audio_from_the_track(smoke, daily_omni_clip):
    clear_bundle_cache()
    b = load_bundle(daily_omni_clip, None, smoke.media)
    assert load_bundle(daily_omni_clip, None, smoke.media) is b  # later rounds reuse the decode
    t, h, w, _ = b.frames.shape
    assert t == smoke.media.num_frames and h * w <= smoke.media.video_max_pixels  # decoded within budget
    assert abs(w / h - 640 / 360) < 0.02
    assert 1 <= len(b.keyframes) <= smoke.media.max_keyframes
    assert list(b.keyframe_times) == sorted(b.keyframe_times) and b.keyframe_times[0] == 0.0
    assert min(b.keyframes.shape[1:3]) == smoke.media.keyframe_size
    assert b.audio_source == "video" and not b.audio_silent
    assert abs(b.audio.size - 30 * 16000) < 1600 and abs(b.audio_48k.size - 3 * b.audio.size) <= 3


def test_separate_audio_file_wins_over_the_track(smoke, daily_omni_clip, daily_omni_wav):
    b = load_bundle(daily_omni_clip, daily_omni_wav, smoke.media)
    assert b.audio_source == "file" and b.audio_path == daily_omni_wav
    track = load_bundle(daily_omni_clip, None, smoke.media)
    assert b.key != track.key and abs(b.audio.size - track.audio.size) < 1600


def test_generated_shots_give_keyframes_at_the_cuts_and_the_tone_survives_resampling(smoke, clip_dir):
    b = load_bundle(clip_dir / "shots.mp4", None, smoke.media)
    changes = [t for t, r in zip(b.keyframe_times, b.keyframe_reasons, strict=True) if r == "change"]
    for cut in (1.0, 2.0, 3.0):  # each cut is found at the first candidate after it (2 per second)
        assert any(cut <= t < cut + 0.6 for t in changes), (cut, b.keyframe_times)
    assert b.keyframe_reasons[0] == "first"
    assert _dominant_hz(b.audio, 16000) == pytest.approx(440, abs=2)
    assert _dominant_hz(b.audio_48k, 48000) == pytest.approx(440, abs=2)
    clear_bundle_cache()
    fresh = load_bundle(clip_dir / "shots.mp4", None, smoke.media)
    assert fresh is not b and fresh.keyframe_times == b.keyframe_times
    assert np.array_equal(fresh.keyframes, b.keyframes)


def test_no_audio_track_is_a_clear_error_unless_video_only(smoke, clip_dir):
    path = clip_dir / "no_audio.mp4"
    with pytest.raises(MediaError, match="no audio track") as err:
        load_bundle(path, None, smoke.media)
    assert str(path) in str(err.value) and "video_only" in str(err.value)
    b = load_bundle(path, None, smoke.media.model_copy(update={"video_only": True}))
    assert b.audio is None and b.audio_48k is None and b.audio_source is None and len(b.keyframes) >= 1


def test_silent_track_is_audio_not_an_error(smoke, clip_dir):
    b = load_bundle(clip_dir / "silent.mp4", None, smoke.media)
    assert b.audio_silent and b.audio_source == "video" and b.audio.size > 8000


def test_short_and_portrait_clips(smoke, clip_dir):
    short = load_bundle(clip_dir / "short.mp4", None, smoke.media)
    assert 1 <= short.info.num_frames <= 5 and short.info.duration_s <= 0.25
    assert len(short.frames) <= short.info.num_frames and 1 <= len(short.keyframes) <= 2
    portrait = load_bundle(clip_dir / "portrait.mp4", None, smoke.media)
    h, w = portrait.keyframes.shape[1:3]
    assert h > w and w <= smoke.media.keyframe_size
    assert portrait.frames.shape[1:3] == (160, 90)


def _bad_inputs(tmp_path, clip_dir):
    from clips import truncated

    (tmp_path / "folder.mp4").mkdir()
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n")
    return {
        "missing": (tmp_path / "missing.mp4", "does not exist"),
        "directory": (tmp_path / "folder.mp4", "is a directory"),
        "zero_bytes": (tmp_path / "empty.mp4", "empty"),
        "not_a_video": (tmp_path / "text.mp4", "not a readable video"),
        "truncated": (truncated(clip_dir / "shots.mp4", tmp_path / "cut.mp4"), "not a readable video"),
        "truncated_faststart": (
            truncated(clip_dir / "shots.mp4", tmp_path / "cut_fs.mp4", faststart=True),
            "truncated or corrupt",
        ),
    }


def test_bad_files_are_media_errors_naming_the_file(smoke, clip_dir, tmp_path):
    for name, (path, message) in _bad_inputs(tmp_path, clip_dir).items():
        with pytest.raises(MediaError, match=message) as err:
            load_bundle(path, None, smoke.media)
        assert str(path) in str(err.value), name
