"""GPU check: the real-size zoo models answer one question on a video clip.

Every zoo card (``aurelia_local/zoo/cards/*.yaml``) with ``real_config`` (its published
``config.json`` values; the thinker's for an omni model with a talker) is built at real size with
random bf16 weights: parameters are created on the meta device, then allocated on the GPU and filled
with a seeded normal (std 0.02; norms 1, biases 0), so nothing is downloaded and no CPU copy of the
weights is made. The card's ``kind`` picks the transformers classes (``FAMILIES`` below; the thinker
alone for an omni model with a talker). An offline processor with a word-level tokenizer holding the
family's special tokens (their ids go into the config; the vocabulary keeps its published size)
turns N uniform frames and the 16 kHz mono audio of the clip into one prompt: the Qwen omni models
get the audio interleaved into the video (``use_audio_in_video=True``), Gemma 4 gets it as an item
of its own with its 30 s audio cap raised to 60 s. transformers generates greedily. Printed per card:
parameters (total, language model, vision, audio), build seconds, prompt tokens (video/audio
placeholders), peak GPU memory (``torch.cuda.max_memory_allocated``) and seconds per sample (median
of ``--runs`` runs after one warm-up); ``--json FILE`` writes the same as JSON. The answers are noise
(random weights): this checks that the real sizes fit and run, and how fast.

CPU mode (``--cpu``, or ``--meta``; taken without a CUDA device) builds every card on the meta device
only: parameter counts and the clip's prompt tokens, no generation. It also checks that each
profile's media settings (``aurelia_local/core/profiles/*.yaml``: frame count or fps sampling, pixel
budget) fit each card on a 60 s clip: the prompt (the profile's frames of a 16:9 source larger than
any pixel budget, 60 s of audio, the question) must fit the card's ``context_length`` and the
profile's ``engine.max_model_len``. A table shows every pair; any that does not fit is named with its
numbers and the exit status is 1.

Run it from the source tree on a lean CUDA machine (Python 3.12, torch, torchvision, transformers
>= 5.17, numpy, scipy, pillow, opencv-python-headless, pyyaml)::

    python3 scripts/gpu_check.py --json out.json

It downloads nothing, imports nothing from ``aurelia_local`` (it reads the cards and profiles as YAML)
and needs neither pydantic, vLLM, PyAV nor decord, so no wheel has to be carried (``tokenizers`` comes
with transformers). Frames come from OpenCV (PyAV if OpenCV is missing); audio from ``--audio`` (a
WAV; by default the ``*_audio.wav`` beside the clip), else from the clip through the ``ffmpeg`` binary
or PyAV.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from math import gcd
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AURELIA_SHARED_DATA", REPO.parent / "shared" / "data"))
CLIP = SHARED / "daily_omni_mini/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4"
CARDS_DIR = REPO / "aurelia_local" / "zoo" / "cards"
PROFILES_DIR = REPO / "aurelia_local" / "core" / "profiles"
PROFILES = ("smoke", "default", "large")
QUESTION = (
    "Which visual-audio pair occurs at the very beginning of the video?\n"
    "A. Construction site overview -- training program name reference\n"
    "B. Detailed sign graphic -- geographical location mention\n"
    "C. Instructor in PPE -- personal equipment experience anecdote\n"
    "D. Excavator movement -- hands-on training phase description\n"
    "Answer with the option's letter."
)
SYSTEM = (
    "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of perceiving "
    "auditory and visual inputs, as well as generating text and speech."
)
RATE = 16000
STD = 0.02
FIT_SECONDS = 60.0  # the clip length the profiles' media settings must fit
FIT_FPS = 30.0  # its frame rate (fps sampling counts frames of it)
MIN_PIXELS = 128 * 28 * 28  # the frames' lower pixel bound in GPU mode (Qwen's default)
# MediaConfig's defaults (aurelia_local/core/config.py) for what a profile's ``media`` section may set.
MEDIA_DEFAULTS = {
    "num_frames": 8, "frame_sampling": "uniform", "sample_fps": 2.0, "min_frames": 4, "max_frames": 768,
    "video_min_pixels": 128 * 28 * 28, "video_max_pixels": 768 * 28 * 28,
    "video_total_pixels": 128000 * 28 * 28 * 9 // 10,
}  # fmt: skip
DIGITS = " ".join(f"{n:02d}" for n in range(60))  # Gemma 4 writes each frame's mm:ss before it


@dataclass(frozen=True)
class Family:
    """How one model kind is built and prompted here."""

    config: str  # transformers config class, made from the card's real_config
    model: str  # transformers model class (the thinker of an omni model with a talker)
    tokens: dict[str, str]  # special tokens, in id order
    named: tuple[str, ...]  # tokens the processor reads from the tokenizer as ``<name>_token``
    parts: dict[str, tuple[str, ...]]  # part -> the model's submodules that make it up
    audio_in_video: bool  # the soundtrack is interleaved into the video in the prompt

    @property
    def gemma(self) -> bool:
        """Gemma 4: the audio is an item of its own, each frame has its own soft-token budget."""
        return self.config.startswith("Gemma")


QWEN_PARTS = {"lm": ("model", "lm_head"), "vision": ("visual",), "audio": ("audio_tower",)}
QWEN_NAMED = ("image", "audio", "video", "vision_bos", "vision_eos", "audio_bos", "audio_eos")
FAMILIES = {
    "qwen2_5_omni": Family(
        "Qwen2_5OmniThinkerConfig", "Qwen2_5OmniThinkerForConditionalGeneration",
        {"pad": "<|endoftext|>", "im_start": "<|im_start|>", "eos": "<|im_end|>", "audio": "<|AUDIO|>",
         "audio_bos": "<|audio_bos|>", "audio_eos": "<|audio_eos|>", "vision_bos": "<|vision_bos|>",
         "vision_eos": "<|vision_eos|>", "vision_pad": "<|vision_pad|>", "image": "<|IMAGE|>",
         "video": "<|VIDEO|>"},
        QWEN_NAMED, QWEN_PARTS, True,
    ),
    "qwen3_omni_moe": Family(
        "Qwen3OmniMoeThinkerConfig", "Qwen3OmniMoeThinkerForConditionalGeneration",
        {"pad": "<|endoftext|>", "im_start": "<|im_start|>", "eos": "<|im_end|>", "audio": "<|audio_pad|>",
         "audio_bos": "<|audio_start|>", "audio_eos": "<|audio_end|>", "vision_bos": "<|vision_start|>",
         "vision_eos": "<|vision_end|>", "vision_pad": "<|vision_pad|>", "image": "<|image_pad|>",
         "video": "<|video_pad|>"},
        QWEN_NAMED, QWEN_PARTS, True,
    ),
    "gemma4": Family(
        "Gemma4Config", "Gemma4ForConditionalGeneration",
        {"pad": "<pad>", "eos": "<eos>", "bos": "<bos>", "turn": "<|turn>", "turn_end": "<turn|>",
         "image": "<|image|>", "boi": "<|image>", "eoi": "<image|>", "audio": "<|audio|>",
         "boa": "<|audio>", "eoa": "<audio|>", "video": "<|video|>"},
        ("image", "boi", "eoi", "audio", "boa", "eoa"),
        {"lm": ("model.language_model", "lm_head"), "vision": ("model.vision_tower", "model.embed_vision"),
         "audio": ("model.audio_tower", "model.embed_audio")},
        False,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Card:
    """What the check reads from a zoo card."""

    key: str
    kind: str
    real_config: dict
    context_length: int | None

    @property
    def family(self) -> Family:
        """The recipe of the card's kind."""
        return FAMILIES[self.kind]


