"""Benchmark the perception and grounding evaluator on CPU; prints figures and ratios from one run.

1. Keyframe selection on one clip: the public code's method (every frame, full resolution, SSIM per
   colour channel) against ours (candidates at 2 per second, 64 px greyscale), and the ratio.
2. Evaluator throughput (captions per second) with the grounding scorer: captions one at a time
   and in batches, after the sample's media embeddings are cached (as in loop rounds 2..T).

Usage: python scripts/bench_evaluator.py [--video MP4] [--models-dir DIR] [--captions 32] [--real-size]

``--real-size`` swaps the tiny encoders for random-weight CLIP ViT-B-32 and a default-size CLAP
(HTSAT), the sizes of the real checkpoints, built in memory; timings then reflect real compute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared/data/daily_omni_mini/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4"


def bench_keyframes(video: Path, media) -> dict:
    """Time the public code's keyframe method and ours on ``video``."""
    from aurelia_local.core.media.decode import probe, read_frames, scaled_size
    from aurelia_local.core.media.keyframes import (
        candidate_indices,
        paper_keyframes,
        select_keyframes,
        to_grey,
    )

    start = time.perf_counter()
    paper = paper_keyframes(video, media.ssim_threshold, media.max_keyframes)
    paper_s = time.perf_counter() - start
    start = time.perf_counter()
    info = probe(video)
    cands = candidate_indices(info.num_frames, info.fps, media.keyframe_fps, media.keyframe_candidates)
    small = read_frames(video, cands, scaled_size(info.width, info.height, media.keyframe_size))
    choice = select_keyframes(to_grey(small, media.ssim_size), media.ssim_threshold, media.max_keyframes)
    ours_s = time.perf_counter() - start
    return {
        "clip": f"{info.width}x{info.height}, {info.duration_s:.1f} s, {info.num_frames} frames",
        "paper_s": round(paper_s, 3),
        "paper_frames": paper,
        "ours_s": round(ours_s, 3),
        "ours_frames": [cands[p] for p in choice.positions],
        "ours_reasons": list(choice.reasons),
        "speedup": round(paper_s / ours_s, 1),
    }


def real_size_encoders(settings):
    """Random-weight encoders at the real checkpoints' sizes, with the tiny kit's tokenizers."""
    import open_clip
    import torch
    from transformers import ClapConfig, ClapModel

    from aurelia_local.core.scoring.clap_score import ClapEncoder
    from aurelia_local.core.scoring.clip_score import ClipEncoder

    torch.manual_seed(0)
    clip = ClipEncoder.__new__(ClipEncoder)
    clip.device = "cpu"
    clip.model, _, clip.preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    clip.model.eval()
    clip.tokenizer = open_clip.get_tokenizer("ViT-B-32")
    clip.name = "ViT-B-32 (random)"
    clap = ClapEncoder(settings.model_path("clap"), settings.models["clap"])
    clap.model = ClapModel(ClapConfig()).eval()
    clap.name = "clap-htsat-unfused size (random)"
    return clip, clap


def bench_evaluator(video: Path, settings, n: int, real_size: bool) -> dict:
    """Time the grounding scorer on ``n`` captions, one at a time and batched."""
    from aurelia_local.core.media.bundle import load_bundle
    from aurelia_local.core.scoring.grounding import GroundingScorer

    captions = [f"Caption {i}: a person speaks in a room while music plays. A door closes." for i in range(n)]
    bundle = load_bundle(video, None, settings.media)
    start = time.perf_counter()
    encoders = real_size_encoders(settings) if real_size else (None, None)
    scorer = GroundingScorer(settings, *encoders)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    scorer.score([(bundle, captions[0])])
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    for c in captions:
        scorer.score([(bundle, c)])
    single_s = time.perf_counter() - start
    start = time.perf_counter()
    scorer.score([(bundle, c) for c in captions])
    batch_s = time.perf_counter() - start
    return {
        "encoders": scorer.provenance,
        "load_s": round(load_s, 2),
        "first_caption_s (media embeddings included)": round(first_s, 3),
        "captions_per_s_one_at_a_time": round(n / single_s, 1),
        f"captions_per_s_batch_of_{n}": round(n / batch_s, 1),
        "batch_speedup": round(single_s / batch_s, 1),
    }


def main() -> int:
    """Run both benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--models-dir", type=Path, default=REPO / ".cache/test-models")
    parser.add_argument("--captions", type=int, default=32)
    parser.add_argument("--real-size", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    from aurelia_local.core.config import load_settings
    from aurelia_local.core.offline import enforce_offline
    from aurelia_local.engines.tiny.kit import build_kit

    enforce_offline()
    build_kit(args.models_dir, only=["open_clip", "clap"])
    settings = load_settings("smoke", overrides=[f"models_dir={args.models_dir}"], environ={})
    media = load_settings("default", environ={}).media  # the real profile's keyframe settings
    result = {
        "keyframes": bench_keyframes(args.video, media),
        "evaluator": bench_evaluator(args.video, settings, args.captions, args.real_size),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    for section, figures in result.items():
        print(f"[{section}]")
        for key, value in figures.items():
            print(f"  {key:<45} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
