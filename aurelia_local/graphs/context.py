"""The run context of the loop (LangGraph ``context_schema``): settings, agents and the scorer.

None of it is checkpointed: engines and models are rebuilt when a run resumes, the state is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aurelia_local.core.config import Settings


@dataclass
class LoopContext:
    """What every node may use.

    ``generator`` and ``summarizer`` are async engines (``generate(list[EngineRequest])``);
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
