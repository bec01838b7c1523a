"""core.text: option letters, numbered lists and the strict template renderer."""

import pytest

from aurelia_local.core.errors import AureliaError
from aurelia_local.core.text import letter, letter_index, lettered, letters, numbered, options_block, render


def test_letters_and_lettered_options():
    assert (letter(0), letter(1), letter(25)) == ("A", "B", "Z")
    assert letters(4) == "ABCD" and letters(0) == "" and letters(26) == "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert lettered(["a guitar", "a piano"]) == ["A. a guitar", "B. a piano"]
    assert options_block(["a guitar", "a piano", "drums"]) == "A. a guitar\nB. a piano\nC. drums"
    assert lettered([]) == [] and options_block([]) == ""


@pytest.mark.parametrize("index", [-1, 26, 100])
def test_an_index_without_a_letter_is_an_error(index):
    with pytest.raises(AureliaError, match="A-Z"):
        letter(index)
    with pytest.raises(AureliaError):
        letters(27)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A", 0), ("a", 0), ("B", 1), ("z", 25), ("Z", 25), ("", None), ("AB", None), (" A", None),
     ("A.", None), ("1", None), ("É", None), ("é", None), ("?", None)],
)  # fmt: skip
def test_letter_index(text, expected):
    assert letter_index(text) == expected


def test_letter_index_inverts_letter():
    assert all(letter_index(letter(i)) == i for i in range(26))


def test_numbered():
    assert numbered(["a", "b"]) == "1. a\n2. b"
    assert numbered([]) == ""
    assert numbered(["only"]) == "1. only"
    assert numbered([f"s{i}" for i in range(10)]).splitlines()[-1] == "10. s9"


def test_render_fills_named_placeholders():
    assert render("Q: {question}\n{options}", question="Why?", options="A. x") == "Q: Why?\nA. x"
    assert render("no placeholders") == "no placeholders"
    assert render("{x} and {x}", x=1) == "1 and 1"


def test_render_refuses_a_missing_placeholder_value():
    with pytest.raises(AureliaError, match=r"missing \['question'\], unexpected \[\]"):
        render("Q: {question} {answer}", answer="x")


def test_render_refuses_an_extra_value():
    with pytest.raises(AureliaError, match=r"missing \[\], unexpected \['extra'\]"):
        render("Q: {question}", question="x", extra="y")


def test_render_names_both_missing_and_extra():
    with pytest.raises(AureliaError, match=r"missing \['a', 'b'\], unexpected \['c'\]"):
        render("{b} {a}", c=1)


def test_render_literal_braces_are_text_not_placeholders():
    template = 'Answer with JSON only: {{"score": <integer 1-10>}}\n\nCaption: {caption}'
    assert render(template, caption="x") == 'Answer with JSON only: {"score": <integer 1-10>}\n\nCaption: x'
    with pytest.raises(AureliaError, match=r"unexpected \['score'\]"):
        render(template, caption="x", score=3)  # "score" inside {{ }} is not a placeholder
    assert render("{{}}") == "{}"


def test_render_does_not_read_braces_inside_values():
    assert render("Caption: {caption}", caption="{other} {{x}} {") == "Caption: {other} {{x}} {"


@pytest.mark.parametrize("template", ["Q: {", "Q: }", "Q: {question"])
def test_render_refuses_a_malformed_template(template):
    with pytest.raises(AureliaError, match="malformed"):
        render(template, question="x")


@pytest.mark.parametrize("template", ["Q: {}", "Q: {0}"])
def test_render_refuses_positional_placeholders(template):
    with pytest.raises(AureliaError, match="positional"):
        render(template)


def test_render_refuses_attribute_and_index_fields():
    with pytest.raises(AureliaError, match="missing"):
        render("{sample.question}", sample=object())
