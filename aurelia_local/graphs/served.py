"""The compiled loop that ``langgraph.json`` points at, so ``langgraph dev`` can show it.

Compiling is this file's only job: importing it builds the graph (no models, no engines).
"""

from aurelia_local.graphs.aurelia_loop import build_aurelia_graph

graph = build_aurelia_graph().compile()
