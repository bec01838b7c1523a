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


def test_a_sharded_run_merges_into_one_record_per_sample(distilled, tmp_path):
    """Two shards one after another, then merged: the unsharded run's samples, each exactly once."""
    from aurelia_local.app.distill import distill
    from aurelia_local.app.merge import merge_run
    from aurelia_local.app.status import run_status
    from aurelia_local.app.view.site import build_site
    from aurelia_local.core.shards import Shard

    ctx, data, out, whole = distilled
    sharded = tmp_path / "sharded"
    manifest = data / "manifest.jsonl"
    parts = [distill(ctx.settings, manifest, sharded, progress=False, ctx=ctx, shard=shard)
             for shard in (Shard(0, 2), Shard(1, 2))]  # fmt: skip
    assert parts[0].identity == parts[1].identity == whole.identity  # sharding is not part of the identity
    for i, part in enumerate(parts):
        keys = [r.id or f"error:{r.where}" for r in read_traces(Path(part.out) / "traces.jsonl")]
        assert keys and all(Shard(i, 2).owns(k) for k in keys)
    assert parts[0].samples + parts[1].samples == whole.samples
    merged = merge_run(sharded)
    assert (merged.shards, merged.missing, merged.unfinished) == (2, [], [])
    shown = {row.shard: row for row in run_status(sharded)}
    assert [shown[s].state for s in ("0/2", "1/2")] == ["finished", "finished"]  # and no lease left
    assert shown["0/2"].ok + shown["1/2"].ok == shown["merged"].ok == whole.ok
    assert shown["0/2"].in_flight == shown["1/2"].in_flight == 0  # every checkpoint pruned
    records = {r.id or r.where: r for r in read_traces(sharded / "traces.jsonl")}
    expected = {r.id or r.where: r.status for r in read_traces(out / "traces.jsonl")}
    assert {k: r.status for k, r in records.items()} == expected
    assert merged.summary.samples == whole.samples and merged.summary.ok == whole.ok
    assert "shard-0000-of-0002/run.json" in validate_run_folder(sharded)  # no lease left behind
    site = build_site(sharded, tmp_path / "view", media=False, progress=False)  # the page of the merged run
    assert (site.kind, site.samples, site.errors) == ("distill", whole.samples, whole.errors)
    first = (sharded / "traces.jsonl").read_text()
    # an error record for a sample a shard also finished (a rerun after a crash) never replaces it
    ok = next(r for r in records.values() if r.status == "ok")
    owner = Path(parts[0].out if Shard(0, 2).owns(ok.id) else parts[1].out)
    error = {"id": ok.id, "status": "error", "where": "x", "error": "killed", "config_hash": ok.config_hash}
    with (owner / "traces.jsonl").open("a") as handle:
        handle.write(json.dumps({"schema_version": 1, **error}) + "\n")
    merge_run(sharded)
    assert (sharded / "traces.jsonl").read_text() == first  # merging again changes nothing


def test_merge_refuses_shards_of_other_runs_and_missing_shards(distilled, tmp_path):
    import shutil

    from aurelia_local.app.distill import distill
    from aurelia_local.app.merge import merge_run
    from aurelia_local.core.shards import Shard

    ctx, data, _, _ = distilled
    run = tmp_path / "run"
    distill(ctx.settings, data / "manifest.jsonl", run, progress=False, ctx=ctx, shard=Shard(0, 2), limit=1)
    with pytest.raises(ConfigError, match=r"of 2 shards, 1 never started \(1\)"):
        merge_run(run)
    (run / "shard-0000-of-0002" / "summary.json").rename(run / "summary.moved")  # as if killed mid-run
    with pytest.raises(ConfigError, match=r"1 never started \(1\) and 1 did not finish \(0\)"):
        merge_run(run)
    (run / "summary.moved").rename(run / "shard-0000-of-0002" / "summary.json")
    partial = merge_run(run, partial=True)
    assert partial.missing == [1] and json.loads((run / "run.json").read_text())["execution"][
        "missing_shards"
    ] == [1]
    # a shard of another identity (other settings) beside it
    shutil.copytree(run / "shard-0000-of-0002", run / "shard-0001-of-0002")
    manifest = json.loads((run / "shard-0001-of-0002" / "run.json").read_text())
    (run / "shard-0001-of-0002" / "run.json").write_text(json.dumps({**manifest, "identity_hash": "0" * 16}))
    with pytest.raises(ConfigError, match="different run identities"):
        merge_run(run)
    shutil.rmtree(run / "shard-0001-of-0002")
    shutil.copytree(run / "shard-0000-of-0002", run / "shard-0001-of-0003")
    with pytest.raises(ConfigError, match=r"different counts \(2, 3\)"):
        merge_run(run)


