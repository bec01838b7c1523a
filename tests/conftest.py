"""Session fixtures: the tiny kit (built once, cached), the shared real data, offline mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aurelia_local.offline import enforce_offline

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AURELIA_SHARED_DATA", REPO.parent / "shared" / "data"))
DAILY_OMNI = SHARED_DATA / "daily_omni_mini"
CLIP_ID = "d6b4OmUFt7I"


def pytest_sessionstart(session):
    enforce_offline()


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The tiny kit, built once into a cache folder that later runs reuse (the build is idempotent)."""
    from aurelia_local.tiny.kit import build_kit

    root = Path(os.environ.get("AURELIA_TEST_MODELS", REPO / ".cache" / "test-models"))
    build_kit(root)
    return root


@pytest.fixture(scope="session")
def smoke(models_dir):
    """Smoke-profile settings pointing at the test kit."""
    from aurelia_local.config import load_settings

    return load_settings("smoke", overrides=[f"models_dir={models_dir}"], environ={})


@pytest.fixture(scope="session")
def daily_omni_clip() -> Path:
    path = DAILY_OMNI / "Videos" / CLIP_ID / f"{CLIP_ID}_video.mp4"
    if not path.is_file():
        pytest.fail(f"shared test data missing: {path} (set AURELIA_SHARED_DATA to the shared/data folder)")
    return path


@pytest.fixture(scope="session")
def daily_omni_wav(daily_omni_clip) -> Path:
    return daily_omni_clip.with_name(f"{CLIP_ID}_audio.wav")