def read_cards(extra: Path | None) -> dict[str, Card]:
    """Every card with ``real_config``: the built-in ones, then ``extra``'s (a same key replaces)."""
    cards = {}
    for folder in (CARDS_DIR, extra) if extra is not None else (CARDS_DIR,):
        if not folder.is_dir():
            raise SystemExit(f"cards folder {folder} does not exist")
        for path in sorted(folder.glob("*.yaml")):
            data = yaml.safe_load(path.read_text()) or {}
            if data.get("real_config"):
                context = data.get("context_length")
                cards[path.stem] = Card(path.stem, data["kind"], data["real_config"], context)
    return cards


def read_profile(name: str) -> dict:
    """A profile's media settings (MediaConfig's defaults where it sets none) and engine.max_model_len."""
    data = yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text()) or {}
    media = {k: v for k, v in (data.get("media") or {}).items() if k in MEDIA_DEFAULTS}
    engine = data.get("engine") or {}
    return {"name": name, **MEDIA_DEFAULTS, **media, "max_model_len": engine.get("max_model_len")}


# ---------------------------------------------------------------------------------------------------
# Offline processors and configs


def build_tokenizer(family: Family, words: str):
    """A word-level tokenizer: the family's special tokens first (in order), then ``words``."""
    import transformers as tf
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokens = family.tokens
    split = pre_tokenizers.Whitespace()
    vocab = [*tokens.values(), "[UNK]", *sorted({w for w, _ in split.pre_tokenize_str(words)})]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.pre_tokenizer = split
    tok.add_special_tokens(list(tokens.values()))
    return tf.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", eos_token=tokens["eos"], pad_token=tokens["pad"],
        bos_token=tokens.get("bos"), padding_side="left",
        extra_special_tokens={f"{k}_token": tokens[k] for k in family.named},
    )  # fmt: skip


