"""Decode video frames and audio: decord for frames, PyAV as the fallback and for audio.

Every failure is a ``MediaError`` that names the file and what is wrong with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aurelia_local.core.errors import MediaError

TRUNCATED = "the file may be truncated or corrupt"
AUDIO_SLACK_S = 0.5


@dataclass(frozen=True)
class VideoInfo:
    """Container-level facts about a video file."""

    path: Path
    duration_s: float
    fps: float
    num_frames: int
    width: int
    height: int
    has_audio: bool


def check_file(path: Path) -> Path:
    """Return ``path`` if it is a non-empty file, else raise ``MediaError`` saying what it is."""
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: file does not exist")
    if path.is_dir():
        raise MediaError(f"{path}: is a directory, expected a media file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes)")
    return path


def probe(path: Path) -> VideoInfo:
    """Return container facts of a video, or raise ``MediaError`` if it holds no readable video."""
    import av

    path = check_file(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream (is this an audio-only file?)")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            frames = stream.frames or int(round(duration * fps))
            return VideoInfo(
                path, duration, fps, frames, stream.codec_context.width, stream.codec_context.height,
                bool(container.streams.audio),
            )  # fmt: skip
    except MediaError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise MediaError(f"{path}: not a readable video, {TRUNCATED} ({reason})") from None


def uniform_indices(total: int, count: int) -> list[int]:
    """Return ``count`` frame indices spread evenly over ``total`` frames (centres of equal bins)."""
    if total <= 0:
        return []
    count = min(count, total)
    return [min(total - 1, int((i + 0.5) * total / count)) for i in range(count)]


FRAME_MULTIPLE = 2  # qwen_omni_utils: an even number of frames (the models' temporal patch)
PIXEL_MULTIPLE = 28  # qwen_omni_utils for Qwen2.5-Omni: 14 px patches merged 2 x 2


def fps_frame_count(total: int, video_fps: float, rate: float, min_frames: int, max_frames: int) -> int:
    """How many frames qwen_omni_utils samples from a video: ``rate`` a second, within the limits.

    Its ``smart_nframes``: the count at ``rate`` frames a second, raised to ``min_frames``, capped at
    ``max_frames`` and the video's own frame count, then rounded down to an even number.
    """
    low = math.ceil(min_frames / FRAME_MULTIPLE) * FRAME_MULTIPLE
    high = math.floor(min(max_frames, total) / FRAME_MULTIPLE) * FRAME_MULTIPLE
    wanted = min(max(total / video_fps * rate, low), high, total)
    count = math.floor(wanted / FRAME_MULTIPLE) * FRAME_MULTIPLE
    if not FRAME_MULTIPLE <= count <= total:
        raise MediaError(f"a video of {total} frames is too short for {count} frames at {rate:g} a second")
    return count


def spread_indices(total: int, count: int) -> list[int]:
    """``count`` frame indices from the first frame to the last, evenly spaced and rounded."""
    return [int(i) for i in np.linspace(0, total - 1, count).round()]


def multiple_size(width: int, height: int, min_pixels: float, max_pixels: float) -> tuple[int, int]:
    """(width, height) in multiples of 28 px, aspect kept, within the pixel limits (``smart_resize``)."""
    f = PIXEL_MULTIPLE
    h, w = max(f, round(height / f) * f), max(f, round(width / f) * f)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h, w = math.floor(height / beta / f) * f, math.floor(width / beta / f) * f
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h, w = math.ceil(height * beta / f) * f, math.ceil(width * beta / f) * f
    return w, h


def scaled_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Return (width, height) with the shorter side at most ``short_side``, aspect kept, even sizes."""
    if short_side is None or min(width, height) <= short_side:
        return width, height
    scale = short_side / min(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def fit_pixels(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """Return (width, height) scaled down (never up, aspect kept, even sizes) to at most ``max_pixels``."""
    if width * height <= max_pixels:
        return width, height
    scale = (max_pixels / (width * height)) ** 0.5
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def read_frames(path: Path, indices: list[int], size: tuple[int, int] | None = None) -> np.ndarray:
    """Return the frames at ``indices`` as a uint8 array of shape (T, H, W, 3).

    With ``size`` (width, height, e.g. from ``scaled_size``) the decoder scales frames while
    decoding, which keeps memory and time small for analysis frames. A truncated file yields the
    frames that decode; indices past the last decodable frame repeat it.
    """
    path = check_file(path)
    if not indices:
        raise MediaError(f"{path}: no frames requested")
    try:
        import decord

        width, height = size or (-1, -1)
        reader = decord.VideoReader(str(path), num_threads=2, width=width, height=height)
        last = len(reader) - 1
        return reader.get_batch([min(i, last) for i in indices]).asnumpy()
    except Exception:  # noqa: BLE001 - decord raises bare DECORDError/RuntimeError; fall back to PyAV
        return _read_frames_av(path, indices, size)


def _read_frames_av(path: Path, indices: list[int], size: tuple[int, int] | None) -> np.ndarray:
    import av

    wanted = set(indices)
    found: dict[int, np.ndarray] = {}
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if i in wanted:
                    width, height = size or (frame.width, frame.height)
                    found[i] = frame.to_ndarray(format="rgb24", width=width, height=height)
                if i >= max(wanted):
                    break
    except (av.error.FFmpegError, IndexError) as exc:
        if not found:
            raise MediaError(f"{path}: cannot decode video frames, {TRUNCATED} ({exc})") from None
    if not found:
        raise MediaError(f"{path}: no decodable video frames")
    last = found[max(found)]
    return np.stack([found.get(i, last) for i in indices])


def read_audio(path: Path, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Return the first audio track of ``path`` as mono float32 at ``sample_rate``.

    Raises ``MediaError`` when the file has no audio track, it cannot be decoded, or it is longer
    than ``max_seconds`` (decoding stops there, so a long file costs no more memory than the limit;
    half a second of slack allows for a track a little longer than its video).
    """
    import av

    path = check_file(path)
    limit = None if max_seconds is None else int((max_seconds + AUDIO_SLACK_S) * sample_rate)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: no audio track")
            seconds = (container.duration or 0) / 1_000_000 + 1
            audio = _Samples(min(int(seconds * sample_rate), limit or 1 << 62))
            # Channels are averaged (as librosa and torchaudio mix to mono); FFmpeg's own mono
            # downmix adds them at -3 dB, which makes a stereo track sqrt(2) times louder.
            resampler = av.AudioResampler(format="fltp", rate=sample_rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    audio.add(out.to_ndarray().mean(axis=0))
                if limit is not None and audio.size > limit:
                    raise MediaError(
                        f"{path}: audio is longer than {max_seconds:g} s, the limit "
                        "(media.max_audio_seconds); trim it, or raise the limit with "
                        "--set media.max_audio_seconds=SECONDS"
                    )
            for out in resampler.resample(None):
                audio.add(out.to_ndarray().mean(axis=0))
    except MediaError:
        raise
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: cannot decode audio, {TRUNCATED} ({exc})") from None
    if audio.size == 0:
        raise MediaError(f"{path}: audio track holds no samples")
    return audio.array()


class _Samples:
    """A float32 buffer filled in place, sized from the container's duration, growing if that was short."""

    def __init__(self, capacity: int):
        self.buffer = np.empty(max(capacity, 1024), np.float32)
        self.size = 0

    def add(self, chunk: np.ndarray) -> None:
        end = self.size + chunk.size
        if end > self.buffer.size:
            self.buffer = np.resize(self.buffer, max(end, 2 * self.buffer.size))
        self.buffer[self.size : end] = chunk
        self.size = end

    def array(self) -> np.ndarray:
        return self.buffer[: self.size]
