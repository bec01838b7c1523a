"""``aurelia train`` without training: AVRT's recipe as settings, the ms-swift command built from them,
the export read in ms-swift's layout, and what is refused before anything runs."""

import json
from pathlib import Path

import pytest

from aurelia_local.app.train import (
    Base,
    check_settings,
    media_token_ids,
    resolve_base,
    swift_args,
    swift_rows,
)
from aurelia_local.core.config import config_hash, load_settings
from aurelia_local.core.errors import AureliaError, ConfigError


def _flags(argv: list[str]) -> dict[str, str | list[str]]:
    """``--key value [value...]`` pairs of an argument list."""
    flags: dict[str, str | list[str]] = {}
    for item in argv:
        if item.startswith("--"):
            key = item[2:]
            flags[key] = []
        else:
            flags[key].append(item)
    return {k: v[0] if len(v) == 1 else v for k, v in flags.items()}


def _base(tmp_path: Path) -> Base:
    return Base(tmp_path / "model", "qwen2_5_omni", "bfloat16")


def test_the_defaults_are_avrts_recipe_on_four_gpus(tmp_path):
    settings = load_settings("default", environ={})
    sft = _flags(swift_args("sft", settings, _base(tmp_path), tmp_path / "out", gpus=4))
    assert (sft["learning_rate"], sft["lr_scheduler_type"], sft["warmup_steps"]) == ("2e-06", "cosine", "100")
    assert (sft["num_train_epochs"], sft["max_steps"]) == ("1.0", "-1")
    # an effective batch of 32: 1 per device x 4 GPUs x 8 accumulated
    assert (sft["per_device_train_batch_size"], sft["gradient_accumulation_steps"]) == ("1", "8")
    assert (sft["freeze_vit"], sft["freeze_aligner"], sft["tuner_type"]) == ("true", "true", "full")
    assert (sft["bf16"], sft["model_type"], sft["deepspeed"]) == ("true", "qwen2_5_omni", "zero2")
    grpo = _flags(swift_args("grpo", settings, _base(tmp_path), tmp_path / "out", gpus=4))
    assert (grpo["rlhf_type"], grpo["num_generations"]) == ("grpo", "4")
    assert (grpo["epsilon"], grpo["beta"]) == ("0.2", "0.01")
    assert (grpo["temperature"], grpo["deepspeed"], grpo["use_vllm"], grpo["vllm_mode"]) == (
        "1.0", "zero2", "true", "colocate"
    )  # fmt: skip
    assert grpo["reward_funcs"] == ["aurelia_format", "aurelia_accuracy", "aurelia_length"]
    assert "aurelia_no_media_tokens" not in grpo["callbacks"]  # vLLM samples the rollouts


def test_on_cpu_rollouts_come_from_transformers_and_every_step_accumulates_the_batch(tmp_path):
    settings = load_settings("smoke", environ={})
    grpo = _flags(swift_args("grpo", settings, _base(tmp_path), tmp_path / "out", gpus=0))
    assert (grpo["use_vllm"], grpo["gradient_accumulation_steps"], grpo["bf16"]) == ("false", "32", "false")
    assert grpo["callbacks"] == ["aurelia_progress", "aurelia_no_media_tokens"]
    assert grpo["dataloader_num_workers"] == "0" and "deepspeed" not in grpo
    assert (grpo["use_cpu"], grpo["device_map"]) == ("true", "cpu")  # also where a GPU is visible
    one_gpu = _flags(swift_args("sft", settings, _base(tmp_path), tmp_path / "out", gpus=1))
    assert "deepspeed" not in one_gpu and one_gpu["gradient_accumulation_steps"] == "32"


