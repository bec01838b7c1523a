"""The application: the ``aurelia`` command and its handlers.

The only layer that wires the loop (``aurelia_local.graphs``) and the target models
(``aurelia_local.zoo``) together.
"""
