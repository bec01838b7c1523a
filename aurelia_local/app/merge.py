"""``aurelia merge OUT``: the shards of a distill run (``OUT/shard-*-of-*``) joined into ``OUT``.

One record per sample: an ok record beats a filtered one, which beats an error (a shard rerun after a
failure may hold both). Shards of different run identities or shard counts are refused, and so are
missing shards and unfinished ones (killed, stopped by an engine that went away, or still being
written) unless ``partial``: a merge never silently holds fewer samples than the run. Every
file is written beside its final name and renamed into place, so a merge killed part-way leaves the
previous merge (or none), never half of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aurelia_local.core.errors import ConfigError
from aurelia_local.core.identity import claim_run
from aurelia_local.core.records import (
    DistillSummary,
    ErrorRecord,
    RunManifest,
    TraceRecord,
    read_traces,
    run_manifest,
)
from aurelia_local.core.shards import shard_folders

RANK = {"ok": 0, "filtered": 1, "error": 2}
MERGE_FIELDS = ("merged_shards", "missing_shards", "unfinished_shards")


@dataclass(frozen=True)
class Merged:
    """What a merge wrote: the shards it joined, those it lacked, and the run's summary."""

    shards: int
    missing: list[int]  # shards that never started
    unfinished: list[int]  # shards that started but did not end (killed, stopped, still running)
    summary: DistillSummary


def merge_run(out: Path, partial: bool = False) -> Merged:
    """Join ``out``'s shard folders into ``out/traces.jsonl``, ``run.json`` and ``summary.json``."""
    from aurelia_local.app.distill import TRACES, summarize_run
    from aurelia_local.app.status import finished

    out = Path(out)
    found = shard_folders(out)
    if not found:
        raise ConfigError(f"{out}: no shard folders (shard-IIII-of-NNNN) to merge; run distill with --shard")
    counts = {count for count, _ in found.values()}
    if len(counts) > 1:
        raise ConfigError(f"{out}: shards of different counts ({', '.join(map(str, sorted(counts)))}); "
                          "a merge joins the shards of one run")  # fmt: skip
    count = counts.pop()
    manifests = {i: _manifest(folder) for i, (_, folder) in found.items()}
    identities = {m.identity_hash for m in manifests.values() if m is not None}
    if len(identities) > 1:
        raise ConfigError(
            f"{out}: shards of different run identities ({', '.join(sorted(identities))}); each shard "
            "must run with the same settings, prompts and models"
        )
    missing = [i for i in range(count) if manifests.get(i) is None]
    unfinished = [i for i in range(count) if i not in missing and not finished(found[i][1])]
    if (missing or unfinished) and not partial:
        lacking = [f"{len(missing)} never started ({_listed(missing)})"] if missing else []
        lacking += [f"{len(unfinished)} did not finish ({_listed(unfinished)})"] if unfinished else []
        raise ConfigError(
            f"{out}: of {count} shards, {' and '.join(lacking)}; run them (again) with --shard I/{count} "
            "(a shard resumes where it stopped), or merge what is there with --partial"
        )
    manifest = next(m for m in manifests.values() if m is not None)
    if manifest.command != "distill":
        raise ConfigError(f"{out}: shards of a {manifest.command} run; aurelia merge joins distill runs")
    execution = {**manifest.execution, "shard": None, "merged_shards": count, "missing_shards": missing,
                 "unfinished_shards": unfinished}  # fmt: skip
    merged = claim_run(out, manifest.model_copy(update={"execution": execution}))  # same identity, or refused
    best: dict[str, TraceRecord | ErrorRecord] = {}
    # an earlier merge's records count too: merging again after more shards ran only adds
    sources = [out / TRACES, *(folder / TRACES for _, folder in sorted(found.values()))]
    for path in (p for p in sources if p.is_file()):
        for record in read_traces(path):
            key = record.id if record.id is not None else f"error:{record.where}"
            if key not in best or RANK[record.status] < RANK[best[key].status]:
                best[key] = record
    records = list(best.values())
    _write(out / TRACES, "".join(r.model_dump_json() + "\n" for r in records))
    first = found[min(i for i in range(count) if i not in missing)][1]
    if (first / "resolved_config.yaml").is_file():
        _write(out / "resolved_config.yaml", (first / "resolved_config.yaml").read_text())
    config = next((r.config_hash for r in records), "")
    summary = summarize_run(records, merged, out, config, {k: execution[k] for k in MERGE_FIELDS})
    _write(out / "summary.json", summary.model_dump_json(indent=2))
    return Merged(count, missing, unfinished, summary)


def _listed(indexes: list[int]) -> str:
    return ", ".join(map(str, indexes))


def _manifest(folder: Path) -> RunManifest | None:
    path = folder / "run.json"
    return run_manifest(json.loads(path.read_text())) if path.is_file() else None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.merging")
    tmp.write_text(text)
    tmp.replace(path)
