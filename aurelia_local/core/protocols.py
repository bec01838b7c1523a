"""What an evaluation protocol (``eval.protocol``) changes in a target's request and in its reading.

A protocol (``aurelia_local.core.catalog.PROTOCOLS``) fixes, for every arm, the targets' media, the
system prompt and the order of the user turn. The direct arms (no reasoning instruction, no r*)
also take its prompt text, its decoding budget (greedy) and its answer extraction; the reasoning arms
keep their own, so that they have room to reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aurelia_local.core.catalog import ARMS, PROTOCOLS, ProtocolEntry
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.text import lettered, render

if TYPE_CHECKING:
    from aurelia_local.core.config import MediaConfig, SamplingConfig, Settings


def protocol_of(settings: Settings) -> ProtocolEntry:
    """The protocol the settings name."""
    return PROTOCOLS.get(settings.eval.protocol)


def check_protocol(settings: Settings, benchmark: str) -> ProtocolEntry:
    """The settings' protocol, refused (``ConfigError``) for a benchmark other than the one it follows."""
    protocol = protocol_of(settings)
    if protocol.benchmark is not None and protocol.benchmark != benchmark:
        raise ConfigError(
            f"protocol {protocol.key} follows the official script of {protocol.benchmark}; it does not "
            f"apply to --benchmark {benchmark} (aurelia list protocols)"
        )
    return protocol


def direct(arm: str) -> bool:
    """Whether ``arm`` asks for the answer alone (no reasoning instruction, no r*)."""
    entry = ARMS.get(arm)
    return not (entry.instruction or entry.r_star)


def target_media(settings: Settings) -> MediaConfig:
    """The media settings the targets get: the profile's, with the protocol's on top (validated)."""
    overrides = protocol_of(settings).media
    if not overrides:
        return settings.media
    return type(settings.media).model_validate({**settings.media.model_dump(), **overrides})


def arm_sampling(settings: Settings, arm: str) -> SamplingConfig | None:
    """The decoding of ``arm`` under the protocol, or None for the target's own (``sampling``)."""
    protocol = protocol_of(settings)
    if protocol.max_tokens is None or not direct(arm):
        return None
    return settings.sampling.model_copy(update={"max_tokens": protocol.max_tokens, "temperature": 0.0})


def protocol_prompt(protocol: ProtocolEntry, question: str, choices: list[str] | None) -> str:
    """The protocol's own text of a question, as its script writes it."""
    if protocol.prompt is None:
        raise ValueError(f"protocol {protocol.key} has no prompt of its own")
    # The scripts format the benchmark's option strings ("A. ...") as a Python list in an f-string.
    written = repr(lettered(choices or []))
    return render(protocol.prompt, question=question, choices=written)


def extracts_first_letter(settings: Settings, arm: str) -> bool:
    """Whether ``arm``'s answers are read as the protocol's script reads them (the first letter)."""
    return protocol_of(settings).extraction == "first_letter" and direct(arm)
