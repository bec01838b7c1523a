"""Target audio-visual LLM adapters and model cards (installed as ``aurelia_zoo``).

Depends on ``aurelia_local`` only; never on ``aurelia_graphs``.
"""
