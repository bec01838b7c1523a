"""The one answer extractor: which option a model's output commits to, or None.

Real outputs say "(B)", "B.", "b", "( B )", "**B**", "The answer is B", "Option B: ...", "答案是B",
``{"answer": "B"}``, give the option's text alone (also when the options carry "A. " prefixes), or
put the answer in ``<answer>...</answer>`` after a ``<think>`` block. The extractor reads, in order:
the ``<answer>`` block (else the text after the last ``</think>``), full-width characters folded
(NFKC), an answer field of a JSON object, an explicit answer phrase (English or Chinese), a leading
option letter, option letters in option form, and finally the options' texts. When the output names
two different options ("A or B"), or none, the result is None: no guessing.
"""

from __future__ import annotations

import json
import re
import unicodedata

from aurelia_local.core.text import letter, letters, option_texts

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
    body = _MARKUP.sub("", unicodedata.normalize("NFKC", _visible(text))).strip()
    if not body:
        return None
    field = _json_answer(body)
    if field is not None:
        return extract_choice(field, choices) if field != body else None
    cls = f"[{option_letters}]"
    whole = re.fullmatch(rf"[(\[]?\s*({cls})\s*[)\]]?\s*[.:)]?", body, re.I)
    if whole:
        return whole.group(1).upper()
    alternatives = _alternatives(body, cls)  # "A or B": two options, no commitment to either
    phrase = [p.upper() for p in _phrases(body, cls) if p.upper() in option_letters]
    if phrase:
        chosen = _one(phrase)
        return chosen if chosen not in alternatives else None
    if alternatives:
        return None
    if len(set(_mentioned(body, cls))) > 1:
        return None  # names two options without an answer phrase: no commitment
    lead = re.match(rf"\(?({cls})(?:\)|[.:])(?:\s|$)", body)
    if lead:
        return lead.group(1)
    marked = re.findall(rf"(?:^|[\s(\[])\(({cls})\)|(?:^|\s)({cls})[.):](?=\s|$)", body)
    marked = [a or b for a, b in marked]
    if marked:
        return _one(marked)
    return _by_text(body, option_texts(choices))


_PHRASES = (
    r"(?:answer|option|choice)\s*(?:is|would be|:|-)?\s*(?:option\s*)?[(\[]?\s*({cls})\s*[)\]]?(?![\w'])",
    r"(?:答案|选项|选择|应选|选)\s*(?:应该是|应是|是|为|:)?\s*[(\[]?\s*({cls})(?![A-Za-z])",
)


def _phrases(body: str, cls: str) -> list[str]:
    """Letters after an answer phrase; a lower-case one followed by a word is an article ("is a piano")."""
    found = []
    for pattern in _PHRASES:
        for m in re.finditer(pattern.format(cls=cls), body, re.I):
            if m.group(1).islower() and re.match(r"\s+\w", body[m.end() :]):
                continue
            found.append(m.group(1))
    return found


_ANSWER_KEYS = ("answer", "final_answer", "choice", "option", "答案")


def _json_answer(body: str) -> str | None:
    """The answer field of the last JSON object in ``body`` (parsed as data), if it has one."""
    for candidate in reversed(re.findall(r"\{[^{}]*\}", body)):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            for key in _ANSWER_KEYS:
                value = data.get(key)
                if isinstance(value, str | int) and str(value).strip():
                    return str(value).strip()
    return None


def _alternatives(body: str, cls: str) -> set[str]:
    """The option letters given as alternatives to each other ("A or B", "A/B", "A或B")."""
    pairs = re.findall(rf"(?<![A-Za-z])\(?({cls})\)?\s*(?:or|或者|或|/)\s*\(?({cls})(?![A-Za-z])", body)
    return {x for a, b in pairs if a != b for x in (a, b)}


def _mentioned(body: str, cls: str) -> list[str]:
    """Capital option letters standing alone; "A" used as an article ("A man ...") does not count."""
    found = []
    for m in re.finditer(rf"(?<![A-Za-z0-9'])({cls})(?![A-Za-z0-9'])", body):
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


_AFTER_ASSISTANT = re.compile(r"assistant\s*([\s\S]*)$")


def first_letter(text: str, choices: list[str]) -> str | None:
    """The official scripts' reading: the option letter the output starts with, any case, else None.

    As Daily-Omni's script reads an answer: the text after the first "assistant" when there is one,
    then a letter of the options at its start, upper-cased ("As an AI" reads as A: that is the
    script's behaviour, kept so its numbers are reproduced).
    """
    after = _AFTER_ASSISTANT.search(text)
    body = after.group(1).strip() if after else text
    found = re.match(rf"\s*([{letters(len(choices))}])", body, re.I) if choices else None
    return found.group(1).upper() if found else None


def normalize_open_answer(text: str) -> str:
    """Normalise an open answer for exact match: lower case, no punctuation or articles, ``_`` as space."""
    text = _MARKUP.sub("", _visible(text).replace("_", " ")).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    words = [w for w in text.split() if w not in {"a", "an", "the"}]
    return " ".join(words)
