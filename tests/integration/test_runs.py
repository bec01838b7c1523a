"""What a distill run writes: every file validates, checkpoints are pruned, reruns respect identity."""

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import with_loop

from aurelia_local.core.config import Settings
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.records import (
    TraceRecord,
    distill_summary,
    eval_results,
    read_eval_rows,
    read_traces,
    run_manifest,
)

pytestmark = pytest.mark.engine

CHOICES = ["a man speaks", "a dog barks", "rain falls", "music plays"]


def validate_run_folder(folder: Path) -> list[str]:
    """Validate every file of a run folder (nested runs too) against its schema; return what was read."""
    readers = {
        "run.json": lambda p: run_manifest(json.loads(p.read_text())),
        "traces.jsonl": read_traces,
        "samples.jsonl": read_eval_rows,
        "summary.json": lambda p: distill_summary(json.loads(p.read_text())),
        "results.json": lambda p: eval_results(json.loads(p.read_text())),
        "resolved_config.yaml": lambda p: Settings.model_validate(
            {k: v for k, v in yaml.safe_load(p.read_text()).items() if k != "config_hash"}
        ),
    }
    not_records = {"checkpoints.sqlite", "report.md", "accuracy.png", "aurelia.log", "sft.jsonl"}
    read = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or path.name in not_records or path.name.startswith("checkpoints.sqlite"):
            continue
        assert path.name in readers, f"{path}: a file no schema covers"
        readers[path.name](path)
        read.append(str(path.relative_to(folder)))
    return read


def _manifest(folder: Path, clip: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "clips").exists():
        (folder / "clips").mkdir()
        (folder / "clips" / "clip.mp4").symlink_to(clip)
    lines = [json.dumps({"id": f"r{i}", "question": f"What is heard first? {i}", "video": "clips/clip.mp4",
                         "choices": CHOICES, "answer": "A"}) for i in range(count)]  # fmt: skip
    lines.insert(1, "not json")
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


@pytest.fixture(scope="module")
def distilled(loop_ctx, daily_omni_clip, tmp_path_factory):
    from aurelia_local.app.distill import distill

    ctx = with_loop(loop_ctx, tau=10, max_rounds=2)
    data = tmp_path_factory.mktemp("data")
    out = tmp_path_factory.mktemp("runs") / "run"
    summary = distill(ctx.settings, _manifest(data, daily_omni_clip, 3), out, progress=False, ctx=ctx)
    return ctx, data, out, summary


def test_every_file_of_a_distill_run_validates(distilled):
    _, data, out, summary = distilled
    assert validate_run_folder(out) == ["resolved_config.yaml", "run.json", "summary.json", "traces.jsonl"]
    assert (summary.ok, summary.errors) == (3, 1) and summary.identity
    manifest = run_manifest(json.loads((out / "run.json").read_text()))
    assert manifest.data_root == str(data.resolve()) and manifest.identity_hash == summary.identity


def test_trace_records_keep_the_media_a_reader_needs_with_paths_relative_to_the_data_root(distilled):
    _, _, out, _ = distilled
    traces = [r for r in read_traces(out / "traces.jsonl") if isinstance(r, TraceRecord)]
    assert {t.video_path for t in traces} == {"clips/clip.mp4"}  # valid wherever the dataset moves
    for trace in traces:
        assert trace.backend == "vllm_local" and len(trace.rounds) == 2
        keyframes = trace.media.keyframes
        assert 1 <= len(keyframes) <= 5 and keyframes[0].reason in ("first", "change", "uniform")
        assert [k.time_s for k in keyframes] == sorted(k.time_s for k in keyframes)
        assert trace.media.transcript is not None and trace.media.audio_source == "video"


def test_checkpoints_of_finished_samples_are_deleted(distilled):
    _, _, out, _ = distilled
    with sqlite3.connect(out / "checkpoints.sqlite") as conn:
        left = [
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("checkpoints", "writes")
        ]
    assert left == [0, 0]


def test_a_rerun_with_other_execution_settings_resumes_and_another_identity_is_refused(distilled, tmp_path):
    from aurelia_local.app.distill import distill

    ctx, data, out, _ = distilled
    before = (out / "traces.jsonl").read_text()
    execution = ctx.settings.model_copy(
        update={"loop": ctx.settings.loop.model_copy(update={"concurrency": 2}), "models_dir": tmp_path}
    )
    again = distill(execution, data / "manifest.jsonl", out, progress=False, ctx=ctx)
    assert again.this_run["ok"] == 0 and (out / "traces.jsonl").read_text() == before
    other = with_loop(ctx, tau=10, max_rounds=1)
    with pytest.raises(ConfigError, match=r"settings\.loop\.max_rounds: 2 -> 1"):
        distill(other.settings, data / "manifest.jsonl", out, progress=False, ctx=other)
    beside = distill(
        other.settings, data / "manifest.jsonl", out, progress=False, ctx=other, limit=2, new_run=True
    )
    assert Path(beside.out).parent == out.parent and Path(beside.out).name.startswith("run-")
    assert (beside.ok, beside.errors) == (1, 1) and (out / "traces.jsonl").read_text() == before
    assert all(len(r.rounds) == 1 for r in read_traces(Path(beside.out) / "traces.jsonl") if r.status == "ok")


def test_checkpoints_left_by_a_kill_after_its_record_are_deleted(loop_ctx, daily_omni_clip, tmp_path):
    from aurelia_local.app.distill import distill

    ctx = with_loop(loop_ctx, tau=1)
    manifest, out = _manifest(tmp_path / "data", daily_omni_clip, 2), tmp_path / "run"
    first = distill(ctx.settings, manifest, out, progress=False, ctx=ctx, limit=1)
    assert first.ok == 1
    # as if killed between writing r0's record and deleting its checkpoints
    with sqlite3.connect(out / "checkpoints.sqlite") as conn:
        conn.execute(
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, type, checkpoint, metadata) "
            "VALUES (?, '', 'orphan', 'msgpack', x'', x'')", (f"r0|{first.identity}",),
        )  # fmt: skip
    again = distill(ctx.settings, manifest, out, progress=False, ctx=ctx)
    assert (again.ok, again.errors, again.this_run["ok"]) == (2, 1, 1)
    with sqlite3.connect(out / "checkpoints.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0
