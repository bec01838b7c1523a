"""GRPO's rewards on constructed completions: format, accuracy, and the Gaussian length bonus."""

import math

import pytest
from pydantic import ValidationError

from aurelia_local.core.rewards import RewardConfig, accuracy_reward, format_reward, length_reward

CHOICES = ["a guitar", "a piano", "drums", "a violin"]


def _completion(words: int, answer: str = "B") -> str:
    return f"<think>{' '.join(['step'] * words)}</think>\n<answer>{answer}</answer>"


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("<think>look, listen</think><answer>B</answer>", 1.0),
        ("  <think>\nlook\n</think>\n\n<answer> B </answer>\n", 1.0),
        ("<think>look</think>", 0.0),  # no answer block
        ("<answer>B</answer>", 0.0),  # no reasoning block
        ("The answer is B. <think>look</think><answer>B</answer>", 0.0),  # text outside the blocks
        ("<think>look</think><answer>B</answer> and more", 0.0),
        ("<answer>B</answer><think>look</think>", 0.0),  # wrong order
        ("<think>x</think><answer>A</answer><answer>B</answer>", 0.0),  # a second answer
        ("<think>a</think> b </think><answer>B</answer>", 0.0),  # a stray closing tag
    ],
)
def test_the_format_reward_takes_think_then_answer_and_nothing_else(completion, expected):
    assert format_reward(completion) == expected


def test_the_accuracy_reward_reads_the_answer_block_with_the_projects_extractor():
    assert accuracy_reward("<think>the keys</think><answer>B</answer>", "B", CHOICES) == 1.0
    assert accuracy_reward("<think>keys</think><answer>(b) a piano</answer>", "b", CHOICES) == 1.0
    assert accuracy_reward("<think>keys</think><answer>a piano</answer>", "B", CHOICES) == 1.0  # option text
    assert (
        accuracy_reward("<think>B surely</think><answer>C</answer>", "B", CHOICES) == 0.0
    )  # only the answer
    assert accuracy_reward("<think>keys</think><answer>A or B</answer>", "B", CHOICES) == 0.0  # no commitment
    assert accuracy_reward("B", "B", CHOICES) == 0.0  # malformed: no reward for a bare letter
    weighted = RewardConfig(accuracy_weight=2.0)
    assert accuracy_reward("<think>x</think><answer>B</answer>", "B", CHOICES, weighted) == 2.0


def test_the_length_bonus_is_full_in_the_window_and_falls_off_as_a_gaussian():
    config = RewardConfig(length_low=100, length_high=200, length_width=50, length_weight=0.5)
    assert length_reward(_completion(100), config) == length_reward(_completion(200), config) == 0.5
    assert length_reward(_completion(150), config) == 0.5
    # one width outside the window: exp(-1/2) of the weight, on either side
    assert length_reward(_completion(50), config) == pytest.approx(0.5 * math.exp(-0.5))
    assert length_reward(_completion(250), config) == pytest.approx(0.5 * math.exp(-0.5))
    assert length_reward(_completion(300), config) == pytest.approx(0.5 * math.exp(-2))
    assert length_reward(_completion(150)[:-9], config) == 0.0  # malformed
    with pytest.raises(ValidationError, match="length_low"):
        RewardConfig(length_low=300, length_high=200)
