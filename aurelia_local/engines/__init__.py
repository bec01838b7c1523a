"""Engines: how models are run (vLLM in-process, vLLM servers, transformers) and asked.

Depends on ``aurelia_local.core`` only. ``factory`` is the one place engines are built.
"""
