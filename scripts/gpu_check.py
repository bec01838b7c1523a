"""GPU check: the real-size Qwen2.5-Omni-7B and -3B thinkers answer one question on a video clip.

For each size the thinker (language model, vision tower, audio tower) is built from the published
``config.json`` values below with random bf16 weights: parameters are created on the meta device,
then allocated on the GPU and filled with a seeded normal (std 0.02; norms 1, biases 0), so nothing
is downloaded and no CPU copy of the weights is made. An offline ``Qwen2_5OmniProcessor`` (a
word-level tokenizer holding the Qwen2.5-Omni special tokens; their ids go into the thinker config,
the vocabulary keeps its published size) turns N uniform frames and the 16 kHz mono audio of the clip
into one prompt with the audio interleaved into the video (``use_audio_in_video=True``), and
transformers generates greedily. Printed per size: parameter count, build seconds, peak GPU memory
(``torch.cuda.max_memory_allocated``), prompt tokens (video/audio placeholders) and seconds per
sample (median of ``--runs`` runs after one warm-up); ``--json FILE`` writes the same as JSON. The
answers are noise (random weights): this checks that the real sizes fit and run, and how fast.

Run it from the source tree on a lean CUDA machine (Python 3.12, torch, torchvision, transformers
>= 5.17, numpy, scipy, pillow, opencv-python-headless)::

    python3 scripts/gpu_check.py --json out.json

It downloads nothing, imports nothing from ``aurelia_local`` and needs neither pydantic, vLLM, PyAV
nor decord, so no wheel has to be carried (``tokenizers`` comes with transformers). Frames come from
OpenCV (PyAV if OpenCV is missing); audio from ``--audio`` (a WAV; by default the ``*_audio.wav``
beside the clip), else from the clip through the ``ffmpeg`` binary or PyAV. Without a GPU, or with
``--meta``, both sizes are built on the meta device only: parameter counts per part and the prompt's
token counts are printed and generation is skipped (seconds on a CPU).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import time
from contextlib import contextmanager
from math import gcd
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AURELIA_SHARED_DATA", REPO.parent / "shared" / "data"))
CLIP = SHARED / "daily_omni_mini/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4"
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
# thinker_config of Qwen/Qwen2.5-Omni-7B and -3B (config.json); the towers differ only in output width.
VISION = dict(
    depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, in_channels=3, patch_size=14,
    spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[7, 15, 23, 31],
    hidden_act="silu",
)  # fmt: skip
AUDIO = dict(
    num_mel_bins=128, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120, d_model=1280,
    max_source_positions=1500, n_window=100, activation_function="gelu", scale_embedding=False,
)  # fmt: skip
TEXT = dict(
    hidden_act="silu", max_position_embeddings=32768, rms_norm_eps=1e-6, use_sliding_window=False,
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
)  # fmt: skip
SIZES = {
    "7b": dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
               num_attention_heads=28, num_key_value_heads=4, tie_word_embeddings=False),
    "3b": dict(vocab_size=151936, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
               num_attention_heads=16, num_key_value_heads=2, tie_word_embeddings=False),
}  # fmt: skip
TOKENS = {  # the Qwen2.5-Omni special tokens, in their published id order
    "pad": "<|endoftext|>", "im_start": "<|im_start|>", "eos": "<|im_end|>", "audio": "<|AUDIO|>",
    "audio_bos": "<|audio_bos|>", "audio_eos": "<|audio_eos|>", "vision_bos": "<|vision_bos|>",
    "vision_eos": "<|vision_eos|>", "vision_pad": "<|vision_pad|>", "image": "<|IMAGE|>",
    "video": "<|VIDEO|>",
}  # fmt: skip


def build_processor(words: str):
    """Return an offline Qwen2.5-Omni processor whose word-level vocabulary covers ``words``."""
    import transformers as tf
    from tokenizers import Tokenizer, models, pre_tokenizers

    split = pre_tokenizers.Whitespace()
    vocab = [*TOKENS.values(), "[UNK]", *sorted({w for w, _ in split.pre_tokenize_str(words)})]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.pre_tokenizer = split
    tok.add_special_tokens(list(TOKENS.values()))
    media = ("image", "audio", "video", "vision_bos", "vision_eos", "audio_bos", "audio_eos")
    fast = tf.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", eos_token=TOKENS["eos"], pad_token=TOKENS["pad"],
        padding_side="left", extra_special_tokens={f"{k}_token": TOKENS[k] for k in media},
    )  # fmt: skip
    # transformers 5.17-5.21 warn unless told to cap each frame at its share of a total pixel budget
    # as qwen-vl-utils does; from 5.22 that is the default and the switch is gone. With 8 frames the
    # cap changes nothing: the per-frame limit (--max-pixels) is the lower one.
    video = tf.Qwen2VLVideoProcessor
    cap = {"cap_pixels_per_frame": True} if hasattr(video, "cap_pixels_per_frame") else {}
    return tf.Qwen2_5OmniProcessor(
        image_processor=tf.Qwen2VLImageProcessor(),
        video_processor=video(**cap),
        feature_extractor=tf.WhisperFeatureExtractor(feature_size=128),
        tokenizer=fast,
    )


def thinker_config(size: str, tokenizer):
    """Return the published thinker config of ``size`` with the tokenizer's special-token ids."""
    from transformers import Qwen2_5OmniThinkerConfig

    ids = {k: tokenizer.convert_tokens_to_ids(v) for k, v in TOKENS.items()}
    text = {**TEXT, **SIZES[size], "eos_token_id": ids["eos"], "pad_token_id": ids["pad"]}
    hidden = text["hidden_size"]
    return Qwen2_5OmniThinkerConfig(
        text_config=text, vision_config={**VISION, "out_hidden_size": hidden},
        audio_config={**AUDIO, "output_dim": hidden}, tie_word_embeddings=text["tie_word_embeddings"],
        audio_token_index=ids["audio"], image_token_index=ids["image"], video_token_index=ids["video"],
        audio_start_token_id=ids["audio_bos"], audio_end_token_id=ids["audio_eos"],
        vision_start_token_id=ids["vision_bos"], vision_end_token_id=ids["vision_eos"],
        user_token_id=tokenizer.convert_tokens_to_ids("user"), position_id_per_seconds=25,
        seconds_per_chunk=2,
    )  # fmt: skip


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


