"""Decoding a sample once: frames, keyframes and audio, on the real clip and on generated clips."""

import numpy as np
import pytest

from aurelia_local.core.errors import MediaError
from aurelia_local.core.media.bundle import clear_bundle_cache, load_bundle


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
    with pytest.raises(MediaError, match=r"0\.15 s long, under the minimum of 0\.2 s"):
        load_bundle(clip_dir / "short.mp4", None, smoke.media)
    allowed = smoke.media.model_copy(update={"min_video_seconds": 0.1})
    short = load_bundle(clip_dir / "short.mp4", None, allowed)
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


_PEAK = """
import json, resource, sys
from pathlib import Path
from aurelia_local.core.config import load_settings
from aurelia_local.core.media.bundle import load_bundle
settings = load_settings("smoke", overrides=sys.argv[3:], environ={})
load_bundle(Path(sys.argv[1]), None, settings.media)  # imports and decoder set-up, on a small clip
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
bundle = load_bundle(Path(sys.argv[2]), None, settings.media)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
seconds = bundle.audio.size / 16000
print(json.dumps({"grown_mib": grown / 1024, "frames": len(bundle.frames), "audio_s": seconds}))
"""


def test_a_long_video_is_refused_by_the_profile_and_decodes_in_bounded_memory_when_allowed(
    smoke, clip_dir, tmp_path
):
    import json
    import subprocess
    import sys

    from clips import still_clip

    long = still_clip(tmp_path / "still.mp4", 600)  # 10 minutes, 320x240 at 10 fps: 6,000 frames
    with pytest.raises(MediaError, match=r"600\.0 s long, over the limit of 300 s \(media\.max_video_sec"):
        load_bundle(long, None, smoke.media)
    allow = ["media.max_video_seconds=900", "media.max_audio_seconds=900"]
    cmd = [sys.executable, "-c", _PEAK, str(clip_dir / "shots.mp4"), str(long), *allow]
    peak = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    all_frames_mib = 6000 * 320 * 240 * 3 / 2**20  # what decoding every frame would hold: 1,318 MiB
    audio_mib = 600 * (48000 + 16000) * 4 / 2**20  # the two audio rates kept: 146 MiB
    assert peak["frames"] == smoke.media.num_frames and abs(peak["audio_s"] - 600) < 1
    assert peak["grown_mib"] < 2.5 * audio_mib < all_frames_mib / 3, peak
    with pytest.raises(MediaError, match=r"audio is longer than 120 s.*media.max_audio_seconds"):
        over = smoke.media.model_copy(update={"max_video_seconds": 900, "max_audio_seconds": 120})
        load_bundle(long, None, over)


def test_another_frame_count_decodes_only_frames_and_matches_a_full_decode(smoke, daily_omni_clip):
    from aurelia_local.core.media.bundle import with_frame_count

    base = load_bundle(daily_omni_clip, None, smoke.media)
    eight = with_frame_count(base, 8, smoke.media)
    full = load_bundle(daily_omni_clip, None, smoke.media.model_copy(update={"num_frames": 8}))
    assert len(base.frames) == smoke.media.num_frames and eight.frames.shape == full.frames.shape
    assert np.array_equal(eight.frames, full.frames) and eight.frame_times == full.frame_times
    assert eight.audio is base.audio and eight.keyframes is base.keyframes  # shared, not decoded again
    assert with_frame_count(base, smoke.media.num_frames, smoke.media) is base
