"""``aurelia status OUT``: where a distill or eval run (or each of its shards) stands, from its files only.

Per folder: the records written (ok, filtered, errors; for eval, the rows answered and failed), the
samples in flight (threads in its checkpoints), and its writer (the lease's host, pid and heartbeat
age). Shards of the run's count that have no folder yet are listed as missing. A run has ended when
the file it writes last is there (``summary.json`` of distill, ``results.json`` of eval).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from aurelia_local.core.jsonl import read_records
from aurelia_local.core.shards import LEASE, LEASE_TTL_S, shard_folders

LAST_WRITTEN = {"distill": "summary.json", "eval": "results.json"}


@dataclass(frozen=True)
class FolderStatus:
    """One run folder (or shard folder) as its files show it."""

    shard: str | None  # "I/N"; "merged" for the run folder of a sharded run; None for an unsharded run
    state: str  # missing, not started, running, stopped (killed, or an engine went away), finished
    ok: int = 0
    filtered: int = 0
    errors: int = 0
    in_flight: int | None = None  # None: its checkpoints are elsewhere (data.checkpoint_dir)
    writer: str | None = None
    heartbeat_age_s: float | None = None


def run_status(out: Path) -> list[FolderStatus]:
    """The status of ``out`` and of every shard folder under it."""
    out = Path(out)
    found = shard_folders(out)
    rows = [_folder(out, "merged" if found else None)] if (out / "run.json").is_file() else []
    for count, folders in sorted(found.items()):
        for index in range(count):
            shard = f"{index}/{count}"
            rows.append(
                _folder(folders[index], shard) if index in folders else FolderStatus(shard, "missing")
            )
    return rows


def _folder(folder: Path, shard: str | None) -> FolderStatus:
    if not (folder / "run.json").is_file():
        return FolderStatus(shard, "not started")
    records = "samples.jsonl" if _command(folder) == "eval" else "traces.jsonl"
    statuses = [r.get("status") for r in read_records(folder / records)]
    lease = _lease(folder)
    age = time.time() - float(lease["heartbeat"]) if lease else None
    state = "running" if _writing(lease) else "finished" if _ended(folder) else "stopped"
    return FolderStatus(
        shard, state, ok=statuses.count("ok"),
        filtered=statuses.count("filtered"), errors=statuses.count("error"),
        in_flight=_in_flight(folder / "checkpoints.sqlite"),
        writer=f"{lease['host']} pid {lease['pid']}" if lease else None,
        heartbeat_age_s=round(age, 1) if age is not None else None,
    )  # fmt: skip


def finished(folder: Path) -> bool:
    """Whether the run in ``folder`` ended (the file it writes last is there) and nobody writes it now."""
    return _ended(folder) and not _writing(_lease(folder))


def _writing(lease: dict | None) -> bool:
    """Whether a lease's writer is alive (an older heartbeat is a writer that is gone)."""
    return lease is not None and time.time() - float(lease["heartbeat"]) <= LEASE_TTL_S


def _command(folder: Path) -> str:
    try:
        return json.loads((folder / "run.json").read_text()).get("command", "distill")
    except (OSError, ValueError):
        return "distill"


def _ended(folder: Path) -> bool:
    return (folder / LAST_WRITTEN[_command(folder)]).is_file()


def _lease(folder: Path) -> dict | None:
    try:
        held = json.loads((folder / LEASE).read_text())
        return held if {"host", "pid", "heartbeat"} <= set(held) else None
    except (OSError, ValueError):
        return None


def _in_flight(path: Path) -> int | None:
    if not path.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()[0]
    except sqlite3.Error:
        return None


def render(rows: list[FolderStatus]) -> str:
    """A table a person reads."""
    header = ("shard", "state", "ok", "filtered", "errors", "in flight", "writer", "heartbeat")
    lines = [[r.shard or "-", r.state, str(r.ok), str(r.filtered), str(r.errors),
              "-" if r.in_flight is None else str(r.in_flight), r.writer or "-",
              "-" if r.heartbeat_age_s is None else f"{r.heartbeat_age_s:.0f} s ago"]
             for r in rows]  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)] if lines else []
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in [list(header), *lines])  # fmt: skip


def as_json(rows: list[FolderStatus]) -> str:
    """The same, for programs."""
    return json.dumps([asdict(r) for r in rows], indent=2)
