"""The text of every prompt: option letters, numbered lists and the one strict template renderer.

Options are lettered ``A``-``Z`` (``"A. first"``), lists are numbered from 1 (``"1. first"``) and
templates (data with named ``{placeholders}``, ``{{`` and ``}}`` for literal braces) are filled by
``render``, which refuses a missing or an unused value. Loop, AVRT, injection and judge prompts,
answer extraction and leakage all letter and number through here, so they cannot drift apart.
"""

from __future__ import annotations

import re
import string

from aurelia_local.core.errors import AureliaError

_FIRST = ord("A")
MAX_OPTIONS = 26


def letter(index: int) -> str:
    """The letter of the option at ``index``.

    Args:
        index: Zero-based option index, 0 to 25.

    Returns:
        ``"A"`` for 0, ``"B"`` for 1, ...

    Raises:
        AureliaError: The index has no letter (negative, or more than 26 options).
    """
    if not 0 <= index < MAX_OPTIONS:
        raise AureliaError(f"option {index} has no letter: options are lettered A-Z (at most {MAX_OPTIONS})")
    return chr(_FIRST + index)


def letter_index(text: str) -> int | None:
    """The zero-based index a single option letter stands for.

    Args:
        text: One letter ``A``-``Z``, either case; nothing around it.

    Returns:
        0 for ``"A"`` or ``"a"``, ...; None for anything else (words, digits, ``"É"``, ``""``).
    """
    if len(text) == 1 and text.isascii() and text.isalpha():
        return ord(text.upper()) - _FIRST
    return None


def letters(n: int) -> str:
    """The letters of ``n`` options, e.g. ``"ABCD"`` for 4 (``""`` for 0)."""
    return "".join(letter(i) for i in range(n))


_PREFIX = re.compile(r"\s*[(\[]?\s*([A-Z])\s*[.):\]]\s*")


def option_text(choice: str, index: int) -> str:
    """An option without its own letter prefix (``"B. a piano"`` at index 1 -> ``"a piano"``).

    Benchmarks give options either way (Daily-Omni's ``Choice`` lists and WorldSense's
    ``candidates`` carry ``"A. "``); only the option's own letter is taken off, so text that happens
    to start with another capital ("C. elegans" as option A) is kept whole.
    """
    found = _PREFIX.match(choice)
    if found and found.group(1) == letter(index) and choice[found.end() :].strip():
        return choice[found.end() :].strip()
    return choice.strip()


def option_texts(choices: list[str]) -> list[str]:
    """Every option without its letter prefix (see ``option_text``)."""
    return [option_text(choice, i) for i, choice in enumerate(choices)]


def lettered(choices: list[str]) -> list[str]:
    """Each option prefixed with its letter, once: ``["A. first", "B. second"]`` (prefixed or not)."""
    return [f"{letter(i)}. {text}" for i, text in enumerate(option_texts(choices))]


def options_block(choices: list[str]) -> str:
    """The lettered options, one a line."""
    return "\n".join(lettered(choices))


def numbered(lines: list[str]) -> str:
    """The lines numbered from 1, one a line: ``"1. a"``, ``"2. b"``, ... (``""`` for no lines)."""
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


def render(template: str, **values: object) -> str:
    """Fill ``template``'s named placeholders; a missing or an unused value is an error.

    Values are inserted as they are: braces inside a value are never read as placeholders.

    Args:
        template: ``str.format`` syntax with named fields only; ``{{`` and ``}}`` are literal braces.
        **values: One value per placeholder, no more.

    Returns:
        The filled text.

    Raises:
        AureliaError: A placeholder has no value, a value has no placeholder, a placeholder is
            positional (``{}``, ``{0}``), or the template is malformed (a lone ``{``).
    """
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise AureliaError(f"prompt template is malformed ({exc}): {template[:80]!r}") from None
    if any(not name or name.isdigit() for name in fields):
        raise AureliaError(f"prompt template has a positional placeholder: {template[:80]!r}")
    wanted = set(fields)
    missing, extra = wanted - set(values), set(values) - wanted
    if missing or extra:
        raise AureliaError(f"prompt values: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return template.format(**values)
