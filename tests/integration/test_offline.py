"""Nothing reaches the network at run time: the demo path runs with every outside connect blocked."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine
GUARD = Path(__file__).resolve().parents[1] / "netguard"


def _guarded_env(log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "VLLM_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD), env.get("PYTHONPATH", "")])
    env["NETGUARD_LOG"] = str(log)
    return env


def test_the_guard_blocks_and_logs_an_outside_connect(tmp_path):
    log = tmp_path / "net.log"
    code = "import socket; socket.create_connection(('203.0.113.7', 443), timeout=1)"
    proc = subprocess.run([sys.executable, "-c", code], env=_guarded_env(log), capture_output=True, text=True)
    assert proc.returncode != 0 and "blocked by the test guard" in proc.stderr
    assert "203.0.113.7" in log.read_text()


def test_reason_runs_with_the_network_blocked(models_dir, daily_omni_clip, tmp_path):
    log = tmp_path / "net.log"
    out = tmp_path / "reason.json"
    cmd = [sys.executable, "-m", "aurelia_local.app.cli", "reason", str(daily_omni_clip), "--question", "H?",
           "--set", f"models_dir={models_dir}", "--set", "loop.max_rounds=1", "--out", str(out)]  # fmt: skip
    # the HF offline switches are removed from the environment: the project must set them itself
    proc = subprocess.run(cmd, env=_guarded_env(log), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not log.exists() or log.read_text() == "", log.read_text()
    assert "r*" in proc.stdout and out.is_file()
