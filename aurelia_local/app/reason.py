"""``aurelia reason``: the loop on one sample, printed round by round."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aurelia_local.core.config import Settings
from aurelia_local.core.datasets import Sample


def run_reason(
    settings: Settings,
    video: Path,
    question: str,
    audio: Path | None = None,
    choices: list[str] | None = None,
    answer: str | None = None,
) -> dict[str, Any]:
    """Run the loop on one sample and return its trace record."""
    from aurelia_local.graphs.runner import compile_loop, open_loop, run_sample

    sample = Sample(
        id=Path(video).stem, question=question, video=video, audio=audio, choices=choices, answer=answer
    )

    async def main() -> dict[str, Any]:
        async with open_loop(settings) as ctx:
            return await run_sample(compile_loop(), ctx, sample)

    return asyncio.run(main())


def render(record: dict[str, Any]) -> str:
    """Return the rounds and r* of a trace record, readably."""
    lines = [f"question  {record['query']}"]
    if record["choices"]:
        lines += [f"          {chr(65 + i)}. {c}" for i, c in enumerate(record["choices"])]
    for r in record["rounds"]:
        s = r["score"]
        t = r["seconds"]
        lines += [
            f"round {r['round']}   score {s['value']}/10  [{s['note']}]  "
            f"({t['generate']:.2f} + {t['summarize']:.2f} + {t['evaluate']:.2f} s)",
            *(f"  step {i}: {step}" for i, step in enumerate(r["reasoning"]["steps"], 1)),
            f"  final answer: {r['reasoning']['final_answer']}",
            f"  caption: {r['caption'][:200]}",
        ]
    leak = record["leakage"]
    lines += [
        f"r*        round {record['best_round']} of {len(record['rounds'])} (score {record['score']}/10, "
        f"stopped: {record['stop_reason']}){'  LEAKAGE: ' + str(leak) if leak['leaked'] else ''}",
        *(f"  {i}. {step}" for i, step in enumerate(record["reasoning_steps"], 1)),
        f"models    {', '.join(f'{k} {v}' for k, v in record['models'].items())}",
        f"config    profile {record['profile']}, prompts {record['prompt_version']}, "
        f"hash {record['config_hash']}",
    ]
    return "\n".join(lines)
