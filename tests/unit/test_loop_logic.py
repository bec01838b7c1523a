"""The loop's pure parts: routing, selection, prompts, the output pattern, leakage, samples, records."""

import json
import re

import pytest

from aurelia_local.core.datasets import SampleError, iter_daily_omni, iter_manifest
from aurelia_local.core.errors import AureliaError, ModelOutputError
from aurelia_local.core.jsonl import RecordWriter, read_records
from aurelia_local.core.leakage import find_leakage
from aurelia_local.core.text import option_text
from aurelia_local.graphs import prompts
from aurelia_local.graphs.agents import parse_reasoning
from aurelia_local.graphs.routing import best_round, should_continue, stop_reason


def _rounds(*scores):
    from aurelia_local.core.records import Round
    from aurelia_local.core.scoring.base import Score
    from aurelia_local.core.types import Reasoning

    reasoning = Reasoning(steps=["s"], step_answers=["a"], final_answer="f")
    return [
        Round(round=i, reasoning=reasoning, generator_output=None, generator_asks=1, feedback_used=False,
              tokens={}, seconds={}, caption="c", score=Score(value=s, scorer="grounding"))
        for i, s in enumerate(scores, 1)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("scores", "tau", "t", "expected"),
    [
        ((3,), 6, 5, "build_feedback"),
        ((6,), 6, 5, "select_best"),  # tau reached exactly
        ((7,), 6, 5, "select_best"),
        ((2, 3, 4, 5, 5), 6, 5, "select_best"),  # round T
        ((2, 3, 4, 5), 6, 5, "build_feedback"),
        ((9,), 10, 1, "select_best"),
    ],
)
def test_routing_stops_at_tau_or_round_t(scores, tau, t, expected):
    assert should_continue(_rounds(*scores), tau, t) == expected


def test_best_round_is_the_highest_and_the_earliest_on_ties():
    assert best_round(_rounds(3, 5, 4)) == 1
    assert best_round(_rounds(5, 2, 5, 5)) == 0
    assert best_round(_rounds(1, 1, 1)) == 0
    assert stop_reason(_rounds(2, 7), 6) == "threshold" and stop_reason(_rounds(2, 5), 6) == "max_rounds"
    with pytest.raises(ValueError):
        best_round([])


def test_prompt_snapshots(snapshot):
    choices = ["a guitar", "a piano", "drums", "a violin"]
    rendered = {
        "generator_choices": prompts.generator_prompt("Which instrument is heard first?", choices),
        "generator_open": prompts.generator_prompt("How many people speak?", None),
        "feedback_audio_weak": prompts.feedback_prompt(
            "Which instrument is heard first?", choices, ["Listen to the start.", "Find the first note."],
            3, {"visual": 7, "audio": 2}, "audio",
        ),
        "summarizer_with_speech": prompts.summarizer_prompt(
            "Which instrument is heard first?", ["Listen to the start."], ["A plucked string is heard."],
            "A", "Welcome to the show.",
        ),
        "summarizer_without_speech": prompts.summarizer_prompt("Q?", ["s"], ["a"], "f", None),
    }  # fmt: skip
    text = "".join(f"===== {name} ({prompts.PROMPT_VERSION})\n{body}\n" for name, body in rendered.items())
    snapshot("loop_prompts.txt", text)


def test_render_refuses_missing_and_unused_values():
    with pytest.raises(AureliaError, match="missing"):
        prompts.render("Q: {question}")
    with pytest.raises(AureliaError, match="unexpected"):
        prompts.render("Q: {question}", question="x", extra="y")


def test_reasoning_pattern_admits_exactly_the_schema():
    pattern = re.compile(prompts.reasoning_pattern(max_steps=3, max_chars=20))
    good = '{"steps": ["look", "listen"], "step_answers": ["a dog", "a bark"], "final_answer": "B"}'
    assert pattern.fullmatch(good) and parse_reasoning(good).steps == ["look", "listen"]
    for bad in [
        '{"steps": ["a", "b", "c", "d"], "step_answers": ["x"], "final_answer": "B"}',  # too many steps
        '{"steps": ["%s"], "step_answers": ["x"], "final_answer": "B"}' % ("x" * 21),  # too long
        '{"steps": ["a\tb"], "step_answers": ["x"], "final_answer": "B"}',  # control character
        '{"steps": [], "step_answers": ["x"], "final_answer": "B"}',
    ]:
        assert not pattern.fullmatch(bad)
    for bad in ["", "{'steps': []}", '{"steps": "x"}', '__import__("os").system("id")']:
        with pytest.raises(ModelOutputError):
            parse_reasoning(bad)


def test_leakage_flags_gold_and_option_text_but_not_letters():
    choices = ["a red car", "a blue bus", "B"]
    steps = ["Look at the vehicle on the left.", "It is A Red  Car parked by a tree."]
    assert find_leakage(steps, "A", choices) == {"gold": True, "options": ["A"], "leaked": True}
    assert find_leakage(["Watch the road."], "A", choices)["leaked"] is False
    assert find_leakage(["The answer is yes."], "yes", None)["gold"] is True
    assert find_leakage(["yesterday it rained"], "yes", None)["gold"] is False


