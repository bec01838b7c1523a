"""Build the tiny-model kit: which models, where they go, and when a folder is already up to date.

A folder holds ``tiny_kit.json`` (recipe version, seed, file digests) once complete. Building is
idempotent: a folder whose marker matches the recipe and seed is left untouched. A folder is written
under a temporary name and renamed into place, so an interrupted build never looks complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RECIPE_VERSION = 2
MARKER = "tiny_kit.json"
DEFAULT_SEED = 0


@dataclass(frozen=True)
class TinySpec:
    """One model of the kit: a model kind whose registry entry names a tiny builder."""

    name: str
    folder: str
    builder: str  # "module:function", imported only when this model is built

    def build_fn(self) -> Callable[[Path, int], None]:
        """Import and return the builder function."""
        from aurelia_local.core.registry import load

        return load(self.builder)


def _kit() -> tuple[TinySpec, ...]:
    from aurelia_local.core.catalog import FAMILIES

    return tuple(TinySpec(f.key, f"tiny/{f.key}", f.tiny) for f in FAMILIES.select(lambda f: f.tiny))


KIT = _kit()


@dataclass(frozen=True)
class BuildResult:
    """What happened to one model of the kit."""

    name: str
    path: Path
    built: bool  # False: already up to date
    seconds: float
    size_bytes: int


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER):
        out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def is_current(folder: Path, seed: int) -> bool:
    """Return True when ``folder`` holds a complete build of this recipe with this seed."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("recipe_version") == RECIPE_VERSION and marker.get("seed") == seed


def build_one(spec: TinySpec, models_dir: Path, seed: int = DEFAULT_SEED, force: bool = False) -> BuildResult:
    """Build one model of the kit under ``models_dir`` unless it is already current."""
    final = models_dir / spec.folder
    start = time.perf_counter()
    if not force and is_current(final, seed):
        return BuildResult(spec.name, final, False, time.perf_counter() - start, _size(final))
    tmp = final.with_name(f".{final.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with _quiet_transformers():
        spec.build_fn()(tmp, seed)
    marker = {"name": spec.name, "recipe_version": RECIPE_VERSION, "seed": seed, "files": _digest(tmp)}
    (tmp / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return BuildResult(spec.name, final, True, time.perf_counter() - start, _size(final))


def build_kit(
    models_dir: Path,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    only: list[str] | None = None,
    on_done: Callable[[BuildResult], None] | None = None,
) -> list[BuildResult]:
    """Build every model of the kit (or those named in ``only``) under ``models_dir``."""
    names = {spec.name for spec in KIT}
    unknown = sorted(set(only or []) - names)
    if unknown:
        from aurelia_local.core.errors import ConfigError

        raise ConfigError(
            f"unknown tiny model(s) {', '.join(unknown)}; choose from {', '.join(sorted(names))}"
        )
    results = []
    for spec in KIT:
        if only and spec.name not in only:
            continue
        result = build_one(spec, models_dir.expanduser(), seed, force)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results


class _quiet_transformers:
    """Silence transformers' config warnings (e.g. the unused talker's token ids) while building."""

    def __enter__(self):
        from transformers.utils import logging

        self._level = logging.get_verbosity()
        logging.set_verbosity_error()

    def __exit__(self, *exc):
        from transformers.utils import logging

        logging.set_verbosity(self._level)