def build_processor(kind: str, words: str):
    """An offline processor of ``kind`` whose tokenizer's vocabulary covers ``words``."""
    import transformers as tf

    family = FAMILIES[kind]
    tokenizer = build_tokenizer(family, words)
    if family.gemma:
        # audio_seq_length caps the audio placeholders (750, 30 s by default); raised so 60 s fits.
        return tf.Gemma4Processor(
            feature_extractor=tf.Gemma4AudioFeatureExtractor(), image_processor=tf.Gemma4ImageProcessor(),
            video_processor=tf.Gemma4VideoProcessor(), tokenizer=tokenizer,
            audio_seq_length=round(FIT_SECONDS * 1000 / 40),
        )  # fmt: skip
    # transformers 5.17-5.21 warn unless told to cap each frame at its share of a total pixel budget
    # as qwen-vl-utils does; from 5.22 that is the default and the switch is gone. With 8 frames the
    # cap changes nothing: the per-frame limit is the lower one.
    video = tf.Qwen2VLVideoProcessor
    pixels = {"cap_pixels_per_frame": True} if hasattr(video, "cap_pixels_per_frame") else {}
    cls = tf.Qwen2_5OmniProcessor
    if kind == "qwen3_omni_moe":  # 16 px patches and a SigLIP-style normalisation
        pixels |= {"patch_size": 16, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
        cls = tf.Qwen3OmniMoeProcessor
    image_pixels = {k: v for k, v in pixels.items() if k != "cap_pixels_per_frame"}
    return cls(
        image_processor=tf.Qwen2VLImageProcessor(**image_pixels), video_processor=video(**pixels),
        feature_extractor=tf.WhisperFeatureExtractor(feature_size=128), tokenizer=tokenizer,
    )  # fmt: skip


def token_ids(family: Family, tokenizer) -> dict[str, int]:
    """The id of each of the family's special tokens in ``tokenizer``."""
    return {name: tokenizer.convert_tokens_to_ids(text) for name, text in family.tokens.items()}


def model_config(card: Card, tokenizer):
    """The card's published config with the tokenizer's special-token ids."""
    import transformers as tf

    family, real = card.family, card.real_config
    ids = token_ids(family, tokenizer)
    text = {**real["text_config"], "eos_token_id": ids["eos"], "pad_token_id": ids["pad"]}
    if family.gemma:
        text["bos_token_id"] = ids["bos"]
        media = dict(
            image_token_id=ids["image"], video_token_id=ids["video"], audio_token_id=ids["audio"],
            boi_token_id=ids["boi"], eoi_token_id=ids["eoi"], boa_token_id=ids["boa"],
            eoa_token_index=ids["eoa"], eoa_token_id=ids["eoa"],
        )  # fmt: skip
    else:
        index = "_index" if card.kind == "qwen2_5_omni" else "_id"
        media = {f"{m}_token{index}": ids[m] for m in ("audio", "image", "video")}
        media |= dict(
            audio_start_token_id=ids["audio_bos"], audio_end_token_id=ids["audio_eos"],
            vision_start_token_id=ids["vision_bos"], vision_end_token_id=ids["vision_eos"],
            user_token_id=tokenizer.convert_tokens_to_ids("user"),
        )  # fmt: skip
    return getattr(tf, family.config)(**{**real, "text_config": text, **media})


def prompt_text(family: Family) -> str:
    """The chat prompt with the video (and, for Gemma 4, the audio) placeholders and the question."""
    t = family.tokens
    if family.gemma:
        user = f"{t['video']}{t['audio']}\n{QUESTION}"
        return f"{t['bos']}{t['turn']}user\n{user}{t['turn_end']}\n{t['turn']}model\n"
    return (
        f"{t['im_start']}system\n{SYSTEM}{t['eos']}\n{t['im_start']}user\n"
        f"{t['vision_bos']}{t['video']}{t['vision_eos']}{QUESTION}{t['eos']}\n{t['im_start']}assistant\n"
    )


def vocabulary() -> str:
    """The words the prompts use."""
    return f"{SYSTEM} {QUESTION} system user assistant model {DIGITS} :"


@dataclass(frozen=True)
class Video:
    """Sampled frames (T, H, W, 3) with where they come from in their clip."""

    frames: np.ndarray
    total: int  # frames in the clip
    fps: float  # the clip's frame rate
    indices: list[int]

    @property
    def duration(self) -> float:
        """The clip's length in seconds."""
        return self.total / self.fps


def make_inputs(kind: str, processor, video: Video, audio: np.ndarray, pixels: tuple[int, int]):
    """The processor's tensors for the question on ``video`` and ``audio`` (pixels: min, max a frame)."""
    family = FAMILIES[kind]
    if family.gemma:  # frames already sampled: their times come from the metadata
        meta = {"total_num_frames": video.total, "fps": video.fps, "frames_indices": video.indices,
                "duration": video.duration}  # fmt: skip
        return processor(
            text=prompt_text(family), videos=[video.frames], audio=[audio], video_metadata=[meta],
            do_sample_frames=False, audio_kwargs={"max_length": max(len(audio), int(FIT_SECONDS * RATE))},
            return_tensors="pt",
        )  # fmt: skip
    # truncation=False as vLLM passes it: Whisper's feature extractor would otherwise cut at 30 s.
    return processor(
        text=prompt_text(family), videos=[video.frames], audio=[audio], use_audio_in_video=True,
        fps=len(video.frames) / video.duration, size={"shortest_edge": pixels[0], "longest_edge": pixels[1]},
        truncation=False, return_tensors="pt",
    )  # fmt: skip


def token_counts(kind: str, batch, tokenizer) -> dict:
    """Count the prompt's video and audio placeholders; for Qwen, check the audio sits inside the video."""
    family = FAMILIES[kind]
    ids = batch["input_ids"][0].cpu().numpy()
    video = np.flatnonzero(ids == tokenizer.convert_tokens_to_ids(family.tokens["video"]))
    audio = np.flatnonzero(ids == tokenizer.convert_tokens_to_ids(family.tokens["audio"]))
    inside = bool(len(video) and len(audio) and audio.min() < video.max()) if family.audio_in_video else None
    return dict(prompt_tokens=len(ids), video_tokens=len(video), audio_tokens=len(audio), interleaved=inside)


# ---------------------------------------------------------------------------------------------------
# Building and measuring


@contextmanager
def params_on_meta():
    """Create module parameters on the meta device; buffers (rotary tables) stay real and small.

    Unlike ``torch.device("meta")`` + ``to_empty``, this keeps the computed rotary and sinusoid
    buffers, which ``to_empty`` would leave as uninitialised memory.
    """
    import torch

    register = torch.nn.Module.register_parameter

    def on_meta(module, name, param):
        if param is not None and param.device.type != "meta":  # a tied (already meta) one stays itself
            param = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register(module, name, param)

    torch.nn.Module.register_parameter = on_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register


def build_model(card: Card, config, device: str | None, seed: int):
    """Build the model: meta parameters, then (with ``device``) seeded random bf16 weights there."""
    import torch
    import transformers

    with params_on_meta():
        model = getattr(transformers, card.family.model)._from_config(config, dtype=torch.bfloat16)
    if device is None:
        return model
    gen = torch.Generator(device=device).manual_seed(seed)
    made: dict[int, torch.nn.Parameter] = {}  # tied parameters are one object: fill them once
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None:
                continue
            if id(param) not in made:
                data = torch.empty(param.shape, dtype=torch.bfloat16, device=device)
                if name == "bias":
                    data.zero_()
                elif param.dim() <= 1:  # norm weights and per-dimension scales
                    data.fill_(1.0)
                else:
                    data.normal_(0.0, STD, generator=gen)
                made[id(param)] = torch.nn.Parameter(data, requires_grad=False)
            module._parameters[name] = made[id(param)]
    return model.to(device).eval()  # moves the buffers


def count_params(model, family: Family) -> dict[str, int]:
    """Parameter counts of the whole model and of its parts (tied weights once)."""

    def total(*modules) -> int:
        return sum({id(p): p.numel() for m in modules for p in m.parameters()}.values())

    def part(paths) -> int:
        return total(*(reduce(getattr, path.split("."), model) for path in paths))

    return {"params": total(model), **{f"params_{name}": part(paths) for name, paths in family.parts.items()}}


def run_generation(model, batch, kind: str, args) -> dict:
    """Generate ``args.new_tokens`` tokens greedily: one warm-up, then ``args.runs`` timed runs."""
    import torch

    batch = batch.to(model.device)
    pad = model.config.get_text_config().pad_token_id
    extra = {"use_audio_in_video": True} if FAMILIES[kind].audio_in_video else {}
    times, out = [], None
    for run in range(args.runs + 1):
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                **batch, **extra, do_sample=False, max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens, pad_token_id=pad,
            )  # fmt: skip
        torch.cuda.synchronize()
        if run:
            times.append(time.perf_counter() - start)
    new = out[0, batch["input_ids"].shape[1] :].tolist()
    return dict(s_per_sample=statistics.median(times), runs_s=times, new_tokens=len(new), answer_ids=new)


