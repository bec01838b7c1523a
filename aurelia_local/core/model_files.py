"""What a model folder must hold, by model kind, and the fix when it does not."""

from __future__ import annotations

from pathlib import Path

from aurelia_local.core.catalog import FAMILIES
from aurelia_local.core.config import ModelRef, Settings


def missing_files(path: Path, ref: ModelRef) -> list[str]:
    """Return what is missing for ``path`` to be a usable folder of ``ref.kind`` (empty when usable).

    The kind's registry entry says what a usable folder holds: one checkpoint file (``ref.file``, else
    the entry's ``checkpoint_file``), or one file of each of its ``required_files`` groups.
    """
    if not path.is_dir():
        return [f"folder {path}"]
    family = FAMILIES.get(ref.kind)
    if family.checkpoint_file:
        name = ref.file or family.checkpoint_file
        return [] if (path / name).is_file() else [str(path / name)]
    groups = family.required_files
    return [" or ".join(group) for group in groups if not any((path / f).exists() for f in group)]


def fix_hint(settings: Settings, role: str) -> str:
    """Return the command that makes the model of ``role`` available."""
    ref = settings.models[role]
    if ref.tiny:
        return f"aurelia models build-tiny {settings.models_dir}"
    where = settings.model_path(role)
    if ref.source:
        return (
            f"copy the weights into {where}, or where a hub is reachable: "
            f"aurelia models download --profile {settings.profile} --role {role}"
        )
    return f"copy the weights into {where}"


def check_models(settings: Settings, roles: list[str] | None = None) -> list[tuple[str, Path, list[str]]]:
    """Return ``(role, path, missing)`` for every role (or those in ``roles``)."""
    out = []
    for role in roles or list(settings.models):
        path = settings.model_path(role)
        out.append((role, path, missing_files(path, settings.models[role])))
    return out


def require_models(settings: Settings, roles: list[str]) -> None:
    """Raise ``ModelMissingError`` naming the folder and the fix for the first missing model."""
    from aurelia_local.core.errors import ModelMissingError

    for role, path, missing in check_models(settings, roles):
        if missing:
            raise ModelMissingError(
                f"model for role {role!r} is not usable at {path}: missing {', '.join(missing)}. "
                f"Fix: {fix_hint(settings, role)}"
            )
