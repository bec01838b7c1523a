"""The run context of the loop: what a run is given (``ServedContext``) and what its nodes use.

``ServedContext`` is the graph's ``context_schema``: plain data (a profile name and setting
overrides), so LangGraph's own server can build it from a run posted over HTTP. ``LoopContext`` is
what the nodes work with: settings, engines and the scorer. The project's runner passes a
``LoopContext`` directly; a ``ServedContext`` is resolved into one by ``graphs.serving``, on engines
that a process-level pool opens once. None of it is checkpointed: engines and models are rebuilt
when a run resumes, the state is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aurelia_local.core.config import Settings


@dataclass
class ServedContext:
    """A run's context as data: which profile, and which loop or sampling settings to change.

    Over HTTP anyone on the node can reach a loopback port, so overrides may change only the loop
    and sampling (``graphs.serving.SERVED_OVERRIDES``): models, trust_remote_code, server addresses
    and the data-root confinement come from the serving process's own configuration.
    """

    profile: str | None = None
    overrides: list[str] = field(default_factory=list)


@dataclass
class LoopContext:
    """What every node may use.

    ``generator`` and ``summarizer`` are engines (``aurelia_local.engines.protocol.Engine``);
    ``scorer`` is an ``aurelia_local.engines.scorers`` scorer.
    """

    settings: Settings
    generator: Any
    summarizer: Any
    scorer: Any
    models: dict[str, str] = field(default_factory=dict)  # role -> model id, recorded with results
    vision_teacher: Any = None  # AVRT topology only
    audio_teacher: Any = None
    merger: Any = None
    media_pool: Any = None  # the executor media work runs in (``graphs.serving.media_pool``)
