"""``aurelia pilot SOURCE``: the loop on a sample of a dataset, and what the whole run would cost.

Before a run over 100,000 samples a user needs to see how the loop behaves on their data: whether
scores clear the threshold or every sample takes all its rounds, how long a sample takes and how many
tokens each agent spends, how many samples fail. The pilot draws ``limit`` samples evenly at random
from the source (seeded: the same draw every time), runs the loop on them into ``out`` (a distill
run of its own, resumable), and projects the whole source's hours from the seconds per sample
measured at the run's concurrency on these engines.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from aurelia_local.core.config import Settings
from aurelia_local.core.datasets import iter_samples


def draw(source: Path, limit: int, seed: int, confine: bool = True) -> tuple[list, int]:
    """``limit`` items drawn evenly from ``source`` (reservoir sampling, in source order), and its size."""
    rng = random.Random(seed)
    kept: list[tuple[int, Any]] = []
    total = 0
    for number, item in enumerate(iter_samples(source, confine)):
        total += 1
        if len(kept) < limit:
            kept.append((number, item))
        else:
            slot = rng.randrange(number + 1)
            if slot < limit:
                kept[slot] = (number, item)
    return [item for _, item in sorted(kept, key=lambda pair: pair[0])], total


def pilot(settings: Settings, source: Path, out: Path, limit: int, progress: bool = True, ctx=None) -> dict:
    """Run the loop on ``limit`` samples of ``source`` into ``out``; return the pilot's figures."""
    from aurelia_local.app.distill import TRACES, distill
    from aurelia_local.app.eval.metrics import loop_cost
    from aurelia_local.core.datasets import data_root_of
    from aurelia_local.core.records import TraceRecord, read_traces

    items, total = draw(Path(source), limit, settings.sampling.seed, settings.data.confine_to_root)
    summary = distill(settings, items, out, progress=progress, ctx=ctx, data_root=data_root_of(Path(source)))
    records = read_traces(Path(summary.out) / TRACES)
    traces = [r for r in records if isinstance(r, TraceRecord)]
    ok = [r for r in traces if r.status == "ok"]
    wall = summary.this_run.get("seconds") or 0.0
    ran = sum(summary.this_run.get(k, 0) for k in ("ok", "filtered", "errors"))  # each ran the loop or failed
    per_sample = wall / ran if ran else None  # at the run's concurrency: what a full run would see
    failed = len(records) - len(traces)
    return {
        "source": str(source), "source_samples": total, "pilot_samples": len(records),
        "errors": failed, "error_rate": round(failed / len(records), 4) if records else None,
        "scores": dict(sorted(Counter(r.score for r in ok).items())),
        "rounds": dict(sorted(Counter(len(r.rounds) for r in ok).items())),
        "passed_threshold": sum(r.stop_reason == "threshold" for r in ok),
        "tau": settings.loop.tau, "max_rounds": settings.loop.max_rounds,
        "cost": loop_cost(ok), "wall_seconds_per_sample": round(per_sample, 3) if per_sample else None,
        "concurrency": settings.loop.concurrency,
        "projected_hours": round(per_sample * total / 3600, 2) if per_sample else None,
        "out": summary.out,
    }  # fmt: skip


def render(figures: dict) -> str:
    """The pilot's figures for a person."""
    cost = figures["cost"]
    lines = [
        f"pilot: {figures['pilot_samples']} of {figures['source_samples']} samples of {figures['source']}",
        f"errors: {figures['errors']} ({100 * (figures['error_rate'] or 0):.1f}%)",
        "scores of r* (1-10): " + (", ".join(f"{s}: {n}" for s, n in figures["scores"].items()) or "-"),
        f"rounds per sample (tau {figures['tau']:g}, at most {figures['max_rounds']}): "
        + (", ".join(f"{r}: {n}" for r, n in figures["rounds"].items()) or "-")
        + f"; cleared the threshold: {figures['passed_threshold']}",
    ]
    if cost.get("samples"):
        lines.append(f"per sample: {cost['seconds']:.1f} s in the loop, {cost['rounds']:.2f} rounds")
        for agent, spent in cost["by_agent"].items():
            lines.append(f"  {agent}: {spent['seconds']:.2f} s, {spent['prompt']:.0f} prompt and "
                         f"{spent['completion']:.0f} completion tokens")  # fmt: skip
    if figures["projected_hours"] is not None:
        lines.append(
            f"projected: {figures['wall_seconds_per_sample']:.2f} s per sample at concurrency "
            f"{figures['concurrency']} on these engines -> {figures['projected_hours']:.2f} hours for all "
            f"{figures['source_samples']} samples (one process; divide by the shards that run at once)"
        )
    return "\n".join(lines)
