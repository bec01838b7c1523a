"""Small media files the tests generate with the ffmpeg CLI: shots with a tone, and odd cases."""

from __future__ import annotations

import subprocess
from pathlib import Path

# Static patterns with clearly different structure, so each cut is a real SSIM change.
SHOTS = ("smptebars", "color=c=black", "rgbtestsrc", "color=c=white")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", *args], check=True)


def shots_clip(
    out: Path, shot_s: float = 1.0, size: str = "160x120", tone_hz: int | None = 440, rate: int = 25
) -> Path:
    """Four static shots of ``shot_s`` seconds each, with a sine tone (or no audio track)."""
    inputs: list[str] = []
    for src in SHOTS:
        sep = ":" if "=" in src else "="
        inputs += ["-f", "lavfi", "-i", f"{src}{sep}size={size}:rate={rate}:duration={shot_s}"]
    graph = "".join(f"[{i}:v]" for i in range(len(SHOTS))) + f"concat=n={len(SHOTS)}:v=1:a=0[v]"
    audio: list[str] = []
    maps = ["-map", "[v]"]
    if tone_hz is not None:
        audio = ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=44100:duration={shot_s * 4}"]
        maps += ["-map", f"{len(SHOTS)}:a", "-c:a", "aac", "-ac", "2"]
    _ffmpeg(*inputs, *audio, "-filter_complex", graph, *maps, "-pix_fmt", "yuv420p", str(out))
    return out


def silent_track_clip(out: Path, seconds: float = 1.0) -> Path:
    """A test pattern with an audio track that holds only silence."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={seconds}",
        "-f", "lavfi", "-i", f"anullsrc=r=44100:cl=mono:d={seconds}",
        "-shortest", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


def truncated(src: Path, out: Path, keep: float = 0.5, faststart: bool = False) -> Path:
    """A copy of ``src`` cut to ``keep`` of its bytes (moov atom first with ``faststart``)."""
    source = src
    if faststart:
        source = out.with_name(out.stem + "_fs.mp4")
        _ffmpeg("-i", str(src), "-c", "copy", "-movflags", "+faststart", str(source))
    data = source.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def pattern_clip(out: Path, seconds: float, size: str = "64x48", rate: int = 25, tone: bool = True) -> Path:
    """A test pattern of ``seconds`` (with a tone when ``tone``): tiny frames, blinks, odd sizes."""
    audio = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"] if tone else []
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}", *audio,
            "-pix_fmt", "yuv420p", str(out))  # fmt: skip
    return out


def still_clip(out: Path, seconds: float, size: str = "320x240", rate: int = 10) -> Path:
    """A long video cheaply: one still frame for ``seconds``, with a quiet tone."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"smptebars=size={size}:rate={rate}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "24k", str(out),
    )  # fmt: skip
    return out


def tone_file(out: Path, seconds: float = 2.0, rate: int = 44100, channels: int = 1) -> Path:
    """An audio-only file: a tone at ``rate`` Hz on ``channels`` channels (codec from the suffix)."""
    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate={rate}",
            "-af", f"aformat=channel_layouts={layout}", str(out))  # fmt: skip
    return out
