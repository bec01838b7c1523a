"""``aurelia view``: a distill or eval output folder as an offline static site.

The site is plain files (HTML, CSS, a little JavaScript, JPEG thumbnails, Opus audio) that open from
a shared filesystem with no server and no network. Browsers refuse ``fetch`` and modules on
``file://`` pages, so data travels as classic scripts that call the page: ``data/index.js`` holds one
line per sample (what the index shows, filters and sorts), and ``data/chunk-NNNNN.js`` the full
records of ``CHUNK`` samples each, loaded when one of their samples is opened. A 10,000-sample run
therefore opens by reading the index alone.

The records are read as they are (a run still in progress shows what is done); nothing is decoded
or transcribed again. Model output is data: the page builds its DOM with ``textContent`` only.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aurelia_local.app.view.media import MediaFiles, MediaJob, write_media
from aurelia_local.core.errors import AureliaError
from aurelia_local.core.jsonl import write_atomic

CHUNK = 200
SITE_VERSION = 1
ASSETS = ("index.html", "view.css", "view.js")


@dataclass(frozen=True)
class SiteSummary:
    """What ``build_site`` wrote."""

    kind: str  # "distill" or "eval"
    path: Path  # the site's index.html
    samples: int
    errors: int
    chunks: int
    media_errors: list[str]
    size_bytes: int


def run_kind(run: Path) -> str:
    """``distill`` or ``eval``: what produced ``run`` (its ``run.json``, else the files it holds)."""
    manifest = _manifest(run)
    if manifest is not None:
        return manifest["command"]
    if (run / "traces.jsonl").is_file():
        return "distill"
    if (run / "samples.jsonl").is_file():
        return "eval"
    raise AureliaError(
        f"{run}: no run.json, traces.jsonl or samples.jsonl; aurelia view takes the --out folder of "
        "aurelia distill or aurelia eval"
    )


def _manifest(run: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run / "run.json").read_text())
    except (OSError, ValueError):
        return None


def build_site(
    run: Path, out: Path | None = None, media: bool = True, progress: bool = True, workers: int | None = None
) -> SiteSummary:
    """Write the site of the run folder ``run`` to ``out`` (default ``run/view``)."""
    run = Path(run)
    if not run.is_dir():
        raise AureliaError(f"{run}: not a folder; aurelia view takes a distill or eval output folder")
    out = Path(out) if out is not None else run / "view"
    kind = run_kind(run)
    out.mkdir(parents=True, exist_ok=True)
    if kind == "distill":
        index, details, jobs = _distill(run)
    else:
        index, details, jobs = _eval(run, out)
    media_errors = _write_media(details, jobs, out, media, progress, workers)
    chunks = [details[i : i + CHUNK] for i in range(0, len(details), CHUNK)]
    for n, entry in enumerate(index["samples"]):
        entry["chunk"] = n // CHUNK
    manifest = _manifest(run) or {}
    index["provenance"] = {key: manifest.get(key) for key in ("identity_hash", "created", "updated", "argv")}
    index["provenance"]["aurelia"] = (manifest.get("versions") or {}).get("aurelia")
    built = datetime.now(UTC).isoformat(timespec="seconds")
    index.update(site_version=SITE_VERSION, chunks=len(chunks), chunk_size=CHUNK,
                 media_errors=media_errors[:50], built=built, run=str(run.resolve()))  # fmt: skip
    data = out / "data"
    data.mkdir(exist_ok=True)
    for n, chunk in enumerate(chunks):
        _write_script(data / f"chunk-{n:05d}.js", f"AURELIA.loadChunk({n}, ", chunk)
    for stale in data.glob("chunk-*.js"):
        if int(stale.stem.split("-")[1]) >= len(chunks):
            stale.unlink()
    _write_script(data / "index.js", "AURELIA.loadIndex(", index)
    for name in ASSETS:
        text = resources.files("aurelia_local.app.view").joinpath("assets", name).read_text()
        write_atomic(out / name, text)
    errors = sum(e["status"] == "error" for e in index["samples"])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    samples = len(index["samples"])
    return SiteSummary(kind, out / "index.html", samples, errors, len(chunks), media_errors, size)


# --- distill runs -------------------------------------------------------------------------------


def _distill(run: Path) -> tuple[dict, list[dict], dict[int, MediaJob]]:
    from aurelia_local.core.records import ErrorRecord, read_traces

    records = read_traces(run / "traces.jsonl")
    root = _data_root(run)
    samples, details, jobs = [], [], {}
    for n, record in enumerate(records):
        data = record.model_dump(mode="json")
        if isinstance(record, ErrorRecord):
            samples.append({"id": record.id or f"({record.where})", "status": "error", "category": None,
                            "score": None, "rounds": None, "stop": None, "leaked": None, "topology": None,
                            "seconds": None})  # fmt: skip
        else:
            samples.append({"id": record.id, "status": record.status, "category": record.category,
                            "score": record.score, "rounds": len(record.rounds), "stop": record.stop_reason,
                            "leaked": record.leakage.leaked, "topology": record.topology,
                            "seconds": round(record.seconds, 3)})  # fmt: skip
            video = _resolve(record.video_path, root)
            times = tuple(k.time_s for k in record.media.keyframes) if record.media else ()
            if video is not None:
                jobs[n] = MediaJob(video, _resolve(record.audio_path, root), times)
        details.append(data)
    finished = (run / "summary.json").is_file()
    summary = _distill_summary(samples)
    index = {"kind": "distill", "samples": samples, "summary": summary, "in_progress": not finished}
    return index, details, jobs


def _distill_summary(samples: list[dict]) -> dict[str, Any]:
    ok = [s for s in samples if s["status"] == "ok"]
    counts = defaultdict(int)
    for s in samples:
        counts[s["status"]] += 1
    done = [s for s in samples if s["status"] != "error"]
    return {
        "samples": len(samples), "ok": counts["ok"], "filtered": counts["filtered"], "error": counts["error"],
        "mean_rounds": _mean([s["rounds"] for s in done]),
        "mean_seconds": _mean([s["seconds"] for s in done]),
        "passed_threshold": sum(s["stop"] == "threshold" for s in ok),
        "leaked": sum(bool(s["leaked"]) for s in ok),
    }  # fmt: skip


def _data_root(run: Path) -> Path | None:
    manifest = _manifest(run) or {}
    root = manifest.get("data_root")
    return Path(root) if root else None


def _resolve(path: str | None, root: Path | None) -> Path | None:
    if not path:
        return None
    p = Path(path)
    return p if p.is_absolute() or root is None else root / p


# --- eval runs ----------------------------------------------------------------------------------


def _eval(run: Path, out: Path) -> tuple[dict, list[dict], dict[int, MediaJob]]:
    from aurelia_local.app.eval.metrics import summarize
    from aurelia_local.core.records import read_eval_rows

    rows = {(r.sample_id, r.target, r.arm): r for r in read_eval_rows(run / "samples.jsonl")}  # later wins
    questions = _questions(run)
    by_sample: dict[str, list] = defaultdict(list)
    for row in rows.values():
        by_sample[row.sample_id].append(row)
    targets = sorted({r.target for r in rows.values()})
    arms = list(dict.fromkeys(r.arm for r in rows.values()))
    samples, details = [], []
    for sample_id, sample_rows in by_sample.items():
        first = sample_rows[0]
        status = "error" if any(r.status == "error" for r in sample_rows) else "ok"
        correct = sum(bool(r.correct) for r in sample_rows)
        samples.append({"id": sample_id, "status": status, "category": first.category, "answer": first.answer,
                        "correct": correct, "answers": len(sample_rows)})  # fmt: skip
        dumped_rows = [r.model_dump(mode="json", exclude={"output_tokens"}) for r in sample_rows]
        details.append({"id": sample_id, "answer": first.answer, "category": first.category,
                        **questions.get(sample_id, {}), "rows": dumped_rows})  # fmt: skip
    dumped = [r.model_dump(mode="json") for r in rows.values()]
    summary = {t: summarize([r for r in dumped if r["target"] == t], arms) for t in targets}
    chart = None
    if (run / "accuracy.png").is_file():
        shutil.copyfile(run / "accuracy.png", out / "accuracy.png")
        chart = "accuracy.png"
    index = {"kind": "eval", "samples": samples, "targets": targets, "arms": arms, "report": summary,
             "chart": chart, "in_progress": not (run / "results.json").is_file()}  # fmt: skip
    return index, details, {}


def _questions(run: Path) -> dict[str, dict]:
    """Question and choices by sample id, from the loop runs an eval made for r* (when it made any)."""
    from aurelia_local.core.records import TraceRecord, read_traces

    found: dict[str, dict] = {}
    for path in sorted(run.glob("reasoning*/traces.jsonl")):
        for record in read_traces(path):
            if isinstance(record, TraceRecord):
                found.setdefault(record.id, {"question": record.query, "choices": record.choices})
    return found


# --- writing ------------------------------------------------------------------------------------


def _write_media(details: list[dict], jobs: dict[int, MediaJob], out: Path, media: bool, progress: bool,
                 workers: int | None) -> list[str]:  # fmt: skip
    if not media or not jobs:
        return []
    from tqdm import tqdm

    from aurelia_local.app.logs import user_stderr

    # one job per source: samples that share a video share its thumbnails and clip
    merged: dict[tuple, set[float]] = defaultdict(set)
    for job in jobs.values():
        merged[(job.video, job.audio)].update(job.times)
    sources = list(merged)
    results: dict[tuple, MediaFiles] = {}
    workers = workers or min(8, os.cpu_count() or 1)
    bar = tqdm(total=len(sources), unit="video", desc="page media", disable=not progress, file=user_stderr())
    todo = [MediaJob(video, audio, tuple(sorted(merged[(video, audio)]))) for video, audio in sources]
    with ThreadPoolExecutor(workers) as pool:
        for job, files in zip(todo, pool.map(lambda job: write_media(job, out), todo), strict=True):
            results[(job.video, job.audio)] = files
            bar.update()
    bar.close()
    for n, job in jobs.items():
        files = results[(job.video, job.audio)]
        details[n]["page_media"] = {
            "thumbs": {f"{t:g}": files.thumbs[t] for t in job.times if t in files.thumbs},
            "audio": files.audio, "error": files.error,
        }  # fmt: skip
    return sorted({f.error for f in results.values() if f.error})


def _write_script(path: Path, call: str, data: Any) -> None:
    """``call`` + JSON + ``);``: the JSON escaped so that no record can end the script or the call."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(char, escaped)
    write_atomic(path, f"{call}{text});\n")


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 3) if values else None
