"""The AVRT topology: teachers and a merger write round one, through both engine implementations."""

import asyncio
import dataclasses

import pytest
from conftest import omni_teachers

from aurelia_local.core.datasets import Sample
from aurelia_local.graphs.runner import compile_loop, run_sample

pytestmark = pytest.mark.engine
CHOICES = ["Construction site overview", "Detailed sign graphic"]


def _avrt(ctx, settings, **loop):
    """``ctx`` under AVRT's topology on the session's engines (``conftest.omni_teachers``)."""
    loop = {"generator": "avrt", "tau": 10, "max_rounds": 2, **loop}
    return omni_teachers(dataclasses.replace(ctx, settings=settings), **loop)


def _check_round_one(record, answer_letters):
    first = record["rounds"][0]
    avrt = first["avrt"]
    assert record["topology"] == "avrt" and record["avrt_prompt_version"]
    assert len(record["rounds"]) == 2 and record["rounds"][1]["feedback_used"]
    for who in ("vision", "audio", "merger"):
        assert avrt[who]["steps"] and avrt[who]["answer"] in answer_letters
    prompt = avrt["merger_prompt"]  # the merger saw both teachers' traces
    assert all(step in prompt for step in avrt["vision"]["steps"] + avrt["audio"]["steps"])
    assert first["reasoning"]["steps"] == avrt["merger"]["steps"]
    assert first["tokens"]["vision_teacher"]["audio"] == 0 and first["tokens"]["vision_teacher"]["video"] > 0
    assert first["tokens"]["audio_teacher"]["video"] == 0 and first["tokens"]["audio_teacher"]["audio"] > 0
    omni = {"kind": "qwen2_5_omni", "folder": "tiny/qwen2_5_omni"}
    assert avrt["models"]["vision_teacher"] == avrt["models"]["audio_teacher"] == omni  # the stand-in, named


def test_avrt_in_process(loop_ctx, qwen2_5_vllm, summarizer_vllm, daily_omni_clip):
    ctx = _avrt(loop_ctx, loop_ctx.settings)
    sample = Sample(id="avrt", question="Which pair comes first?", video=daily_omni_clip, choices=CHOICES)
    record = asyncio.run(run_sample(compile_loop(), ctx, sample)).model_dump(mode="json")
    _check_round_one(record, {"A", "B"})
    assert record["agreement"] is None  # no gold answer, no filter


def test_avrt_through_the_servers(smoke, agent_servers, loop_ctx, daily_omni_clip):
    from aurelia_local.engines.server import ServerEngine

    engine = smoke.engine.model_copy(
        update={"backend": "vllm_server", "servers": {k: [v] for k, v in agent_servers.items()}}
    )
    settings = smoke.model_copy(update={"engine": engine})

    async def main():
        gen, summ = ServerEngine("generator", settings), ServerEngine("summarizer", settings)
        ctx = _avrt(loop_ctx, settings)
        ctx = dataclasses.replace(
            ctx, generator=gen, summarizer=summ, vision_teacher=gen, audio_teacher=gen, merger=summ
        )
        sample = Sample(
            id="avrt-srv", question="Which pair comes first?", video=daily_omni_clip, choices=CHOICES
        )
        try:
            return (await run_sample(compile_loop(), ctx, sample)).model_dump(mode="json")
        finally:
            await gen.aclose()
            await summ.aclose()

    _check_round_one(asyncio.run(main()), {"A", "B"})


def test_agreement_filter_keeps_only_samples_both_teachers_get_right(loop_ctx, daily_omni_clip, tmp_path):
    import json

    from aurelia_local.app.distill import distill
    from aurelia_local.app.export import export_sft
    from aurelia_local.core.jsonl import read_records

    ctx = _avrt(loop_ctx, loop_ctx.settings, agreement_filter=True, max_rounds=1, tau=1)
    # one option: both teachers are held to answer "A"; gold "A" is kept, gold "B" cannot be right
    (tmp_path / "clip.mp4").symlink_to(daily_omni_clip)
    rows = [
        {
            "id": "keep",
            "question": "Q one?",
            "video": "clip.mp4",
            "choices": ["only"],
            "answer": "A",
        },
        {
            "id": "drop",
            "question": "Q two?",
            "video": "clip.mp4",
            "choices": ["only", "x"],
            "answer": "B",
        },
    ]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = distill(ctx.settings, manifest, tmp_path / "run", progress=False, ctx=ctx)
    records = {r["id"]: r for r in read_records(tmp_path / "run" / "traces.jsonl")}
    assert records["keep"]["status"] == "ok" and records["keep"]["agreement"]["kept"]
    drop = records["drop"]
    assert drop["status"] == "filtered" and not drop["agreement"]["kept"]
    assert summary.filtered == 1 and summary.ok == 1
    assert export_sft(tmp_path / "run" / "traces.jsonl", tmp_path / "sft.jsonl", keep_wrong=True).written == 1
