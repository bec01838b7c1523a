"""One sample's decoded media, decoded once and shared by every agent and every loop round.

A ``MediaBundle`` holds:

- frames for the omni models: ``media.num_frames`` spread over the clip at most
  ``media.video_max_pixels`` each, or, with ``media.frame_sampling: fps``, the frames and sizes
  ``qwen_omni_utils.process_mm_info`` would give (the official protocols' media),
- keyframes (``aurelia_local.core.media.keyframes``) at ``media.keyframe_size`` for CLIP,
- the audio, mono, at 16 kHz (Whisper, Qwen omni) and 48 kHz (CLAP), from the separate audio file
  when one is given, else from the video's own track.

Videos outside the profile's limits (``media.max_video_seconds``, ``min_video_seconds``,
``min_video_side``, ``max_audio_seconds``) are ``MediaError``s that name the limit, before any
frame is decoded. Memory per sample is bounded by those limits: frames are sampled, never all
decoded, and audio decoding stops at its limit.

``load_bundle`` keeps the most recent bundles in memory, keyed by the files' identity (path, size,
modification time) and the media settings, so a loop of five rounds decodes its sample once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from aurelia_local.core.config import MediaConfig
from aurelia_local.core.errors import MediaError
from aurelia_local.core.media.decode import VideoInfo
from aurelia_local.core.records import Keyframe

CLAP_RATE = 48000
SILENCE_PEAK = 1e-4  # peak amplitude below which a track counts as silent
_CACHE: OrderedDict[str, MediaBundle] = OrderedDict()
_LOCK = threading.Lock()
_KEY_LOCKS: dict[str, threading.Lock] = {}
CACHE_SIZE = 32  # at least; ``keep_bundles`` raises it to the samples a run has in flight


@dataclass(frozen=True, eq=False)
class MediaBundle:
    """Decoded media of one sample."""

    key: str
    video: Path
    info: VideoInfo
    frames: np.ndarray  # (T, H, W, 3) uint8, uniform over the clip, within video_max_pixels
    frame_times: tuple[float, ...]
    keyframes: np.ndarray  # (K, h, w, 3) uint8, temporal order
    keyframe_times: tuple[float, ...]
    keyframe_reasons: tuple[str, ...]
    audio: np.ndarray | None  # mono float32 at ``sample_rate``
    audio_48k: np.ndarray | None
    sample_rate: int
    audio_path: Path | None
    audio_source: Literal["file", "video"] | None
    audio_silent: bool
    sampled_fps: float | None = None  # the sampling's own frames per second (fps sampling)

    @property
    def frames_fps(self) -> float | None:
        """Sampled frames per second of video time (what the omni processors call fps)."""
        if self.sampled_fps is not None:
            return self.sampled_fps
        return len(self.frames) / self.info.duration_s if self.info.duration_s > 0 else None

    def keyframe_records(self) -> list[Keyframe]:
        """When each keyframe lies in the video and why it was chosen (what records keep)."""
        pairs = zip(self.keyframe_times, self.keyframe_reasons, strict=True)
        return [Keyframe(time_s=round(t, 3), reason=why) for t, why in pairs]


def _identity(path: Path | None) -> str:
    if path is None:
        return "-"
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def bundle_key(video: Path, audio: Path | None, media: MediaConfig) -> str:
    """Return the cache key of a sample's media under ``media`` settings."""
    from aurelia_local.core.media.decode import check_file

    check_file(video)
    if audio is not None:
        check_file(audio)
    # ``video_only`` only decides whether a missing track is an error (checked on every access), not
    # what is decoded: the video_only arm of an evaluation reuses the other arms' decode.
    blob = "|".join([_identity(video), _identity(audio), media.model_dump_json(exclude={"video_only"})])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_bundle(video: Path, audio: Path | None, media: MediaConfig) -> MediaBundle:
    """Decode (or fetch from the in-memory cache) the media of one sample.

    Raises ``MediaError`` naming the file when it is missing, unreadable, holds no frames, or has
    no audio while ``media.video_only`` is off.
    """
    video = Path(video)
    audio = Path(audio) if audio is not None else None
    key = bundle_key(video, audio, media)
    with _LOCK:  # samples run in worker threads: one decode per key, other keys in parallel
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        with _LOCK:
            bundle = _CACHE.get(key)
            if bundle is not None:
                _CACHE.move_to_end(key)
        if bundle is None:
            bundle = _decode(key, video, audio, media)
            with _LOCK:
                _CACHE[key] = bundle
                while len(_CACHE) > CACHE_SIZE:
                    _KEY_LOCKS.pop(_CACHE.popitem(last=False)[0], None)
    if bundle.audio_source is None and not media.video_only:
        raise MediaError(
            f"{video}: no audio track and no separate audio file; give the audio file, or set "
            "media.video_only=true (--set media.video_only=true) to run without audio"
        )
    return bundle


def with_frame_count(bundle: MediaBundle, count: int, media: MediaConfig) -> MediaBundle:
    """The same sample with ``count`` uniform frames: only those frames are decoded, the rest is shared."""
    from aurelia_local.core.media.decode import uniform_indices

    if bundle.sampled_fps is None and len(uniform_indices(bundle.info.num_frames, count)) == len(
        bundle.frames
    ):
        return bundle
    frames, times = _uniform_frames(bundle.video, bundle.info, count, media)
    return replace(bundle, frames=frames, frame_times=times, sampled_fps=None)


