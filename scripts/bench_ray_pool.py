"""Benchmark the Ray worker pool itself: stub actors of fixed latency, 1 worker against N.

Each stub actor stands for the loop on one sample (its engines, scorer and media decoding) with a
fixed sleep per sample, so the figures measure what the distribution layer costs: Ray Data's
scheduling, the actor pool, moving samples and records, the driver's reading. Printed, from one run:
for 1 worker and each ``--workers`` count, the seconds until the first record (the actors' start)
and the steady seconds per sample after it, the scaling of the steady rate over 1 worker, and the
layer's own milliseconds per sample (the steady time per sample minus the stubs' sleep per worker).

Usage: python scripts/bench_ray_pool.py [--workers 2 4 8] [--samples 160] [--latency-ms 500]
[--per-actor 1]. It starts a loopback-only Ray on this machine (``aurelia_local.app.ray_pool``); the
stubs sleep, so 8 workers fit on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


class StubWorker:
    """In place of ``LoopWorker``: a fixed latency per sample, then a small record."""

    def __init__(self, settings_json: str, root: str | None, log: str):
        self.latency = json.loads(settings_json)["stub_latency_s"]

    def __call__(self, batch):
        """Sleep the latency of each sample; return a record per sample."""
        import numpy as np

        time.sleep(self.latency * len(batch["sample"]))
        return {"record": np.array([json.dumps({"id": s[:32]}) for s in batch["sample"]], dtype=object)}


class _Settings:
    """What ``pool_records`` reads of the settings, for the stub."""

    def __init__(self, latency_s: float, per_actor: int):
        self.loop = type("Loop", (), {"concurrency": per_actor})()
        self.latency_s = latency_s

    def model_dump_json(self) -> str:
        return json.dumps({"stub_latency_s": self.latency_s})


class _Sample:
    def __init__(self, i: int):
        self.i = i

    def model_dump_json(self) -> str:
        return json.dumps({"id": f"s{self.i:05d}", "question": "q" * 200})


def timed(workers: int, samples: int, settings, out: Path) -> tuple[float, float]:
    """(seconds to the first record, steady seconds per sample) for one pool of ``workers``.

    The first record comes once an actor has started; the steady rate, over the second half of the
    records (every actor running by then), is what the layer gives a long run, where starting the
    actors is paid once.
    """
    from aurelia_local.app.ray_pool import RayPlan, pool_records

    start = time.perf_counter()
    times = [time.perf_counter() - start
             for _ in pool_records(settings, [_Sample(i) for i in range(samples)], out, None,
                                   RayPlan(workers=workers), StubWorker)]  # fmt: skip
    assert len(times) == samples
    half = samples // 2
    return times[0], (times[-1] - times[half]) / (samples - 1 - half)


def main() -> None:
    """Run the pools and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8])
    p.add_argument("--samples", type=int, default=160)
    p.add_argument("--latency-ms", type=float, default=500.0)
    p.add_argument("--per-actor", type=int, default=1, help="samples an actor takes at a time")
    args = p.parse_args()
    from aurelia_local.app.ray_pool import start_ray, stop_ray

    settings = _Settings(args.latency_ms / 1000, args.per_actor)
    start_ray("local", cpus=max(args.workers) + 1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [(n, timed(n, args.samples, settings, Path(tmp))) for n in [1, *args.workers]]
    finally:
        stop_ray()
    sleep = args.latency_ms / 1000
    one = rows[0][1][1]
    print(f"{args.samples} samples, stub latency {args.latency_ms:.0f} ms, {args.per_actor} per actor call")
    print(
        f"{'workers':>7} {'start s':>8} {'s/sample':>9} {'scaling':>8} {'ideal':>6} {'layer ms/sample':>16}"
    )
    for n, (first, steady) in rows:
        layer = (steady - sleep / n) * 1000
        print(f"{n:>7} {first:>8.1f} {steady:>9.3f} {one / steady:>7.2f}x {n:>5}x {layer:>16.1f}")


if __name__ == "__main__":
    main()
