"""The evaluation harness on CPU: the shared Daily-Omni clip, 4 questions x every arm, two backends."""

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from conftest import omni_teachers

from aurelia_local.core.errors import ConfigError
from aurelia_local.core.injection import ARMS
from aurelia_local.core.jsonl import read_records
from aurelia_local.core.records import read_eval_rows

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def evaluated(loop_ctx, smoke, qwen2_5_vllm, daily_omni_clip, tmp_path_factory):
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    votes = smoke.eval.model_copy(update={"self_consistency_k": 3})
    ctx = dataclasses.replace(loop_ctx, settings=smoke.model_copy(update={"eval": votes}))
    ctx = omni_teachers(ctx, tau=1)
    card = load_card("tiny_qwen2_5_omni", ctx.settings)
    targets = {
        "tiny_vllm": OmniAdapter(card, ctx.settings, "vllm", engine=qwen2_5_vllm),
        "tiny_hf": lambda: OmniAdapter(card, ctx.settings, "hf"),
    }
    out = tmp_path_factory.mktemp("eval")
    root = daily_omni_clip.parents[2]
    results = run_eval(ctx.settings, "daily_omni", root, targets, list(ARMS), out, ctx=ctx, progress=False)
    return results, out, targets, ctx


NEAR_TIE = 0.01  # logits this close are a float-rounding coin toss between backends


def _hf_next_logits(settings, row, prefix: list[int], benchmark: str, root: Path):
    """The transformers thinker's next-token logits for ``row``'s request followed by ``prefix``."""
    import torch

    from aurelia_local.app.eval.runner import load_benchmark, requests_for
    from aurelia_local.core.media.bundle import load_bundle
    from aurelia_local.engines.families import family_of
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    sample = next(s for s in load_benchmark(benchmark, root, settings) if s.id == row["sample_id"])
    adapter = OmniAdapter(load_card("tiny_qwen2_5_omni", settings), settings, "hf", load=False)
    r_star = {row["arm"]: {sample.id: row["r_star"]}}
    request = adapter.build(requests_for(sample, row["arm"], r_star, settings, load_bundle)[0]).request
    family = family_of(adapter.card.kind)
    inputs = family.hf_inputs(family.load_processor(adapter.path, False), request)
    model = family.load_hf_model(adapter.path, torch.float32, False)
    ids = torch.cat([inputs.pop("input_ids"), torch.tensor([prefix], dtype=torch.long)], dim=1)
    inputs.pop("attention_mask")
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), **inputs)
    return out.logits[0, -1]


def assert_same_greedy(v: dict, h: dict, settings, benchmark: str = "daily_omni", root: Path | None = None):
    """vLLM's row ``v`` and transformers' row ``h`` saw the same prompt and decoded the same tokens.

    Same inputs, greedy: the backends agree token for token (the text may differ in a trailing
    partial UTF-8 character, which vLLM's detokenizer holds back), unless the random-weight model's
    two best tokens tie to float rounding where they part.
    """
    from conftest import DAILY_OMNI

    assert v["media_tokens"] == h["media_tokens"] and v["prompt_tokens"] == h["prompt_tokens"]
    got, want = v["output_tokens"], h["output_tokens"]
    split = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    if split is None:
        assert got == want
        return
    logits = _hf_next_logits(settings, h, want[:split], benchmark, root or DAILY_OMNI)
    assert float(logits.max() - logits[got[split]]) < NEAR_TIE, (h["sample_id"], h["arm"], split)


def test_every_sample_answers_in_every_arm_on_both_backends(evaluated):
    results, out, _, ctx = evaluated
    rows = read_records(out / "samples.jsonl")
    assert len(rows) == 4 * len(ARMS) * 2 and all(r["status"] == "ok" for r in rows)
    by_key = {(r["sample_id"], r["target"], r["arm"]): r for r in rows}
    for sample_id in {r["sample_id"] for r in rows}:
        for arm in (a for a in ARMS if a != "self_consistency"):  # sampled: see the next test
            assert_same_greedy(by_key[(sample_id, "tiny_vllm", arm)], by_key[(sample_id, "tiny_hf", arm)],
                               ctx.settings)  # fmt: skip
    for r in rows:
        media = r["media_tokens"]
        assert (media["video"] > 0) == (r["arm"] not in ("audio_only", "text_only"))
        assert (media["audio"] > 0) == (r["arm"] not in ("video_only", "text_only"))
        assert r["extracted"] in (None, "A", "B", "C", "D") and r["correct"] == (
            r["extracted"] == r["answer"]
        )
        assert (r["r_star"] is not None) == (r["arm"] in ("aurelia", "avrt"))


