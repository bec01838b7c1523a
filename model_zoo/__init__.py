"""Target audio-visual LLM adapters and model cards (installed as ``aurelia_zoo``).

Depends on ``aurelia_local`` only; never on ``aurelia_graphs``. Importing it loads no model and no
heavy library: cards are YAML data and adapters are resolved by dotted path when used.
"""

from aurelia_zoo.registry import ModelCard, adapter_class, list_cards, load_card

__all__ = ["ModelCard", "adapter_class", "list_cards", "load_card"]
