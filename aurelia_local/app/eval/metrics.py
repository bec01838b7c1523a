"""Accuracy per arm, per category and per duration; gains over a named baseline; bootstrap CIs.

Failures (no extractable answer, a sample that errored) count as wrong and are also counted
separately: never dropped. Bootstrap intervals resample samples (not sample x arm rows), with a
fixed seed, so a report is reproducible.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

BOOTSTRAP = 2000


def accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy of ``rows`` (each with ``correct`` and ``status``), with counts."""
    n = len(rows)
    correct = sum(bool(r.get("correct")) for r in rows)
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n if n else None,
        "no_answer": sum(r.get("status") == "ok" and r.get("extracted") is None for r in rows),
        "errors": sum(r.get("status") == "error" for r in rows),
    }


def bootstrap_ci(values: np.ndarray, seed: int = 0, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (per-sample numbers)."""
    if len(values) == 0:
        return None
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(BOOTSTRAP, len(values)), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


TABLES = (("category", "by_category"), ("duration", "by_duration"), ("domain", "by_domain"))


def summarize(
    rows: list[dict[str, Any]], arms: list[str], baseline: str = "zero_shot", seed: int = 0
) -> dict:
    """Per-arm accuracy with CIs, per-category and per-duration tables, and the gains over ``baseline``."""
    by_arm: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_arm[r["arm"]].append(r)
    out: dict[str, Any] = {
        "baseline": baseline,
        "arms": {},
        "by_category": {},
        "by_duration": {},
        "by_domain": {},
        "gains": {},
    }
    for arm in arms:
        arm_rows = sorted(by_arm.get(arm, []), key=lambda r: r["sample_id"])
        stats = accuracy(arm_rows)
        stats["ci95"] = bootstrap_ci(np.array([float(bool(r.get("correct"))) for r in arm_rows]), seed)
        out["arms"][arm] = stats
        for key, table in TABLES:
            groups: dict[str, list[dict]] = defaultdict(list)
            for r in arm_rows:
                groups[str(r.get(key) or "-")].append(r)
            out[table][arm] = {g: accuracy(v) for g, v in sorted(groups.items())}
    out["gains"] = _gains(by_arm, arms, baseline, seed)
    # the reasoning arms against the strongest prompting baselines too (when they were run)
    out["gains_over"] = {
        b: _gains(by_arm, arms, b, seed) for b in STRONGER_BASELINES if b in arms and b != baseline
    }
    return out


STRONGER_BASELINES = ("cot", "self_consistency")


def _gains(by_arm: dict[str, list[dict]], arms: list[str], baseline: str, seed: int) -> dict[str, Any]:
    """Each other arm's paired gain in accuracy over ``baseline``, with a bootstrap CI."""
    gains: dict[str, Any] = {}
    base = {r["sample_id"]: float(bool(r.get("correct"))) for r in by_arm.get(baseline, [])}
    for arm in arms:
        if arm == baseline or not base:
            continue
        pairs = [
            (float(bool(r.get("correct"))), base[r["sample_id"]])
            for r in by_arm.get(arm, [])
            if r["sample_id"] in base
        ]
        if not pairs:
            continue
        diff = np.array([a - b for a, b in pairs])
        b_acc = float(np.mean([b for _, b in pairs]))
        gains[arm] = {
            "over": baseline,
            "absolute": float(diff.mean()),
            "relative": float(diff.mean() / b_acc) if b_acc else None,
            "ci95_absolute": bootstrap_ci(diff, seed),
            "paired_samples": len(pairs),
        }
    return gains


def loop_cost(traces: list) -> dict[str, Any]:
    """What the loop spent per sample to produce r* (``TraceRecord``s): seconds, rounds, tokens by agent."""
    n = len(traces)
    if not n:
        return {"samples": 0}
    agents: dict[str, dict[str, float]] = defaultdict(
        lambda: {"seconds": 0.0, "prompt": 0.0, "completion": 0.0}
    )
    for trace in traces:
        for rnd in trace.rounds:
            for agent, seconds in rnd.seconds.items():
                agents[agent]["seconds"] += seconds
            for agent, counts in rnd.tokens.items():
                agents[agent]["prompt"] += counts.prompt
                agents[agent]["completion"] += counts.completion
    return {
        "samples": n,
        "seconds": round(sum(t.seconds for t in traces) / n, 3),
        "rounds": round(sum(len(t.rounds) for t in traces) / n, 3),
        "by_agent": {a: {k: round(v / n, 3) for k, v in c.items()} for a, c in sorted(agents.items())},
    }