def test_self_consistency_votes_over_k_draws_with_their_own_seeds(evaluated):
    from aurelia_local.app.eval.runner import draw_seed, majority

    *_, ctx = evaluated
    rows = [r for r in read_eval_rows(evaluated[1] / "samples.jsonl") if r.arm == "self_consistency"]
    assert len(rows) == 4 * 2
    differ = 0
    for row in rows:
        assert [d.seed for d in row.draws] == [
            draw_seed(ctx.settings.sampling.seed, row.sample_id, i) for i in range(3)
        ]
        got = [d.extracted for d in row.draws]
        winner, votes, tie = majority(got)
        assert (row.extracted, row.votes, row.tie) == (winner, votes, tie)
        assert row.output in [d.output for d in row.draws] and row.correct == (row.extracted == row.answer)
        differ += len({d.output for d in row.draws}) > 1
    assert differ == len(rows)  # each draw sampled with its own seed: no two rows of identical copies


def test_r_star_comes_from_the_loop_once_and_is_shared(evaluated):
    _, out, *_ = evaluated
    traces = {t["id"]: t for t in read_records(out / "reasoning" / "traces.jsonl")}
    assert len(traces) == 4
    avrt = {t["id"]: t for t in read_records(out / "reasoning_avrt" / "traces.jsonl")}
    assert {t["topology"] for t in avrt.values()} == {"avrt"} and len(avrt) == 4
    for r in read_records(out / "samples.jsonl"):
        if r["arm"] in ("aurelia", "avrt"):
            source = traces if r["arm"] == "aurelia" else avrt
            assert r["r_star"] == source[r["sample_id"]]["reasoning_steps"]


def test_results_report_and_chart(evaluated):
    results, out, *_ = evaluated
    saved = json.loads((out / "results.json").read_text())
    assert saved["summary"].keys() == {"tiny_vllm", "tiny_hf"} and saved["config_hash"]
    assert saved == results.model_dump(mode="json")
    for summary in saved["summary"].values():
        assert [summary["arms"][a]["n"] for a in ARMS] == [4] * len(ARMS)
        assert summary["gains"]["aurelia"]["over"] == "zero_shot"
    report = (out / "report.md").read_text()
    assert "| zero_shot | 4 |" in report and "aurelia vs zero_shot" in report and "per category" in report
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # what r* cost per sample, from the loop's own traces
    traces = [t for t in read_records(out / "reasoning" / "traces.jsonl") if t["status"] == "ok"]
    cost = saved["loop_cost"]["aurelia"]
    assert cost["samples"] == len(traces) == 4 and saved["loop_cost"]["avrt"]["samples"] == 4
    assert cost["seconds"] == pytest.approx(sum(t["seconds"] for t in traces) / 4, abs=1e-3)
    generated = sum(r["tokens"]["generator"]["completion"] for t in traces for r in t["rounds"])
    assert generated > 0
    assert cost["by_agent"]["generator"]["completion"] == pytest.approx(generated / 4, abs=1e-3)
    assert "## What r* cost" in report and "| aurelia | 4 |" in report


