"""Benchmark memory over a long distill run: a 1,000-line manifest streamed through the loop.

Generates ``--clips`` distinct short clips (more than the media cache holds), writes a manifest of
``-n`` lines cycling over them (one line in a hundred names a missing file: an error record), runs
``distill`` in-process on the tiny kit and samples the process's resident memory as records are
written. Prints, from that one run: resident memory after 10%, 50% and 100% of the samples, the
growth from 10% and from 50% to the end (per 100 samples), the peak, and samples per second. The
caches (decoded media, transcripts, vLLM's processed media: ``engine.mm_cache_gib``) fill while
new videos keep coming, then memory stays flat.

Usage: python scripts/bench_memory.py [-n 1000] [--clips 48] [--models-dir DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    """Resident memory of this process (MiB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def make_clips(folder: Path, count: int) -> list[str]:
    """``count`` distinct 2 s clips (a test pattern and a tone of its own pitch)."""
    names = []
    for i in range(count):
        name = f"clip{i:03d}.mp4"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-y", "-loglevel", "error",
             "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration=2:decimals={i % 3}",
             "-f", "lavfi", "-i", f"sine=frequency={200 + 15 * i}:duration=2",
             "-pix_fmt", "yuv420p", "-c:a", "aac", str(folder / name)],
            check=True,
        )  # fmt: skip
        names.append(name)
    return names


def write_manifest(folder: Path, clips: list[str], n: int) -> Path:
    """``n`` manifest lines cycling over ``clips``; every hundredth names a missing file."""
    path = folder / "manifest.jsonl"
    with path.open("w") as handle:
        for i in range(n):
            video = "missing.mp4" if i % 100 == 99 else clips[i % len(clips)]
            row = {"id": f"m{i:04d}", "question": f"What is shown in clip {i}?", "video": video,
                   "choices": ["a test pattern", "a landscape"], "answer": "A"}  # fmt: skip
            handle.write(json.dumps(row) + "\n")
    return path


class Sampler(threading.Thread):
    """Records (records written, resident MiB) twice a second while the run goes on."""

    def __init__(self, traces: Path):
        super().__init__(daemon=True)
        self.traces, self.points, self.stop = traces, [], threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self.stop.wait(0.5):
            done = sum(1 for _ in self.traces.open("rb")) if self.traces.is_file() else 0
            self.points.append((done, rss_mib()))


def at(points: list[tuple[int, float]], done: int) -> float:
    """Resident memory at the first sample point with at least ``done`` records."""
    return next(m for d, m in points if d >= done)


def main() -> int:
    """Run the manifest and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--models-dir", type=Path, default=REPO / ".cache/test-models")
    parser.add_argument("--keep", type=Path, help="work and keep files here (default: a temp folder)")
    args = parser.parse_args()

    from aurelia_local.app.distill import distill
    from aurelia_local.core.config import load_settings
    from aurelia_local.core.offline import enforce_offline
    from aurelia_local.engines.tiny.kit import build_kit

    enforce_offline()
    build_kit(args.models_dir)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    manifest = write_manifest(work, make_clips(work, args.clips), args.n)
    settings = load_settings("smoke", environ={}, overrides=[
        f"models_dir={args.models_dir}", "loop.tau=10", "loop.max_rounds=1",
        f"loop.concurrency={args.concurrency}", "media.transcribe=false",
    ])  # fmt: skip
    out = work / "run"
    sampler = Sampler(out / "traces.jsonl")
    start_rss = rss_mib()
    sampler.start()
    start = time.perf_counter()
    summary = distill(settings, manifest, out, progress=True)
    seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    points = sampler.points + [(summary.samples, rss_mib())]
    n = summary.samples
    first, half, last = at(points, n // 10), at(points, n // 2), at(points, n)
    print(f"samples: {n} ({summary.ok} ok, {summary.errors} errors) in {seconds:.0f} s, "
          f"{n / seconds:.2f} samples/s, concurrency {args.concurrency}, {args.clips} clips")  # fmt: skip
    print(f"resident memory (MiB): before the run {start_rss:.0f}, at 10% {first:.0f}, at 50% {half:.0f}, "
          f"at 100% {last:.0f}, peak {max(m for _, m in points):.0f}")  # fmt: skip
    for name, lo, hi, share in (("10% to 100%", first, last, 0.9), ("50% to 100%", half, last, 0.5)):
        growth = hi - lo
        print(f"growth {name}: {growth:+.0f} MiB ({100 * growth / (share * n):+.1f} MiB per 100 samples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
