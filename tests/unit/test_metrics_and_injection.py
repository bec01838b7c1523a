import numpy as np
import pytest

from aurelia_local.app.eval.metrics import bootstrap_ci, summarize
from aurelia_local.core.errors import AureliaError
from aurelia_local.core.injection import ARMS, arm_modalities, target_prompt


def _rows(arm, correct, category="c1"):
    return [
        {"sample_id": f"s{i}", "arm": arm, "correct": bool(c), "status": "ok",
         "extracted": "A" if c else None, "category": category if i % 2 == 0 else "c2", "duration": "30s"}
        for i, c in enumerate(correct)
    ]  # fmt: skip


def test_accuracy_gains_and_counts_by_hand():
    rows = _rows("zero_shot", [1, 0, 0, 1]) + _rows("aurelia", [1, 1, 0, 1])
    rows.append({"sample_id": "s4", "arm": "aurelia", "status": "error", "category": "c1", "duration": "30s"})
    out = summarize(rows, ["zero_shot", "aurelia"])
    zs, au = out["arms"]["zero_shot"], out["arms"]["aurelia"]
    assert (zs["n"], zs["correct"], zs["accuracy"], zs["no_answer"]) == (4, 2, 0.5, 2)
    assert (au["n"], au["correct"], au["accuracy"], au["errors"]) == (
        5,
        3,
        0.6,
        1,
    )  # the error counts as wrong
    gain = out["gains"]["aurelia"]
    assert gain["over"] == "zero_shot" and gain["paired_samples"] == 4
    assert gain["absolute"] == pytest.approx(0.25) and gain["relative"] == pytest.approx(0.5)
    assert out["by_category"]["zero_shot"]["c1"]["accuracy"] == 0.5  # s0 right, s2 wrong
    assert out["by_duration"]["aurelia"]["30s"]["n"] == 5


def test_bootstrap_interval_is_reproducible_and_contains_the_mean():
    values = np.array([1, 0, 1, 1, 0, 1, 0, 1], dtype=float)
    lo, hi = bootstrap_ci(values, seed=0)
    assert lo <= values.mean() <= hi and (lo, hi) == bootstrap_ci(values, seed=0)
    assert bootstrap_ci(np.array([1.0] * 5)) == (1.0, 1.0) and bootstrap_ci(np.array([])) is None


def test_injection_snapshots(snapshot):
    choices = ["a guitar", "a piano", "drums"]
    steps = ["Listen to the first two seconds.", "Find what is played when the first note sounds."]
    text = "".join(
        f"===== {arm}\n{target_prompt(arm, 'Which instrument is heard first?', choices, steps)}\n"
        for arm in ARMS
    )
    text += f"===== aurelia open\n{target_prompt('aurelia', 'How many people sing?', None, steps)}\n"
    snapshot("injection.txt", text)


def test_injection_puts_only_the_steps_in_and_needs_them():
    text = target_prompt("aurelia", "Q?", ["x", "y"], ["step one", "step two"])
    assert "1. step one\n2. step two" in text and text.endswith(
        "Answer with the letter of the correct option."
    )
    with pytest.raises(AureliaError, match="needs r"):
        target_prompt("aurelia", "Q?", None, None)
    with pytest.raises(AureliaError, match="unknown arm"):
        target_prompt("best_guess", "Q?", None)
    assert arm_modalities("video_only") == (True, False) and arm_modalities("cot") == (True, True)


def test_a_vote_takes_the_most_frequent_answer_and_breaks_ties_by_draw_order():
    from aurelia_local.app.eval.runner import draw_seed, majority

    assert majority(["B", None, "B", "C"]) == ("B", {"B": 2, "C": 1}, False)
    assert majority(["C", "B", "B", "C", None]) == ("C", {"C": 2, "B": 2}, True)  # C was drawn first
    assert majority([None, None]) == (None, {}, False)
    seeds = [draw_seed(0, "s1", i) for i in range(5)]
    assert len(set(seeds)) == 5 and seeds == [draw_seed(0, "s1", i) for i in range(5)]
    assert draw_seed(0, "s2", 0) != seeds[0] and draw_seed(1, "s1", 0) != seeds[0]
    assert all(0 <= s < 2**31 for s in seeds)
