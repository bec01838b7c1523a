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