def test_an_interrupted_eval_resumes_without_asking_twice(evaluated, smoke, daily_omni_clip):
    from aurelia_local.app.eval.runner import run_eval

    results, out, targets, ctx = evaluated
    path = out / "samples.jsonl"
    complete = read_records(path)
    kept = complete[:7]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept) + '{"sample_id": "torn')  # killed mid-write
    asked = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def answer(self, requests):
            asked.extend(requests)
            return self.inner.answer(requests)

    counting = {"tiny_vllm": Counting(targets["tiny_vllm"]), "tiny_hf": Counting(targets["tiny_hf"]())}
    traces = out / "reasoning" / "traces.jsonl"
    root, arms = daily_omni_clip.parents[2], list(ARMS)
    run_eval(ctx.settings, "daily_omni", root, counting, arms, out, traces=traces, ctx=ctx, progress=False)
    after = read_records(path)
    k = ctx.settings.eval.self_consistency_k
    assert len(asked) == sum(k if r["arm"] == "self_consistency" else 1 for r in complete[len(kept) :])
    assert sorted(map(json.dumps, map(_comparable, after))) == sorted(
        map(json.dumps, map(_comparable, complete))
    )


def _comparable(row: dict) -> dict:
    """A row without its config hash; a sampled row by its draws' seeds only (sampling in a batch of
    other requests is not bit-stable on random tiny weights)."""
    row = {k: v for k, v in row.items() if k != "config_hash"}
    if row["draws"] is not None:
        seeds = [d["seed"] for d in row["draws"]]
        row = {k: v for k, v in row.items() if k not in SAMPLED} | {"seeds": seeds}
    return row


SAMPLED = ("output", "extracted", "correct", "draws", "votes", "tie", "output_tokens")


def test_every_file_of_an_eval_run_validates(evaluated):
    from test_runs import validate_run_folder

    _, out, *_ = evaluated
    read = validate_run_folder(out)
    assert {
        "run.json",
        "samples.jsonl",
        "results.json",
        "reasoning/traces.jsonl",
        "reasoning_avrt/run.json",
    } <= set(read)
    rows = read_eval_rows(out / "samples.jsonl")
    manifest = json.loads((out / "run.json").read_text())
    assert {r.identity for r in rows} == {manifest["identity_hash"]} and {r.backend for r in rows} == {"vllm"}


def test_a_rerun_with_another_target_backend_is_refused(evaluated, daily_omni_clip):
    from aurelia_local.app.eval.runner import run_eval

    _, out, targets, ctx = evaluated
    before = (out / "samples.jsonl").read_text()
    with pytest.raises(ConfigError, match=r'target_backend: "vllm" -> "hf"'):
        run_eval(ctx.settings, "daily_omni", daily_omni_clip.parents[2], targets, list(ARMS), out, ctx=ctx,
                 progress=False, backend="hf")  # fmt: skip
    assert (out / "samples.jsonl").read_text() == before  # nothing answered, nothing reported as hf's


def test_a_finished_eval_reruns_without_opening_any_engine(evaluated, daily_omni_clip, tmp_path):
    from aurelia_local.app.eval.runner import run_eval

    results, out, targets, ctx = evaluated
    # models_dir is an execution setting: pointed at an empty folder, any engine that opens fails
    settings = ctx.settings.model_copy(update={"models_dir": tmp_path})
    loaders = {key: (lambda: pytest.fail("a target was loaded")) for key in targets}
    again = run_eval(
        settings, "daily_omni", daily_omni_clip.parents[2], loaders, list(ARMS), out, progress=False
    )
    assert again.summary == results.summary and again.identity == results.identity


def test_the_loops_engines_are_closed_before_a_target_loads(
    evaluated, agent_servers, daily_omni_clip, tmp_path
):
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.engines.factory import open_engines

    _, _, targets, ctx = evaluated
    engine = ctx.settings.engine.model_copy(
        update={"backend": "vllm_server", "servers": {k: [v] for k, v in agent_servers.items()}}
    )
    settings = ctx.settings.model_copy(update={"engine": engine})
    before = set(map(id, open_engines()))  # the test session's own engines stay open
    during = []

    def load():
        during.append([e.model_id for e in open_engines() if id(e) not in before])
        return targets["tiny_vllm"]

    # no ctx: the eval opens the loop's engines (clients of the agent servers) for r* itself
    run_eval(settings, "daily_omni", daily_omni_clip.parents[2], {"probe": load}, ["aurelia"],
             tmp_path / "eval", limit=1, progress=False)  # fmt: skip
    traces = read_records(tmp_path / "eval" / "reasoning" / "traces.jsonl")
    assert [t["status"] for t in traces] == ["ok"]  # the loop ran on its own engines ...
    assert during == [[]]  # ... and had closed every one of them when the target was loaded
    assert [r["status"] for r in read_records(tmp_path / "eval" / "samples.jsonl")] == ["ok"]