def check_card(card: Card, prompt: tuple, args) -> dict:
    """Build one card and, on a GPU, measure it; return its row of results."""
    import torch

    processor, batch = prompt
    cuda = not args.cpu
    if cuda:
        gc.collect()  # the previous card's model must be gone before the peak is reset
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    config = model_config(card, processor.tokenizer)
    model = build_model(card, config, "cuda" if cuda else None, args.seed)
    if cuda:
        torch.cuda.synchronize()
    row = {"card": card.key, "kind": card.kind, "build_s": round(time.perf_counter() - start, 2)}
    row |= count_params(model, card.family)
    if batch is not None:
        row |= token_counts(card.kind, batch, processor.tokenizer)
    if cuda:
        row |= run_generation(model, batch, card.kind, args)
        row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        print(
            f"{card.key}: {row['params'] / 1e9:.2f}B parameters built in {row['build_s']} s, "
            f"{row['s_per_sample']:.3f} s/sample, peak {row['peak_gib']:.1f} GiB",
            file=sys.stderr, flush=True,
        )  # fmt: skip
    return row


# ---------------------------------------------------------------------------------------------------
# Does a profile's media fit a card's context on a 60 s clip?


def profile_frames(profile: dict) -> tuple[int, int, int]:
    """The frames a profile takes from a 60 s clip and their pixel range: (count, min, max a frame).

    Uniform sampling takes ``num_frames``; fps sampling counts as qwen_omni_utils does (``sample_fps``
    a second within min_frames..max_frames, an even count) and caps each frame at its share of
    ``video_total_pixels``, as the project's decoder does.
    """
    low, high = profile["video_min_pixels"], profile["video_max_pixels"]
    if profile["frame_sampling"] != "fps":
        return profile["num_frames"], low, high
    total = int(FIT_SECONDS * FIT_FPS)
    least = math.ceil(profile["min_frames"] / 2) * 2
    most = math.floor(min(profile["max_frames"], total) / 2) * 2
    count = math.floor(min(max(FIT_SECONDS * profile["sample_fps"], least), most, total) / 2) * 2
    return count, low, int(max(min(high, profile["video_total_pixels"] / count * 2), int(low * 1.05)))


