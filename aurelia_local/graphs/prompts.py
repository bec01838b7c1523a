"""The agents' prompts: data with named placeholders, versioned, rendered by one strict helper.

Changing any text here changes what the loop produces: bump ``PROMPT_VERSION`` (it is recorded with
every result) and update the snapshots (``pytest --update-snapshots``). Lettering, numbering and
``render`` come from ``aurelia_local.core.text`` (re-exported here).
"""

from __future__ import annotations

from aurelia_local.core.text import letters, numbered, options_block, render

PROMPT_VERSION = "aurelia-1"

_FORMAT = (
    "Task 1: write numbered reasoning steps that lead to the answer, grounded in what is seen and heard, "
    "without revealing the answer.\n"
    "Task 2: answer each step from what is seen and heard.\n"
    "Task 3: give the final answer{answer_hint}.\n"
    'Reply with JSON only: {{"steps": [...], "step_answers": [...], "final_answer": "..."}}, '
    "one answer per step."
)

GENERATOR = (
    "Watch the video and listen to its audio, then answer the question.\n\n{question_block}\n\n" + _FORMAT
)

FEEDBACK = (
    "Your previous reasoning for this question was checked against the video and audio. A caption "
    "built from it scored {score}/10 for matching what is seen and heard ({sub_scores}).{weakest}\n\n"
    "Previous steps:\n{previous_steps}\n\n{question_block}\n\n"
    "Watch and listen again and re-derive the reasoning from what is seen and heard only.\n" + _FORMAT
)

WEAKEST = {
    "visual": " The visual part of your reasoning is the least supported by what is seen.",
    "audio": " The audio part of your reasoning is the least supported by what is heard.",
    "judge": " A judge who watched and listened found the description inaccurate.",
}

SUMMARIZER_SYSTEM = "You write captions of videos from notes about them."

SUMMARIZER = (
    "Given the reasoning steps, the answers to the steps and the final answer for the question "
    "below, write a detailed caption that describes only what is seen in the video and heard in "
    "the audio. Leave out world knowledge that is not in the video or the audio.\n\n"
    "Question: {question}\n\nReasoning steps:\n{steps}\n\nStep answers:\n{step_answers}\n\n"
    "Final answer: {final_answer}{transcript}"
)

TRANSCRIPT = "\n\nSpeech in the audio (automatic transcript): {text}"

QUESTION = "Question: {question}"
QUESTION_OPTIONS = "Question: {question}\nOptions:\n{options}"


def question_block(question: str, choices: list[str] | None) -> str:
    """The question and, for multiple choice, its lettered options."""
    if not choices:
        return render(QUESTION, question=question)
    return render(QUESTION_OPTIONS, question=question, options=options_block(choices))


def answer_hint(choices: list[str] | None) -> str:
    """What the final answer must be: a letter for multiple choice."""
    return " as the letter of one option" if choices else ""


def generator_prompt(question: str, choices: list[str] | None) -> str:
    """The first round's request to the generator."""
    return render(
        GENERATOR, question_block=question_block(question, choices), answer_hint=answer_hint(choices)
    )


def feedback_prompt(
    question: str, choices: list[str] | None, previous_steps: list[str], score: int,
    sub_scores: dict[str, int], weakest: str | None,
) -> str:  # fmt: skip
    """A later round's request: the previous steps, their score and which modality fell short."""
    parts = ", ".join(f"{k} {v}/10" for k, v in sub_scores.items()) or "no sub-scores"
    return render(
        FEEDBACK, score=score, sub_scores=parts, weakest=WEAKEST.get(weakest or "", ""),
        previous_steps=numbered(previous_steps) or "(none)",
        question_block=question_block(question, choices), answer_hint=answer_hint(choices),
    )  # fmt: skip


def summarizer_prompt(
    question: str, steps: list[str], step_answers: list[str], final_answer: str, transcript: str | None
) -> str:
    """The summarizer's request: the round's reasoning, and the transcript when there is speech."""
    return render(
        SUMMARIZER, question=question, steps=numbered(steps), step_answers=numbered(step_answers),
        final_answer=final_answer, transcript=render(TRANSCRIPT, text=transcript) if transcript else "",
    )  # fmt: skip


