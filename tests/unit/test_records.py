"""Typed, versioned records: this project's earlier unversioned files migrate; bad records are refused.

``tests/fixtures/v0`` holds files written by the project before records had a schema version
(a distill run with one ok and one error sample, an AVRT run, an eval run and its SFT export).
"""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from aurelia_local.core.errors import AureliaError
from aurelia_local.core.records import (
    SCHEMA_VERSION,
    ErrorRecord,
    EvalRow,
    Round,
    TraceRecord,
    distill_summary,
    eval_results,
    read_eval_rows,
    read_traces,
    trace_line,
)

V0 = Path(__file__).resolve().parents[1] / "fixtures" / "v0"


def test_version_0_traces_migrate_to_typed_records():
    records = read_traces(V0 / "traces.jsonl")
    assert [type(r) for r in records] == [ErrorRecord, TraceRecord]
    error, trace = records
    assert error.schema_version == trace.schema_version == SCHEMA_VERSION
    assert "does not exist" in error.error and error.where.endswith("missing.mp4")
    assert trace.backend == "unknown" and trace.media is None  # not recorded before version 1
    assert trace.best.reasoning.steps == trace.reasoning_steps
    assert all(isinstance(r, Round) and r.score is not None for r in trace.rounds)
    assert trace.rounds[0].tokens["generator"].audio > 0  # the audio reached the generator


def test_version_0_avrt_traces_keep_the_teachers():
    (trace,) = read_traces(V0 / "traces_avrt.jsonl")
    avrt = trace.rounds[0].avrt
    assert trace.topology == "avrt" and avrt is not None
    assert avrt.vision.steps and avrt.audio.steps
    assert avrt.merger.answer == trace.rounds[0].reasoning.final_answer
    assert {"vision_teacher", "audio_teacher", "merger", "summarizer"} == set(trace.rounds[0].tokens)


def test_version_0_eval_files_migrate():
    rows = read_eval_rows(V0 / "samples.jsonl")
    assert rows and all(isinstance(r, EvalRow) for r in rows)
    assert {r.backend for r in rows} == {"unknown"} and {r.identity for r in rows} == {None}
    results = eval_results(json.loads((V0 / "results.json").read_text()))
    assert results.identity is None and set(results.summary) == set(results.targets)
    summary = distill_summary(json.loads((V0 / "summary.json").read_text()))
    assert (summary.ok, summary.errors, summary.samples) == (1, 1, 2)


def test_sft_export_of_version_0_traces_is_what_it_was():
    from aurelia_local.app.export import sft_record

    (trace,) = [r for r in read_traces(V0 / "traces.jsonl") if isinstance(r, TraceRecord)]
    expected = (V0 / "sft.jsonl").read_text().strip()
    assert sft_record(trace).model_dump_json() == expected


def test_a_record_from_a_newer_version_is_refused_not_half_read():
    line = json.loads((V0 / "traces.jsonl").read_text().splitlines()[1])
    with pytest.raises(AureliaError, match="schema_version 99"):
        trace_line({**line, "schema_version": 99})


def test_writers_validate_and_readers_name_the_bad_line(tmp_path):
    from aurelia_local.core.jsonl import RecordWriter

    trace = next(r for r in read_traces(V0 / "traces.jsonl") if isinstance(r, TraceRecord))
    with pytest.raises(ValidationError):
        Round.model_validate({**trace.rounds[0].model_dump(), "generator_asks": "many"})
    with pytest.raises(ValidationError):
        TraceRecord.model_validate({**trace.model_dump(), "status": "maybe"})
    with pytest.raises(ValidationError, match="best_round 9"):
        TraceRecord.model_validate({**trace.model_dump(), "best_round": 9})
    unscored = [{**trace.rounds[0].model_dump(), "score": None}]
    with pytest.raises(ValidationError, match="unfinished round"):
        TraceRecord.model_validate({**trace.model_dump(), "rounds": unscored, "best_round": 1})
    path = tmp_path / "traces.jsonl"
    writer = RecordWriter(path)
    writer.write(trace)
    writer.close()
    assert read_traces(path) == [trace]  # what is written reads back equal
    broken = {**json.loads(path.read_text()), "best_round": "first"}
    path.write_text(json.dumps(trace.model_dump(mode="json")) + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(
        AureliaError, match=r"traces.jsonl: record 2 does not match its schema \(ok.best_round"
    ):
        read_traces(path)