def fit_tokens(kind: str, processor, profile: dict) -> dict:
    """Prompt tokens of a 60 s clip with the profile's frames: a 16:9 source larger than the budget."""
    count, low, high = profile_frames(profile)
    side = math.ceil(math.sqrt(high / 144))  # 16 x 9 units: at least the pixel budget
    frames = np.zeros((count, 9 * side, 16 * side, 3), np.uint8)
    total = int(FIT_SECONDS * FIT_FPS)
    indices = [min(total - 1, int((i + 0.5) * total / count)) for i in range(count)]
    video = Video(frames, total, FIT_FPS, indices)
    batch = make_inputs(kind, processor, video, np.zeros(int(FIT_SECONDS * RATE), np.float32), (low, high))
    counts = token_counts(kind, batch, processor.tokenizer)
    counts.pop("interleaved")
    # Gemma 4 sizes each frame to its own soft-token budget: the pixel budget does not apply.
    return {"frames": count, "max_pixels": None if FAMILIES[kind].gemma else high, **counts}


def fit_rows(cards: list[Card], profiles: list[dict], processors: dict) -> list[dict]:
    """One row per card and profile: the 60 s prompt's tokens against the limits, and whether it fits."""
    memo: dict[tuple[str, str], dict] = {}
    rows = []
    for card in cards:
        for profile in profiles:
            key = (card.kind, profile["name"])
            if key not in memo:
                memo[key] = fit_tokens(card.kind, processors[card.kind], profile)
            row = {"card": card.key, "profile": profile["name"], **memo[key]}
            row |= {"context_length": card.context_length, "max_model_len": profile["max_model_len"]}
            limits = [v for v in (card.context_length, profile["max_model_len"]) if v]
            row["fits"] = card.context_length is not None and row["prompt_tokens"] <= min(limits)
            rows.append(row)
    return rows


