"""Keyframes by structural change (SSIM), in temporal order, with a uniform fallback.

The paper's rule: a frame is a keyframe when its SSIM to the previous frame is below a threshold
(0.6), at most 5. The public code applies it to every frame at full resolution, which costs tens
of seconds per clip on a CPU and never picks the first frame. Here the rule runs on candidates
sampled at a fixed rate (2 per second by default) and scaled down to 64 px on the shorter side:

- the first candidate is eligible: it opens the first shot, so it ranks as the largest change;
- when more candidates qualify than are wanted, the largest changes (lowest SSIM) win, earliest
  first on ties;
- when fewer qualify, uniform positions fill the set up to the wanted count;
- the result is always in temporal order and deterministic.

``paper_keyframes`` keeps the public code's method for comparison (``scripts/bench_evaluator.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aurelia_local.core.media.decode import uniform_indices

SSIM_WINDOW = 7  # the window of skimage's structural_similarity default
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two greyscale images (uniform 7x7 window, sample covariance, borders cropped)."""
    from scipy.ndimage import uniform_filter

    x = a.astype(np.float64)
    y = b.astype(np.float64)
    win = min(SSIM_WINDOW, *x.shape)
    n = win * win
    cov_norm = n / (n - 1) if n > 1 else 1.0

    def mean(img: np.ndarray) -> np.ndarray:
        return uniform_filter(img, size=win)

    ux, uy = mean(x), mean(y)
    vx = cov_norm * (mean(x * x) - ux * ux)
    vy = cov_norm * (mean(y * y) - uy * uy)
    vxy = cov_norm * (mean(x * y) - ux * uy)
    s = ((2 * ux * uy + _C1) * (2 * vxy + _C2)) / ((ux * ux + uy * uy + _C1) * (vx + vy + _C2))
    pad = (win - 1) // 2
    cropped = s[pad : s.shape[0] - pad or None, pad : s.shape[1] - pad or None]
    return float(cropped.mean() if cropped.size else s.mean())


def to_grey(frames: np.ndarray, short_side: int) -> list[np.ndarray]:
    """Convert RGB frames (T, H, W, 3) to greyscale images with the shorter side at ``short_side``."""
    from PIL import Image

    from aurelia_local.core.media.decode import scaled_size

    out = []
    for frame in frames:
        grey = Image.fromarray(frame).convert("L")
        size = scaled_size(grey.width, grey.height, short_side)
        out.append(np.asarray(grey.resize(size, Image.Resampling.BOX) if size != grey.size else grey))
    return out


@dataclass(frozen=True)
class KeyframeChoice:
    """Chosen candidate positions (temporal order), why each was chosen, and every candidate's SSIM."""

    positions: tuple[int, ...]
    reasons: tuple[str, ...]  # "first", "change" (SSIM below the threshold) or "uniform" (fallback)
    ssims: tuple[float, ...]  # SSIM of each candidate to the one before it; 0.0 for the first


def select_keyframes(greys: list[np.ndarray], threshold: float, max_keyframes: int) -> KeyframeChoice:
    """Pick at most ``max_keyframes`` of ``greys`` by the change rule, filling up uniformly."""
    if not greys:
        return KeyframeChoice((), (), ())
    ssims = [0.0] + [ssim(greys[i - 1], greys[i]) for i in range(1, len(greys))]
    want = min(max_keyframes, len(greys))
    qualifying = [i for i, s in enumerate(ssims) if s < threshold]
    changes = sorted(qualifying, key=lambda i: (ssims[i], i))[:want]
    chosen = set(changes)
    for i in uniform_indices(len(greys), want) + sorted(range(len(greys)), key=lambda i: (ssims[i], i)):
        if len(chosen) >= want:
            break
        chosen.add(i)
    positions = tuple(sorted(chosen))
    reasons = tuple(("first" if i == 0 else "change") if i in changes else "uniform" for i in positions)
    return KeyframeChoice(positions, reasons, tuple(ssims))


def candidate_indices(num_frames: int, fps: float, rate: float, max_candidates: int) -> list[int]:
    """Frame indices sampled at ``rate`` per second (at most ``max_candidates``), first frame included."""
    if num_frames <= 0:
        return []
    duration = num_frames / fps if fps > 0 else 0.0
    count = min(num_frames, max_candidates, max(2, int(np.ceil(duration * rate))))
    return sorted({int(round(x)) for x in np.linspace(0, num_frames - 1, count)})


def paper_keyframes(path: Path, threshold: float = 0.6, max_keyframes: int = 5) -> list[int]:
    """The public code's method, kept only to measure against (``scripts/bench_evaluator.py``).

    Every frame at full resolution; SSIM of each colour channel to the previous frame, averaged;
    every frame below the threshold is kept, then the first ``max_keyframes``. (The public code takes
    the first five in directory-listing order, which is not always temporal order.)
    """
    import av

    chosen: list[int] = []
    previous = None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            rgb = frame.to_ndarray(format="rgb24")
            if previous is not None:
                similarity = sum(ssim(previous[..., c], rgb[..., c]) for c in range(3)) / 3
                if similarity < threshold:
                    chosen.append(i)
            previous = rgb
    return chosen[:max_keyframes]
