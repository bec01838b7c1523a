"""What the project writes, as typed and versioned records.

Every record has ``schema_version``. Writers validate (a record that does not fit its model is a
bug, found where it is made); readers accept the current version and migrate this project's earlier
files (version 0: the same fields without a version, without the sample's
keyframes, transcript and backend; version 1: without the models that played AVRT's roles,
``AvrtRound.models``). A file written by a newer version is refused with a message, never
half-read.

- ``Round``, ``LoopResult`` and ``SampleMedia`` are what the loop's nodes exchange through the graph
  state; a ``TraceRecord`` gathers them for one sample (``traces.jsonl``), an ``ErrorRecord`` says
  why a sample failed.
- ``EvalRow`` is one answer of ``samples.jsonl``; ``EvalResults``, ``DistillSummary`` and
  ``TrainSummary`` are the run summaries; ``RunManifest`` (``run.json``) says what produced a run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from aurelia_local.core.errors import AureliaError
from aurelia_local.core.scoring.base import Score
from aurelia_local.core.types import Reasoning

SCHEMA_VERSION = 2


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Record(_Model):
    """A record written to a file: it names the schema version it was written with."""

    schema_version: Literal[2] = SCHEMA_VERSION


class TokenCounts(_Model):
    """Tokens of one generation: prompt, completion and the prompt's media placeholders."""

    prompt: int
    completion: int
    audio: int = 0
    video: int = 0
    image: int = 0


class TeacherTrace(_Model):
    """A ``<think>`` steps ``</think><answer>`` reply, parsed."""

    steps: list[str]
    answer: str


class Agreement(_Model):
    """Whether each AVRT teacher answered correctly (only when the sample has a gold answer)."""

    vision: bool
    audio: bool
    kept: bool


class AgentModel(_Model):
    """The model that played an agent role: its kind (``aurelia list families``) and its folder."""

    kind: str
    folder: str


class AvrtRound(_Model):
    """What AVRT's teachers and merger wrote for round one, and which models they were.

    ``models`` maps ``vision_teacher``, ``audio_teacher`` and ``merger`` to their models (empty in
    records of schema version 1 and earlier).
    """

    vision: TeacherTrace
    audio: TeacherTrace
    merger: TeacherTrace
    merger_prompt: str
    agreement: Agreement | None = None
    models: dict[str, AgentModel] = {}


class Round(_Model):
    """One round of the loop: reasoning, then its caption, then the caption's score.

    Between nodes a round is in progress: ``caption`` and ``score`` are None until the summarizer
    and the evaluator have run.
    """

    round: int = Field(ge=1)
    reasoning: Reasoning
    generator_output: str | None
    generator_asks: int = Field(ge=1)
    feedback_used: bool
    tokens: dict[str, TokenCounts]
    seconds: dict[str, float]
    caption: str | None = None
    score: Score | None = None
    avrt: AvrtRound | None = None

    @property
    def value(self) -> int:
        """The round's score (a finished round always has one)."""
        if self.score is None:
            raise AureliaError(f"round {self.round} has no score yet")
        return self.score.value


class Leakage(_Model):
    """Whether r* states the gold answer or an option's text."""

    gold: bool
    options: list[str]
    leaked: bool


class LoopResult(_Model):
    """The loop's outcome for one sample: r* and why the loop stopped."""

    best_round: int = Field(ge=1)
    r_star: list[str]
    score: int
    stop_reason: Literal["threshold", "max_rounds"]
    rounds_run: int
    leakage: Leakage


class Keyframe(_Model):
    """A frame the evaluator compared captions with: when, and why it was chosen."""

    time_s: float
    reason: str


class Segment(_Model):
    """One timed piece of speech."""

    start: float
    end: float
    text: str


class Transcript(_Model):
    """What is said in a sample, with segment timestamps (seconds)."""

    text: str
    language: str | None
    segments: list[Segment]
    model: str


class SampleMedia(_Model):
    """What a reader needs to see a sample without decoding it again."""

    keyframes: list[Keyframe]
    transcript: Transcript | None = None
    audio_source: str | None = None