def fit_failures(rows: list[dict]) -> list[str]:
    """A sentence for each row that does not fit."""
    out = []
    for r in rows:
        if r["fits"]:
            continue
        where = f"card {r['card']}, profile {r['profile']}"
        if r["context_length"] is None:
            out.append(f"{where}: the card has real_config but no context_length")
            continue
        limits = [f"context_length {r['context_length']}"] if r["prompt_tokens"] > r["context_length"] else []
        if r["max_model_len"] and r["prompt_tokens"] > r["max_model_len"]:
            limits.append(f"the profile's engine.max_model_len {r['max_model_len']}")
        size = f" of at most {r['max_pixels']} px" if r["max_pixels"] else ""
        out.append(
            f"{where}: a {FIT_SECONDS:g} s clip takes {r['prompt_tokens']} prompt tokens ({r['frames']} "
            f"frames{size}: {r['video_tokens']} video; {r['audio_tokens']} audio), more than "
            f"{' and '.join(limits)}"
        )
    return out


# ---------------------------------------------------------------------------------------------------
# The clip


def _indices(total: int, count: int) -> list[int]:
    return sorted({min(total - 1, int((i + 0.5) * total / count)) for i in range(count)})


def read_frames(path: Path, count: int) -> Video:
    """``count`` uniform RGB frames of the clip."""
    try:
        import cv2
    except ImportError:
        return _frames_av(path, count)
    cap = cv2.VideoCapture(str(path))
    total, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames, taken = [], []
    for index in _indices(total, count) if total > 0 else []:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
        if ok:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            taken.append(index)
    cap.release()
    if not frames:
        raise SystemExit(f"{path}: no video frames decoded")
    return Video(np.stack(frames), total, fps, taken)