def reasoning_pattern(max_steps: int, max_chars: int) -> str:
    """The regular expression the generator's output is held to (vLLM structured outputs).

    A pattern rather than a JSON schema: vLLM's JSON grammars let a weak model spend its whole token
    budget on whitespace inside the object (measured with the tiny kit); this pattern allows one
    exact layout, bounded strings and no control characters, and always parses as ``Reasoning``.
    """
    text = '"[^"\\\\\\x00-\\x1f]{1,' + str(max_chars) + '}"'
    array = "\\[" + text + "(, " + text + "){0," + str(max_steps - 1) + "}\\]"
    return '\\{"steps": ' + array + ', "step_answers": ' + array + ', "final_answer": ' + text + "\\}"


# AVRT topology: single-modality teachers and a text merger write round one (see METHOD.md).
AVRT_VERSION = "avrt-1"

VISION_TEACHER = (
    "Look at these frames of a video. There is no sound: reason only from what is seen.\n\n"
    "{question_block}\n\nThink step by step in numbered steps, then give the answer{answer_hint}.\n"
    "Reply as <think>\n1. ...\n2. ...\n</think>\n<answer>...</answer>"
)

AUDIO_TEACHER = (
    "Listen to this audio. There is no picture: reason only from what is heard.{transcript}\n\n"
    "{question_block}\n\nThink step by step in numbered steps, then give the answer{answer_hint}.\n"
    "Reply as <think>\n1. ...\n2. ...\n</think>\n<answer>...</answer>"
)

MERGER = (
    "Two experts answered the same question about one video. One only saw the frames, the other only "
    "heard the audio.\n\n{question_block}\n\n"
    "Vision expert's reasoning:\n{vision_steps}\nVision expert's answer: {vision_answer}\n\n"
    "Audio expert's reasoning:\n{audio_steps}\nAudio expert's answer: {audio_answer}\n\n"
    "Write one reasoning in numbered steps that ties the visual and the audio evidence together, "
    "resolving where they disagree, then give the answer{answer_hint}.\n"
    "Reply as <think>\n1. ...\n2. ...\n</think>\n<answer>...</answer>"
)


def vision_teacher_prompt(question: str, choices: list[str] | None) -> str:
    """The vision teacher's request (frames only)."""
    return render(
        VISION_TEACHER, question_block=question_block(question, choices), answer_hint=answer_hint(choices)
    )


def audio_teacher_prompt(question: str, choices: list[str] | None, transcript: str | None) -> str:
    """The audio teacher's request (audio only, with the Whisper transcript when there is speech)."""
    return render(
        AUDIO_TEACHER, question_block=question_block(question, choices), answer_hint=answer_hint(choices),
        transcript=render(TRANSCRIPT, text=transcript) if transcript else "",
    )  # fmt: skip


def merger_prompt(question: str, choices: list[str] | None, vision: dict, audio: dict) -> str:
    """The merger's request: both teachers' traces and answers."""
    return render(
        MERGER, question_block=question_block(question, choices), answer_hint=answer_hint(choices),
        vision_steps=numbered(vision["steps"]), vision_answer=vision["answer"],
        audio_steps=numbered(audio["steps"]), audio_answer=audio["answer"],
    )  # fmt: skip


def trace_pattern(max_steps: int, max_chars: int, choices: list[str] | None) -> str:
    """The regular expression a teacher's or the merger's ``<think>...</think><answer>...</answer>`` obeys."""
    text = "[^<\\x00-\\x1f]{1," + str(max_chars) + "}"
    steps = ""
    for i in range(max_steps, 0, -1):
        steps = f"{i}\\. {text}\\n" + (f"({steps})?" if steps else "")
    answer = "[" + letters(len(choices)) + "]" if choices else text
    return "<think>\\n" + steps + "</think>\\n<answer>" + answer + "</answer>"
