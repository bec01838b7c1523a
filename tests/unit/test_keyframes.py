import numpy as np
import pytest

from aurelia_local.core.media.keyframes import candidate_indices, select_keyframes, ssim


def _pattern(seed: int, size=(48, 64)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)


def test_ssim_is_one_for_identical_images_and_low_for_unrelated_ones():
    a, b = _pattern(0), _pattern(1)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, b) < 0.1
    assert ssim(a, b) == pytest.approx(ssim(b, a))
    flat_dark, flat_bright = np.full((48, 64), 10, np.uint8), np.full((48, 64), 240, np.uint8)
    assert ssim(flat_dark, flat_bright) < 0.1


def test_cuts_become_keyframes_in_temporal_order_first_frame_included():
    # Four shots of three identical frames each: cuts at positions 3, 6 and 9.
    greys = [_pattern(shot) for shot in range(4) for _ in range(3)]
    choice = select_keyframes(greys, threshold=0.6, max_keyframes=5)
    assert list(choice.positions) == sorted(choice.positions)
    assert {0, 3, 6, 9} <= set(choice.positions) and len(choice.positions) == 5
    reasons = dict(zip(choice.positions, choice.reasons, strict=True))
    assert reasons[0] == "first" and all(reasons[p] == "change" for p in (3, 6, 9))
    assert sum(r == "uniform" for r in choice.reasons) == 1
    assert select_keyframes(greys, 0.6, 5) == choice


def test_more_cuts_than_wanted_keeps_the_largest_changes():
    base = _pattern(0)
    # Small changes everywhere, one large change at position 5.
    greys = [np.clip(base.astype(int) + 40 * (i % 2), 0, 255).astype(np.uint8) for i in range(8)]
    greys[5] = _pattern(99)
    choice = select_keyframes(greys, threshold=0.99, max_keyframes=3)
    assert len(choice.positions) == 3 and 0 in choice.positions and 5 in choice.positions
    assert choice.ssims[5] == min(choice.ssims[1:])


def test_a_static_clip_falls_back_to_uniform_frames():
    greys = [_pattern(0)] * 20
    choice = select_keyframes(greys, threshold=0.6, max_keyframes=5)
    assert len(choice.positions) == 5 and list(choice.positions) == sorted(set(choice.positions))
    assert choice.reasons.count("uniform") == 4


def test_fewer_frames_than_wanted_gives_every_frame():
    greys = [_pattern(0), _pattern(0)]
    assert select_keyframes(greys, 0.6, 5).positions == (0, 1)
    assert select_keyframes([], 0.6, 5).positions == ()


@pytest.mark.parametrize(("frames", "fps", "expected_max"), [(900, 30.0, 61), (5, 25.0, 2), (1, 25.0, 1)])
def test_candidates_start_at_the_first_frame_and_stay_bounded(frames, fps, expected_max):
    idx = candidate_indices(frames, fps, rate=2.0, max_candidates=64)
    assert idx[0] == 0 and idx == sorted(set(idx)) and idx[-1] <= frames - 1
    assert len(idx) <= expected_max
    assert len(candidate_indices(100_000, 30.0, 2.0, 64)) == 64
