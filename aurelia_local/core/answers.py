"""The one answer extractor: which option a model's output commits to, or None.

Real outputs say "(B)", "B.", "**B**", "The answer is B", "Option B: ...", give the option's text
alone, or put the answer in ``<answer>...</answer>`` after a ``<think>`` block. The extractor reads,
in order: the ``<answer>`` block (else the text after the last ``</think>``), an explicit answer
phrase, a leading option letter, option letters in option form, and finally the options' texts.
When the output names two different options, or none, the result is None: no guessing.
"""

from __future__ import annotations

import re

from aurelia_local.core.text import letter, letters

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_MARKUP = re.compile(r"[*_`#]")


def _visible(text: str) -> str:
    """The part of the output that holds the answer: the answer block, else after the reasoning."""
    tagged = _ANSWER_TAG.findall(text)
    if tagged:
        return tagged[-1]
    text = _THINK.sub(" ", text)
    if "</think>" in text.lower():
        text = text[text.lower().rindex("</think>") + len("</think>") :]
    elif "<think>" in text.lower():  # reasoning that never closed: no committed answer in it
        return ""
    return text


def _one(found: list[str]) -> str | None:
    distinct = set(found)
    return found[0] if len(distinct) == 1 else None


def extract_choice(text: str, choices: list[str]) -> str | None:
    """Return the option letter ``text`` commits to (``"A"``, ``"B"``, ...), or None."""
    if not choices or not text:
        return None
    option_letters = letters(len(choices))
    body = _MARKUP.sub("", _visible(text)).strip()
    if not body:
        return None
    cls = f"[{option_letters}]"
    whole = re.fullmatch(rf"\(?({cls})\)?[.:)]?", body)
    if whole:
        return whole.group(1)
    phrase = re.findall(
        rf"(?:answer|option|choice)\s*(?:is|would be|:|-)?\s*(?:option\s*)?\(?({cls})\)?(?![\w'])", body, re.I
    )
    phrase = [p.upper() for p in phrase if p.upper() in option_letters]
    if phrase:
        return _one(phrase)
    if len(set(_mentioned(body, cls))) > 1:
        return None  # names two options without an answer phrase: no commitment
    lead = re.match(rf"\(?({cls})(?:\)|[.:])(?:\s|$)", body)
    if lead:
        return lead.group(1)
    marked = re.findall(rf"(?:^|[\s(\[])\(({cls})\)|(?:^|\s)({cls})[.):](?=\s|$)", body)
    marked = [a or b for a, b in marked]
    if marked:
        return _one(marked)
    return _by_text(body, choices)


def _mentioned(body: str, cls: str) -> list[str]:
    """Capital option letters standing alone; "A" used as an article ("A man ...") does not count."""
    found = []
    for m in re.finditer(rf"(?<![\w'])({cls})(?![\w'])", body):
        after = body[m.end() :]
        article = re.match(r"\s+([a-z]+)", after)
        if m.group(1) == "A" and article and article.group(1) not in {"or", "and", "nor"}:
            continue
        found.append(m.group(1))
    return found


def _by_text(body: str, choices: list[str]) -> str | None:
    """The option whose text appears in the output, when exactly one does (longest texts first)."""
    low = " ".join(body.lower().split())
    hits = []
    for i, choice in sorted(enumerate(choices), key=lambda ic: -len(ic[1])):
        needle = " ".join(choice.lower().split())
        if needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", low):
            if not any(needle in " ".join(choices[j].lower().split()) for j in hits):
                hits.append(i)
    return letter(hits[0]) if len(hits) == 1 else None


def normalize_open_answer(text: str) -> str:
    """Normalise an open answer for exact match: lower case, no punctuation or articles, ``_`` as space."""
    text = _MARKUP.sub("", _visible(text).replace("_", " ")).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    words = [w for w in text.split() if w not in {"a", "an", "the"}]
    return " ".join(words)
