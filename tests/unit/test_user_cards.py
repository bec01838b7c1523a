"""Zoo cards from a user folder (``zoo.cards_dir``), ``aurelia list``, and the cards' capability fields."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from aurelia_local.core.config import load_settings
from aurelia_local.core.errors import ConfigError, ModelMissingError
from aurelia_local.zoo.base import TargetRequest
from aurelia_local.zoo.cards import list_cards, load_card
from aurelia_local.zoo.omni import OmniAdapter

HEAVY = ("torch", "vllm", "transformers", "open_clip", "whisper")
CARD = {
    "key": "my_omni", "summary": "my fine-tuned Qwen2.5-Omni", "kind": "qwen2_5_omni",
    "modalities": ["video", "text"], "hub_id": None, "folder": "mine/omni", "dtype": "bfloat16", "frames": 6,
    "audio_rate": 16000, "min_gpu_gib": 20, "audio_in_video": False, "licence": "mine",
}  # fmt: skip


def _write(where: Path, name: str, **fields) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**CARD, "key": name, **fields}))
    return path


def _settings(cards: Path | None = None, models_dir: Path | None = None):
    sets = [f"zoo.cards_dir={cards}"] if cards else []
    sets += [f"models_dir={models_dir}"] if models_dir else []
    return load_settings("smoke", overrides=sets, environ={})


def _aurelia(*argv: str) -> subprocess.CompletedProcess:
    """Run ``aurelia ARGV`` in a fresh interpreter; its last line lists the heavy modules it imported."""
    code = (
        "import sys\nfrom aurelia_local.app.cli import main\nrc = main(sys.argv[1:])\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\nsys.exit(rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURELIA_")}
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env)


def test_a_user_card_appears_in_the_zoo_and_in_aurelia_list_models(tmp_path):
    path = _write(tmp_path / "cards", "my_omni")
    settings = _settings(tmp_path / "cards")
    card = load_card("my_omni", settings)
    assert card.origin == str(path) and card.modalities == ("video", "text") and not card.audio_in_video
    assert "my_omni" in list_cards(settings) and "my_omni" not in list_cards(None)
    assert load_card("my_omni", tmp_path / "cards") == card  # a folder works as well as settings
    proc = _aurelia("list", "models", "--set", f"zoo.cards_dir={tmp_path / 'cards'}")
    assert proc.returncode == 0, proc.stderr
    *lines, heavy = proc.stdout.strip().splitlines()
    assert heavy == "[]"
    at = next(i for i, line in enumerate(lines) if line.startswith("my_omni "))
    assert "my fine-tuned Qwen2.5-Omni" in lines[at]
    shown = (f"family=qwen2_5_omni modalities=video+text audio_in_video=no frames=6 fps=- context=- "
             f"dtype=bfloat16 min_gpu_gib=20 tiny=no source={path} audio_item_s=-")  # fmt: skip
    assert shown in lines[at + 1]
    assert any(line.startswith("qwen2_5_omni_7b ") for line in lines)


@pytest.mark.parametrize("what", ["models", "families", "benchmarks", "scorers", "arms"])
def test_aurelia_list_prints_every_entry_as_text_and_json_without_heavy_imports(what):
    text, data = _aurelia("list", what), _aurelia("list", what, "--json")
    assert text.returncode == 0 and data.returncode == 0, text.stderr + data.stderr
    assert text.stdout.strip().splitlines()[-1] == "[]" and data.stdout.strip().splitlines()[-1] == "[]"
    entries = json.loads(data.stdout.strip().rsplit("\n", 1)[0])
    assert entries and all(e["key"] and e["summary"] for e in entries)
    for entry in entries:
        assert any(line.startswith(entry["key"] + " ") for line in text.stdout.splitlines())


def test_a_user_card_with_a_built_in_key_replaces_it(tmp_path):
    path = _write(tmp_path, "qwen2_5_omni_7b", summary="the 7B with my weights", folder="/weights/7b")
    settings = _settings(tmp_path)
    card = load_card("qwen2_5_omni_7b", settings)
    assert card.folder == "/weights/7b" and card.origin == str(path)
    assert list_cards(settings).count("qwen2_5_omni_7b") == 1
    assert load_card("qwen2_5_omni_7b", None).origin == "package"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("key: [unclosed\n", "not valid YAML"),
        ("- a list\n", "must hold a mapping"),
        (yaml.safe_dump({**CARD, "key": "bad", "kind": "gpt_omni"}), "unknown model kind 'gpt_omni'"),
        (yaml.safe_dump({**CARD, "key": "bad", "kind": "clap"}), "has no zoo adapter"),
        (yaml.safe_dump({**CARD, "key": "bad", "audio_in_video": True}), "audio_in_video needs both"),
        (yaml.safe_dump({**CARD, "key": "bad", "colour": "red"}), "colour"),
        (yaml.safe_dump({**CARD, "key": "other"}), "must be the file name"),
    ],
)
def test_a_malformed_user_card_is_a_config_error_naming_the_file(tmp_path, text, why):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=why) as caught:
        list_cards(_settings(tmp_path))
    assert str(tmp_path / "bad.yaml") in str(caught.value)


def test_a_missing_cards_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="zoo.cards_dir .*nowhere is not a folder"):
        load_card("qwen2_5_omni_7b", _settings(tmp_path / "nowhere"))


def test_an_absolute_or_home_card_folder_is_resolved_not_a_type_error(tmp_path, monkeypatch):
    # The defect: an absolute ``folder`` stayed a str and ``path / "config.json"`` raised TypeError.
    _write(tmp_path / "cards", "abs_omni", folder=str(tmp_path / "weights" / "abs"))
    _write(tmp_path / "cards", "home_omni", folder="~/weights/home")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    settings = _settings(tmp_path / "cards", models_dir=tmp_path / "models")
    expected = {"abs_omni": tmp_path / "weights" / "abs", "home_omni": tmp_path / "home" / "weights" / "home"}
    for key, where in expected.items():
        with pytest.raises(ModelMissingError, match=f"no usable weights in {where} "):
            OmniAdapter(load_card(key, settings), settings, "hf")


class _Recorder:
    def __init__(self):
        self.requests = []

    model_id = "recorder"

    async def generate(self, items):
        self.requests += [i.request for i in items]
        return [i.request.inputs for i in items]


def _bundle():
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    return SimpleNamespace(audio=np.zeros(16000, np.float32), sample_rate=16000, audio_source="video",
                           frames=frames, frames_fps=1.0, frame_times=(0.5, 1.5))  # fmt: skip


def test_the_adapter_reads_the_cards_modalities_and_audio_in_video(tmp_path):
    settings = _settings(tmp_path)
    _write(tmp_path, "my_omni")  # video and text only, no interleaving
    _write(tmp_path, "full_omni", modalities=["video", "audio", "text"], audio_in_video=True)
    _write(tmp_path, "split_omni", modalities=["video", "audio", "text"], audio_in_video=False)
    engine = _Recorder()
    mute = OmniAdapter(load_card("my_omni", settings), settings, engine=engine)
    with pytest.raises(ConfigError, match="my_omni takes video, text: this request needs audio"):
        mute.answer([TargetRequest(_bundle(), "q", video=True, audio=True)])
    (inputs,) = mute.answer([TargetRequest(_bundle(), "q", video=True, audio=False)])
    assert inputs.audio is None and inputs.frames is not None
    full = OmniAdapter(load_card("full_omni", settings), settings, engine=engine)
    split = OmniAdapter(load_card("split_omni", settings), settings, engine=engine)
    (joined,) = full.answer([TargetRequest(_bundle(), "q")])
    (apart,) = split.answer([TargetRequest(_bundle(), "q")])
    assert joined.audio_in_video and not apart.audio_in_video and apart.audio is not None
