import json
import subprocess
import sys
from pathlib import Path

from aurelia_local.app.cli import main


def _run(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AURELIA_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "aurelia_local.app.cli", *args], capture_output=True, text=True, env=env
    )


def test_light_subcommands_do_not_import_torch(tmp_path: Path):
    code = (
        "import sys\n"
        "from aurelia_local.app.cli import main\n"
        f"for argv in (['config'], ['models', 'list', '--set', 'models_dir={tmp_path}'],"
        f" ['doctor', '--no-torch', '--set', 'models_dir={tmp_path}']):\n"
        "    main(argv)\n"
        "heavy = [m for m in ('torch', 'vllm', 'transformers', 'open_clip', 'whisper') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_doctor_fails_on_a_missing_model_folder_with_the_fix(tmp_path: Path):
    proc = _run("doctor", "--no-torch", "--set", f"models_dir={tmp_path}")
    assert proc.returncode == 1
    out = proc.stdout
    assert f"[FAIL] model generator: {tmp_path}/tiny/qwen2_5_omni: missing folder" in out
    assert f"fix: aurelia models build-tiny {tmp_path}" in out
    assert "required check(s) failed" in out


def test_doctor_names_the_download_fix_for_real_weights(tmp_path: Path):
    proc = _run("doctor", "--no-torch", "--json", "--profile", "default", "--set", f"models_dir={tmp_path}")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    gen = next(c for c in report["checks"] if c["name"] == "model generator")
    assert not gen["ok"] and str(tmp_path / "Qwen2.5-Omni-7B") in gen["detail"]
    assert "aurelia models download --profile default --role generator" in gen["fix"]


def test_doctor_flags_an_incomplete_folder(models_dir, tmp_path: Path):
    import shutil

    broken = tmp_path / "tiny" / "qwen2_5_omni"
    shutil.copytree(models_dir / "tiny" / "qwen2_5_omni", broken)
    (broken / "config.json").unlink()
    proc = _run("doctor", "--no-torch", "--set", f"models_dir={tmp_path}")
    assert proc.returncode == 1
    assert f"[FAIL] model generator: {broken}: missing config.json" in proc.stdout


def test_doctor_passes_on_the_built_kit(models_dir):
    proc = _run("doctor", "--set", f"models_dir={models_dir}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all checks passed" in proc.stdout
    assert "torchvision import: 0.28.0" in proc.stdout


def test_config_error_exits_2_with_message(capsys):
    assert main(["config", "--set", "loop.tau=99"]) == 2
    assert "tau" in capsys.readouterr().err


def test_generate_names_the_missing_model(tmp_path: Path, daily_omni_clip):
    proc = _run("generate", str(daily_omni_clip), "--question", "q", "--set", f"models_dir={tmp_path}")
    assert proc.returncode == 2
    assert "model for role 'generator' is not usable" in proc.stderr
    assert f"aurelia models build-tiny {tmp_path}" in proc.stderr
