"""Benchmark the loop on CPU: N samples one after another vs N in flight on the same engines.

Prints, from one run: seconds per sample (amortised) in both modes and their ratio, the engines'
batch sizes, and the share of wall time spent outside the engines (media decoding, scoring, graph,
parsing) in the concurrent run. Each sample is its own copy of the clip, so media is decoded per
sample as in a real dataset. Rounds are fixed (tau = 10, T rounds) so both modes do the same work.

Usage: python scripts/bench_loop.py [-n 16] [--rounds 2] [--video MP4] [--models-dir DIR] [--transcribe]
[-v]. Only the figures reach the terminal; vLLM's and torch's logs go to
``$AURELIA_LOG_DIR`` or ``~/.cache/aurelia/logs/bench-loop-<UTC time>.log`` unless ``-v``.

Whisper is off by default: the tiny random checkpoint decodes until its token limit (about 5 s per
sample on CPU, serialised), which measures nothing about real transcription.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared/data/daily_omni_mini/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4"


def union_seconds(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the union of ``intervals`` clipped to [lo, hi]."""
    total, end = 0.0, lo
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


async def run(ctx, samples, concurrent: bool) -> tuple[float, float, list[int]]:
    """Run the samples; return wall seconds, seconds inside an engine, and the batch sizes."""
    from aurelia_local.graphs.runner import compile_loop, run_sample

    graph = compile_loop()
    engines = [ctx.generator, ctx.summarizer]
    marks = [len(e.busy) for e in engines]
    start = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(run_sample(graph, ctx, s) for s in samples))
    else:
        for s in samples:
            await run_sample(graph, ctx, s)
    end = time.perf_counter()
    busy = [iv for e, m in zip(engines, marks, strict=True) for iv in e.busy[m:]]
    sizes = [n for e, m in zip(engines, marks, strict=True) for n in e.batch_sizes[m:]]
    return end - start, union_seconds(busy, start, end), sizes


def measure(args: argparse.Namespace) -> dict:
    """Run the warm-up, then both modes; return mode -> (wall s, engine-busy s, batch sizes)."""
    from aurelia_local.core.config import load_settings
    from aurelia_local.core.datasets import Sample
    from aurelia_local.core.media.bundle import clear_bundle_cache
    from aurelia_local.core.offline import enforce_offline
    from aurelia_local.core.tiny.kit import build_kit
    from aurelia_local.graphs.runner import open_loop

    enforce_offline()
    build_kit(args.models_dir)
    settings = load_settings("smoke", environ={}, overrides=[
        f"models_dir={args.models_dir}", "loop.tau=10", f"loop.max_rounds={args.rounds}",
        f"loop.concurrency={args.n}", f"media.transcribe={str(args.transcribe).lower()}",
    ])  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="bench_loop_"))
    copies = [shutil.copy(args.video, tmp / f"clip{i}.mp4") for i in range(args.n)]

    async def both():
        async with open_loop(settings) as ctx:
            warm = Sample(id="warm", question="warm-up", video=args.video)
            await run(ctx, [warm], concurrent=False)  # first-call costs out of both measurements
            results = {}
            for mode in ("sequential", "concurrent"):
                clear_bundle_cache()
                samples = [Sample(id=f"{mode}{i}", question=f"What happens first? ({i})", video=Path(c))
                           for i, c in enumerate(copies)]  # fmt: skip
                results[mode] = await run(ctx, samples, concurrent=mode == "concurrent")
            return results

    results = asyncio.run(both())
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def main() -> int:
    """Run both modes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--models-dir", type=Path, default=REPO / ".cache/test-models")
    parser.add_argument("--transcribe", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="libraries' logs on the terminal")
    args = parser.parse_args()

    from aurelia_local.app.logs import quiet_logs, user_log_path, user_stdout

    # vLLM, torch and the engines' child processes log to a file (see app/logs.py); the figures print here
    with quiet_logs(user_log_path("bench-loop"), args.verbose, until_exit=True):
        results = measure(args)
        out = user_stdout()
        seq, conc = results["sequential"], results["concurrent"]
        print(f"samples {args.n}, rounds {args.rounds} each, smoke profile (tiny kit), CPU", file=out)
        for mode, (wall, busy, sizes) in results.items():
            print(f"{mode:<11} {wall:7.2f} s wall, {wall / args.n:6.3f} s/sample, "
                  f"engine busy {busy:6.2f} s ({busy / wall:5.1%}), outside engines {1 - busy / wall:5.1%}, "
                  f"largest batch {max(sizes)}", file=out)  # fmt: skip
        print(f"speed-up concurrent vs sequential: {seq[0] / conc[0]:.1f}x", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
