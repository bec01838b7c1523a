"""What the target model is asked in each evaluation arm, and how r* goes in.

The paper injects the numbered reasoning steps only (Task 1), not their answers nor the final
answer; the target model works through the steps itself. The exact template is not published, so
this one is defined and versioned here (``INJECTION_VERSION``, recorded with every result) and
snapshot-tested.
"""

from __future__ import annotations

from aurelia_local.core.catalog import ARMS as ARM_REGISTRY
from aurelia_local.core.errors import AureliaError
from aurelia_local.core.protocols import PROTOCOLS, direct, protocol_prompt
from aurelia_local.core.text import numbered, options_block, render

INJECTION_VERSION = "inject-1"
ARMS = ARM_REGISTRY.keys()  # the arm keys, in registry order
REASONING_ARMS = tuple(a.key for a in ARM_REGISTRY if a.r_star)  # arms whose prompt carries r*

MCQ_TAIL = "Answer with the letter of the correct option."
OPEN_TAIL = "Answer with a single word or a short phrase."
COT = "Think step by step about what is seen and heard, then give your answer."
INSTRUCTIONS = {"cot": COT}  # an arm's ``instruction`` -> the text added after the question
REASONING = (
    "Reasoning steps to work through, each from what you see and hear in this video:\n{steps}\n"
    "Work through them, then give your answer."
)
QUESTION_OPTIONS = "{question}\n{options}"


def question_text(question: str, choices: list[str] | None) -> str:
    """The question with its lettered options."""
    if not choices:
        return question
    return render(QUESTION_OPTIONS, question=question, options=options_block(choices))


def target_prompt(
    arm: str, question: str, choices: list[str] | None, r_star: list[str] | None = None,
    protocol: str = "project",
) -> str:  # fmt: skip
    """The text the target model gets in ``arm`` (the media parts are added by the adapter).

    Under a protocol with a prompt of its own, the direct arms get that prompt (the official request);
    the reasoning arms keep the project's instruction and r*.
    """
    entry = ARM_REGISTRY.get(arm)
    official = PROTOCOLS.get(protocol)
    if official.prompt is not None and direct(arm):
        return protocol_prompt(official, question, choices)
    parts = [question_text(question, choices)]
    if entry.instruction:
        parts.append(INSTRUCTIONS[entry.instruction])
    if entry.r_star:
        if not r_star:
            raise AureliaError(f"the {arm} arm needs r* (reasoning steps) for this sample")
        parts.append(render(REASONING, steps=numbered(r_star)))
    parts.append(MCQ_TAIL if choices else OPEN_TAIL)
    return "\n\n".join(parts)


def arm_modalities(arm: str) -> tuple[bool, bool]:
    """(video, audio) the target model gets in ``arm`` (its registry entry says; unknown arms raise)."""
    entry = ARM_REGISTRY.get(arm)
    return entry.video, entry.audio