def _frames_av(path: Path, count: int) -> Video:
    import av

    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        rate = float(stream.average_rate or 25)
        total = stream.frames or int(float(box.duration or 0) / 1e6 * rate)
        wanted = set(_indices(total, count))
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(box.decode(stream)) if i in wanted]
    return Video(np.stack(frames), total, rate, sorted(wanted)[: len(frames)])


def read_audio(video: Path, wav: Path | None) -> np.ndarray:
    """Return 16 kHz mono float32 audio: from ``wav``, else the clip's track via ffmpeg or PyAV."""
    if wav is not None:
        from scipy.io import wavfile

        rate, data = wavfile.read(wav)
        if data.dtype.kind in "iu":
            info = np.iinfo(data.dtype)
            data = (data.astype(np.float32) - (info.max + info.min + 1) / 2) / (info.max + 1.0)
        data = data.reshape(len(data), -1).mean(axis=1, dtype=np.float32)
        if rate != RATE:
            from scipy.signal import resample_poly

            data = resample_poly(data, RATE // gcd(RATE, rate), rate // gcd(RATE, rate))
        return data.astype(np.float32)
    if shutil.which("ffmpeg"):
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(video), "-vn", "-ac", "1", "-ar", str(RATE)]
        out = subprocess.run([*cmd, "-f", "f32le", "-"], capture_output=True, check=True).stdout
        return np.frombuffer(out, dtype=np.float32).copy()
    import av

    with av.open(str(video)) as box:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        chunks = [r.to_ndarray().reshape(-1) for f in box.decode(audio=0) for r in resampler.resample(f)]
    return np.concatenate(chunks).astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Output


def _table(table: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip())


def print_cards(rows: list[dict], cuda: bool) -> None:
    """The cards' results as a table."""
    table = [["card", "params", "LM", "vision", "audio", "prompt (video/audio)", "build s"]]
    table[0] += ["peak GiB", "s/sample"] if cuda else []
    for r in rows:
        prompt = "-"
        if "prompt_tokens" in r:
            prompt = f"{r['prompt_tokens']} ({r['video_tokens']}/{r['audio_tokens']})"
        parts = ("params", "params_lm", "params_vision", "params_audio")
        cells = [r["card"], *(f"{r[k] / 1e9:.3f}B" for k in parts)]
        cells += [prompt, f"{r['build_s']:.1f}"]
        cells += [f"{r['peak_gib']:.2f}", f"{r['s_per_sample']:.3f}"] if cuda else []
        table.append(cells)
    _table(table)