def _uniform_frames(
    video: Path, info: VideoInfo, count: int, media: MediaConfig
) -> tuple[np.ndarray, tuple[float, ...]]:
    """``count`` frames spread evenly over the clip, and their times (s)."""
    from aurelia_local.core.media.decode import fit_pixels, read_frames, uniform_indices

    idx = uniform_indices(info.num_frames, count)
    # The omni processors shrink frames to video_max_pixels anyway; decoding at that size saves
    # decode time, memory and the processor's own resize.
    frames = read_frames(video, idx, fit_pixels(info.width, info.height, media.video_max_pixels))
    return frames, tuple(i / info.fps for i in idx)


def _fps_frames(
    video: Path, info: VideoInfo, media: MediaConfig
) -> tuple[np.ndarray, tuple[float, ...], float]:
    """The frames qwen_omni_utils samples and sizes for a video, their times, and its sampling fps."""
    from aurelia_local.core.media.decode import fps_frame_count, multiple_size, read_frames, spread_indices

    total = info.num_frames
    count = fps_frame_count(total, info.fps, media.sample_fps, media.min_frames, media.max_frames)
    idx = spread_indices(total, count)
    budget = max(
        min(media.video_max_pixels, media.video_total_pixels / count * 2), int(media.video_min_pixels * 1.05)
    )
    frames = read_frames(video, idx, multiple_size(info.width, info.height, media.video_min_pixels, budget))
    return frames, tuple(i / info.fps for i in idx), count / total * info.fps


def keep_bundles(in_flight: int) -> None:
    """Keep at least the bundles of ``in_flight`` samples in the cache.

    Every node of a sample's loop reads its bundle; one evicted while its sample still runs would be
    decoded again.
    """
    global CACHE_SIZE
    with _LOCK:
        CACHE_SIZE = max(CACHE_SIZE, in_flight + 8)


def clear_bundle_cache() -> None:
    """Forget every cached bundle."""
    with _LOCK:
        _CACHE.clear()
        _KEY_LOCKS.clear()


def _decode(key: str, video: Path, audio: Path | None, media: MediaConfig) -> MediaBundle:
    from aurelia_local.core.media.decode import probe, read_frames, scaled_size
    from aurelia_local.core.media.keyframes import candidate_indices, select_keyframes, to_grey

    info = probe(video)
    check_limits(info, media)
    sampled_fps = None
    if media.frame_sampling == "fps":
        frames, frame_times, sampled_fps = _fps_frames(video, info, media)
    else:
        frames, frame_times = _uniform_frames(video, info, media.num_frames, media)
    cands = candidate_indices(info.num_frames, info.fps, media.keyframe_fps, media.keyframe_candidates)
    small = read_frames(video, cands, scaled_size(info.width, info.height, media.keyframe_size))
    choice = select_keyframes(to_grey(small, media.ssim_size), media.ssim_threshold, media.max_keyframes)
    wav48, source = _read_sample_audio(video, audio, info, media)
    wav16 = _resample(wav48, CLAP_RATE, media.audio_sample_rate) if wav48 is not None else None
    return MediaBundle(
        key=key, video=video, info=info, frames=frames, frame_times=frame_times,
        keyframes=small[list(choice.positions)],
        keyframe_times=tuple(cands[p] / info.fps for p in choice.positions),
        keyframe_reasons=choice.reasons,
        audio=wav16, audio_48k=wav48, sample_rate=media.audio_sample_rate,
        audio_path=audio, audio_source=source,
        audio_silent=bool(wav48 is not None and float(np.abs(wav48).max()) < SILENCE_PEAK),
        sampled_fps=sampled_fps,
    )  # fmt: skip


def check_limits(info: VideoInfo, media: MediaConfig) -> None:
    """Raise ``MediaError`` naming the file, the limit and the setting when a video is out of bounds."""
    if info.num_frames <= 0:
        raise MediaError(f"{info.path}: the video stream holds no frames")
    seconds = max(info.duration_s, info.num_frames / info.fps)  # a stream's duration may omit its last frame
    fix = "--set media.{}=N"
    if seconds > media.max_video_seconds:
        raise MediaError(
            f"{info.path}: video is {seconds:.1f} s long, over the limit of {media.max_video_seconds:g} s "
            f"(media.max_video_seconds); trim it, or raise the limit with {fix.format('max_video_seconds')}"
        )
    if seconds < media.min_video_seconds:
        raise MediaError(
            f"{info.path}: video is {seconds:.2f} s long, under the minimum of {media.min_video_seconds:g} s "
            f"(media.min_video_seconds); too short to reason about (lower the limit with "
            f"{fix.format('min_video_seconds')})"
        )
    if min(info.width, info.height) < media.min_video_side:
        raise MediaError(
            f"{info.path}: frames are {info.width}x{info.height} px, under the minimum side of "
            f"{media.min_video_side} px (media.min_video_side); a damaged or placeholder file? (lower the "
            f"limit with {fix.format('min_video_side')})"
        )


def _read_sample_audio(
    video: Path, audio: Path | None, info: VideoInfo, media: MediaConfig
) -> tuple[np.ndarray | None, Literal["file", "video"] | None]:
    from aurelia_local.core.media.decode import read_audio

    if audio is not None:
        return read_audio(audio, CLAP_RATE, media.max_audio_seconds), "file"
    if info.has_audio:
        return read_audio(video, CLAP_RATE, media.max_audio_seconds), "video"
    return None, None  # load_bundle decides whether that is allowed


def _resample(wav: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return wav
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    return resample_poly(wav, rate_out // g, rate_in // g).astype(np.float32)
