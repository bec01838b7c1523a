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
    # a lower-case letter alone, a letter with spaces around it
    ("b", "B"),
    ("c.", "C"),
    ("( B )", "B"),
    ("[ D ]", "D"),
    ("The answer is ( B ).", "B"),
    ("The answer is a violin.", "D"),  # "a" here is an article, not option A
    # an answer given as JSON (parsed as data)
    ('{"answer": "B"}', "B"),
    ('```json\n{"answer": "C. drums"}\n```', "C"),
    ('{"final_answer": "a violin"}', "D"),
    ('{"reasoning": "plucked strings", "answer": "A"}', "A"),
    ('{"answer": "A or B"}', None),
    # an answer phrased in Chinese (full-width letters and colons folded)
    ("答案是B", "B"),
    ("正确答案：C。", "C"),
    ("我选择 D，因为能听到小提琴。", "D"),
    ("答案是Ｂ", "B"),
    ("答案是A或B", None),
    # alternatives are no answer; an answer that rules them out is
    ("The answer is A or B", None),
    ("The answer is C, not A or B.", "C"),
]

LETTERED = ["A. a guitar", "B. a piano", "C. drums", "D. a violin"]  # Daily-Omni and WorldSense options
LETTERED_CASES = [
    ("drums", "C"),
    ("I think it is a piano.", "B"),
    ("B. a piano", "B"),
    ("The instrument heard first is a violin", "D"),
    ("a guitar or a piano", None),
    ("C", "C"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_extract_choice_on_realistic_outputs(text, expected):
    assert extract_choice(text, CHOICES) == expected


@pytest.mark.parametrize(("text", "expected"), LETTERED_CASES)
def test_options_given_with_their_letters_are_matched_by_their_text(text, expected):
    assert extract_choice(text, LETTERED) == expected


def test_option_text_that_contains_another_is_not_ambiguous():
    assert extract_choice("It is an electric guitar.", ["guitar", "electric guitar"]) == "B"
    assert extract_choice("guitar and piano", ["guitar", "piano"]) is None
    assert extract_choice("anything", []) is None


def test_open_answers_normalise_for_exact_match():
    assert normalize_open_answer("The Acoustic_Guitar.") == "acoustic guitar"
    assert normalize_open_answer("<think>hmm</think> Yes!") == "yes"
