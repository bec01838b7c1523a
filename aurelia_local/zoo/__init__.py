"""The zoo: target audio-visual LLMs, their cards and their adapters.

Depends on ``aurelia_local.core`` and ``aurelia_local.engines``; never on ``aurelia_local.graphs``.
Importing it loads no model and no heavy library: cards are YAML data and adapters are resolved by
dotted path when used.
"""
