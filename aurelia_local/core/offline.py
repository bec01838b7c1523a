"""The offline switches: nothing reaches a model hub at run time unless a download was asked for."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
    # qwen-omni-utils' automatic fallback (torchvision.io.read_video) no longer exists.
    "FORCE_QWENVL_VIDEO_READER": "decord",
}


def enforce_offline() -> None:
    """Switch the Hugging Face stack and vLLM to offline mode for this process and its children."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def offline_state() -> dict[str, str | None]:
    """Return the current value of each offline switch."""
    return {key: os.environ.get(key) for key in OFFLINE_ENV}
