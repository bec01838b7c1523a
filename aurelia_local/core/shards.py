"""Shards of a run: which samples a shard owns, which shard a scheduler's task is, who may write it.

A run over many samples splits into N shards that run anywhere (Slurm array tasks, Kubernetes
indexed jobs, a launcher's ranks), one after another or at once. A sample belongs to shard
``sha256(id) mod N``: the same on every machine, whatever the order of the source. Each shard writes
a folder of its own under the run's output (``shard-0003-of-0008``) and resumes there as a whole run
does. A lease file keeps two processes from writing one shard: ``lease.json`` names its holder
(host, pid) and is refreshed while the holder runs; a lease whose heartbeat is older than its time
to live, or whose holder on this host has exited, is taken over. ``flock`` is off by default on
Lustre and NFS locks are leases anyway, so the lease asks of the filesystem only an atomic create
and an atomic rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aurelia_local.core.errors import ConfigError

LEASE = "lease.json"
LEASE_TTL_S = 120.0  # a holder refreshes its lease every quarter of this
FOLDER = re.compile(r"shard-(\d{4,})-of-(\d{4,})")
_HELD: set[str] = set()  # the tokens of the leases this process holds


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 0) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"shard {self.index}/{self.count}: the count must be at least 1")
        if not 0 <= self.index < self.count:
            raise ConfigError(f"shard {self.index}/{self.count}: the index must be 0 to {self.count - 1}")

    @property
    def folder(self) -> str:
        """The shard's folder under the run's output."""
        return f"shard-{self.index:04d}-of-{self.count:04d}"

    def owns(self, key: str) -> bool:
        """Whether the sample with id ``key`` belongs to this shard."""
        digest = hashlib.sha256(key.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str, environ: Mapping[str, str] | None = None) -> Shard:
    """``I/N`` (index from 0), or ``auto``: the shard the scheduler's environment names.

    ``auto`` reads, in order: a Slurm array task (``SLURM_ARRAY_TASK_ID`` counted from
    ``SLURM_ARRAY_TASK_MIN``, ``SLURM_ARRAY_TASK_COUNT`` tasks; an array with gaps or a step is
    refused; with ``AURELIA_SHARD_COUNT`` set, the task id is the index itself, so that one task
    resubmitted alone, ``--array=3``, is still shard 3 of the run), a Kubernetes indexed job
    (``JOB_COMPLETION_INDEX``, with the count the manifest passes in ``AURELIA_SHARD_COUNT``:
    Kubernetes does not put it in the pod's environment), then a launcher's
    ``RANK`` and ``WORLD_SIZE``.
    """
    env = os.environ if environ is None else environ
    if spec != "auto":
        found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
        if not found:
            raise ConfigError(f"--shard {spec!r}: expected I/N (for example 0/8, the index from 0) or auto")
        return Shard(int(found.group(1)), int(found.group(2)))
    if "SLURM_ARRAY_TASK_ID" in env:
        return _slurm(env)
    if "JOB_COMPLETION_INDEX" in env:
        if "AURELIA_SHARD_COUNT" not in env:
            raise ConfigError(
                "--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes indexed job) but the shard count "
                "is not: set AURELIA_SHARD_COUNT in the pod to the job's completions"
            )
        return Shard(_int(env, "JOB_COMPLETION_INDEX"), _int(env, "AURELIA_SHARD_COUNT"))
    if "RANK" in env and "WORLD_SIZE" in env:
        return Shard(_int(env, "RANK"), _int(env, "WORLD_SIZE"))
    raise ConfigError(
        "--shard auto: no scheduler index found (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX with "
        "AURELIA_SHARD_COUNT, or RANK with WORLD_SIZE); give --shard I/N"
    )


def _int(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except (KeyError, ValueError):
        raise ConfigError(f"--shard auto: {name}={env.get(name)!r} is not a whole number") from None


def _slurm(env: Mapping[str, str]) -> Shard:
    if "AURELIA_SHARD_COUNT" in env:  # the run's count: a task resubmitted alone keeps its index
        return Shard(_int(env, "SLURM_ARRAY_TASK_ID"), _int(env, "AURELIA_SHARD_COUNT"))
    task, low = _int(env, "SLURM_ARRAY_TASK_ID"), _int(env, "SLURM_ARRAY_TASK_MIN")
    count = _int(env, "SLURM_ARRAY_TASK_COUNT")
    high = _int(env, "SLURM_ARRAY_TASK_MAX") if "SLURM_ARRAY_TASK_MAX" in env else low + count - 1
    step = _int(env, "SLURM_ARRAY_TASK_STEP") if "SLURM_ARRAY_TASK_STEP" in env else 1
    if step != 1 or high - low + 1 != count:
        raise ConfigError(
            f"--shard auto: the Slurm array {low}-{high} (step {step}) holds {count} tasks, not one for each "
            "index from its first to its last; submit a plain range (--array=0-N), or set "
            "AURELIA_SHARD_COUNT to the run's count and use the task ids 0 to count-1"
        )
    return Shard(task - low, count)


def shard_folders(out: Path) -> dict[int, dict[int, Path]]:
    """The shard folders under ``out``: count -> index -> folder (one count for the shards of a run)."""
    found: dict[int, dict[int, Path]] = {}
    for path in sorted(Path(out).iterdir()) if Path(out).is_dir() else []:
        match = FOLDER.fullmatch(path.name)
        if match and path.is_dir():
            found.setdefault(int(match.group(2)), {})[int(match.group(1))] = path
    return found


class Lease:
    """The right to write one shard folder, held while the ``with`` block runs (see the module)."""

    def __init__(self, folder: Path, ttl_s: float = LEASE_TTL_S, wait: bool = True):
        """Prepare the lease of ``folder`` (taken on ``with``).

        ``wait``: a lease held from another host (whose process cannot be checked from here) is
        waited on until its heartbeat would expire; a writer alive there keeps it and is refused then.
        """
        self.path = Path(folder) / LEASE
        self.ttl_s = ttl_s
        self.wait = wait
        self.mine = {"host": socket.gethostname(), "pid": os.getpid(), "token": os.urandom(8).hex()}
        self.lost = threading.Event()  # set when another writer holds the lease now
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._take()
        _HELD.add(self.mine["token"])
        self._beat = threading.Thread(target=self._refresh, name="shard-lease", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        _HELD.discard(self.mine["token"])
        if self._beat is not None:
            self._beat.join()
        if self.holder().get("token") == self.mine["token"]:
            self.path.unlink(missing_ok=True)

    def holder(self) -> dict:
        """The lease as written (empty when there is none or it cannot be read)."""
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def _take(self) -> None:
        deadline = time.time() + self.ttl_s + 1 if self.wait else 0.0
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = self.holder()
                if self._expired(held):
                    self._write()  # an expired lease is taken over by an atomic rename
                    break
                if held.get("host") != self.mine["host"] and time.time() < deadline:
                    time.sleep(min(self.ttl_s / 8, 5.0))  # a lost node's lease expires; a live one is kept
                    continue
                age = time.time() - float(held.get("heartbeat", 0))
                raise ConfigError(
                    f"{self.path.parent} is being written by {held.get('host')} pid {held.get('pid')} "
                    f"(heartbeat {age:.0f} s ago); a shard has one writer at a time. If that process "
                    f"is gone, its lease expires {self.ttl_s:.0f} s after its last heartbeat"
                ) from None
            else:
                os.close(fd)
                self._write()
                break
        if self.holder().get("token") != self.mine["token"]:  # another taker renamed after us
            raise ConfigError(f"{self.path.parent}: another process took the shard's lease at the same time")

    def _expired(self, held: dict) -> bool:
        if not held:  # just created and not yet written, or torn: expired once it is a few seconds old
            try:
                return time.time() - self.path.stat().st_mtime > 5.0
            except FileNotFoundError:
                return True
        if time.time() - float(held.get("heartbeat", 0)) > self.ttl_s:
            return True
        if held.get("host") == self.mine["host"]:
            if int(held.get("pid", 0)) == self.mine["pid"]:
                # our own pid: a lease this process holds now, or one of an earlier run of this
                # container (a restarted pod keeps its hostname and is pid 1 again), which is gone
                return held.get("token") not in _HELD
            try:
                os.kill(int(held.get("pid", 0)), 0)
            except ProcessLookupError:
                return True  # its holder on this host has exited
            except PermissionError:
                return False
        return False

    def _write(self) -> None:
        tmp = self.path.with_name(f".{LEASE}.{self.mine['token']}")
        tmp.write_text(json.dumps({**self.mine, "heartbeat": time.time()}))
        os.replace(tmp, self.path)

    def check(self) -> None:
        """Raise ``ConfigError`` when the lease was lost (its heartbeat stopped and another took it)."""
        if self.lost.is_set():
            raise ConfigError(
                f"{self.path.parent}: this process lost its lease (its heartbeat could not be written in "
                f"time) and another writer took the shard; stopping so that only one writes it"
            )

    def _refresh(self) -> None:
        while not self._stop.wait(self.ttl_s / 4):
            try:
                if self.holder().get("token") != self.mine["token"]:
                    self.lost.set()
                    return
                self._write()
            except OSError:
                continue  # a passing filesystem error: try again at the next beat, before the lease expires