class TraceRecord(Record):
    """One sample's loop: the AVReasonBench fields, every round, r*, and what produced it.

    ``video_path`` and ``audio_path`` are relative to the run's data root (``run.json``) when the
    media lies under it, so records stay valid when a dataset moves.
    """

    id: str
    status: Literal["ok", "filtered"]
    query: str
    video_path: str
    audio_path: str | None
    choices: list[str] | None
    answer: str | None
    category: str | None
    reasoning_steps: list[str]
    best_round: int
    score: int
    stop_reason: Literal["threshold", "max_rounds"]
    leakage: Leakage
    rounds: list[Round]
    topology: Literal["aurelia", "avrt"]
    agreement: Agreement | None
    seconds: float
    media: SampleMedia | None
    avrt_prompt_version: str | None
    models: dict[str, str]
    scorer: dict[str, str]
    prompt_version: str
    sampling: dict[str, Any]
    loop: dict[str, Any]
    profile: str
    config_hash: str
    aurelia_version: str
    backend: str

    @model_validator(mode="after")
    def _finished(self) -> TraceRecord:
        if not 1 <= self.best_round <= len(self.rounds):
            raise ValueError(f"best_round {self.best_round} is not one of the {len(self.rounds)} rounds")
        unfinished = [r.round for r in self.rounds if r.caption is None or r.score is None]
        if unfinished:
            raise ValueError(f"unfinished round(s) {unfinished}: no caption or no score")
        return self

    @property
    def best(self) -> Round:
        """The round r* comes from."""
        return self.rounds[self.best_round - 1]


class ErrorRecord(Record):
    """A sample that failed, and why (``where`` names the manifest line or the file)."""

    id: str | None
    status: Literal["error"] = "error"
    where: str
    error: str
    config_hash: str


TraceLine = Annotated[TraceRecord | ErrorRecord, Field(discriminator="status")]


class DistillSummary(Record):
    """``summary.json`` of a distill run (``out``: the folder it describes)."""

    out: str
    samples: int
    ok: int
    errors: int
    filtered: int
    this_run: dict[str, Any]
    mean_rounds: float | None
    passed_threshold: int
    leaked: int
    config_hash: str
    identity: str | None


class Draw(_Model):
    """One sampled answer of a voting arm, with the seed that drew it."""

    seed: int
    output: str
    extracted: str | None


class EvalRow(Record):
    """One answer in ``samples.jsonl``: a sample asked of one target in one arm."""

    sample_id: str
    target: str
    arm: str
    answer: str | None
    category: str | None
    duration: str | None
    domain: str | None = None
    injection_version: str
    protocol: str = "project"  # how the target was asked and read (``eval.protocol``)
    status: Literal["ok", "error"]
    error: str | None = None
    output: str | None = None
    extracted: str | None = None
    correct: bool | None = None
    r_star: list[str] | None = None
    output_tokens: list[int] | None = None
    prompt_tokens: int | None = None
    media_tokens: dict[str, int] | None = None
    profile: str
    config_hash: str
    aurelia_version: str
    backend: str
    identity: str | None
    card: str | None = None  # hash of the zoo card the target was loaded from
    draws: list[Draw] | None = None  # a voting arm's sampled answers (``output`` is the winner's)
    votes: dict[str, int] | None = None  # extracted answer -> draws that gave it
    tie: bool | None = None  # the vote was tied (the earliest draw among the tied answers won)


class RequestRow(Record):
    """One line of a dry run's ``requests.jsonl``: what a target would see for (sample, arm)."""

    sample_id: str
    target: str
    arm: str
    protocol: str = "project"
    status: Literal["ok", "error"]
    error: str | None = None
    prompt: str | None = None  # the conversation as the model's chat template renders it
    messages: list[dict[str, Any]] | None = None
    media: dict[str, Any] | None = None  # frames, frame size, fps, audio seconds, audio in video
    sampling: dict[str, Any] | None = None
    draws: int | None = None  # requests per row (a voting arm's k)
    r_star_placeholder: bool = False  # r* stands in for the loop's (no --reasoning traces given)
    prompt_tokens: int | None = None
    media_tokens: dict[str, int] | None = None
    profile: str
    config_hash: str
    aurelia_version: str


class EvalResults(Record):
    """``results.json`` of an eval run (``out``: the folder it describes)."""

    out: str
    benchmark: str
    data_root: str
    arms: list[str]
    targets: list[str]
    samples: int
    invalid_records: list[dict[str, Any]]
    summary: dict[str, Any]
    reasoning: dict[str, Any]
    injection_version: str
    protocol: str = "project"
    loop_cost: dict[str, Any] | None = None  # the loop's seconds and tokens per sample, by agent
    skipped: dict[str, dict[str, str]] = {}  # target -> arm -> why its card cannot take the arm's inputs
    resolved_config: dict[str, Any]
    profile: str
    config_hash: str
    aurelia_version: str
    versions: dict[str, str]
    backend: str
    identity: str | None


