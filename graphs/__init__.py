"""LangGraph wiring of the reasoning loop (installed as ``aurelia_graphs``).

Depends on ``aurelia_local`` only; never on ``aurelia_zoo``.
"""
