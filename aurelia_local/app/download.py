"""``aurelia models download``: the one command that may use the network.

It fetches the weights a profile names from the Hugging Face hub (``hf:ORG/REPO``) or from
openai-whisper's release URLs (``whisper:NAME``) into the models directory. Every other command runs
with the hub switched off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from aurelia_local.core.config import Settings
from aurelia_local.core.errors import AureliaError

NETWORK_NOTICE = (
    "aurelia models download needs network access (huggingface.co, openaipublic.azureedge.net). "
    "On an air-gapped cluster, download on a connected machine and copy the models directory over."
)


def _download_hf(repo: str, dest: Path) -> None:
    from huggingface_hub import snapshot_download

    snapshot_download(repo_id=repo, local_dir=str(dest))


def _download_whisper(name: str, dest: Path, file: str) -> None:
    import whisper

    if name not in whisper._MODELS:  # noqa: SLF001 - the package's own table of release URLs
        raise AureliaError(f"unknown Whisper model {name!r}; known: {', '.join(whisper._MODELS)}")
    dest.mkdir(parents=True, exist_ok=True)
    path = whisper._download(whisper._MODELS[name], str(dest), False)  # noqa: SLF001
    if Path(path).name != file:
        Path(path).rename(dest / file)


def download(settings: Settings, roles: list[str] | None, log: Callable[[str], None]) -> list[Path]:
    """Download the models of ``roles`` (default: all non-tiny roles); return the folders written."""
    log(NETWORK_NOTICE)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.pop(key, None)
    done: dict[str, Path] = {}
    for role in roles or list(settings.models):
        ref = settings.models[role]
        if ref.tiny:
            log(f"{role}: tiny model, built locally with `aurelia models build-tiny` (nothing to download)")
            continue
        if not ref.source:
            raise AureliaError(f"{role}: the profile names no download source; copy the weights by hand")
        dest = settings.model_path(role)
        if ref.source in done:
            log(f"{role}: same source as an earlier role, already at {done[ref.source]}")
            continue
        scheme, _, name = ref.source.partition(":")
        log(f"{role}: {ref.source} -> {dest}")
        try:
            if scheme == "hf":
                _download_hf(name, dest)
            elif scheme == "whisper":
                _download_whisper(name, dest, ref.file or f"{name}.pt")
            else:
                raise AureliaError(
                    f"{role}: unknown source scheme {scheme!r} in {ref.source!r} (use hf: or whisper:)"
                )
        except OSError as exc:
            raise AureliaError(
                f"{role}: download of {ref.source} failed ({exc}); is the network reachable?"
            ) from exc
        done[ref.source] = dest
    return list(done.values())