def test_an_engine_counts_as_open_from_its_build_until_it_is_closed(smoke, agent_servers):
    import asyncio

    from aurelia_local.engines.factory import EnginePool, open_engines

    engine = smoke.engine.model_copy(
        update={"backend": "vllm_server", "servers": {k: [v] for k, v in agent_servers.items()}}
    )
    pool = EnginePool()
    client = pool.get(smoke.model_copy(update={"engine": engine}), "summarizer")
    assert client in open_engines() and not client.closed
    asyncio.run(pool.aclose())
    assert client.closed and client not in open_engines()


def test_the_eval_command_refuses_to_report_another_backends_rows(models_dir, daily_omni_clip, tmp_path):
    from conftest import run_cli

    out = tmp_path / "eval"
    common = ["eval", "--benchmark", "daily_omni", "--data-root", str(daily_omni_clip.parents[2]),
              "--target", "tiny_qwen2_5_omni", "--arms", "zero_shot", "--limit", "1", "--out", str(out),
              "--set", f"models_dir={models_dir}", "--no-progress"]  # fmt: skip
    first = run_cli(*common, "--backend", "hf")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "tiny_qwen2_5_omni: zero_shot" in first.stdout and f"logs in {out / 'aurelia.log'}" in first.stderr
    rows = read_eval_rows(out / "samples.jsonl")
    assert [(r.backend, r.arm) for r in rows] == [("hf", "zero_shot")]
    second = run_cli(*common, "--backend", "vllm")
    assert second.returncode == 2 and 'target_backend: "hf" -> "vllm"' in second.stderr
    assert read_eval_rows(out / "samples.jsonl") == rows


def test_rows_answered_with_another_r_star_or_card_are_asked_again_not_reported(evaluated, tmp_path):
    from aurelia_local.app.eval.runner import run_eval

    results, out, targets, ctx = evaluated
    asked = []

    class Counting:
        def answer(self, requests):
            asked.extend(requests)
            return targets["tiny_vllm"].answer(requests)

    traces = [json.loads(line) for line in (out / "reasoning" / "traces.jsonl").read_text().splitlines()]
    changed = traces[0]["id"]
    traces[0]["reasoning_steps"] = ["Listen to the very first second.", "Name what is heard."]
    edited = tmp_path / "traces.jsonl"
    edited.write_text("".join(json.dumps(t) + "\n" for t in traces))
    data = Path(results.data_root)
    again = run_eval(ctx.settings, "daily_omni", data, {"tiny_vllm": Counting()}, ["aurelia"], out,
                     traces=edited, ctx=ctx, progress=False)  # fmt: skip
    assert len(asked) == 1 and "Name what is heard." in asked[0].text  # only the sample whose r* changed
    rows = read_eval_rows(out / "samples.jsonl")
    rows = [r for r in rows if r.arm == "aurelia" and r.target == "tiny_vllm"]
    assert [r.r_star for r in rows if r.sample_id == changed][-1] == traces[0]["reasoning_steps"]
    assert again.summary["tiny_vllm"]["arms"]["aurelia"]["n"] == 4  # the replaced row is not counted
    asked.clear()
    other_card = run_eval(ctx.settings, "daily_omni", data, {"tiny_vllm": Counting()}, ["zero_shot"], out,
                          traces=edited, ctx=ctx, progress=False,
                          cards={"tiny_vllm": "another-card"})  # fmt: skip
    assert len(asked) == 4 and other_card.summary["tiny_vllm"]["arms"]["zero_shot"]["n"] == 4