def print_fit(rows: list[dict]) -> None:
    """The fit check as a table."""
    table = [["card", "profile", "frames", "max px", "video", "audio", "prompt", "context", "max_model_len"]]
    table[0].append("fits")
    for r in rows:
        limits = (r["context_length"], r["max_model_len"])
        table.append([
            r["card"], r["profile"], str(r["frames"]), str(r["max_pixels"] or "-"), str(r["video_tokens"]),
            str(r["audio_tokens"]), str(r["prompt_tokens"]), *(str(v) if v else "-" for v in limits),
            "yes" if r["fits"] else "NO",
        ])  # fmt: skip
    _table(table)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cards", default=None, help="keys, comma-separated (default: all)")
    p.add_argument("--cards-dir", type=Path, default=None, help="more cards (a same key replaces)")
    p.add_argument("--profiles", default=",".join(PROFILES), help="profiles whose media the CPU mode checks")
    p.add_argument("--video", type=Path, default=CLIP)
    p.add_argument("--audio", type=Path, default=None, help="WAV file (default: the *_audio.wav beside)")
    p.add_argument("--cpu", "--meta", action="store_true", help="meta build, counts and the fit check only")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--max-pixels", type=int, default=768 * 28 * 28, help="per frame (Qwen's default)")
    p.add_argument("--new-tokens", type=int, default=16)
    p.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    args.cpu = args.cpu or not torch.cuda.is_available()
    sibling = args.video.with_name(args.video.name.replace("_video.mp4", "_audio.wav"))
    if args.audio is None and sibling != args.video and sibling.is_file():
        args.audio = sibling
    found = read_cards(args.cards_dir)
    keys = [k.strip() for k in args.cards.split(",") if k.strip()] if args.cards else list(found)
    if unknown := [k for k in keys if k not in found]:
        p.error(f"no card with real_config named {', '.join(unknown)}; cards: {', '.join(found)}")
    if strange := [f"{k} ({found[k].kind})" for k in keys if found[k].kind not in FAMILIES]:
        p.error(f"no recipe here for {', '.join(strange)}; kinds: {', '.join(FAMILIES)}")
    args.cards = [found[k] for k in keys]
    args.profiles = [s.strip() for s in args.profiles.split(",") if s.strip()]
    if unknown := [s for s in args.profiles if not (PROFILES_DIR / f"{s}.yaml").is_file()]:
        p.error(f"unknown profiles {unknown}")
    if not args.cpu and not args.video.is_file():
        p.error(f"clip not found: {args.video}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the check and print (and optionally write) the results; 1 when a profile does not fit."""
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    args = parse_args(argv)
    cuda = not args.cpu
    kinds = sorted({card.kind for card in args.cards})
    processors = {kind: build_processor(kind, vocabulary()) for kind in kinds}
    clip = {}
    if args.video.is_file():
        video, audio = read_frames(args.video, args.frames), read_audio(args.video, args.audio)
        pixels = (MIN_PIXELS, args.max_pixels)
        batches = {k: make_inputs(k, processors[k], video, audio, pixels) for k in kinds}
        clip = {
            "video": str(args.video), "audio": str(args.audio or "from the video"),
            "frames": len(video.frames), "frame_hw": list(video.frames.shape[1:3]), "video_s": video.duration,
            "audio_s": len(audio) / RATE,
        }  # fmt: skip
    else:
        print(f"clip not found ({args.video}): no prompt on it, parameters and the fit check only")
        batches = dict.fromkeys(kinds)
    rows = [check_card(card, (processors[card.kind], batches[card.kind]), args) for card in args.cards]
    print_cards(rows, cuda)
    report = {
        "mode": "cuda" if cuda else "meta", "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__, **clip,
        "new_tokens": args.new_tokens if cuda else 0, "results": rows,
    }  # fmt: skip
    failures = []
    if not cuda:
        profiles = [read_profile(name) for name in args.profiles]
        fit = fit_rows(args.cards, profiles, processors)
        print(f"\nprompt tokens of a {FIT_SECONDS:g} s clip with each profile's media:")
        print_fit(fit)
        failures = fit_failures(fit)
        report["fit"] = fit
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    for line in failures:
        print(f"does not fit: {line}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
