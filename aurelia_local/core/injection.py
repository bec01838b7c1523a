"""What the target model is asked in each evaluation arm, and how r* goes in.

The paper injects the numbered reasoning steps only (Task 1), not their answers nor the final
answer; the target model works through the steps itself. The exact template is not published, so
this one is defined and versioned here (``INJECTION_VERSION``, recorded with every result) and
snapshot-tested.
"""

from __future__ import annotations

from aurelia_local.core.errors import AureliaError

INJECTION_VERSION = "inject-1"
ARMS = ("zero_shot", "cot", "aurelia", "video_only", "audio_only", "avrt")
REASONING_ARMS = ("aurelia", "avrt")  # r* from the AURELIA loop, or from the loop with AVRT's round one

MCQ_TAIL = "Answer with the letter of the correct option."
OPEN_TAIL = "Answer with a single word or a short phrase."
COT = "Think step by step about what is seen and heard, then give your answer."
REASONING = (
    "Reasoning steps to work through, each from what you see and hear in this video:\n{steps}\n"
    "Work through them, then give your answer."
)


def question_text(question: str, choices: list[str] | None) -> str:
    """The question with its lettered options."""
    if not choices:
        return question
    return question + "\n" + "\n".join(f"{chr(65 + i)}. {c}" for i, c in enumerate(choices))


def target_prompt(arm: str, question: str, choices: list[str] | None, r_star: list[str] | None = None) -> str:
    """The text the target model gets in ``arm`` (the media parts are added by the adapter)."""
    if arm not in ARMS:
        raise AureliaError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    parts = [question_text(question, choices)]
    if arm == "cot":
        parts.append(COT)
    if arm in REASONING_ARMS:
        if not r_star:
            raise AureliaError(f"the {arm} arm needs r* (reasoning steps) for this sample")
        steps = "\n".join(f"{i}. {s}" for i, s in enumerate(r_star, 1))
        parts.append(REASONING.format(steps=steps))
    parts.append(MCQ_TAIL if choices else OPEN_TAIL)
    return "\n\n".join(parts)


def arm_modalities(arm: str) -> tuple[bool, bool]:
    """(video, audio) the target model gets in ``arm``."""
    return {"video_only": (True, False), "audio_only": (False, True)}.get(arm, (True, True))
