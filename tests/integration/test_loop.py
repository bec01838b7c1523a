"""The whole loop on CPU with the tiny kit and the in-process engines; distill and its SFT export."""

import asyncio
import json

import pytest
from conftest import with_loop

from aurelia_local.core.datasets import Sample
from aurelia_local.graphs.runner import compile_loop, run_sample

pytestmark = pytest.mark.engine
QUESTION = "Which visual-audio pair occurs at the very beginning of the video?"
CHOICES = ["Construction site overview", "Detailed sign graphic", "Instructor in PPE", "Excavator movement"]


def _sample(clip, n=0):
    return Sample(id=f"s{n}", question=f"{QUESTION} ({n})", video=clip, choices=CHOICES, answer="B")


def test_forced_low_score_runs_exactly_t_rounds_and_picks_the_best(loop_ctx, daily_omni_clip):
    ctx = with_loop(loop_ctx, tau=10, max_rounds=3)
    record = asyncio.run(run_sample(compile_loop(), ctx, _sample(daily_omni_clip))).model_dump(mode="json")
    rounds = record["rounds"]
    assert [r["round"] for r in rounds] == [1, 2, 3] and record["stop_reason"] == "max_rounds"
    values = [r["score"]["value"] for r in rounds]
    assert record["best_round"] == values.index(max(values)) + 1 and record["score"] == max(values)
    assert record["reasoning_steps"] == rounds[record["best_round"] - 1]["reasoning"]["steps"]
    for r in rounds:
        assert r["tokens"]["generator"]["audio"] > 0 and r["tokens"]["generator"]["video"] > 0
        assert set(r["seconds"]) == {"generate", "summarize", "evaluate"} and r["caption"]
        assert 1 <= len(r["reasoning"]["steps"]) <= ctx.settings.loop.max_steps
    assert [r["feedback_used"] for r in rounds] == [False, True, True]
    assert record["prompt_version"] and record["config_hash"] and record["models"]["generator"]
    assert set(record["leakage"]) == {"gold", "options", "leaked"}


def test_a_passing_score_stops_after_one_round(loop_ctx, daily_omni_clip):
    ctx = with_loop(loop_ctx, tau=1)
    record = asyncio.run(run_sample(compile_loop(), ctx, _sample(daily_omni_clip))).model_dump(mode="json")
    assert len(record["rounds"]) == 1 and record["stop_reason"] == "threshold" and record["best_round"] == 1


def test_concurrent_samples_share_engine_batches(loop_ctx, daily_omni_clip):
    ctx = with_loop(loop_ctx, tau=1)
    engine = ctx.generator
    engine.activity.peak = 0

    async def main():
        graph = compile_loop()
        return await asyncio.gather(*(run_sample(graph, ctx, _sample(daily_omni_clip, n)) for n in range(4)))

    records = asyncio.run(main())
    assert [r.id for r in records] == ["s0", "s1", "s2", "s3"]
    assert engine.activity.peak >= 2  # requests of different samples were in the engine together


def test_a_request_joins_the_running_batch_and_finishes_first(summarizer_vllm, smoke):
    """Continuous batching: a short request sent while a long one runs never waits for it to end."""
    from aurelia_local.core.messages import user_turn
    from aurelia_local.engines.request import AVInputs, EngineRequest, OmniRequest

    engine = summarizer_vllm
    request = OmniRequest(user_turn("Describe the scene."), AVInputs(None, None))
    long = EngineRequest(request, smoke.sampling.model_copy(update={"max_tokens": 400}))
    short = EngineRequest(request, smoke.sampling.model_copy(update={"max_tokens": 2}))
    order = []

    async def timed(item, name):
        out = (await engine.generate([item]))[0]
        order.append(name)
        return out

    async def main():
        started = engine.activity.requests
        first = asyncio.create_task(timed(long, "long"))
        while engine.activity.requests == started:  # the long request is in the engine
            await asyncio.sleep(0.005)
        second = await timed(short, "short")
        return await first, second

    first, second = asyncio.run(main())
    assert first.finish_reason == "length" and len(first.token_ids) == 400
    assert len(second.token_ids) == 2 and order == ["short", "long"]


