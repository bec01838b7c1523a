"""Graphs: the reasoning loop as a LangGraph state machine, and the runner that drives it.

Depends on ``aurelia_local.core`` and ``aurelia_local.engines``; never on ``aurelia_local.zoo``.
"""
