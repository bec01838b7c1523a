"""The vLLM server flags of an agent role under a profile.

``scripts/serve_agents.sh`` (through ``python -m aurelia_local.app.serve_flags``) and the tests start
servers from these flags, so the served models match what the in-process engine would load: same
folder, dtype, context length, media limits.
"""

from __future__ import annotations

from aurelia_local.core.config import Settings
from aurelia_local.engines.families import family_of


def server_flags(settings: Settings, role: str) -> list[str]:
    """Return the ``aurelia_local.app.serve`` flags (without host and port) for ``role``."""
    ref = settings.models[role]
    engine = settings.engine
    flags = [
        "--model", str(settings.model_path(role)), "--served-model-name", role,
        "--dtype", ref.dtype if ref.dtype != "auto" else engine.dtype,
        "--max-model-len", str(engine.max_model_len), "--max-num-seqs", str(engine.max_num_seqs),
        "--seed", str(settings.sampling.seed),
    ]  # fmt: skip
    if ref.tensor_parallel_size > 1:
        flags += ["--tensor-parallel-size", str(ref.tensor_parallel_size)]
    if ref.pipeline_parallel_size > 1:
        flags += ["--pipeline-parallel-size", str(ref.pipeline_parallel_size)]
    if engine.enforce_eager:
        flags.append("--enforce-eager")
    if ref.trust_remote_code:
        flags.append("--trust-remote-code")
    return flags + family_of(ref.kind).server_flags(engine)
