"""The evaluator on real media with the tiny kit: grounding (CLIP + CLAP), the omni judge, hybrid."""

import json

import pytest

from aurelia_local.core.media.bundle import load_bundle
from aurelia_local.engines.scorers import build_scorer

CAPTIONS = [
    "A man talks to the camera in a small room. Soft music plays behind him.",
    "Heavy rain falls on a city street at night.",
    "",
]


def _with_scorer(settings, name):
    return settings.model_copy(update={"evaluator": settings.evaluator.model_copy(update={"scorer": name})})


@pytest.fixture(scope="module")
def grounding(smoke):
    return build_scorer(smoke)


@pytest.fixture(scope="module")
def bundle(smoke, daily_omni_clip):
    return load_bundle(daily_omni_clip, None, smoke.media)


def test_grounding_scores_are_integers_with_sub_scores_and_deterministic(grounding, bundle, smoke):
    first = grounding.score([(bundle, c) for c in CAPTIONS])
    for s in first[:2]:
        assert isinstance(s.value, int) and 1 <= s.value <= 10 and s.scorer == "grounding"
        assert set(s.sub_scores) == {"visual", "audio"} and all(1 <= v <= 10 for v in s.sub_scores.values())
        assert {"visual", "audio", "visual_z", "audio_z"} <= set(s.similarities)
        assert s.weakest in (None, "visual", "audio")
    assert first[2].value == 1 and first[2].note == "empty caption"
    for again, before in zip(grounding.score([(bundle, c) for c in CAPTIONS]), first, strict=True):
        _same_score(again, before)
    # one by one gives what the batch gave (padding moves similarities by float rounding only)
    singles = [grounding.score([(bundle, c)])[0] for c in CAPTIONS]
    for one, batched in zip(singles, first, strict=True):
        _same_score(one, batched)
    # a freshly built scorer agrees; its similarities may differ in the last digits on another CPU
    _same_score(type(grounding)(smoke).score([(bundle, CAPTIONS[0])])[0], first[0])


def _same_score(a, b):
    """Equal integer scores, parts and notes; similarities equal up to float rounding."""
    fields = ("value", "sub_scores", "weakest", "note", "scorer")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
    assert a.similarities.keys() == b.similarities.keys()
    assert a.similarities == pytest.approx(b.similarities, abs=1e-5)


def test_grounding_scores_the_visual_side_alone_for_video_only_samples(grounding, smoke, clip_dir):
    media = smoke.media.model_copy(update={"video_only": True})
    s = grounding.score([(load_bundle(clip_dir / "no_audio.mp4", None, media), CAPTIONS[0])])[0]
    assert set(s.sub_scores) == {"visual"} and s.value == s.sub_scores["visual"] and "video-only" in s.note


def test_a_caption_that_is_a_distractor_scores_no_better_than_the_bank(grounding, bundle):
    from aurelia_local.core.scoring.distractors import DISTRACTORS

    scores = grounding.score([(bundle, d) for d in DISTRACTORS])
    zs = [s.similarities["visual_z"] for s in scores]
    # every distractor sits inside its own bank: mean z is zero by construction
    assert abs(sum(zs) / len(zs)) < 1e-6
    assert max(s.sub_scores["visual"] for s in scores) < 10


@pytest.mark.engine
def test_judge_and_hybrid_score_through_vllm(smoke, qwen2_5_vllm, bundle, grounding):
    from aurelia_local.engines.protocol import BlockingEngine

    judge = build_scorer(_with_scorer(smoke, "judge"), BlockingEngine(qwen2_5_vllm))
    scores = judge.score([(bundle, c) for c in CAPTIONS])
    for s in scores[:2]:
        assert s.scorer == "judge" and 1 <= s.value <= 10 and s.sub_scores == {"judge": s.value}
    assert scores[2].value == 1
    assert judge.score([(bundle, c) for c in CAPTIONS]) == scores  # greedy: same inputs, same scores

    hybrid = build_scorer(_with_scorer(smoke, "hybrid"), BlockingEngine(qwen2_5_vllm))
    mixed = hybrid.score([(bundle, CAPTIONS[0])])[0]
    g, j = grounding.score([(bundle, CAPTIONS[0])])[0], scores[0]
    assert mixed.sub_scores == g.sub_scores | j.sub_scores
    expected = 0.25 * g.sub_scores["visual"] + 0.25 * g.sub_scores["audio"] + 0.5 * j.value
    assert mixed.value == int(expected + 0.5)


def test_judge_without_an_engine_is_a_config_error(smoke):
    from aurelia_local.core.errors import ConfigError

    settings = _with_scorer(smoke, "judge")
    with pytest.raises(ConfigError, match="judge engine"):
        build_scorer(settings)


def test_transcript_has_timed_segments_and_is_cached(smoke, bundle, tmp_path):
    from aurelia_local.core.media import transcribe as tr

    tr._MEMORY.clear()
    t = tr.transcribe(bundle, smoke, cache_dir=tmp_path)
    assert t is not None and t.model == "whisper.pt" and t.language
    assert all(0 <= s.start <= s.end <= bundle.info.duration_s + 1 for s in t.segments)
    assert tr.transcribe(bundle, smoke) is t
    tr._MEMORY.clear()
    assert tr.transcribe(bundle, smoke, cache_dir=tmp_path) == t  # read back from disk
    off = smoke.model_copy(update={"media": smoke.media.model_copy(update={"transcribe": False})})
    assert tr.transcribe(bundle, off) is None


def test_score_command_writes_a_record_with_provenance(models_dir, daily_omni_clip, tmp_path, capsys):
    from aurelia_local.app.cli import main

    out = tmp_path / "score.json"
    code = main([
        "score", str(daily_omni_clip), "--caption", CAPTIONS[0], "--caption", CAPTIONS[1],
        "--set", f"models_dir={models_dir}", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    record = json.loads(out.read_text())
    assert [s["caption"] for s in record["scores"]] == CAPTIONS[:2]
    assert record["provenance"]["distractors"] and record["config_hash"] and record["scorer"] == "grounding"
    assert "/10" in capsys.readouterr().out


def test_score_command_reports_a_bad_file_and_exits_2(models_dir, tmp_path, capsys):
    from aurelia_local.app.cli import main

    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main(["score", str(bad), "--caption", "x", "--set", f"models_dir={models_dir}"]) == 2
    assert str(bad) in capsys.readouterr().err
