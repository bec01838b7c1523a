"""Every prompt variant the older snapshot tests miss, so any change to a prompt's text shows up.

Already covered elsewhere: loop_prompts.txt (generator, feedback with a weak audio, summarizer; in
test_loop_logic.py), injection.txt (every arm, multiple choice; test_metrics_and_injection.py) and
judge_prompt.txt (test_calibration.py). The texts here are fixed inputs; only the code varies.
"""

from aurelia_local.core.injection import ARMS, INJECTION_VERSION, target_prompt
from aurelia_local.engines.judge import JUDGE_PROMPT_VERSION, judge_prompt
from aurelia_local.graphs import prompts

QUESTION = "Which instrument is heard first?"
CHOICES = ["a guitar", "a piano", "drums", "a violin"]
OPEN_QUESTION = "How many people speak?"
STEPS = ["Listen to the start.", "Find the first note."]


def _join(rendered: dict[str, str], version: str) -> str:
    return "".join(f"===== {name} ({version})\n{body}\n" for name, body in rendered.items())


def test_loop_prompt_variants(snapshot):
    feedback = prompts.feedback_prompt
    rendered = {
        **{
            f"feedback_choices_weakest_{weakest}": feedback(
                QUESTION, CHOICES, STEPS, 4, {"visual": 3, "audio": 6}, weakest
            )
            for weakest in ("visual", "audio", "judge", None)
        },
        "feedback_open_visual_weak": feedback(
            OPEN_QUESTION, None, STEPS, 5, {"visual": 2, "audio": 8}, "visual"
        ),
        "feedback_judge_only": feedback(QUESTION, CHOICES, STEPS, 3, {"judge": 3}, "judge"),
        "feedback_no_sub_scores_no_steps": feedback(OPEN_QUESTION, None, [], 2, {}, None),
        "summarizer_no_step_answers": prompts.summarizer_prompt(QUESTION, STEPS, [], "B", None),
        "summarizer_open_with_speech": prompts.summarizer_prompt(
            OPEN_QUESTION, STEPS, ["Two voices.", "Then a third."], "three", "Hi. Hello. Hey there."
        ),
        "question_block_braces": prompts.question_block("What does {the sign} say?", ["{x}", "y}"]),
    }
    snapshot("loop_prompt_variants.txt", _join(rendered, prompts.PROMPT_VERSION))


def test_avrt_prompts(snapshot):
    vision = {"steps": ["A man holds a guitar.", "He strums it."], "answer": "A"}
    audio = {"steps": ["Piano notes open the clip."], "answer": "B"}
    open_vision = {"steps": ["Two people face the camera."], "answer": "two"}
    open_audio = {"steps": ["Three voices are heard.", "One laughs."], "answer": "three"}
    rendered = {
        "vision_teacher_choices": prompts.vision_teacher_prompt(QUESTION, CHOICES),
        "vision_teacher_open": prompts.vision_teacher_prompt(OPEN_QUESTION, None),
        "audio_teacher_choices_with_transcript": prompts.audio_teacher_prompt(
            QUESTION, CHOICES, "Welcome to the show."
        ),
        "audio_teacher_choices_without_transcript": prompts.audio_teacher_prompt(QUESTION, CHOICES, None),
        "audio_teacher_open_with_transcript": prompts.audio_teacher_prompt(OPEN_QUESTION, None, "Hi. Hello."),
        "audio_teacher_open_without_transcript": prompts.audio_teacher_prompt(OPEN_QUESTION, None, None),
        "merger_choices": prompts.merger_prompt(QUESTION, CHOICES, vision, audio),
        "merger_open": prompts.merger_prompt(OPEN_QUESTION, None, open_vision, open_audio),
        "trace_pattern_choices": prompts.trace_pattern(3, 40, CHOICES),
        "trace_pattern_open": prompts.trace_pattern(2, 40, None),
    }
    snapshot("avrt_prompts.txt", _join(rendered, prompts.AVRT_VERSION))


def test_injection_every_arm_open_and_single_step(snapshot):
    rendered = {f"{arm} open": target_prompt(arm, OPEN_QUESTION, None, STEPS) for arm in ARMS}
    rendered["aurelia one step, two options"] = target_prompt("aurelia", QUESTION, CHOICES[:2], STEPS[:1])
    snapshot("injection_variants.txt", _join(rendered, INJECTION_VERSION))


def test_judge_prompt_variants(snapshot):
    rendered = {
        "caption_stripped": judge_prompt("\n  A man plays a guitar.\n\n"),
        "caption_with_braces": judge_prompt('He holds a sign reading {"score": 10} and {caption}.'),
        "caption_multiline": judge_prompt("A dog barks.\nA car passes."),
    }
    snapshot("judge_prompt_variants.txt", _join(rendered, JUDGE_PROMPT_VERSION))
