"""Samples and where they come from: the project's JSONL manifest and the benchmarks' own layouts.

Loaders stream: each yields one ``Sample`` or one ``SampleError`` per record, so a bad line becomes
an error record and the rest of the dataset still runs. Media is not opened here.

Manifest (JSONL, one sample per line; paths relative to the manifest's folder)::

    {"id": "s1", "question": "...", "video": "clips/s1.mp4", "audio": "clips/s1.wav",
     "choices": ["a dog", "a cat"], "answer": "B", "category": "Counting"}

``id``, ``question`` and ``video`` are required; ``audio``, ``choices``, ``answer`` and
``category`` are optional. ``answer`` is an option letter when there are choices.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aurelia_local.core.errors import AureliaError
from aurelia_local.core.text import letter, letter_index, option_texts

if TYPE_CHECKING:
    from aurelia_local.core.config import DataConfig


class Sample(BaseModel):
    """One question about one video (and optionally a separate audio file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    video: Path | None = None
    audio: Path | None = None
    image: Path | None = None  # a still image instead of a video (OmniBench: image + audio)
    choices: list[str] | None = None
    answer: str | None = None
    category: str | None = None
    duration: str | None = None
    domain: str | None = None
    source: str = "manifest"

    @model_validator(mode="after")
    def _one_visual(self) -> Sample:
        if (self.video is None) == (self.image is None):
            raise ValueError("a sample has a video or an image (one of them)")
        return self

    def is_correct(self, given: str | None) -> bool:
        """Whether ``given`` (an option letter, or an open answer) matches the gold answer."""
        from aurelia_local.core.answers import normalize_open_answer

        if given is None or self.answer is None:
            return False
        if self.choices:
            return given.strip().upper() == self.answer.strip().upper()
        return normalize_open_answer(given) == normalize_open_answer(self.answer)

    def gold_text(self) -> str | None:
        """The gold answer as text: the option's text for a letter answer, else the answer."""
        return gold_text(self.answer, self.choices)


def gold_text(answer: str | None, choices: list[str] | None) -> str | None:
    """The option's text for a letter answer (None for a letter out of range), else the answer."""
    index = letter_index(answer) if answer and choices else None
    if index is not None:
        return choices[index] if index < len(choices) else None
    return answer


class SampleError(BaseModel):
    """A record that could not become a sample, and why."""

    id: str | None
    where: str
    error: str


def sample_key(item) -> str:
    """What names a sample or its record for resuming, sharding and merging.

    Its id, or where a bad record was read: ``Sample``, ``SampleError``, trace and error records alike.
    """
    return item.id if item.id is not None else f"error:{item.where}"


def iter_manifest(path: Path, confine: bool = True) -> Iterator[Sample | SampleError]:
    """Stream a JSONL manifest: one ``Sample`` or ``SampleError`` per non-empty line.

    With ``confine`` a media path that leaves the manifest's folder (``..``, an absolute path
    elsewhere) is an error record; symbolic links inside the folder are the user's choice.
    """
    path = Path(path)
    if not path.is_file():
        raise AureliaError(f"manifest {path} does not exist or is not a file")
    root = path.parent
    seen: set[str] = set()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path}:{number}"
            if not raw.strip():
                continue
            yield _manifest_record(raw, root, where, seen, confine)


def _inside(path: Path, root: Path) -> bool:
    """Lexically inside ``root`` once ``..`` is resolved (symbolic links are not followed)."""
    normal, base = os.path.normpath(os.path.abspath(path)), os.path.normpath(os.path.abspath(root))
    return normal == base or normal.startswith(base + os.sep)


def _manifest_record(
    raw: bytes, root: Path, where: str, seen: set[str], confine: bool
) -> Sample | SampleError:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return SampleError(id=None, where=where, error="line is not valid UTF-8")
    except json.JSONDecodeError as exc:
        return SampleError(id=None, where=where, error=f"line is not valid JSON: {exc.msg}")
    if not isinstance(data, dict):
        return SampleError(id=None, where=where, error="line must be a JSON object")
    sid = data.get("id") if isinstance(data.get("id"), str) else None
    try:
        for key in ("video", "audio"):
            if isinstance(data.get(key), str):
                data[key] = root / data[key]
                if confine and not _inside(data[key], root):
                    return SampleError(
                        id=sid, where=where, error=f"{key} path {data[key]} leaves the data root {root} "
                        "(set data.confine_to_root=false to allow it)",
                    )  # fmt: skip
        sample = Sample.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return SampleError(id=sid, where=where, error=f"invalid sample ({problems})")
    if sample.id in seen:
        return SampleError(id=sample.id, where=where, error=f"duplicate id {sample.id!r}")
    seen.add(sample.id)
    return sample