def _worldsense(root: Path, clip: Path) -> Path:
    """A small WorldSense folder in the benchmark's own layout (two tasks on the shared clip)."""
    (root / "videos").mkdir(parents=True)
    shutil.copyfile(clip, root / "videos" / "vid1.mp4")
    options = ["A. speech", "B. music", "C. silence", "D. rain"]
    task = {"question": "What is heard first?", "candidates": options, "answer": "A",
            "task_domain": "Daily Life", "task_type": "Audio Recognition"}  # fmt: skip
    second = {**task, "question": "How many people are seen?", "answer": "b", "task_type": "Counting"}
    entries = {"vid1": {"duration": "30", "domain": "Daily Life", "task0": task, "task1": second},
               "vid2": {"duration": "12", "domain": "Sports"}}  # fmt: skip
    (root / "worldsense_qa.json").write_text(json.dumps(entries))
    return root


def test_worldsense_loads_and_evaluates_end_to_end(evaluated, daily_omni_clip, tmp_path):
    from aurelia_local.app.eval.runner import load_benchmark, run_eval

    *_, targets, ctx = evaluated
    root = _worldsense(tmp_path / "worldsense", daily_omni_clip)
    items = load_benchmark("worldsense", root, ctx.settings)
    samples = [s for s in items if not hasattr(s, "error")]
    assert [(s.id, s.choices[0], s.answer, s.category, s.domain) for s in samples] == [
        ("vid1-task0", "speech", "A", "Audio Recognition", "Daily Life"),
        ("vid1-task1", "speech", "B", "Counting", "Daily Life"),
    ]
    assert [(e.id, "no task0" in e.error) for e in items if hasattr(e, "error")] == [("vid2", True)]
    out = tmp_path / "eval"
    results = run_eval(ctx.settings, "worldsense", root, {"tiny_vllm": targets["tiny_vllm"]}, ["zero_shot"],
                       out, progress=False)  # fmt: skip
    rows = read_eval_rows(out / "samples.jsonl")
    assert [(r.sample_id, r.status, r.domain, r.category) for r in rows] == [
        ("vid1-task0", "ok", "Daily Life", "Audio Recognition"),
        ("vid1-task1", "ok", "Daily Life", "Counting"),
    ]
    summary = results.summary["tiny_vllm"]
    assert summary["by_domain"]["zero_shot"]["Daily Life"]["n"] == 2
    assert set(summary["by_category"]["zero_shot"]) == {"Audio Recognition", "Counting"}
    report = (out / "report.md").read_text()
    assert "Accuracy % per domain:" in report and "| Daily Life |" in report
    assert results.invalid_records and "vid2" in json.dumps(results.invalid_records)