def test_checkpoints_on_node_local_disk_and_a_lost_node_redoes_only_unfinished_samples(
    loop_ctx, daily_omni_clip, tmp_path
):
    import dataclasses
    import shutil

    from aurelia_local.app.distill import distill
    from aurelia_local.core.config import result_settings

    ctx = with_loop(loop_ctx, tau=1)
    local = tmp_path / "node-scratch"
    data = ctx.settings.data.model_copy(update={"checkpoint_dir": local})
    settings = ctx.settings.model_copy(update={"data": data})
    ctx = dataclasses.replace(ctx, settings=settings)
    manifest, out = _manifest(tmp_path / "data", daily_omni_clip, 2), tmp_path / "shared" / "run"
    first = distill(settings, manifest, out, progress=False, ctx=ctx, limit=2)
    assert first.ok == 1 and not (out / "checkpoints.sqlite").exists()
    assert [p.name for p in local.glob("*/checkpoints.sqlite")] == ["checkpoints.sqlite"]
    assert "checkpoint_dir" not in result_settings(settings)["data"]  # where checkpoints lie is execution
    shutil.rmtree(local)  # the node is lost; the records on the shared filesystem stay
    again = distill(settings, manifest, out, progress=False, ctx=ctx)
    assert (again.ok, again.this_run["ok"]) == (2, 1)  # only the sample not yet recorded ran


def test_a_pilot_runs_a_seeded_draw_and_projects_the_whole_source(loop_ctx, daily_omni_clip, tmp_path):
    from aurelia_local.app.pilot import draw, pilot, render

    ctx = with_loop(loop_ctx, tau=10, max_rounds=2)
    manifest = _manifest(tmp_path / "data", daily_omni_clip, 6)  # 6 samples and one bad line
    items, total = draw(manifest, 3, seed=0)
    assert total == 7 and len(items) == 3 and draw(manifest, 3, seed=0)[0] == items  # the same draw
    figures = pilot(ctx.settings, manifest, tmp_path / "pilot", limit=3, progress=False, ctx=ctx)
    records = read_traces(tmp_path / "pilot" / "traces.jsonl")
    assert sorted(str(r.id) for r in records) == sorted(str(i.id) for i in items)  # the drawn samples
    ok = [r for r in records if r.status == "ok"]
    assert figures["pilot_samples"] == 3 and figures["errors"] == 3 - len(ok)
    assert sum(figures["scores"].values()) == sum(figures["rounds"].values()) == len(ok)
    assert figures["rounds"] == {n: sum(len(r.rounds) == n for r in ok) for n in figures["rounds"]}
    assert figures["passed_threshold"] == sum(r.stop_reason == "threshold" for r in ok)
    per_sample = figures["wall_seconds_per_sample"]
    assert per_sample > 0 and figures["projected_hours"] == pytest.approx(per_sample * 7 / 3600, abs=0.01)
    assert figures["cost"]["samples"] == len(ok) and "generator" in figures["cost"]["by_agent"]
    assert "for all 7 samples" in render(figures)