def build_thinker(config, device: str | None, seed: int):
    """Build the thinker: meta parameters, then (with ``device``) seeded random bf16 weights there."""
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration as Thinker

    with params_on_meta():
        model = Thinker._from_config(config, dtype=torch.bfloat16)
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
                elif param.dim() == 1:  # RMSNorm / LayerNorm weights
                    data.fill_(1.0)
                else:
                    data.normal_(0.0, STD, generator=gen)
                made[id(param)] = torch.nn.Parameter(data, requires_grad=False)
            module._parameters[name] = made[id(param)]
    return model.to(device).eval()  # moves the buffers


def count_params(model) -> dict[str, int]:
    """Return the parameter counts of the whole thinker and of its parts (tied weights once)."""

    def total(*modules) -> int:
        return sum({id(p): p.numel() for m in modules for p in m.parameters()}.values())

    lm, vision, audio = total(model.model, model.lm_head), total(model.visual), total(model.audio_tower)
    return {"params": total(model), "params_lm": lm, "params_vision": vision, "params_audio": audio}


def _indices(total: int, count: int) -> list[int]:
    return sorted({min(total - 1, int((i + 0.5) * total / count)) for i in range(count)})


def read_frames(path: Path, count: int) -> tuple[np.ndarray, float]:
    """Return ``count`` uniform RGB frames (T, H, W, 3) and the clip's duration in seconds."""
    try:
        import cv2
    except ImportError:
        return _frames_av(path, count)
    cap = cv2.VideoCapture(str(path))
    total, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    for index in _indices(total, count) if total > 0 else []:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
        if ok:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    if not frames:
        raise SystemExit(f"{path}: no video frames decoded")
    return np.stack(frames), total / fps


def _frames_av(path: Path, count: int) -> tuple[np.ndarray, float]:
    import av

    with av.open(str(path)) as box:
        stream = box.streams.video[0]
        rate = float(stream.average_rate or 25)
        total = stream.frames or int(float(box.duration or 0) / 1e6 * rate)
        wanted = set(_indices(total, count))
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(box.decode(stream)) if i in wanted]
    return np.stack(frames), total / rate


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


def make_inputs(processor, frames: np.ndarray, audio: np.ndarray, duration: float, max_pixels: int):
    """Return the processor's tensors for the question on the clip, audio interleaved into the video."""
    t = TOKENS
    prompt = (
        f"{t['im_start']}system\n{SYSTEM}{t['eos']}\n{t['im_start']}user\n"
        f"{t['vision_bos']}{t['video']}{t['vision_eos']}{QUESTION}{t['eos']}\n{t['im_start']}assistant\n"
    )
    return processor(
        text=prompt, videos=[frames], audio=[audio], use_audio_in_video=True, return_tensors="pt",
        fps=len(frames) / duration, size={"shortest_edge": 128 * 28 * 28, "longest_edge": max_pixels},
    )  # fmt: skip