def _manifest(tmp_path, clip):
    (tmp_path / "clip.mp4").symlink_to(clip)  # media stays inside the manifest's folder
    lines = [json.dumps({"id": f"q{i}", "question": f"{QUESTION} {i}", "video": "clip.mp4",
                         "choices": CHOICES, "answer": "B"}) for i in range(3)]  # fmt: skip
    lines.insert(1, '{"id": "broken", "question": ')
    path = tmp_path / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_training_exports_validate_and_keep_only_right_answers_for_sft(loop_ctx, daily_omni_clip, tmp_path):
    from aurelia_local.app.distill import distill
    from aurelia_local.app.export import (
        ExportSummary,
        GrpoRecord,
        SftRecord,
        answered_right,
        export_grpo,
        export_sft,
    )
    from aurelia_local.core.records import TraceRecord, read_traces

    ctx = with_loop(loop_ctx, tau=1)
    distill(ctx.settings, _manifest(tmp_path, daily_omni_clip), tmp_path / "run", progress=False, ctx=ctx)
    traces = [t for t in read_traces(tmp_path / "run" / "traces.jsonl") if isinstance(t, TraceRecord)]
    right = sum(bool(answered_right(t)) for t in traces)
    summary = export_sft(tmp_path / "run" / "traces.jsonl", tmp_path / "sft.jsonl")
    assert (summary.written, summary.dropped_wrong, summary.not_ok) == (right, 3 - right, 1)
    saved = ExportSummary.model_validate_json((tmp_path / "sft.summary.json").read_text())
    assert saved == summary
    every = export_sft(tmp_path / "run" / "traces.jsonl", tmp_path / "sft.jsonl", keep_wrong=True)
    rows = [SftRecord.model_validate_json(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    assert every.written == len(rows) == 3
    assert rows[0].messages[0].content.startswith("<video>") and "<think>" in rows[0].messages[1].content
    assert rows[0].videos == [str(tmp_path / "clip.mp4")] and rows[0].audios == []  # the audio is the video's
    grpo = export_grpo(tmp_path / "run" / "traces.jsonl", tmp_path / "grpo.jsonl")
    prompts = [
        GrpoRecord.model_validate_json(line) for line in (tmp_path / "grpo.jsonl").read_text().splitlines()
    ]
    assert grpo.written == len(prompts) == 3 and {p.solution for p in prompts} == {"B"}
    assert all("<answer>" in p.messages[0].content and p.choices == CHOICES for p in prompts)


def test_retry_errors_runs_failed_samples_again_once_fixed(loop_ctx, daily_omni_clip, tmp_path):
    from aurelia_local.app.distill import distill
    from aurelia_local.core.jsonl import read_records

    ctx = with_loop(loop_ctx, tau=1)
    rows = [{"id": i, "question": f"{QUESTION} {i}", "video": f"{i}.mp4"} for i in ("here", "late")]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "here.mp4").symlink_to(daily_omni_clip)
    out = tmp_path / "out"
    first = distill(ctx.settings, tmp_path / "m.jsonl", out, progress=False, ctx=ctx)
    assert (first.ok, first.errors) == (1, 1)
    kept = {r["id"]: r for r in read_records(out / "traces.jsonl")}
    (tmp_path / "late.mp4").symlink_to(daily_omni_clip)  # the missing file arrives
    assert distill(ctx.settings, tmp_path / "m.jsonl", out, progress=False, ctx=ctx).errors == 1  # kept
    again = distill(ctx.settings, tmp_path / "m.jsonl", out, progress=False, ctx=ctx, retry_errors=True)
    records = read_records(out / "traces.jsonl")
    assert (again.ok, again.errors, again.this_run["ok"]) == (2, 0, 1)
    assert [r["id"] for r in records] == ["here", "late"] and records[0] == kept["here"]
    assert records[1]["status"] == "ok" and kept["late"]["status"] == "error"
