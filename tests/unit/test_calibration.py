import numpy as np
import pytest

from aurelia_local.core.errors import ModelOutputError
from aurelia_local.core.scoring.base import combine, round_half_up, split_sentences
from aurelia_local.core.scoring.calibration import calibrated_score, distractor_z, z_to_score
from aurelia_local.engines.judge import JUDGE_CONSTRAINT, judge_prompt, parse_verdict

D = 64
CAL = dict(z_low=-1.0, z_high=4.0, std_floor=0.01)


def _unit(v):
    return v / np.linalg.norm(v)


@pytest.fixture
def bank():
    rng = np.random.default_rng(0)
    media = _unit(rng.normal(size=D))
    distractors = np.stack([_unit(rng.normal(size=D)) for _ in range(24)])
    return media, distractors, rng


def _score(media, caption, distractors):
    return calibrated_score(float(media @ caption), distractors @ media, **CAL)[0]


def test_identical_embedding_scores_ten_and_unrelated_scores_low(bank):
    media, distractors, rng = bank
    assert _score(media, media, distractors) == 10
    unrelated = [_score(media, _unit(rng.normal(size=D)), distractors) for _ in range(50)]
    assert np.mean(unrelated) < 4 and max(unrelated) <= 7


def test_score_rises_as_the_caption_moves_towards_the_media(bank):
    media, distractors, rng = bank
    other = _unit(rng.normal(size=D))
    scores = [_score(media, _unit(a * media + (1 - a) * other), distractors) for a in np.linspace(0, 1, 11)]
    assert scores == sorted(scores) and scores[0] <= 3 and scores[-1] == 10


def test_calibration_ignores_shift_and_scale_of_similarities(bank):
    media, distractors, rng = bank
    caption = _unit(media + rng.normal(size=D))
    sim, dsims = float(media @ caption), distractors @ media
    for a, b in [(1.0, 0.0), (0.1, 0.25), (3.0, -0.5)]:
        assert calibrated_score(a * sim + b, a * dsims + b, z_low=-1, z_high=4, std_floor=1e-9) == (
            pytest.approx(calibrated_score(sim, dsims, z_low=-1, z_high=4, std_floor=1e-9))
        )


def test_z_map_endpoints_and_std_floor():
    assert z_to_score(-1, -1, 4) == 1 and z_to_score(4, -1, 4) == 10 and z_to_score(0, -1, 4) == 3
    assert z_to_score(2, -1, 4) == 6 and z_to_score(-9, -1, 4) == 1 and z_to_score(9, -1, 4) == 10
    # identical distractor similarities: the floor bounds z instead of dividing by zero
    assert distractor_z(0.31, np.full(8, 0.30), std_floor=0.01) == pytest.approx(1.0)


def test_combine_weighs_parts_and_names_the_weakest():
    s = combine({"visual": 8, "audio": 3}, {"visual": 0.5, "audio": 0.5}, "grounding")
    assert s.value == 6 and s.weakest == "audio" and "audio pulls" in s.note
    assert combine({"visual": 7, "audio": 7}, {"visual": 0.5, "audio": 0.5}, "g").weakest is None
    assert combine({"visual": 9, "audio": 2}, {"visual": 1.0, "audio": 0.0}, "g").value == 9
    assert round_half_up(2.5) == 3 and round_half_up(3.5) == 4


def test_captions_split_into_bounded_sentences():
    assert split_sentences("A man talks.  Music plays!\nA dog barks? ", 8) == [
        "A man talks.",
        "Music plays!",
        "A dog barks?",
    ]
    assert split_sentences("one. two. three.", 2) == ["one.", "two."]
    assert split_sentences("   ", 8) == []


def test_judge_output_is_parsed_by_schema_never_evaluated():
    assert parse_verdict('{"score": 7}', "m").score == 7
    for bad in ['{"score": 11}', '{"score": "7"}', "7", '__import__("os").system("touch x")', ""]:
        with pytest.raises(ModelOutputError, match="judge m"):
            parse_verdict(bad, "m")


def test_judge_constraint_accepts_exactly_one_to_ten():
    import re

    pattern = re.compile(JUDGE_CONSTRAINT["regex"])
    assert all(pattern.fullmatch(f'{{"score": {n}}}') for n in range(1, 11))
    assert not any(pattern.fullmatch(t) for t in ['{"score": 0}', '{"score": 11}', '{"score": -1}'])


def test_judge_prompt_snapshot(snapshot):
    snapshot("judge_prompt.txt", judge_prompt("A man plays a guitar while a dog barks."))
