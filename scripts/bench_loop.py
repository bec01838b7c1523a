"""Benchmark the loop: engine floor, loop speed-up with samples in flight, engines' idle share.

Fixed settings: the smoke profile (tiny kit), 2 rounds per sample forced (tau = 10), Whisper off.
Prints, from one run:

- the engine floor: the summarizer engine answering 16 requests of 128 tokens one after another vs
  all at once (what continuous batching alone gives on this machine);
- seconds per sample with samples run one after another (``--sequential`` of them) and with N in
  flight for each ``-n``, and their ratio (the loop's speed-up) and its share of the floor;
- each engine's idle share of the concurrent run's wall time, from the engines' own accounting
  (time with no request unfinished), and that of the two together.

Each sample is its own copy of the clip, so media is decoded per sample as in a real dataset. The
script runs unchanged on a CUDA machine (engines then run their cores in processes of their own).

Usage: python scripts/bench_loop.py [-n 16 64] [--sequential 8] [--placement auto|in_process|own_process]
[--video MP4] [--models-dir DIR] [-v]. Only the figures reach the terminal; libraries' logs go to
``$AURELIA_LOG_DIR`` or ``~/.cache/aurelia/logs/bench-loop-<UTC time>.log`` unless ``-v``.

Whisper is off: the tiny random checkpoint decodes until its token limit (about 5 s per sample on
CPU), which measures nothing about real transcription.
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


async def run(ctx, samples, concurrent: bool) -> dict:
    """Run the samples; return wall seconds and each engine's busy seconds within the run."""
    from aurelia_local.engines.protocol import union_seconds
    from aurelia_local.graphs.runner import compile_loop, run_sample

    graph = compile_loop()
    engines = {"generator": ctx.generator, "summarizer": ctx.summarizer}
    start = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(run_sample(graph, ctx, s) for s in samples))
    else:
        for s in samples:
            await run_sample(graph, ctx, s)
    end = time.perf_counter()
    busy = {k: e.activity.busy_seconds(start, end) for k, e in engines.items()}
    spans = [iv for e in engines.values() for iv in e.activity.intervals]
    busy["either"] = union_seconds(spans, start, end)
    return {"wall": end - start, "busy": busy, "peak": max(e.activity.peak for e in engines.values())}


async def engine_floor(engine, settings, n: int = 16, tokens: int = 128) -> tuple[float, float]:
    """Seconds for ``n`` requests of ``tokens`` tokens one after another, and all at once."""
    from aurelia_local.core.messages import user_turn
    from aurelia_local.engines.request import AVInputs, EngineRequest, OmniRequest

    sampling = settings.sampling.model_copy(update={"max_tokens": tokens})
    items = [EngineRequest(OmniRequest(user_turn(f"Describe scene {i}."), AVInputs(None, None)), sampling)
             for i in range(n)]  # fmt: skip
    await engine.generate(items[:1])  # warm-up
    start = time.perf_counter()
    for item in items:
        await engine.generate([item])
    one = time.perf_counter() - start
    start = time.perf_counter()
    await asyncio.gather(*(engine.generate([item]) for item in items))
    return one, time.perf_counter() - start


def measure(args: argparse.Namespace) -> dict:
    """Start the engines, run the floor, the sequential run and each concurrent run."""
    from aurelia_local.core.config import load_settings
    from aurelia_local.core.datasets import Sample
    from aurelia_local.core.media.bundle import clear_bundle_cache
    from aurelia_local.core.offline import enforce_offline
    from aurelia_local.engines.tiny.kit import build_kit
    from aurelia_local.graphs.runner import open_loop

    enforce_offline()
    build_kit(args.models_dir)
    settings = load_settings("smoke", environ={}, overrides=[
        f"models_dir={args.models_dir}", "loop.tau=10", f"loop.max_rounds={args.rounds}",
        f"loop.concurrency={max(args.n)}", "media.transcribe=false",
        f"engine.core_placement={args.placement}", f"engine.max_num_seqs={max(16, *args.n)}",
    ])  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="bench_loop_"))
    copies = [shutil.copy(args.video, tmp / f"clip{i}.mp4") for i in range(max(args.n))]

    def samples(mode: str, n: int) -> list:
        clear_bundle_cache()
        return [Sample(id=f"{mode}{i}", question=f"What happens first? ({i})", video=Path(copies[i]))
                for i in range(n)]  # fmt: skip

    async def everything():
        results: dict = {}
        start = time.perf_counter()
        async with open_loop(settings) as ctx:
            results["start_s"] = time.perf_counter() - start
            results["floor"] = await engine_floor(ctx.summarizer, settings)
            warm = Sample(id="warm", question="warm-up", video=args.video)
            await run(ctx, [warm], concurrent=False)  # first-call costs out of every measurement
            results["sequential"] = await run(ctx, samples("seq", args.sequential), concurrent=False)
            for n in args.n:
                results[n] = await run(ctx, samples(f"c{n}_", n), concurrent=True)
        return results

    try:
        return asyncio.run(everything())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(args: argparse.Namespace, results: dict, out) -> None:
    """Print the figures."""
    one, together = results["floor"]
    floor = one / together
    seq = results["sequential"]
    per_seq = seq["wall"] / args.sequential
    print(
        f"smoke profile (tiny kit), {args.rounds} rounds per sample, Whisper off, "
        f"core placement {args.placement}; engines started in {results['start_s']:.1f} s",
        file=out,
    )
    print(
        f"engine floor: 16 x 128 tokens one after another {one:.2f} s, at once {together:.2f} s: "
        f"{floor:.1f}x",
        file=out,
    )
    print(
        f"sequential  {args.sequential:>3} samples {seq['wall']:7.2f} s wall, {per_seq:6.3f} s/sample",
        file=out,
    )
    for n in args.n:
        r = results[n]
        per = r["wall"] / n
        idle = {k: 1 - v / r["wall"] for k, v in r["busy"].items()}
        print(f"concurrent  {n:>3} samples {r['wall']:7.2f} s wall, {per:6.3f} s/sample, speed-up "
              f"{per_seq / per:5.1f}x ({per_seq / per / floor:5.1%} of the floor), most requests in an "
              f"engine at once {r['peak']}; idle: generator {idle['generator']:5.1%}, summarizer "
              f"{idle['summarizer']:5.1%}, both {idle['either']:5.1%}", file=out)  # fmt: skip


def main() -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--sequential", type=int, default=8, help="samples run one after another")
    parser.add_argument("--placement", default="auto", choices=["auto", "in_process", "own_process"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--models-dir", type=Path, default=REPO / ".cache/test-models")
    parser.add_argument("-v", "--verbose", action="store_true", help="libraries' logs on the terminal")
    args = parser.parse_args()

    from aurelia_local.app.logs import quiet_logs, user_log_path, user_stdout

    # vLLM, torch and the engines' child processes log to a file (see app/logs.py); the figures print here
    with quiet_logs(user_log_path("bench-loop"), args.verbose, until_exit=True):
        report(args, measure(args), user_stdout())
    return 0


if __name__ == "__main__":
    sys.exit(main())