def test_manifest_lines_become_samples_or_error_records(tmp_path):
    lines = [
        json.dumps({"id": "a", "question": "Q?", "video": "v/a.mp4", "choices": ["x", "y"], "answer": "A"}),
        "{not json",
        json.dumps({"id": "b", "question": "Q?"}),  # no video
        json.dumps({"id": "c", "question": 5, "video": "c.mp4"}),  # wrong type
        json.dumps({"id": "a", "question": "again", "video": "a.mp4"}),  # duplicate id
        json.dumps(["a", "list"]),
        json.dumps({"id": "up", "question": "Q?", "video": "../../etc/passwd"}),
        json.dumps({"id": "abs", "question": "Q?", "video": "/etc/passwd"}),
    ]
    path = tmp_path / "m.jsonl"
    path.write_bytes(("\n".join(lines) + "\n\n").encode() + b'{"id": "\xff"}\n')
    items = list(iter_manifest(path))
    assert len(items) == 9
    good = items[0]
    assert good.video == tmp_path / "v" / "a.mp4" and good.gold_text() == "x"
    errors = items[1:]
    assert all(isinstance(e, SampleError) for e in errors)
    messages = [e.error for e in errors]
    assert "not valid JSON" in messages[0] and "video" in messages[1] and "question" in messages[2]
    assert "duplicate id 'a'" in messages[3] and "JSON object" in messages[4]
    assert "leaves the data root" in messages[5] and "leaves the data root" in messages[6]
    assert "UTF-8" in messages[7]
    outside = [i for i in iter_manifest(path, confine=False) if not isinstance(i, SampleError)]
    assert {s.id for s in outside} == {"a", "up", "abs"}
    assert errors[0].where == f"{path}:2"
    with pytest.raises(AureliaError, match="does not exist"):
        list(iter_manifest(tmp_path / "missing.jsonl"))


def test_daily_omni_layout(daily_omni_clip):
    root = daily_omni_clip.parents[2]
    samples = list(iter_daily_omni(root))
    assert [s.id for s in samples] == [f"d6b4OmUFt7I-{i}" for i in range(1, 5)]
    first = samples[0]
    assert first.video == daily_omni_clip and len(first.choices) == 4 and first.answer in "ABCD"
    assert not first.choices[0].startswith("A.") and first.category and first.duration == "30s"
    assert option_text("(C) drums", 2) == "drums" and option_text("Drums", 2) == "Drums"
    assert option_text("C. elegans", 0) == "C. elegans"  # only the option's own letter is a prefix


def test_records_survive_a_torn_last_line(tmp_path):
    from aurelia_local.core.records import ErrorRecord

    def record(sample_id):
        return ErrorRecord(id=sample_id, where="w", error="e", config_hash="h")

    path = tmp_path / "traces.jsonl"
    writer = RecordWriter(path)
    writer.write(record("a"))
    writer.close()
    with path.open("a") as handle:
        handle.write('{"id": "b", "rou')  # killed mid-write
    assert [r["id"] for r in read_records(path)] == ["a"]
    writer = RecordWriter(path)  # reopening drops the torn line before appending
    writer.write(record("c"))
    writer.close()
    assert [r["id"] for r in read_records(path)] == ["a", "c"]


def test_music_avqa_records_fill_placeholders_and_keep_open_answers(daily_omni_clip, tmp_path):
    from aurelia_local.core.datasets import MUSIC_AVQA_ANSWERS, iter_music_avqa

    source = daily_omni_clip.parents[3] / "music_avqa_sample.json"
    samples = list(iter_music_avqa(source, tmp_path))
    assert len(samples) == 24 and not any(isinstance(s, SampleError) for s in samples)
    assert all("<" not in s.question and s.choices is None for s in samples)
    assert all(s.answer in MUSIC_AVQA_ANSWERS for s in samples) and len(MUSIC_AVQA_ANSWERS) == 42
    first = samples[0]
    assert first.video == tmp_path / "00002754.mp4" and first.category == "Visual / Location"
    assert first.is_correct("Indoor.") and not first.is_correct("outdoor")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"video_id": "1", "question_id": 2, "type": "not json", "question_content": "Q"}]')
    assert isinstance(next(iter_music_avqa(bad, tmp_path)), SampleError)


def test_posted_runs_change_only_loop_and_sampling_settings(tmp_path):

    from aurelia_local.core.config import load_settings
    from aurelia_local.core.datasets import Sample
    from aurelia_local.core.errors import ConfigError
    from aurelia_local.graphs.serving import check_posted_sample, served_overrides

    assert served_overrides(["loop.tau=3", "sampling.seed=2"]) == ["loop.tau=3", "sampling.seed=2"]
    for item in ("models_dir=/x", "models.generator.trust_remote_code=true", "engine.servers.generator=[]",
                 "data.confine_to_root=false", "data.serve_root=/"):  # fmt: skip
        with pytest.raises(ConfigError, match="a posted run may change only"):
            served_overrides([item])
    inside = tmp_path / "data" / "a.mp4"
    sample = Sample(id="p", question="q", video=inside)
    settings = load_settings("smoke", environ={})
    with pytest.raises(ConfigError, match="takes no posted samples"):
        check_posted_sample(sample, settings)
    settings = settings.model_copy(
        update={"data": settings.data.model_copy(update={"serve_root": inside.parent})}
    )
    check_posted_sample(sample, settings)
    outside = Sample(id="p", question="q", video=tmp_path / "b.mp4")
    with pytest.raises(ConfigError, match="outside data.serve_root"):
        check_posted_sample(outside, settings)