class RunManifest(Record):
    """``run.json``: what produced a run folder, and what must match to add to it."""

    command: Literal["distill", "eval", "train"]
    identity_hash: str
    identity: dict[str, Any]
    execution: dict[str, Any]
    versions: dict[str, str]
    data_root: str | None
    argv: list[str]
    created: str
    updated: str
    version_history: list[dict[str, str]] = Field(
        default_factory=list, description="earlier package versions that added to this run"
    )


class TrainSummary(Record):
    """``summary.json`` of an ``aurelia train`` run: what it trained on, its last step, its checkpoint."""

    stage: Literal["sft", "grpo"]
    samples: int
    steps: int
    loss: float | None = Field(description="the training loss at the last logged step")
    rewards: dict[str, float] = Field(
        default_factory=dict, description="GRPO: each reward's mean at the last logged step"
    )
    checkpoint: str = Field(description="the last checkpoint's folder: a target as path:FOLDER")
    train_seconds: float = Field(
        description="the trainer's own time (its steps and saves; ms-swift's train_runtime)"
    )
    seconds: float = Field(description="the whole command")
    out: str = Field(default="", description="the run's folder")
    identity: str | None = Field(default=None, description="the run's identity hash (its run.json)")


# --- reading: the current version, and this project's earlier unversioned files ------------------

_TRACE_LINE: TypeAdapter[TraceRecord | ErrorRecord] = TypeAdapter(TraceLine)
UNKNOWN = "unknown"  # what a version-0 file did not record


def _version(data: dict[str, Any], what: str) -> int:
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise AureliaError(
            f"{what} has schema_version {version!r}; this aurelia reads versions up to {SCHEMA_VERSION}: "
            "upgrade aurelia"
        )
    return version


def _current(data: dict[str, Any], what: str, **v0_added: Any) -> dict[str, Any]:
    """``data`` at the current version.

    Version 0 gets ``v0_added``; version 1 has version 2's fields but the optional ones it added.
    """
    if _version(data, what) == 0:
        return {**v0_added, **data, "schema_version": SCHEMA_VERSION}
    return {**data, "schema_version": SCHEMA_VERSION}


def trace_line(data: dict[str, Any]) -> TraceRecord | ErrorRecord:
    """A ``traces.jsonl`` line as a record (earlier versions are migrated)."""
    # error records have had the same fields throughout
    added = {} if data.get("status") == "error" else {"media": None, "backend": UNKNOWN}
    return _TRACE_LINE.validate_python(_current(data, "trace record", **added))


def eval_row(data: dict[str, Any]) -> EvalRow:
    """A ``samples.jsonl`` line as a record (version 0 rows did not record backend or identity)."""
    return EvalRow.model_validate(_current(data, "eval row", backend=UNKNOWN, identity=None))


def distill_summary(data: dict[str, Any]) -> DistillSummary:
    """``summary.json`` as a record."""
    return DistillSummary.model_validate(_current(data, "distill summary", identity=None, out=""))


def eval_results(data: dict[str, Any]) -> EvalResults:
    """``results.json`` as a record."""
    return EvalResults.model_validate(_current(data, "eval results", backend=UNKNOWN, identity=None, out=""))


def run_manifest(data: dict[str, Any]) -> RunManifest:
    """``run.json`` as a record (it has existed only since schema version 1)."""
    return RunManifest.model_validate(_current(data, "run manifest"))


def read_traces(path: Path) -> list[TraceRecord | ErrorRecord]:
    """Every record of a ``traces.jsonl`` file (a torn last line is dropped), migrated and validated."""
    from aurelia_local.core.jsonl import read_records

    return [_located(trace_line, data, path, n) for n, data in enumerate(read_records(path), 1)]


def read_eval_rows(path: Path) -> list[EvalRow]:
    """Every row of a ``samples.jsonl`` file, migrated and validated."""
    from aurelia_local.core.jsonl import read_records

    return [_located(eval_row, data, path, n) for n, data in enumerate(read_records(path), 1)]


def _located(parse, data: dict[str, Any], path: Path, number: int):
    try:
        return parse(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise AureliaError(f"{path}: record {number} does not match its schema ({problems})") from None
