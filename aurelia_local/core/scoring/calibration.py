"""From a raw contrastive similarity to the integer 1-10 scale, by contrast with distractor captions.

Raw cosine similarities of CLIP and CLAP sit in a narrow band whose position moves with the model,
the media and the caption length (CLIP ViT-B/32 puts a matching caption near 0.30 and an unrelated
one near 0.15; a random-weight model puts both near 0). A fixed linear map of the raw value is
therefore fragile. Instead each caption is compared with a fixed bank of distractor captions scored
against the same media (``aurelia_local.core.scoring.distractors``):

    z = (sim(media, caption) - mean(sim(media, distractors))) / max(std(...), std_floor)
    score = clip(round_half_up(1 + 9 * (z - z_low) / (z_high - z_low)), 1, 10)

With the defaults ``z_low = -1`` and ``z_high = 4``: a caption no closer to the media than a typical
distractor (z = 0) scores 3, one 2 standard deviations above scores 6 (the loop's default
threshold), 4 or more scores 10. The map is invariant to any shift or positive scaling of the
similarities, so the same constants serve every model size. ``std_floor`` keeps a bank that happens
to score almost identically from blowing tiny differences up into large z values.
"""

from __future__ import annotations

import numpy as np

from aurelia_local.core.scoring.base import round_half_up


def distractor_z(sim: float, distractor_sims: np.ndarray, std_floor: float) -> float:
    """How many distractor standard deviations ``sim`` lies above the distractors' mean."""
    sims = np.asarray(distractor_sims, dtype=np.float64)
    return float((sim - sims.mean()) / max(float(sims.std()), std_floor))


def z_to_score(z: float, z_low: float, z_high: float) -> int:
    """Map a z value linearly onto 1..10 (``z_low`` -> 1, ``z_high`` -> 10), clipped."""
    return min(10, max(1, round_half_up(1 + 9 * (z - z_low) / (z_high - z_low))))


def calibrated_score(
    sim: float, distractor_sims: np.ndarray, z_low: float, z_high: float, std_floor: float
) -> tuple[int, float]:
    """Return the 1-10 score and the z value of one similarity."""
    z = distractor_z(sim, distractor_sims, std_floor)
    return z_to_score(z, z_low, z_high), z
