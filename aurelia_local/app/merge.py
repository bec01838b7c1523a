"""``aurelia merge OUT``: the shards of a distill or eval run (``OUT/shard-*-of-*``) joined in ``OUT``.

One record per sample: an ok record beats a filtered one, which beats an error (a shard rerun after a
failure may hold both); for eval, one row per (sample, target, arm), an answered row beating an
error, each topology's r* traces merged alike, and the results and report computed again. Shards
of different run identities or shard counts are refused, and so are missing shards and unfinished
ones (killed, stopped by an engine that went away, or still being written) unless ``partial``: a
merge never silently holds fewer samples than the run. Every file is written beside its final name
and renamed into place, so a merge killed part-way leaves the
previous merge (or none), never half of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aurelia_local.core.datasets import sample_key
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.identity import claim_run
from aurelia_local.core.jsonl import write_atomic
from aurelia_local.core.records import (
    DistillSummary,
    ErrorRecord,
    EvalResults,
    EvalRow,
    RunManifest,
    TraceRecord,
    eval_results,
    read_eval_rows,
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
    summary: DistillSummary | EvalResults


def merge_run(out: Path, partial: bool = False) -> Merged:
    """Join ``out``'s shard folders into ``out`` (``run.json`` and the command's records and results)."""
    from aurelia_local.app.distill import TRACES, summarize_run
    from aurelia_local.app.status import finished

    out = Path(out)
    found = shard_folders(out)
    if not found:
        raise ConfigError(
            f"{out}: no shard folders (shard-IIII-of-NNNN) to merge; run distill or eval with --shard"
        )
    if len(found) > 1:
        raise ConfigError(f"{out}: shards of different counts ({', '.join(map(str, sorted(found)))}); "
                          "a merge joins the shards of one run")  # fmt: skip
    count, folders_by_index = next(iter(found.items()))
    manifests = {i: _manifest(folder) for i, folder in folders_by_index.items()}
    identities = {m.identity_hash for m in manifests.values() if m is not None}
    if len(identities) > 1:
        raise ConfigError(
            f"{out}: shards of different run identities ({', '.join(sorted(identities))}); each shard "
            "must run with the same settings, prompts and models"
        )
    missing = [i for i in range(count) if manifests.get(i) is None]
    unfinished = [i for i in range(count) if i not in missing and not finished(folders_by_index[i])]
    if (missing or unfinished) and not partial:
        lacking = [f"{len(missing)} never started ({_listed(missing)})"] if missing else []
        lacking += [f"{len(unfinished)} did not finish ({_listed(unfinished)})"] if unfinished else []
        raise ConfigError(
            f"{out}: of {count} shards, {' and '.join(lacking)}; run them (again) with --shard I/{count} "
            "(a shard resumes where it stopped), or merge what is there with --partial"
        )
    if len(missing) == count:
        raise ConfigError(f"{out}: none of its {count} shards has started; nothing to merge")
    manifest = next(m for m in manifests.values() if m is not None)
    execution = {**manifest.execution, "shard": None, "merged_shards": count, "missing_shards": missing,
                 "unfinished_shards": unfinished}  # fmt: skip
    merged = claim_run(out, manifest.model_copy(update={"execution": execution}))  # same identity, or refused
    folders = [folder for i, folder in sorted(folders_by_index.items()) if i not in missing]
    if (folders[0] / "resolved_config.yaml").is_file():
        write_atomic(out / "resolved_config.yaml", (folders[0] / "resolved_config.yaml").read_text())
    if manifest.command == "eval":
        return Merged(count, missing, unfinished, _merge_eval(out, folders, merged))
    records = _merge_traces(out / TRACES, [folder / TRACES for folder in folders])
    config = next((r.config_hash for r in records), "")
    summary = summarize_run(records, merged, out, config, {k: execution[k] for k in MERGE_FIELDS})
    write_atomic(out / "summary.json", summary.model_dump_json(indent=2))
    return Merged(count, missing, unfinished, summary)


def _merge_traces(dest: Path, shards: list[Path]) -> list[TraceRecord | ErrorRecord]:
    """One trace record per sample from ``shards`` (and an earlier merge in ``dest``), written to ``dest``."""
    best: dict[str, TraceRecord | ErrorRecord] = {}
    # an earlier merge's records count too: merging again after more shards ran only adds
    for path in (p for p in (dest, *shards) if p.is_file()):
        for record in read_traces(path):
            key = sample_key(record)
            if key not in best or RANK[record.status] < RANK[best[key].status]:
                best[key] = record
    records = list(best.values())
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dest, "".join(r.model_dump_json() + "\n" for r in records))
    return records


def _merge_eval(out: Path, folders: list[Path], manifest: RunManifest) -> EvalResults:
    """The rows of every shard (an answered row beats an error), each topology's r*, results and report."""
    from aurelia_local.app.eval.metrics import loop_cost, summarize
    from aurelia_local.app.eval.report import write_report
    from aurelia_local.app.eval.runner import reasoning_folder
    from aurelia_local.core.catalog import ARMS

    done = [eval_results(json.loads((f / "results.json").read_text())) for f in folders
            if (f / "results.json").is_file()]  # fmt: skip
    if not done:
        raise ConfigError(f"{out}: no shard has finished its evaluation (no results.json) to merge")
    base = done[0]
    arms = list(dict.fromkeys(a for r in done for a in r.arms))  # shards may have run other arms or targets
    targets = list(dict.fromkeys(t for r in done for t in r.targets))
    rows: dict[tuple, EvalRow] = {}
    # an earlier merge first, then the shards: a later row replaces an earlier one (a shard asks again
    # when a card or r* changed), but an error never replaces an answer
    for path in (p for p in (out / "samples.jsonl", *(f / "samples.jsonl" for f in folders)) if p.is_file()):
        for row in read_eval_rows(path):
            key = (row.sample_id, row.target, row.arm)
            if row.identity == manifest.identity_hash and not (row.status == "error" and key in rows):
                rows[key] = row
    write_atomic(out / "samples.jsonl", "".join(r.model_dump_json() + "\n" for r in rows.values()))
    costs = {}
    for arm in arms:
        topology = ARMS.get(arm).r_star
        if topology is None:
            continue
        folder = reasoning_folder(topology)
        shards = [f / folder / "traces.jsonl" for f in folders]
        if any(p.is_file() for p in shards):
            traces = _merge_traces(out / folder / "traces.jsonl", shards)
            costs[arm] = loop_cost([t for t in traces if isinstance(t, TraceRecord) and t.status == "ok"])
    dumped = [r.model_dump() for r in rows.values()]
    injected = dict.fromkeys(a for r in done for a in r.reasoning["samples_with_r_star"])
    with_r_star = {
        arm: len({r.sample_id for r in rows.values() if r.arm == arm and r.r_star}) for arm in injected
    }
    results = base.model_copy(update={
        "out": str(out), "samples": sum(r.samples for r in done), "arms": arms, "targets": targets,
        "invalid_records": [bad for r in done for bad in r.invalid_records],
        "summary": {k: summarize([r for r in dumped if r["target"] == k], arms) for k in targets},
        "reasoning": {**base.reasoning, "samples_with_r_star": with_r_star},
        "loop_cost": {**{a: c for r in done for a, c in (r.loop_cost or {}).items()}, **costs} or None,
    })  # fmt: skip
    write_atomic(out / "results.json", results.model_dump_json(indent=2))
    write_report(results.model_dump(mode="json"), out)
    return results


def _listed(indexes: list[int]) -> str:
    return ", ".join(map(str, indexes))


def _manifest(folder: Path) -> RunManifest | None:
    path = folder / "run.json"
    return run_manifest(json.loads(path.read_text())) if path.is_file() else None