def _read_json(path: Path, expected: str) -> Any:
    """A benchmark's annotation file, or an ``AureliaError`` naming it and the layout expected."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise AureliaError(f"{path} does not exist: expected {expected}") from None
    except json.JSONDecodeError as exc:
        raise AureliaError(f"{path} is not valid JSON: {exc}") from None


def iter_daily_omni(root: Path) -> Iterator[Sample | SampleError]:
    """Stream Daily-Omni: ``qa.json`` and ``Videos/<id>/<id>_video.mp4``; ids are ``<video_id>-<n>``."""
    root = Path(root)
    qa = root / "qa.json"
    records: list[dict[str, Any]] = _read_json(qa, "the Daily-Omni layout (qa.json + Videos/)")
    counts: dict[str, int] = {}
    for number, rec in enumerate(records):
        vid = str(rec.get("video_id", ""))
        counts[vid] = counts.get(vid, 0) + 1
        where = f"{qa}[{number}]"
        try:
            yield Sample(
                id=f"{vid}-{counts[vid]}", question=rec["Question"],
                video=root / "Videos" / vid / f"{vid}_video.mp4",
                choices=option_texts(rec["Choice"]), answer=rec.get("Answer"),
                category=rec.get("Type"), duration=rec.get("video_duration"), source="daily_omni",
            )  # fmt: skip
        except (KeyError, TypeError, ValidationError) as exc:
            yield SampleError(id=vid or None, where=where, error=f"invalid Daily-Omni record ({exc})")


def iter_worldsense(root: Path) -> Iterator[Sample | SampleError]:
    """Stream WorldSense: ``worldsense_qa.json`` (video id -> ``task0``, ...) and ``videos/<id>.mp4``.

    Ids are ``<video_id>-<task>``; the category is the task type, the domain the task's domain.
    """
    root = Path(root)
    qa = root / "worldsense_qa.json"
    videos: dict[str, Any] = _read_json(qa, "the WorldSense layout (worldsense_qa.json + videos/)")
    if not isinstance(videos, dict):
        raise AureliaError(f"{qa}: expected an object keyed by video id, got {type(videos).__name__}")
    for vid, entry in videos.items():
        tasks = sorted((k for k in entry if re.fullmatch(r"task\d+", k)), key=lambda k: int(k[4:]))
        if not tasks:
            yield SampleError(
                id=vid, where=f"{qa}[{vid!r}]", error="invalid WorldSense record (no task0, task1, ...)"
            )
        for task in tasks:
            rec = entry[task]
            try:
                yield Sample(
                    id=f"{vid}-{task}", question=rec["question"], video=root / "videos" / f"{vid}.mp4",
                    choices=option_texts(rec["candidates"]), answer=str(rec["answer"]).strip().upper(),
                    category=rec.get("task_type"), domain=rec.get("task_domain") or entry.get("domain"),
                    duration=_text(entry.get("duration")), source="worldsense",
                )  # fmt: skip
            except (KeyError, TypeError, ValidationError) as exc:
                yield SampleError(id=f"{vid}-{task}", where=f"{qa}[{vid!r}][{task!r}]",
                                  error=f"invalid WorldSense record ({exc})")  # fmt: skip


def iter_omnibench(root: Path) -> Iterator[Sample | SampleError]:
    """Stream OmniBench: ``dataset/*.jsonl`` and media in ``mm_data/image`` and ``mm_data/audio``.

    Image + audio, no video. The answer is given as the option's text and becomes its letter; ids
    are the records' ``index``; the category is the task type, the domain the audio type (speech,
    sound event, music).
    """
    root = Path(root)
    found = sorted((root / "dataset").glob("*.jsonl")) or sorted(root.glob("*.jsonl"))
    if not found:
        raise AureliaError(
            f"{root}: no OmniBench annotations (dataset/*.jsonl); expected the OmniBench layout "
            "(dataset/batch-*.jsonl, mm_data/image/, mm_data/audio/)"
        )
    path = found[0]
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                rec = json.loads(raw)
                options = [str(o) for o in rec["options"]]
                answer = str(rec["answer"]).strip()
                if answer not in [o.strip() for o in options]:
                    raise ValueError(f"answer {answer!r} is not one of its options")
                yield Sample(
                    id=str(rec.get("index", number)), question=rec["question"],
                    image=root / "mm_data" / "image" / rec["image_path"],
                    audio=root / "mm_data" / "audio" / rec["audio_path"], choices=option_texts(options),
                    answer=letter([o.strip() for o in options].index(answer)),
                    category=rec.get("task type"), domain=rec.get("audio type"), source="omnibench",
                )  # fmt: skip
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError) as exc:
                yield SampleError(id=None, where=where, error=f"invalid OmniBench record ({exc})")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def iter_music_avqa(annotations: Path, videos: Path) -> Iterator[Sample | SampleError]:
    """Stream MUSIC-AVQA: ``<Object>`` placeholders filled from ``templ_values``, open answers."""
    try:
        records: list[dict[str, Any]] = json.loads(Path(annotations).read_text())
    except FileNotFoundError:
        raise AureliaError(f"{annotations} does not exist: expected MUSIC-AVQA's avqa-test.json") from None
    for number, rec in enumerate(records):
        where = f"{annotations}[{number}]"
        try:
            question = rec["question_content"]
            for value in json.loads(rec.get("templ_values") or "[]"):
                question = re.sub(r"<[^<>]+>", str(value), question, count=1)
            kinds = json.loads(rec["type"])
            yield Sample(
                id=str(rec["question_id"]), question=question, video=Path(videos) / f"{rec['video_id']}.mp4",
                answer=rec["anser"], category=" / ".join(kinds), source="music_avqa",
            )  # fmt: skip
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            yield SampleError(
                id=str(rec.get("question_id")), where=where, error=f"invalid MUSIC-AVQA record ({exc})"
            )


MUSIC_AVQA_ANSWERS = (
    "yes", "no", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "more than ten", "left", "right", "middle", "indoor", "outdoor", "simultaneously",
    "accordion", "acoustic_guitar", "bagpipe", "banjo", "bassoon", "cello", "clarinet", "congas", "drum",
    "electric_bass", "erhu", "flute", "guzheng", "piano", "pipa", "saxophone", "suona", "trumpet", "tuba",
    "ukulele", "violin", "xylophone",
)  # fmt: skip


def data_root_of(source: Path) -> Path:
    """The folder a dataset's media paths are relative to: the folder itself, or a manifest's folder."""
    source = Path(source)
    return source if source.is_dir() else source.parent


def iter_samples(source: Path, confine: bool = True) -> Iterator[Sample | SampleError]:
    """Stream samples from a manifest file or a Daily-Omni folder."""
    source = Path(source)
    if source.is_dir():
        return iter_daily_omni(source)
    return iter_manifest(source, confine)


# Benchmark loaders: the ``loader`` of each entry of ``aurelia_local.core.catalog.BENCHMARKS``, all
# ``f(root, data) -> samples``, ``root`` being ``aurelia eval --data-root``.


def load_daily_omni(root: Path, data: DataConfig) -> Iterator[Sample | SampleError]:
    """Daily-Omni under ``root`` (``qa.json`` and ``Videos/``)."""
    return iter_daily_omni(root)


def load_worldsense(root: Path, data: DataConfig) -> Iterator[Sample | SampleError]:
    """WorldSense under ``root`` (``worldsense_qa.json`` and ``videos/``)."""
    return iter_worldsense(root)


def load_omnibench(root: Path, data: DataConfig) -> Iterator[Sample | SampleError]:
    """OmniBench under ``root`` (``dataset/*.jsonl``, ``mm_data/``)."""
    return iter_omnibench(root)


def load_music_avqa(root: Path, data: DataConfig) -> Iterator[Sample | SampleError]:
    """MUSIC-AVQA: the first annotation JSON in ``root`` (``avqa-test.json``), clips in ``root/videos``."""
    found = sorted(Path(root).glob("*.json"))
    if not found:
        raise AureliaError(f"{root}: no MUSIC-AVQA annotation JSON (avqa-test.json) found")
    return iter_music_avqa(found[0], Path(root) / "videos")


def load_manifest(root: Path, data: DataConfig) -> Iterator[Sample | SampleError]:
    """A JSONL manifest (``root`` is the file), media confined to its folder unless ``data`` says not."""
    return iter_manifest(root, data.confine_to_root)
