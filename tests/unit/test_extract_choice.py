import pytest

from aurelia_local.core.answers import extract_choice, normalize_open_answer

CHOICES = ["a guitar", "a piano", "drums", "a violin"]

CASES = [
    ("B", "B"),
    ("(C)", "C"),
    ("B.", "B"),
    ("**B**", "B"),
    ("The answer is B.", "B"),
    ("The answer is (D) a violin.", "D"),
    ("Answer: C", "C"),
    ("Option B: a piano", "B"),
    ("Final answer: option A", "A"),
    ("B. a piano, because the keys are visible.", "B"),
    ("I think it is drums.", "C"),
    ("a violin", "D"),
    ("<think>The first sound is plucked, so maybe A or B. Not C.</think><answer>A</answer>", "A"),
    ("<think>Could be (B) or (C)...</think>\nThe answer is C", "C"),
    ("<think>long reasoning that never ends", None),
    ("I cannot determine the answer from the video.", None),
    ("Either A or B.", None),
    ("(A) or (B)", None),
    ("The answer is A, no wait, the answer is B.", None),
    ("", None),
    ("A man is playing something on stage.", None),
    ("E", None),  # not an option letter here
    ("answer: b", "B"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_extract_choice_on_realistic_outputs(text, expected):
    assert extract_choice(text, CHOICES) == expected


def test_option_text_that_contains_another_is_not_ambiguous():
    assert extract_choice("It is an electric guitar.", ["guitar", "electric guitar"]) == "B"
    assert extract_choice("guitar and piano", ["guitar", "piano"]) is None
    assert extract_choice("anything", []) is None


def test_open_answers_normalise_for_exact_match():
    assert normalize_open_answer("The Acoustic_Guitar.") == "acoustic guitar"
    assert normalize_open_answer("<think>hmm</think> Yes!") == "yes"
