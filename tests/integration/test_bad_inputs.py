"""A generated corpus of bad and unusual inputs, run by ``aurelia distill`` in one manifest.

Each bad input becomes an error record that names the file or line and what is wrong; the good and
unusual samples of the same run complete; the exit status says that some sample failed.
"""

import json
import shutil

import pytest
from clips import pattern_clip, shots_clip, still_clip, tone_file, truncated
from conftest import run_cli

from aurelia_local.core.jsonl import read_records

pytestmark = pytest.mark.engine
ROOT_NAME = "données d'essai 1"  # spaces, an apostrophe and non-ASCII letters in every path


def _line(sid, video, **extra):
    record = {"id": sid, "question": f"What happens in {sid}?", "video": video}
    return json.dumps({**record, "choices": ["a tone", "speech"], "answer": "A", **extra}, ensure_ascii=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The manifest, and what each of its lines must turn into: "ok" or a phrase of the error."""
    base = tmp_path_factory.mktemp("corpus")
    root = base / ROOT_NAME
    clips, audio = root / "clips", root / "audio"
    clips.mkdir(parents=True)
    audio.mkdir()
    shots = shots_clip(clips / "shots.mp4")
    shutil.copy(shots, clips / "日本語 クリップ (1).mp4")
    shots_clip(clips / "no audio.mp4", tone_hz=None)
    tone_file(audio / "tone 8k.wav", rate=8000)
    tone_file(audio / "tone 5.1.m4a", rate=48000, channels=6)
    (clips / "empty.mp4").write_bytes(b"")
    (clips / "notes.mp4").write_text("these are meeting notes, not a video\n")
    truncated(shots, clips / "cut.mp4", keep=0.4)
    tone_file(clips / "sound only.mp4")
    pattern_clip(clips / "two pixels.mp4", 1.0, size="2x2")
    pattern_clip(clips / "blink.mp4", 0.1)
    still_clip(clips / "ten minutes.mp4", 600)
    shutil.copy(shots, base / "outside.mp4")

    cases = [
        (_line("plain", "clips/shots.mp4"), "ok"),
        (_line("unicode", "clips/日本語 クリップ (1).mp4"), "ok"),
        (_line("audio-8k", "clips/no audio.mp4", audio="audio/tone 8k.wav"), "ok"),
        (_line("audio-5.1", "clips/no audio.mp4", audio="audio/tone 5.1.m4a"), "ok"),
        (_line("empty", "clips/empty.mp4"), "file is empty (0 bytes)"),
        (_line("text", "clips/notes.mp4"), "not a readable video"),
        (_line("cut", "clips/cut.mp4"), "truncated"),
        (_line("no-audio", "clips/no audio.mp4"), "no audio track and no separate audio file"),
        (_line("audio-only", "clips/sound only.mp4"), "no video stream (is this an audio-only file?)"),
        (_line("2x2", "clips/two pixels.mp4"), "frames are 2x2 px"),
        (_line("blink", "clips/blink.mp4"), "under the minimum of 0.2 s (media.min_video_seconds)"),
        (_line("long", "clips/ten minutes.mp4"), "over the limit of 300 s (media.max_video_seconds)"),
        (_line("missing", "clips/gone.mp4"), "file does not exist"),
        (_line("bad-audio", "clips/shots.mp4", audio="audio/none.wav"), "none.wav: file does not exist"),
        (json.dumps({"id": "no-question", "video": "clips/shots.mp4"}), "question: Field required"),
        (_line("wrong-type", "clips/shots.mp4", choices="a tone"), "choices: Input should be a valid list"),
        (_line("plain", "clips/shots.mp4"), "duplicate id 'plain'"),
        (b'{"id": "latin-1", "question": "Caf\xe9?", "video": "clips/shots.mp4"}', "not valid UTF-8"),
        (_line("escape", "../outside.mp4"), "leaves the data root"),
        (_line("absolute", str(base / "outside.mp4")), "leaves the data root"),
        ('{"id": "torn", "question": "Wh', "not valid JSON"),
    ]
    manifest = root / "manifest.jsonl"
    manifest.write_bytes(b"\n".join(c if isinstance(c, bytes) else c.encode() for c, _ in cases) + b"\n")
    return manifest, [expected for _, expected in cases]


def test_every_bad_input_is_its_own_error_record_and_the_good_ones_complete(corpus, server_config, tmp_path):
    manifest, expected = corpus
    out = tmp_path / "run"
    args = ("distill", str(manifest), "--out", str(out), "--no-progress", "--set", "loop.max_rounds=1")
    proc = run_cli(*args, config=server_config)
    assert proc.returncode == 1, proc.stderr[-3000:]  # some samples failed; the run itself did not
    records = read_records(out / "traces.jsonl")
    assert len(records) == len(expected)
    by_line = {}
    for record in records:
        line = _line_of(record, manifest, records)
        assert line not in by_line, f"two records for line {line}"
        by_line[line] = record
    for number, want in enumerate(expected, 1):
        record = by_line[number]
        if want == "ok":
            assert record["status"] == "ok", record
            assert record["rounds"][0]["tokens"]["generator"]["audio"] > 0
        else:
            assert record["status"] == "error" and want in record["error"], (number, record)
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["errors"]) == (4, len(expected) - 4)

    again = run_cli(*args, config=server_config)
    assert again.returncode == 1 and len(read_records(out / "traces.jsonl")) == len(expected)
    this_run = json.loads((out / "summary.json").read_text())["this_run"]
    assert (this_run["ok"], this_run["errors"]) == (0, 0)  # a rerun finds everything done


def _line_of(record, manifest, records):
    """The manifest line a record belongs to: error records of bad lines name it, samples by id."""
    if record.get("where", "").startswith(f"{manifest}:"):
        return int(record["where"].rsplit(":", 1)[1])
    lines = manifest.read_bytes().split(b"\n")
    for number, raw in enumerate(lines, 1):
        try:
            if json.loads(raw).get("id") == record["id"]:
                return number  # the first line with that id (a later duplicate is a line error)
        except (ValueError, AttributeError):
            continue
    raise AssertionError(f"record {record} matches no manifest line")
