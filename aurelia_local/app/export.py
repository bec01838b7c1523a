"""Export distilled traces as chat conversations for supervised fine-tuning.

``sft.jsonl`` uses the multimodal "messages" layout that LLaMA-Factory and ms-swift read: a user turn
with ``<video>`` (and ``<audio>``) placeholders and the question, an assistant turn with the
reasoning and the answer, and the media paths beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from aurelia_local.core.jsonl import read_records


class SftMessage(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid")
    role: str
    content: str


class SftRecord(BaseModel):
    """One training conversation (the export's schema)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    messages: list[SftMessage]
    videos: list[str]
    audios: list[str]
    topology: str
    score: int
    prompt_version: str
    config_hash: str


def sft_record(trace: dict[str, Any]) -> SftRecord:
    """Turn one ``ok`` trace into a conversation: question in, r* and the answer out."""
    options = "".join(f"\n{chr(65 + i)}. {c}" for i, c in enumerate(trace.get("choices") or []))
    media = "<video>" + ("<audio>" if trace.get("audio_path") else "")
    best = trace["rounds"][trace["best_round"] - 1]["reasoning"]
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(trace["reasoning_steps"], 1))
    return SftRecord(
        id=trace["id"],
        messages=[
            SftMessage(role="user", content=f"{media}{trace['query']}{options}"),
            SftMessage(
                role="assistant",
                content=f"<think>\n{steps}\n</think>\n<answer>{best['final_answer']}</answer>",
            ),
        ],
        videos=[trace["video_path"]],
        audios=[trace["audio_path"]] if trace.get("audio_path") else [],
        topology=trace.get("topology", "aurelia"),
        score=trace["score"],
        prompt_version=trace["prompt_version"],
        config_hash=trace["config_hash"],
    )


def export_sft(traces: Path, out: Path) -> int:
    """Write ``out`` from the ``ok`` records of ``traces``; return how many were written."""
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for trace in read_records(traces):
            if trace.get("status") != "ok":
                continue
            handle.write(sft_record(trace).model_dump_json() + "\n")
            count += 1
    return count
