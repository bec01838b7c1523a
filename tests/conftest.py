"""Session fixtures: the tiny kit (built once, cached), the shared real data, offline mode."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from aurelia_local.core.offline import enforce_offline

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AURELIA_SHARED_DATA", REPO.parent / "shared" / "data"))
DAILY_OMNI = SHARED_DATA / "daily_omni_mini"
CLIP_ID = "d6b4OmUFt7I"


def pytest_addoption(parser):
    parser.addoption("--update-snapshots", action="store_true", help="rewrite tests/snapshots/* from code")


def pytest_sessionstart(session):
    import tempfile

    enforce_offline()
    # commands run without an output folder log into a user folder: keep the suite's out of the user's
    os.environ.setdefault("AURELIA_LOG_DIR", tempfile.mkdtemp(prefix="aurelia-test-logs-"))


@pytest.fixture
def snapshot(request):
    """Compare text with ``tests/snapshots/NAME``; ``--update-snapshots`` is the only way to change one."""
    update = request.config.getoption("--update-snapshots")

    def check(name: str, text: str) -> None:
        path = REPO / "tests" / "snapshots" / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.is_file(), f"no snapshot {path}; create it with --update-snapshots"
        assert text == path.read_text(), f"{name} changed; review it, then run with --update-snapshots"

    return check


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The tiny kit, built once into a cache folder that later runs reuse (the build is idempotent)."""
    from aurelia_local.engines.tiny.kit import build_kit

    root = Path(os.environ.get("AURELIA_TEST_MODELS", REPO / ".cache" / "test-models"))
    build_kit(root)
    return root


@pytest.fixture(scope="session")
def smoke(models_dir):
    """Smoke-profile settings pointing at the test kit."""
    from aurelia_local.core.config import load_settings

    return load_settings("smoke", overrides=[f"models_dir={models_dir}"], environ={})


@pytest.fixture(scope="session")
def daily_omni_clip() -> Path:
    path = DAILY_OMNI / "Videos" / CLIP_ID / f"{CLIP_ID}_video.mp4"
    if not path.is_file():
        pytest.fail(f"shared test data missing: {path} (set AURELIA_SHARED_DATA to the shared/data folder)")
    return path


@pytest.fixture(scope="session")
def daily_omni_wav(daily_omni_clip) -> Path:
    return daily_omni_clip.with_name(f"{CLIP_ID}_audio.wav")


@pytest.fixture(scope="session")
def qwen2_5_vllm(smoke):
    """The one in-process vLLM engine of the session (a process holds one CPU engine)."""
    import whisper  # noqa: F401 - numba/llvmlite loaded before the engine, as in the loop (see compat.py)

    from aurelia_local.engines.factory import build_engine

    engine = build_engine(smoke.model_path("generator"), smoke.models["generator"], smoke)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    """Generated clips (see ``tests/clips.py``), made once per session."""
    from clips import shots_clip, silent_track_clip

    d = tmp_path_factory.mktemp("clips")
    shots_clip(d / "shots.mp4")
    shots_clip(d / "no_audio.mp4", tone_hz=None)
    shots_clip(d / "short.mp4", shot_s=0.05, rate=20)  # 3 frames: 0.15 s of video, 0.2 s of audio
    shots_clip(d / "portrait.mp4", size="90x160", shot_s=0.5)
    silent_track_clip(d / "silent.mp4")
    return d


@pytest.fixture(scope="session")
def summarizer_vllm(smoke, qwen2_5_vllm):
    """The tiny text LLM in vLLM (the session's second engine gets a process of its own)."""
    from aurelia_local.engines.factory import build_engine

    engine = build_engine(smoke.model_path("summarizer"), smoke.models["summarizer"], smoke)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def loop_ctx(smoke, qwen2_5_vllm, summarizer_vllm):
    """A loop context on the session's engines and the grounding scorer (tests replace its settings)."""
    from aurelia_local.core.scoring.grounding import GroundingScorer
    from aurelia_local.graphs.context import LoopContext
    from aurelia_local.graphs.runner import loop_models

    return LoopContext(smoke, qwen2_5_vllm, summarizer_vllm, GroundingScorer(smoke), loop_models(smoke))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(settings, roles, logs: Path):
    """The models of ``roles`` behind vLLM's OpenAI server on 127.0.0.1; yields ``{role: url}``."""
    import subprocess
    import sys
    import time

    import httpx

    from aurelia_local.engines.server_flags import server_flags

    urls, procs = {}, []
    for role in roles:
        port = _free_port()
        cmd = [sys.executable, "-m", "aurelia_local.app.serve", *server_flags(settings, role),
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        log = (logs / f"{role}.log").open("w")
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        urls[role] = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 600
    try:
        for role, url in urls.items():
            while True:
                try:
                    if httpx.get(url.removesuffix("/v1") + "/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.time() > deadline or any(p.poll() is not None for p in procs):
                    pytest.fail(f"{role} server did not start; see {logs / (role + '.log')}")
                time.sleep(1)
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="session")
def agent_servers(smoke, tmp_path_factory):
    """The generator and summarizer behind vLLM's OpenAI server on 127.0.0.1, started once."""
    with serving(smoke, ("generator", "summarizer"), tmp_path_factory.mktemp("servers")) as urls:
        yield urls


def write_server_config(path: Path, models_dir: Path, urls: dict[str, str], **sections) -> Path:
    """A user config file that points a CLI run at servers (one URL per role) and sets ``sections``."""
    import yaml

    engine = {"backend": "vllm_server", "servers": {k: [v] for k, v in urls.items()}}
    engine.update(sections.pop("engine", {}))
    path.write_text(yaml.safe_dump({"models_dir": str(models_dir), "engine": engine, **sections}))
    return path


@pytest.fixture(scope="session")
def server_config(agent_servers, models_dir, tmp_path_factory) -> Path:
    """A config for CLI runs against the session's servers (no engine to start in the CLI process)."""
    return write_server_config(tmp_path_factory.mktemp("config") / "servers.yaml", models_dir, agent_servers)


def with_loop(ctx, **loop):
    """A copy of the loop context ``ctx`` with these ``loop.*`` settings."""
    import dataclasses

    settings = ctx.settings.model_copy(update={"loop": ctx.settings.loop.model_copy(update=loop)})
    return dataclasses.replace(ctx, settings=settings)


def omni_teachers(ctx, **loop):
    """``ctx`` with AVRT's round one on the session's engines: the omni generator asked with one modality
    alone stands in for both teachers, the summarizer merges; the settings say so, so that the records
    name the models that ran. ``loop``: ``loop.*`` settings to change too.
    """
    import dataclasses

    settings = ctx.settings
    omni, text = settings.models["generator"], settings.models["summarizer"]
    models = {**settings.models, "vision_teacher": omni, "audio_teacher": omni, "merger": text}
    settings = settings.model_copy(update={"models": models, "loop": settings.loop.model_copy(update=loop)})
    omni_engine = ctx.generator
    return dataclasses.replace(ctx, settings=settings, vision_teacher=omni_engine, audio_teacher=omni_engine,
                               merger=ctx.summarizer)  # fmt: skip


def with_protocol(settings, name: str):
    """A copy of ``settings`` under the evaluation protocol ``name``."""
    return settings.model_copy(update={"eval": settings.eval.model_copy(update={"protocol": name})})


def run_cli(*args: str, config: Path | None = None, timeout: float = 900):
    """Run ``aurelia ARGS`` in a subprocess (with ``--config``); return the completed process."""
    import subprocess
    import sys

    extra = ["--config", str(config)] if config else []
    cmd = [sys.executable, "-m", "aurelia_local.app.cli", *args, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
