"""JSON Lines files: durable appends, torn-line recovery, atomic rewrites.

Runs append one record per line, flushed and fsynced, so a process killed at any moment leaves at
most a torn last line; readers drop it and writers cut it off before appending.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aurelia_local.core.errors import AureliaError


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL results file; a torn last line (the process was killed mid-write) is dropped."""
    if not path.is_file():
        return []
    records = []
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines) - 1 and any(x.strip() for x in lines[number + 1 :]):
                raise AureliaError(f"{path}: line {number + 1} is not JSON; the file was edited?") from None
    return records


class RecordWriter:
    """Appends records to a JSONL file, one flushed and fsynced line each."""

    def __init__(self, path: Path, guard: Callable[[], None] | None = None):
        """``guard`` runs before every write and may raise to stop it (a shard's lease check)."""
        self.path = path
        self.guard = guard
        if path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            with path.open("rb+") as handle:  # drop a torn last line before appending
                data = handle.read()
                handle.seek(0)
                handle.truncate()
                handle.write(data[: data.rfind(b"\n") + 1])
        self.handle = path.open("a", encoding="utf-8")

    def write(self, record: BaseModel) -> None:
        """Append one record (a validated model) durably."""
        if self.guard is not None:
            self.guard()
        self.handle.write(record.model_dump_json() + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self.handle.close()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it into place: a reader sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def drop_errors(path: Path) -> int:
    """Rewrite a results file without its error records (atomically); return how many were dropped."""
    records = read_records(path)
    kept = [r for r in records if r.get("status") != "error"]
    if len(kept) == len(records):
        return 0
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return len(records) - len(kept)
