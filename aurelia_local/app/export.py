"""Export distilled traces for training: conversations for SFT, prompts with gold answers for GRPO.

Both use the multimodal "messages" layout that LLaMA-Factory and ms-swift read: a user turn with a
``<video>`` placeholder (and ``<audio>`` only for a separate audio file: a video's own soundtrack
travels inside the video) and the question with its options, the media paths beside them.

- ``sft.jsonl``: the assistant turn is r* and the answer as ``<think>...</think><answer>...</answer>``.
  Where a sample has a gold answer, only traces whose answer is right are kept (AVRT keeps a sample
  only when it is answered correctly); how many were dropped is in ``sft.summary.json``.
- ``grpo.jsonl``: the prompt alone, asking for that same form, with the gold letter (``solution``)
  and the options, for the rewards of ``aurelia_local.core.rewards``; samples without a gold answer
  are left out and counted.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from aurelia_local.core.answers import extract_choice, normalize_open_answer
from aurelia_local.core.identity import MANIFEST
from aurelia_local.core.records import TraceRecord, read_traces, run_manifest
from aurelia_local.core.text import lettered, numbered

GRPO_PROMPT_VERSION = "grpo-1"
GRPO_INSTRUCTION = (
    "Think about what is seen and heard inside <think> </think>, then give the letter of the answer "
    "inside <answer> </answer>."
)


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


class GrpoRecord(BaseModel):
    """One GRPO prompt (the export's schema): the rewards read ``solution`` and ``choices``."""

    model_config = ConfigDict(extra="forbid")
    id: str
    messages: list[SftMessage]
    videos: list[str]
    audios: list[str]
    solution: str
    choices: list[str]
    prompt_version: str


class ExportSummary(BaseModel):
    """What an export wrote and what it left out (``<name>.summary.json`` beside it)."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    path: str
    written: int
    dropped_wrong: int = 0  # SFT: a gold answer exists and the trace's answer is not it
    without_gold: int = 0  # SFT: kept unchecked; GRPO: left out (no answer to reward)
    not_ok: int = 0  # error or filtered records, never exported as conversations


def _user_turn(trace: TraceRecord, extra: str = "") -> SftMessage:
    options = "".join("\n" + line for line in lettered(trace.choices or []))
    media = "<video>" + ("<audio>" if trace.audio_path else "")
    return SftMessage(role="user", content=f"{media}{trace.query}{options}{extra}")


def answered_right(trace: TraceRecord) -> bool | None:
    """Whether r*'s final answer is the gold one (None when there is no gold answer to check)."""
    if not trace.answer:
        return None
    final = trace.best.reasoning.final_answer
    if trace.choices:
        return extract_choice(final, trace.choices) == trace.answer.strip().upper()
    return normalize_open_answer(final) == normalize_open_answer(trace.answer)


def sft_record(trace: TraceRecord, data_root: Path | None = None) -> SftRecord:
    """Turn one ``ok`` trace into a conversation: question in, r* and the answer out.

    Media paths stored relative to the run's data root are resolved against ``data_root``.
    """
    steps = numbered(trace.reasoning_steps)
    return SftRecord(
        id=trace.id,
        messages=[
            _user_turn(trace),
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


def export_sft(traces: Path, out: Path, keep_wrong: bool = False) -> ExportSummary:
    """Write ``out`` from the ``ok`` records of ``traces`` whose answer is right (all with ``keep_wrong``)."""
    root = run_data_root(traces.parent)
    counts = {"written": 0, "dropped_wrong": 0, "without_gold": 0, "not_ok": 0}
    with out.open("w", encoding="utf-8") as handle:
        for trace in read_traces(traces):
            if not isinstance(trace, TraceRecord) or trace.status != "ok":
                counts["not_ok"] += 1
                continue
            right = answered_right(trace)
            if right is None:
                counts["without_gold"] += 1
            elif not right and not keep_wrong:
                counts["dropped_wrong"] += 1
                continue
            handle.write(sft_record(trace, root).model_dump_json() + "\n")
            counts["written"] += 1
    return _summary("sft", out, counts)


def export_grpo(traces: Path, out: Path) -> ExportSummary:
    """Write ``out``: one GRPO prompt per traced sample that has a gold option letter."""
    root = run_data_root(traces.parent)
    counts = {"written": 0, "without_gold": 0, "not_ok": 0}
    with out.open("w", encoding="utf-8") as handle:
        for trace in read_traces(traces):
            if not isinstance(trace, TraceRecord):
                counts["not_ok"] += 1
                continue
            if not (trace.answer and trace.choices):
                counts["without_gold"] += 1
                continue
            record = GrpoRecord(
                id=trace.id, messages=[_user_turn(trace, "\n\n" + GRPO_INSTRUCTION)],
                videos=[_resolve(trace.video_path, root)],
                audios=[_resolve(trace.audio_path, root)] if trace.audio_path else [],
                solution=trace.answer.strip().upper(), choices=list(trace.choices),
                prompt_version=GRPO_PROMPT_VERSION,
            )  # fmt: skip
            handle.write(record.model_dump_json() + "\n")
            counts["written"] += 1
    return _summary("grpo", out, counts)


def _summary(kind: str, out: Path, counts: dict[str, int]) -> ExportSummary:
    summary = ExportSummary(kind=kind, path=str(out), **counts)
    out.with_name(f"{out.stem}.summary.json").write_text(summary.model_dump_json(indent=2))
    return summary