def test_each_training_setting_is_overridable_and_none_changes_the_inference_hash():
    plain = load_settings("smoke", environ={})
    changed = load_settings(
        "smoke", overrides=["train.learning_rate=1e-5"], environ={"AURELIA_TRAIN__GRPO__BETA": "0.04"}
    )
    assert (changed.train.learning_rate, changed.train.grpo.beta) == (1e-5, 0.04)
    assert config_hash(changed) == config_hash(plain)  # distill and eval results do not depend on it
    with pytest.raises(ConfigError, match="train"):
        load_settings("smoke", overrides=["train.learning_rat=1e-5"], environ={})


@pytest.mark.parametrize(
    ("overrides", "stage", "message"),
    [
        (["train.deepspeed=zero2"], "sft", "needs CUDA GPUs; on CPU set it to auto or none"),
        (["train.grpo.rollouts=vllm"], "grpo", "needs CUDA GPUs"),
        (["train.effective_batch_size=6"], "grpo", "not a multiple of train.grpo.num_generations 4"),
        (["train.per_device_batch_size=3"], "sft", "not a multiple of train.per_device_batch_size 3"),
    ],
)
def test_settings_a_cpu_cannot_train_with_are_refused_by_name(overrides, stage, message):
    with pytest.raises(ConfigError, match=message):
        check_settings(stage, load_settings("smoke", overrides=overrides, environ={}), gpus=0)


def _export_line(video: Path, **extra) -> str:
    record = {"id": "s1", "messages": [{"role": "user", "content": "<video>Which?\nA. x\nB. y\n\nThink..."}],
              "videos": [str(video)], "audios": [], "solution": "B", "choices": ["x", "y"],
              "prompt_version": "grpo-1", **extra}  # fmt: skip
    return json.dumps(record) + "\n"


def test_an_export_becomes_ms_swift_rows_with_the_soundtrack_inside_the_video(tmp_path, daily_omni_clip):
    data = tmp_path / "grpo.jsonl"
    data.write_text(_export_line(daily_omni_clip))
    (row,) = swift_rows("grpo", data, load_settings("smoke", environ={}))
    assert row == {"messages": [{"role": "user", "content": "<video>Which?\nA. x\nB. y\n\nThink..."}],
                   "videos": [str(daily_omni_clip)], "solution": "B", "choices": ["x", "y"]}  # fmt: skip


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "s1"}\n', r"grpo.jsonl:1 is not a grpo export record .*--export grpo"),
        (_export_line(Path("/nowhere/clip.mp4")), r"grpo.jsonl:1 \(s1\): no file /nowhere/clip.mp4"),
        (_export_line(Path("/x.mp4"), audios=["/x.wav"]), "has an audio file apart from its video"),
    ],
)
def test_records_that_cannot_train_are_refused_naming_the_line(tmp_path, line, message):
    data = tmp_path / "grpo.jsonl"
    data.write_text(line)
    with pytest.raises(AureliaError, match=message):
        list(swift_rows("grpo", data, load_settings("smoke", environ={})))


def _model(folder: Path, config: dict, **files: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_a_base_model_is_a_qwen2_5_omni_folder_without_code_of_its_own(tmp_path):
    settings = load_settings("smoke", environ={})
    omni = {"architectures": ["Qwen2_5OmniForConditionalGeneration"], "model_type": "qwen2_5_omni"}
    thinker = {"audio_token_index": 3, "video_token_index": 10, "hidden_size": 8}
    ok = _model(tmp_path / "ok", {**omni, "thinker_config": thinker})
    assert resolve_base(str(ok), settings) == Base(ok, "qwen2_5_omni", "auto")
    assert media_token_ids(ok) == [3, 10]
    gemma = _model(tmp_path / "gemma", {"architectures": ["Gemma4ForConditionalGeneration"]})
    with pytest.raises(ConfigError, match="is a gemma4 model; aurelia train takes qwen2_5_omni"):
        resolve_base(f"path:{gemma}", settings)
    coded = _model(tmp_path / "coded", {**omni, "auto_map": {"AutoModel": "modeling_x.Model"}})
    with pytest.raises(ConfigError, match=r"ships its own model code \(config.json\)"):
        resolve_base(str(coded), settings)
