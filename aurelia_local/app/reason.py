"""``aurelia reason``: the loop on one sample, printed round by round."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aurelia_local.core.config import Settings
from aurelia_local.core.datasets import Sample
from aurelia_local.core.records import TraceRecord
from aurelia_local.core.text import lettered, numbered


def run_reason(
    settings: Settings,
    video: Path,
    question: str,
    audio: Path | None = None,
    choices: list[str] | None = None,
    answer: str | None = None,
) -> TraceRecord:
    """Run the loop on one sample and return its trace record."""
    from aurelia_local.graphs.runner import compile_loop, open_loop, run_sample

    sample = Sample(
        id=Path(video).stem, question=question, video=video, audio=audio, choices=choices, answer=answer
    )

    async def main() -> TraceRecord:
        async with open_loop(settings) as ctx:
            return await run_sample(compile_loop(), ctx, sample)

    return asyncio.run(main())


def _one_line(text: str, width: int = 96) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def render(record: TraceRecord) -> str:
    """The rounds (one line each, with the caption) and r* of a trace record: one screen."""
    lines = [f"question  {record.query}", *(f"          {line}" for line in lettered(record.choices or []))]
    for r in record.rounds:
        t = r.seconds
        timing = " + ".join(f"{t[k]:.2f}" for k in ("generate", "summarize", "evaluate") if k in t)
        lines += [
            f"round {r.round}   score {r.value}/10  [{r.score.note}]  ({timing} s)",
            f"  caption: {_one_line(r.caption or '')}",
        ]
    leak = record.leakage
    lines += [
        f"r*        round {record.best_round} of {len(record.rounds)} (score {record.score}/10, "
        f"stopped: {record.stop_reason}){'  LEAKAGE: ' + str(leak.model_dump()) if leak.leaked else ''}",
        *(f"  {line}" for line in numbered([_one_line(s) for s in record.reasoning_steps]).splitlines()),
        f"  final answer: {_one_line(record.best.reasoning.final_answer)}",
        f"models    {', '.join(f'{k} {v}' for k, v in record.models.items())}",
        f"config    profile {record.profile}, prompts {record.prompt_version}, hash {record.config_hash}",
    ]
    return "\n".join(lines)
