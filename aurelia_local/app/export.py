"""Export distilled traces as chat conversations for supervised fine-tuning.

``sft.jsonl`` uses the multimodal "messages" layout that LLaMA-Factory and ms-swift read: a user turn
with ``<video>`` (and ``<audio>``) placeholders and the question, an assistant turn with the
reasoning and the answer, and the media paths beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from aurelia_local.core.identity import MANIFEST
from aurelia_local.core.records import TraceRecord, read_traces, run_manifest
from aurelia_local.core.text import lettered, numbered


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


def sft_record(trace: TraceRecord, data_root: Path | None = None) -> SftRecord:
    """Turn one ``ok`` trace into a conversation: question in, r* and the answer out.

    Media paths stored relative to the run's data root are resolved against ``data_root``.
    """
    options = "".join("\n" + line for line in lettered(trace.choices or []))
    media = "<video>" + ("<audio>" if trace.audio_path else "")
    steps = numbered(trace.reasoning_steps)
    return SftRecord(
        id=trace.id,
        messages=[
            SftMessage(role="user", content=f"{media}{trace.query}{options}"),
            SftMessage(
                role="assistant",
                content=f"<think>\n{steps}\n</think>\n<answer>{trace.best.reasoning.final_answer}</answer>",
            ),
        ],
        videos=[_resolve(trace.video_path, data_root)],
        audios=[_resolve(trace.audio_path, data_root)] if trace.audio_path else [],
        topology=trace.topology,
        score=trace.score,
        prompt_version=trace.prompt_version,
        config_hash=trace.config_hash,
    )


def _resolve(path: str, data_root: Path | None) -> str:
    return str(data_root / path) if data_root is not None and not Path(path).is_absolute() else path


def run_data_root(folder: Path) -> Path | None:
    """The data root a run folder's ``run.json`` records (None for a folder without one)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    root = run_manifest(json.loads(manifest.read_text())).data_root
    return Path(root) if root else None


def export_sft(traces: Path, out: Path) -> int:
    """Write ``out`` from the ``ok`` records of ``traces``; return how many were written."""
    root = run_data_root(traces.parent)
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for trace in read_traces(traces):
            if not isinstance(trace, TraceRecord) or trace.status != "ok":
                continue
            handle.write(sft_record(trace, root).model_dump_json() + "\n")
            count += 1
    return count