def token_counts(batch, tokenizer) -> dict:
    """Count the prompt's video and audio placeholders and check that the audio sits inside the video."""
    ids = batch["input_ids"][0].cpu().numpy()
    video = np.flatnonzero(ids == tokenizer.convert_tokens_to_ids(TOKENS["video"]))
    audio = np.flatnonzero(ids == tokenizer.convert_tokens_to_ids(TOKENS["audio"]))
    inside = bool(len(video) and len(audio) and audio.min() < video.max())
    return dict(prompt_tokens=len(ids), video_tokens=len(video), audio_tokens=len(audio), interleaved=inside)


def run_generation(model, batch, args) -> dict:
    """Generate ``args.new_tokens`` tokens greedily: one warm-up, then ``args.runs`` timed runs."""
    import torch

    batch = batch.to(model.device)
    pad = model.config.text_config.pad_token_id
    times, out = [], None
    for run in range(args.runs + 1):
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                **batch, use_audio_in_video=True, do_sample=False, max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens, pad_token_id=pad,
            )  # fmt: skip
        torch.cuda.synchronize()
        if run:
            times.append(time.perf_counter() - start)
    new = out[0, batch["input_ids"].shape[1] :].tolist()
    return dict(s_per_sample=statistics.median(times), runs_s=times, new_tokens=len(new), answer_ids=new)


def check_size(size: str, processor, batch, args) -> dict:
    """Build one size and, on a GPU, measure it; return its row of results."""
    import torch

    cuda = args.device == "cuda"
    if cuda:
        gc.collect()  # the previous size's model must be gone before the peak is reset
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    model = build_thinker(thinker_config(size, processor.tokenizer), "cuda" if cuda else None, args.seed)
    if cuda:
        torch.cuda.synchronize()
    row = {"size": size, "build_s": round(time.perf_counter() - start, 2), **count_params(model)}
    row |= token_counts(batch, processor.tokenizer)
    if cuda:
        row |= run_generation(model, batch, args)
        row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return row


def print_table(rows: list[dict], cuda: bool) -> None:
    """Print the results as a table."""
    table = [["size", "params", "LM", "vision", "audio", "prompt (video/audio)"]]
    table[0] += ["build s", "peak GiB", "s/sample"] if cuda else []
    parts = ("params", "params_lm", "params_vision", "params_audio")
    for r in rows:
        prompt = f"{r['prompt_tokens']} ({r['video_tokens']}/{r['audio_tokens']})"
        cells = [r["size"], *(f"{r[k] / 1e9:.3f}B" for k in parts), prompt]
        cells += [f"{r['build_s']:.1f}", f"{r['peak_gib']:.2f}", f"{r['s_per_sample']:.3f}"] if cuda else []
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", type=Path, default=CLIP)
    p.add_argument("--audio", type=Path, default=None, help="WAV file (default: the *_audio.wav beside)")
    p.add_argument("--sizes", default="7b,3b", help="comma-separated, from: " + ",".join(SIZES))
    default = "cuda" if torch.cuda.is_available() else "cpu"
    p.add_argument("--device", choices=["cuda", "cpu"], default=default, help="cpu implies --meta")
    p.add_argument("--meta", action="store_true", help="CPU mode: meta build, counts only, no generation")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--max-pixels", type=int, default=768 * 28 * 28, help="per frame (Qwen's default)")
    p.add_argument("--new-tokens", type=int, default=16)
    p.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    args.device = "cpu" if args.meta else args.device
    sibling = args.video.with_name(args.video.name.replace("_video.mp4", "_audio.wav"))
    if args.audio is None and sibling != args.video and sibling.is_file():
        args.audio = sibling
    args.sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    if unknown := set(args.sizes) - set(SIZES):
        p.error(f"unknown sizes {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the check and print (and optionally write) the results."""
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    args = parse_args(argv)
    cuda = args.device == "cuda"
    frames, duration = read_frames(args.video, args.frames)
    audio = read_audio(args.video, args.audio)
    processor = build_processor(f"{SYSTEM} {QUESTION} system user assistant")
    batch = make_inputs(processor, frames, audio, duration, args.max_pixels)
    rows = [check_size(size, processor, batch, args) for size in args.sizes]
    print_table(rows, cuda)
    report = {
        "mode": "cuda" if cuda else "meta", "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__, "video": str(args.video),
        "audio": str(args.audio or "from the video"), "frames": len(frames),
        "frame_hw": list(frames.shape[1:3]), "video_s": duration, "audio_s": len(audio) / RATE,
        "new_tokens": args.new_tokens, "results": rows,
    }  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
