"""The built-in registries, as data: model families, scorers, benchmarks, evaluation arms and protocols.

Each entry's capability fields are read by the code that uses it (config validation, model-folder
checks, the omni engines, the scorer factory, the benchmark loader, prompt injection, the CLI).
Code is named by dotted path strings and resolved with ``aurelia_local.core.registry.load`` only by
the layer that uses it, so this module imports nothing above ``core`` and nothing heavy. Zoo targets
(model cards) are the one registry kept as YAML files: see ``aurelia_local.zoo.cards``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import computed_field, model_validator

from aurelia_local.core.registry import Entry, Registry

Modality = Literal["video", "audio", "image", "text"]
Topology = Literal["aurelia", "avrt"]  # where r* comes from: the loop, or the loop with AVRT's round one


class ModelFamily(Entry):
    """A kind of model (``ModelRef.kind``, ``ModelCard.kind``): what it takes and how it is stored."""

    inputs: tuple[Modality, ...]
    model_class: str | None = None  # transformers class of the full model (omni: only its thinker is used)
    audio_token: str | None = None  # placeholder tokens an omni prompt holds for each medium
    video_token: str | None = None
    image_token: str | None = None
    required_files: tuple[tuple[str, ...], ...] = ()  # a usable folder holds one file of each group
    checkpoint_file: str | None = None  # a folder holding one checkpoint (``ModelRef.file`` overrides it)
    adapter: str | None = None  # dotted path of the zoo adapter class, for families that can be targets
    plugin: str | None = None  # dotted path of the engine-layer family class, for models an engine serves
    tiny: str | None = None  # dotted path of its tiny-kit builder ``(folder, seed) -> None`` (engine layer)
    # the longest audio one item may carry; longer audio is split into items of this length
    audio_item_seconds: float | None = None
    audio_tokens_per_second: float | None = None  # audio placeholders a prompt holds per second of sound
    interleaves_audio: bool = False  # a video's soundtrack can go inside its frames, ordered by time

    @computed_field
    @property
    def omni(self) -> bool:
        """Takes video and audio in one prompt."""
        return "video" in self.inputs and "audio" in self.inputs

    @model_validator(mode="after")
    def _consistent(self) -> ModelFamily:
        if self.omni and not (self.model_class and self.audio_token and self.video_token):
            raise ValueError(f"omni family {self.key} needs model_class, audio_token and video_token")
        if self.plugin:  # an engine serves it: every medium it takes has the placeholder its prompts hold
            media = [m for m in ("audio", "video", "image") if m in self.inputs]
            untokened = [m for m in media if not getattr(self, f"{m}_token")]
            if untokened or (media and not self.model_class):
                raise ValueError(
                    f"family {self.key} takes {', '.join(media)}: it needs model_class and a placeholder "
                    f"token for each ({', '.join(f'{m}_token' for m in untokened) or 'model_class'} missing)"
                )
        if not self.required_files and not self.checkpoint_file:
            raise ValueError(f"family {self.key} names neither required_files nor checkpoint_file")
        return self


class ScorerEntry(Entry):
    """A caption scorer (``evaluator.scorer``)."""

    roles: tuple[str, ...]  # the model roles it needs
    needs_engine: bool  # built with the omni judge engine
    class_path: str  # dotted path of the scorer class
    parts: tuple[str, ...] = ()  # scorers combined (built first, passed in order, then the judge weight)


class BenchmarkEntry(Entry):
    """A benchmark ``aurelia eval --benchmark`` reads."""

    loader: str  # dotted path of ``f(root: Path, data: DataConfig) -> Iterable[Sample | SampleError]``
    answer: Literal["choice", "open", "mixed"]  # option letters, open words, or per sample
    layout: str  # the folder layout expected under --data-root, in one sentence


class ProtocolEntry(Entry):
    """How every target of an evaluation is asked and how its answers are read.

    ``project`` is the project's own protocol; the others are a benchmark's official evaluation
    script as data, so that a published number can be reproduced before a gain is trusted. Under a
    protocol every arm gets its media, system prompt and content order; the direct arms (no reasoning
    instruction, no r*) get its prompt, its decoding and its answer extraction, so ``zero_shot`` is
    the official request exactly; the reasoning arms keep their own instruction, token budget and
    extractor.
    """

    benchmark: str | None = None  # the benchmark whose official script this follows
    source: str | None = None  # where that script is: repository, path, version
    system: str | None = None  # the system prompt of every arm
    text_first: bool = False  # the user turn's text before its media (else the media first)
    prompt: str | None = None  # the direct arms' text ({question}, {choices}); None: the project's
    choices: Literal["python_list"] | None = None  # how {choices} is written: the lettered options
    # as the script's own f-string writes a Python list of strings
    audio: bool = True  # whether the targets hear the soundtrack at all
    media: dict[str, str | int | float | bool] = {}  # the targets' media settings (``media.*``)
    max_tokens: int | None = None  # the direct arms' decoding budget (greedy); None: ``sampling``
    extraction: Literal["project", "first_letter"] = "project"  # the direct arms' answer reading

    @model_validator(mode="after")
    def _complete(self) -> ProtocolEntry:
        if self.prompt is not None and ("{question}" not in self.prompt or self.choices is None):
            raise ValueError(f"protocol {self.key}: a prompt needs {{question}} and a choices format")
        return self


class ArmEntry(Entry):
    """An evaluation arm: what the target model sees and is told."""

    video: bool
    audio: bool
    r_star: Topology | None = None  # injected reasoning, and the topology that produces it
    instruction: Literal["cot"] | None = None  # an instruction added to the question
    vote: bool = False  # k answers sampled (``eval.self_consistency_*``), majority vote of their extractions
    default: bool = True  # in the default ``--arms``

    @model_validator(mode="after")
    def _sees_something(self) -> ArmEntry:
        # only the text-only floor goes without media; any other arm without them is a mistake
        if not (self.video or self.audio) and (self.r_star or self.instruction):
            raise ValueError(f"arm {self.key} gives the target neither video nor audio")
        return self


_OMNI_FILES = (
    ("config.json",),
    ("tokenizer.json", "vocab.json"),
    ("preprocessor_config.json", "processor_config.json"),
)
_OMNI_ADAPTER = "aurelia_local.zoo.omni:OmniAdapter"
_QWEN_PLUGIN = "aurelia_local.engines.families.qwen_omni:QwenOmni"
_QWEN = "aurelia_local.engines.families.qwen_omni"
_ENCODERS = "aurelia_local.engines.tiny.encoders"
_AF3 = "aurelia_local.engines.families.audio_flamingo"

FAMILIES: Registry[ModelFamily] = Registry("model kind", [
    ModelFamily(key="qwen2_5_omni", summary="Qwen2.5-Omni thinker: video or image, audio, text in",
                inputs=("video", "audio", "image", "text"),
                model_class="Qwen2_5OmniForConditionalGeneration", audio_token="<|AUDIO|>",
                video_token="<|VIDEO|>", image_token="<|IMAGE|>", required_files=_OMNI_FILES,
                audio_tokens_per_second=25, interleaves_audio=True,
                adapter=_OMNI_ADAPTER, plugin=_QWEN_PLUGIN, tiny=f"{_QWEN}:build_tiny_qwen2_5_omni"),
    ModelFamily(key="qwen3_omni_moe", summary="Qwen3-Omni MoE thinker: video or image, audio, text in",
                inputs=("video", "audio", "image", "text"),
                model_class="Qwen3OmniMoeForConditionalGeneration", audio_token="<|audio_pad|>",
                video_token="<|video_pad|>", image_token="<|image_pad|>", required_files=_OMNI_FILES,
                audio_tokens_per_second=13, interleaves_audio=True,
                adapter=_OMNI_ADAPTER, plugin=_QWEN_PLUGIN, tiny=f"{_QWEN}:build_tiny_qwen3_omni_moe"),
    # Gemma 4 takes the soundtrack as audio items of its own beside the frames (no interleaving); its
    # feature extractor cuts every item at 30 s.
    ModelFamily(key="gemma4", summary="Gemma 4 E2B/E4B: video or image, audio (30 s items), text in",
                inputs=("video", "audio", "image", "text"), model_class="Gemma4ForConditionalGeneration",
                audio_token="<|audio|>", video_token="<|video|>", image_token="<|image|>",
                required_files=_OMNI_FILES, adapter=_OMNI_ADAPTER,
                plugin="aurelia_local.engines.families.gemma4:Gemma4",
                tiny="aurelia_local.engines.families.gemma4:build_tiny_gemma4", audio_item_seconds=30,
                audio_tokens_per_second=25),
    # AVRT's single-modality teachers: one sees frames only, the other hears audio only.
    ModelFamily(key="qwen3_vl", summary="Qwen3-VL: video or image, text in (AVRT's vision teacher)",
                inputs=("video", "image", "text"), model_class="Qwen3VLForConditionalGeneration",
                video_token="<|video_pad|>", image_token="<|image_pad|>", required_files=_OMNI_FILES,
                plugin="aurelia_local.engines.families.qwen_vl:QwenVL",
                tiny="aurelia_local.engines.families.qwen_vl:build_tiny_qwen3_vl"),
    # One audio item a prompt, cut by the model into 30 s windows up to 10 minutes.
    ModelFamily(key="audio_flamingo3", summary="Audio Flamingo 3: audio (up to 10 min), text in (AVRT's "
                "audio teacher)", inputs=("audio", "text"),
                model_class="AudioFlamingo3ForConditionalGeneration", audio_token="<sound>",
                required_files=_OMNI_FILES, audio_item_seconds=600, audio_tokens_per_second=25,
                plugin=f"{_AF3}:AudioFlamingo3", tiny=f"{_AF3}:build_tiny_audio_flamingo3"),
    ModelFamily(key="text_llm", summary="a chat text LLM (the summarizer and the AVRT merger)",
                inputs=("text",), required_files=(("config.json",), ("tokenizer.json", "vocab.json")),
                plugin="aurelia_local.engines.families.text_llm:TextLLM",
                tiny="aurelia_local.engines.families.text_llm:build_tiny"),
    ModelFamily(key="open_clip", summary="an open_clip image-text encoder (visual grounding)",
                inputs=("video", "text"), required_files=(("open_clip_config.json",),),
                tiny=f"{_ENCODERS}:build_open_clip"),
    ModelFamily(key="clap", summary="a CLAP audio-text encoder (audio grounding)", inputs=("audio", "text"),
                required_files=(("config.json",), ("preprocessor_config.json", "processor_config.json")),
                tiny=f"{_ENCODERS}:build_clap"),
    ModelFamily(key="whisper", summary="an openai-whisper checkpoint (speech transcripts)",
                inputs=("audio",), checkpoint_file="model.pt", tiny=f"{_ENCODERS}:build_whisper"),
])  # fmt: skip

SCORERS: Registry[ScorerEntry] = Registry("scorer", [
    ScorerEntry(key="grounding", summary="CLIP and CLAP similarity, calibrated against distractors",
                roles=("clip", "clap"), needs_engine=False,
                class_path="aurelia_local.core.scoring.grounding:GroundingScorer"),
    ScorerEntry(key="judge", summary="the omni judge model rates the caption against the media",
                roles=("judge",), needs_engine=True, class_path="aurelia_local.engines.judge:JudgeScorer"),
    ScorerEntry(key="hybrid", summary="grounding and judge scores, weighted by evaluator.judge_weight",
                roles=("clip", "clap", "judge"), needs_engine=True,
                class_path="aurelia_local.engines.hybrid:HybridScorer", parts=("grounding", "judge")),
])  # fmt: skip

BENCHMARKS: Registry[BenchmarkEntry] = Registry("benchmark", [
    BenchmarkEntry(key="daily_omni", summary="Daily-Omni: multiple-choice questions on everyday AV clips",
                   loader="aurelia_local.core.datasets:load_daily_omni", answer="choice",
                   layout="qa.json and Videos/<video_id>/<video_id>_video.mp4 under --data-root"),
    BenchmarkEntry(key="worldsense", summary="WorldSense: multiple-choice questions on real-world AV videos",
                   loader="aurelia_local.core.datasets:load_worldsense", answer="choice",
                   layout="worldsense_qa.json (video id -> task0, task1, ...) and videos/<video_id>.mp4"),
    BenchmarkEntry(key="omnibench", summary="OmniBench: multiple-choice questions on an image and a sound",
                   loader="aurelia_local.core.datasets:load_omnibench", answer="choice",
                   layout="dataset/*.jsonl; image_path and audio_path under mm_data/image and mm_data/audio"),
    BenchmarkEntry(key="music_avqa", summary="MUSIC-AVQA: open questions on music performances",
                   loader="aurelia_local.core.datasets:load_music_avqa", answer="open",
                   layout="an annotation JSON (avqa-test.json) in --data-root; clips in videos/<id>.mp4"),
    BenchmarkEntry(key="manifest", summary="the project's JSONL manifest (any questions, any clips)",
                   loader="aurelia_local.core.datasets:load_manifest", answer="mixed",
                   layout="--data-root is the .jsonl file; media paths are relative to its folder"),
])  # fmt: skip

ARMS: Registry[ArmEntry] = Registry("arm", [
    ArmEntry(key="zero_shot", summary="the question alone", video=True, audio=True),
    ArmEntry(key="cot", summary="the question and a think-step-by-step instruction", video=True, audio=True,
             instruction="cot"),
    ArmEntry(key="aurelia", summary="the question and r* from the AURELIA loop", video=True, audio=True,
             r_star="aurelia"),
    ArmEntry(key="video_only", summary="the question, video without audio", video=True, audio=False),
    ArmEntry(key="audio_only", summary="the question, audio without video", video=False, audio=True),
    ArmEntry(key="avrt", summary="the question and r* from the loop with AVRT's teachers as round one",
             video=True, audio=True, r_star="avrt", default=False),
    ArmEntry(key="self_consistency", summary="the cot prompt answered k times at a temperature; majority "
             "vote", video=True, audio=True, instruction="cot", vote=True, default=False),
    ArmEntry(key="text_only", summary="the question and options alone, no media: what answers without "
             "seeing or hearing", video=False, audio=False, default=False),
])  # fmt: skip


# Daily-Omni's evaluation script for Qwen2.5-Omni (test_model/Qwen2.5-Omni/testmodel.py).
DAILY_OMNI_REPO = "Lliar-liar/Daily-Omni, test_model/Qwen2.5-Omni/testmodel.py"
QWEN_OMNI_SYSTEM = (
    "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of perceiving "
    "auditory and visual inputs, as well as generating text and speech."
)
DAILY_OMNI_PROMPT = (
    "\nYour task is to accurately answer multiple-choice questions based on the given video.\n"
    "Select the single most accurate answer from the given choices.\n"
    "Question: {question}\n"
    "Choices: {choices}\n"
    "Your answer should be a capital letter representing your choice: A, B, C, or D. "
    "Don't generate any other text.\n"
)
# qwen_omni_utils.process_mm_info's defaults (qwen-omni-utils 0.0.9, Qwen2.5-Omni's 28-pixel merge unit):
# 2 frames per second (4 to 768, an even count), 128 to 768 tokens' worth of pixels a frame, within a
# total pixel budget of 0.9 x 128,000 tokens.
QWEN_OMNI_UTILS_VIDEO: dict[str, str | int | float | bool] = {
    "frame_sampling": "fps", "sample_fps": 2.0, "min_frames": 4, "max_frames": 768,
    "video_min_pixels": 128 * 28 * 28, "video_max_pixels": 768 * 28 * 28,
    "video_total_pixels": 128000 * 28 * 28 * 9 // 10,
}  # fmt: skip

PROTOCOLS: Registry[ProtocolEntry] = Registry("protocol", [
    ProtocolEntry(key="project", summary="the project's own: the profile's media, the arms' prompts, the "
                  "profile's decoding, the project's answer extractor"),
    ProtocolEntry(key="daily_omni_official", summary="Daily-Omni's script for Qwen2.5-Omni as it is now: "
                  "video (with its soundtrack) before the text, 10 greedy tokens, the first letter",
                  benchmark="daily_omni", source=f"{DAILY_OMNI_REPO} after pull request #3 (commit b8bbbf4)",
                  system=QWEN_OMNI_SYSTEM, prompt=DAILY_OMNI_PROMPT, choices="python_list",
                  media={**QWEN_OMNI_UTILS_VIDEO, "use_audio_in_video": True}, max_tokens=10,
                  extraction="first_letter"),
    # The first version handed the audio to the processor under a name it ignores (``audios=``):
    # the model saw the video alone, after the text.
    ProtocolEntry(key="daily_omni_v1", summary="Daily-Omni's first script: the text before the video, no "
                  "audio reaching the model, 10 greedy tokens, the first letter",
                  benchmark="daily_omni", source=f"{DAILY_OMNI_REPO} at commit ec94dc8",
                  system=QWEN_OMNI_SYSTEM, text_first=True, prompt=DAILY_OMNI_PROMPT, choices="python_list",
                  audio=False, media=dict(QWEN_OMNI_UTILS_VIDEO), max_tokens=10, extraction="first_letter"),
])  # fmt: skip


def default_arms() -> tuple[str, ...]:
    """The arms ``aurelia eval`` runs when ``--arms`` is not given."""
    return tuple(a.key for a in ARMS if a.default)
