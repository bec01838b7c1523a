"""The page's media: keyframe thumbnails and a short compressed audio clip per source video.

Written once: a source's files go to ``media/<key>/`` where the key hashes the source's path, size
and modification time, so samples that share a video share its files and a second ``aurelia view``
(a run that went on) writes only what is new. One ``ffmpeg`` process per source seeks to each
keyframe (no full decode) and encodes the audio; sizes are bounded by ``THUMB_WIDTH`` and
``AUDIO_SECONDS`` x ``AUDIO_BITRATE``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

THUMB_WIDTH = 192
AUDIO_SECONDS = 60
AUDIO_BITRATE = "24k"  # Opus, mono: at most ~180 KB per clip


@dataclass(frozen=True)
class MediaJob:
    """What the page needs from one source: thumbnails at ``times``, the audio (``audio`` or the video's)."""

    video: Path
    audio: Path | None
    times: tuple[float, ...]


@dataclass(frozen=True)
class MediaFiles:
    """Where a source's files went (relative to the site), or why they could not be written."""

    thumbs: dict[float, str]
    audio: str | None
    error: str | None = None


def source_key(video: Path, audio: Path | None) -> str:
    """A key that changes when a source file is replaced."""
    parts = []
    for path in (video, audio):
        if path is not None:
            stat = path.stat()
            parts.append(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def thumb_name(time_s: float) -> str:
    """The file name of the thumbnail at ``time_s``."""
    return f"k{round(time_s * 1000):08d}.jpg"


def write_media(job: MediaJob, site: Path) -> MediaFiles:
    """Write the thumbnails and audio clip of ``job`` under ``site/media`` unless they exist."""
    for path in (job.video, job.audio):
        if path is not None and not path.is_file():
            return MediaFiles({}, None, f"{path}: file not found")
    folder = Path("media") / source_key(job.video, job.audio)
    out = site / folder
    out.mkdir(parents=True, exist_ok=True)
    thumbs = {t: str(folder / thumb_name(t)) for t in job.times}
    audio = folder / "audio.ogg"
    wanted = [t for t in job.times if not (site / thumbs[t]).is_file()]
    errors = []
    if wanted:
        errors.append(_thumbnails(job.video, wanted, out))
    if not (site / audio).is_file():
        errors.append(_audio(job.audio or job.video, out / audio.name))
    written = {t: p for t, p in thumbs.items() if (site / p).is_file()}
    clip = str(audio) if (site / audio).is_file() else None
    return MediaFiles(written, clip, "; ".join(e for e in errors if e) or None)


def _run(cmd: list[str], what: Path) -> str | None:
    base = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    try:
        proc = subprocess.run(base + cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{what}: ffmpeg did not run: {exc}"
    return None if proc.returncode == 0 else f"{what}: ffmpeg: {proc.stderr.strip()[-300:]}"


def _thumbnails(video: Path, times: list[float], out: Path) -> str | None:
    """One process: an input per keyframe, seeked (no full decode), one small JPEG each."""
    cmd: list[str] = []
    for t in times:
        cmd += ["-ss", f"{t:.3f}", "-i", str(video)]
    for n, t in enumerate(times):
        cmd += ["-map", f"{n}:v:0", "-frames:v", "1", "-vf", f"scale={THUMB_WIDTH}:-2", "-q:v", "6",
                str(out / f".{thumb_name(t)}")]  # fmt: skip
    error = _run(cmd, video)
    # written under a dot name and renamed when complete: a killed run leaves no half file
    for t in times:
        part = out / f".{thumb_name(t)}"
        if part.is_file() and part.stat().st_size:
            part.rename(out / thumb_name(t))
        part.unlink(missing_ok=True)
    return error


def _audio(source: Path, target: Path) -> str | None:
    part = target.with_name("." + target.name)
    cmd = ["-i", str(source), "-map", "0:a:0", "-vn", "-ac", "1", "-t", str(AUDIO_SECONDS),
           "-c:a", "libopus", "-b:a", AUDIO_BITRATE, "-f", "ogg", str(part)]  # fmt: skip
    error = _run(cmd, source)
    if error is None and part.is_file() and part.stat().st_size:
        part.rename(target)
    part.unlink(missing_ok=True)
    return error
