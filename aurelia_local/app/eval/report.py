"""``report.md`` and the accuracy chart: what an evaluation found, readable without the tool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aurelia_local.app.eval.metrics import TABLES
from aurelia_local.core.injection import REASONING_ARMS


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _ci(ci) -> str:
    return "-" if not ci else f"[{_pct(ci[0])}, {_pct(ci[1])}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def target_section(key: str, summary: dict[str, Any], arms: list[str]) -> list[str]:
    """The tables of one target model."""
    lines = [f"## {key}", ""]
    rows = [[arm, str(s["n"]), _pct(s["accuracy"]), _ci(s["ci95"]), str(s["no_answer"]), str(s["errors"])]
            for arm, s in summary["arms"].items()]  # fmt: skip
    lines += _table(["arm", "n", "accuracy %", "95% CI", "no answer", "errors"], rows) + [""]
    # every arm over the baseline; the reasoning arms over the stronger prompting baselines too
    tables = [summary["gains"]] + [
        {arm: g for arm, g in over.items() if arm in REASONING_ARMS}
        for over in summary.get("gains_over", {}).values()
    ]
    for arm, g in (item for table in tables for item in table.items()):
        rel = "-" if g["relative"] is None else f"{100 * g['relative']:+.1f}%"
        lines.append(
            f"- {arm} vs {g['over']}: {100 * g['absolute']:+.1f} points ({rel} relative), "
            f"95% CI {_ci(g['ci95_absolute'])}, {g['paired_samples']} paired samples"
        )
    for title, table in TABLES:
        groups = sorted({g for arm in arms for g in summary.get(table, {}).get(arm, {})})
        if groups in ([], ["-"]):
            continue  # the benchmark has no such field
        rows = [
            [g, *(_pct(summary[table].get(arm, {}).get(g, {}).get("accuracy")) for arm in arms)]
            for g in groups
        ]
        lines += ["", f"Accuracy % per {title}:", "", *_table([title, *arms], rows)]
    return lines + [""]


def chart(results: dict[str, Any], path: Path) -> None:
    """A bar chart of accuracy per arm and category, one panel per target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = list(results["summary"])
    fig, axes = plt.subplots(len(targets), 1, figsize=(9, 3.5 * len(targets)), squeeze=False)
    for ax, key in zip(axes[:, 0], targets, strict=True):
        summary = results["summary"][key]
        arms = results["arms"]
        groups = ["all", *sorted({g for a in arms for g in summary["by_category"].get(a, {})})]
        width = 0.8 / len(arms)
        for i, arm in enumerate(arms):
            values = [summary["arms"][arm]["accuracy"] or 0.0]
            values += [(summary["by_category"][arm].get(g, {}).get("accuracy") or 0.0) for g in groups[1:]]
            ax.bar([x + i * width for x in range(len(groups))], [100 * v for v in values], width, label=arm)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(groups))], groups, rotation=20, ha="right")
        ax.set_ylabel("accuracy %")
        ax.set_ylim(0, 100)
        ax.set_title(f"{results['benchmark']}: {key}")
        ax.legend(fontsize="small", ncol=len(arms))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(results: dict[str, Any], out: Path) -> None:
    """Write ``report.md`` and ``accuracy.png`` into ``out``."""
    chart(results, out / "accuracy.png")
    lines = [
        f"# {results['benchmark']}: {results['samples']} samples, arms {', '.join(results['arms'])}",
        "",
        f"Protocol {results['protocol']}, profile {results['profile']}, "
        f"config hash {results['config_hash']}, injection {results['injection_version']}, "
        f"aurelia {results['aurelia_version']}. Samples with r*: "
        f"{results['reasoning']['samples_with_r_star']} (from {results['reasoning']['source']}). "
        f"Invalid records: {len(results['invalid_records'])}. Failures count as wrong and are listed.",
        "",
        "![accuracy per arm and category](accuracy.png)",
        "",
    ]
    for key, summary in results["summary"].items():
        lines += target_section(key, summary, results["arms"])
        if refused := results.get("skipped", {}).get(key):
            lines += ["Arms skipped, not asked:", ""]
            lines += [*(f"- {arm}: {why}" for arm, why in refused.items()), ""]
    lines += cost_section(results.get("loop_cost") or {})
    (out / "report.md").write_text("\n".join(lines))


def cost_section(costs: dict[str, Any]) -> list[str]:
    """What the loop spent per sample for each reasoning arm's r*: seconds, rounds, tokens by agent."""
    if not any(c.get("samples") for c in costs.values()):
        return []
    lines = ["## What r* cost", "", "Per sample, mean over the samples with r*:", ""]
    rows = []
    for arm, cost in costs.items():
        for agent, spent in (cost.get("by_agent") or {}).items():
            cells = [f"{spent['seconds']:.2f}", f"{spent['prompt']:.0f}", f"{spent['completion']:.0f}"]
            rows.append([arm, str(cost["samples"]), f"{cost['seconds']:.1f}", f"{cost['rounds']:.2f}", agent,
                         *cells])  # fmt: skip
    header = ["arm", "samples", "loop s", "rounds", "agent", "agent s", "prompt tokens", "completion tokens"]
    return [*lines, *_table(header, rows), ""]