def _omnibench(root: Path) -> Path:
    """A small OmniBench folder in the benchmark's own layout: an image and a sound per question."""
    import numpy as np
    from clips import tone_file
    from PIL import Image

    for folder in ("dataset", "mm_data/image", "mm_data/audio"):
        (root / folder).mkdir(parents=True)
    pixels = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "mm_data" / "image" / "scene.png")
    tone_file(root / "mm_data" / "audio" / "tone.mp3", seconds=2.0)
    options = ["a tone", "a dog barking", "speech", "rain"]
    base = {"task type": "Sound Recognition", "audio type": "sound event", "question": "What is heard?",
            "options": options, "answer": "a tone", "audio_path": "tone.mp3", "image_path": "scene.png",
            "audio content": "a steady tone", "image content": "coloured noise"}  # fmt: skip
    records = [
        {**base, "index": 0},
        {**base, "index": 1, "answer": "thunder"},  # not one of its options: an invalid record
        {**base, "index": 2, "image_path": "missing.png", "audio type": "music"},  # a file that is not there
    ]
    (root / "dataset" / "batch-1_3.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


def test_omnibench_loads_and_evaluates_an_image_and_a_sound_end_to_end(evaluated, tmp_path):
    from aurelia_local.app.eval.dry_run import dry_run
    from aurelia_local.app.eval.runner import load_benchmark, run_eval
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    *_, targets, ctx = evaluated
    root = _omnibench(tmp_path / "omnibench")
    items = load_benchmark("omnibench", root, ctx.settings)
    samples = [s for s in items if not hasattr(s, "error")]
    assert [(s.id, s.answer, s.category, s.domain, s.video) for s in samples] == [
        ("0", "A", "Sound Recognition", "sound event", None), ("2", "A", "Sound Recognition", "music", None),
    ]  # fmt: skip
    assert [("thunder" in e.error, e.where.endswith(":2")) for e in items if hasattr(e, "error")] == [
        (True, True)
    ]
    arms = ["zero_shot", "video_only", "audio_only", "aurelia"]
    out = tmp_path / "eval"
    results = run_eval(ctx.settings, "omnibench", root, {"tiny_vllm": targets["tiny_vllm"],
                       "tiny_hf": targets["tiny_hf"]}, arms, out, ctx=ctx, progress=False)  # fmt: skip
    rows = {(r["sample_id"], r["target"], r["arm"]): r for r in read_records(out / "samples.jsonl")}
    assert len(rows) == 2 * 2 * len(arms)
    for arm, seen in (
        ("zero_shot", (True, True)),
        ("video_only", (True, False)),
        ("audio_only", (False, True)),
    ):
        v, h = rows[("0", "tiny_vllm", arm)], rows[("0", "tiny_hf", arm)]
        assert v["status"] == h["status"] == "ok" and v["media_tokens"]["video"] == 0
        assert (v["media_tokens"]["image"] > 0, v["media_tokens"]["audio"] > 0) == seen
        assert_same_greedy(v, h, ctx.settings, "omnibench", root)
    for target in ("tiny_vllm", "tiny_hf"):
        assert "the loop reasons over videos" in rows[("0", target, "aurelia")]["error"]
        missing = [rows[("2", target, arm)]["error"] for arm in arms[:3]]
        assert all("missing.png: file does not exist" in error for error in missing)
    assert not (out / "reasoning" / "traces.jsonl").exists()  # no loop ran for image samples
    summary = results.summary["tiny_vllm"]
    assert summary["by_domain"]["zero_shot"]["sound event"]["n"] == 1 and results.invalid_records
    # what the dry run counts is what the engines counted
    adapter = OmniAdapter(load_card("tiny_qwen2_5_omni", ctx.settings), ctx.settings, "hf", load=False)
    means = dry_run(ctx.settings, "omnibench", root, {"tiny": adapter}, ["zero_shot"], tmp_path / "dry")
    assert means["tiny"]["zero_shot"]["image"] == rows[("0", "tiny_hf", "zero_shot")]["media_tokens"]["image"]


def test_an_eval_in_shards_merges_into_the_rows_and_results_of_one_run(evaluated, daily_omni_clip, tmp_path):
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.app.merge import merge_run
    from aurelia_local.app.status import run_status
    from aurelia_local.core.shards import Shard

    _, _, targets, ctx = evaluated
    root, out, arms = daily_omni_clip.parents[2], tmp_path / "sharded", ["zero_shot", "aurelia"]
    target = {"tiny_vllm": targets["tiny_vllm"]}
    shards = (Shard(0, 2), Shard(1, 2))
    parts = [run_eval(ctx.settings, "daily_omni", root, target, arms, out, ctx=ctx, progress=False, shard=s)
             for s in shards]  # fmt: skip
    assert parts[0].identity == parts[1].identity and parts[0].samples + parts[1].samples == 4
    assert {r.state for r in run_status(out) if r.shard != "merged"} == {"finished"}
    merged = merge_run(out)
    rows = read_eval_rows(out / "samples.jsonl")
    assert sorted((r.sample_id, r.arm) for r in rows) == sorted((f"d6b4OmUFt7I-{i}", a) for i in range(1, 5)
                                                                for a in arms)  # fmt: skip
    assert all(r.status == "ok" for r in rows)
    traces = {t["id"]: t["reasoning_steps"] for t in read_records(out / "reasoning" / "traces.jsonl")}
    assert len(traces) == 4 and all(r.r_star == traces[r.sample_id] for r in rows if r.arm == "aurelia")
    results = json.loads((out / "results.json").read_text())
    assert results == merged.summary.model_dump(mode="json") and results["samples"] == 4
    assert [results["summary"]["tiny_vllm"]["arms"][a]["n"] for a in arms] == [4, 4]
    assert (
        results["loop_cost"]["aurelia"]["samples"] == 4
        and "aurelia vs zero_shot" in (out / "report.md").read_text()
    )


def test_a_checkpoint_folder_is_a_target_beside_the_zoos_card(
    evaluated, daily_omni_clip, models_dir, tmp_path
):
    """``path:DIR`` (a trained student) answers the same samples and arms as the base model's card."""
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    _, out, targets, ctx = evaluated
    student = tmp_path / "My Student-1"
    shutil.copytree(models_dir / "tiny" / "qwen2_5_omni", student)  # stands in for a trained checkpoint
    card = load_card(f"path:{student}", ctx.settings)
    assert card.key.startswith("path_my_student_1_") and (card.kind, card.folder, card.audio_in_video) == (
        "qwen2_5_omni", str(student.resolve()), True,
    )  # fmt: skip
    other = tmp_path / "elsewhere" / "My Student-1"  # a folder of the same name: another target
    shutil.copytree(student, other)
    assert load_card(f"path:{other}", ctx.settings).key != card.key
    engine = targets["tiny_vllm"].engine
    answering = {
        "tiny_vllm": targets["tiny_vllm"],
        card.key: OmniAdapter(card, ctx.settings, "vllm", engine=engine),
    }
    results = run_eval(ctx.settings, "daily_omni", daily_omni_clip.parents[2], answering, ["zero_shot"],
                       tmp_path / "compare", progress=False)  # fmt: skip
    assert list(results.summary) == ["tiny_vllm", card.key]
    rows = {(r.sample_id, r.target): r for r in read_eval_rows(tmp_path / "compare" / "samples.jsonl")}
    for sample in {s for s, _ in rows}:  # the same request to each (answers may part at a near tie)
        student, base = rows[(sample, card.key)], rows[(sample, "tiny_vllm")]
        assert student.status == base.status == "ok"
        assert (student.prompt_tokens, student.media_tokens) == (base.prompt_tokens, base.media_tokens)
    (tmp_path / "not_a_model").mkdir()
    with pytest.raises(ConfigError, match="cannot read .*config.json"):
        load_card(f"path:{tmp_path / 'not_a_model'}", ctx.settings)


def test_an_official_protocol_asks_and_reads_as_its_script(evaluated, clip_dir, tmp_path):
    """Daily-Omni's script on a short clip through the vLLM target: its request, its budget, its reading."""
    from conftest import with_protocol

    from aurelia_local.app.eval.dry_run import dry_run
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.core.answers import extract_choice, first_letter
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    _, _, targets, ctx = evaluated
    root = tmp_path / "daily_omni"
    (root / "Videos" / "v1").mkdir(parents=True)
    shutil.copyfile(clip_dir / "shots.mp4", root / "Videos" / "v1" / "v1_video.mp4")  # 4 s, 160x120
    qa = [{"Question": "What is heard?", "Choice": ["A. a tone", "B. speech", "C. music", "D. silence"],
           "Answer": "A", "video_id": "v1", "Type": "Audio", "video_duration": "30s"}]  # fmt: skip
    (root / "qa.json").write_text(json.dumps(qa))
    settings = with_protocol(ctx.settings, "daily_omni_official")
    card = load_card("tiny_qwen2_5_omni", settings)
    adapter = OmniAdapter(card, settings, "vllm", engine=targets["tiny_vllm"].engine)
    arms = ["zero_shot", "cot", "video_only"]
    results = run_eval(settings, "daily_omni", root, {"tiny_vllm": adapter}, arms, tmp_path / "eval",
                       progress=False)  # fmt: skip
    rows = {r.arm: r for r in read_eval_rows(tmp_path / "eval" / "samples.jsonl")}
    assert all(r.status == "ok" and r.protocol == "daily_omni_official" for r in rows.values())
    choices = ["a tone", "speech", "music", "silence"]
    for arm in ("zero_shot", "video_only"):  # the script's budget and reading
        assert len(rows[arm].output_tokens) <= 10 and rows[arm].extracted == first_letter(
            rows[arm].output, choices
        )
    assert len(rows["cot"].output_tokens) > 10  # the reasoning arm keeps the profile's budget
    assert rows["cot"].extracted == extract_choice(rows["cot"].output, choices)
    # 2 frames a second of a 4 s clip, each resized to multiples of 28 px: what the processor counts too
    dry = dry_run(settings, "daily_omni", root, {"tiny_vllm": adapter}, arms, tmp_path / "dry")
    assert dry["tiny_vllm"]["zero_shot"]["video"] == rows["zero_shot"].media_tokens["video"] > 0
    assert dry["tiny_vllm"]["zero_shot"]["audio"] == rows["zero_shot"].media_tokens["audio"] > 0
    assert results.protocol == "daily_omni_official"
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "Protocol daily_omni_official" in report
    with pytest.raises(ConfigError, match="does not apply to --benchmark worldsense"):
        run_eval(settings, "worldsense", root, {"tiny_vllm": adapter}, arms, tmp_path / "ws", progress=False)


def test_a_dry_run_shows_what_each_target_sees_without_loading_weights(evaluated, daily_omni_clip, tmp_path,
                                                                       snapshot):  # fmt: skip
    from aurelia_local.app.eval.dry_run import PLACEHOLDER, dry_run
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    _, out, _, ctx = evaluated
    adapter = OmniAdapter(load_card("tiny_qwen2_5_omni", ctx.settings), ctx.settings, "hf", load=False)
    dry = tmp_path / "dry"
    root, traces = daily_omni_clip.parents[2], out / "reasoning" / "traces.jsonl"
    means = dry_run(ctx.settings, "daily_omni", root, {"tiny_hf": adapter}, list(ARMS), dry, traces=traces)
    assert adapter.engine is None  # processors only
    rows = read_records(dry / "requests.jsonl")
    assert len(rows) == 4 * len(ARMS) and all(r["status"] == "ok" for r in rows)
    ran = {(r.sample_id, r.target, r.arm): r for r in read_eval_rows(out / "samples.jsonl")}
    for row in rows:
        if row["arm"] == "avrt":  # its r* is the AVRT loop's, which a dry run stands in for
            assert row["r_star_placeholder"] and PLACEHOLDER in row["prompt"]
            continue
        for target in ("tiny_hf", "tiny_vllm"):  # what the engines counted when they answered
            real = ran[(row["sample_id"], target, row["arm"])]
            assert row["media_tokens"] == real.media_tokens
        assert row["prompt_tokens"] == ran[(row["sample_id"], "tiny_hf", row["arm"])].prompt_tokens
        assert row["draws"] == (3 if row["arm"] == "self_consistency" else 1)
        assert (row["media"]["frames"] > 0) == (row["arm"] not in ("audio_only", "text_only"))
    assert means["tiny_hf"]["text_only"]["video"] == means["tiny_hf"]["text_only"]["audio"] == 0
    first = next(r for r in rows if r["arm"] == "zero_shot")
    snapshot("dry_run_zero_shot.txt", first["prompt"])


def test_an_arm_a_card_cannot_take_is_skipped_with_its_reason(smoke, qwen2_5_vllm, daily_omni_clip, tmp_path):
    """A target whose card lists no audio answers the video-only arm; the arms that need audio are skipped."""
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    card = load_card("tiny_qwen2_5_omni", smoke)
    mute = card.model_copy(update={"modalities": ("video", "image", "text"), "audio_in_video": False})
    adapter = OmniAdapter(mute, smoke, "vllm", engine=qwen2_5_vllm)
    arms = ["zero_shot", "video_only", "audio_only"]
    results = run_eval(smoke, "daily_omni", daily_omni_clip.parents[2], {"mute": adapter}, arms,
                       tmp_path, limit=1, progress=False)  # fmt: skip
    assert set(results.skipped["mute"]) == {"zero_shot", "audio_only"}
    assert "audio" in results.skipped["mute"]["audio_only"]
    rows = read_eval_rows(tmp_path / "samples.jsonl")
    assert [(r.arm, r.status) for r in rows] == [("video_only", "ok")]
    assert rows[0].media_tokens["audio"] == 0 and rows[0].media_tokens["video"] > 0
    report = (tmp_path / "report.md").read_text()
    assert (
        "Arms skipped, not asked:" in report and "- audio_only: zoo model tiny_qwen2_5_omni takes" in report
    )
