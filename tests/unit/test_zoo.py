"""Contract tests over every zoo card (no model is loaded)."""

import subprocess
import sys

import pytest

from aurelia_local.core.errors import ConfigError
from aurelia_local.zoo.cards import adapter_class, list_cards, load_card


@pytest.mark.parametrize("key", list_cards(None))
def test_every_card_validates_and_names_a_loadable_adapter(key):
    card = load_card(key, None)
    assert card.key == key and card.frames >= 1 and card.audio_rate == 16000
    assert card.tiny or (card.hub_id and "/" in card.hub_id and card.min_gpu_gib > 0)
    assert card.context_length and card.context_length >= 4096  # the engine and the GPU check read it
    cls = adapter_class(card)
    assert callable(getattr(cls, "answer", None))


def test_the_published_sizes_are_in_the_zoo():
    assert {"qwen2_5_omni_3b", "qwen2_5_omni_7b", "qwen3_omni_30b_a3b"} <= set(list_cards(None))
    with pytest.raises(ConfigError, match="unknown zoo model"):
        load_card("gpt_omni", None)


def test_importing_the_zoo_loads_no_heavy_library():
    code = (
        "import sys, aurelia_local.zoo.cards; "
        "print([m for m in ('torch','vllm','transformers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_card_refuses_what_its_modalities_do_not_list():
    card = load_card("tiny_qwen2_5_omni", None)
    assert card.refusal(video=True, audio=True) is None and card.refusal(True, False, still=True) is None
    video_only = card.model_copy(update={"modalities": ("video", "text"), "audio_in_video": False})
    assert video_only.refusal(video=True, audio=False) is None
    assert "needs audio," in video_only.refusal(video=True, audio=True)
    assert "needs image and audio" in video_only.refusal(video=True, audio=True, still=True)


def test_list_models_shows_what_the_code_reads_from_each_card():
    from aurelia_local.app.listing import render, shown

    card = load_card("tiny_qwen2_5_omni", None)
    caps = shown("models", card)
    assert caps["context"] == card.context_length == 4096 and caps["audio_in_video"] is True
    assert "audio_item_s" in caps and "context=4096" in render("models", [card])
