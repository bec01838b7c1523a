"""The AURELIA loop as a LangGraph state machine.

generate_reasoning -> summarize -> evaluate_caption -> (score >= tau or round == T ?) select_best
                                                    : build_feedback -> generate_reasoning

``build_aurelia_graph()`` returns the uncompiled graph; ``aurelia_local.graphs.served`` compiles it for
``langgraph.json``.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from aurelia_local.graphs.context import ServedContext
from aurelia_local.graphs.nodes import (
    build_feedback,
    evaluate_caption,
    generate_reasoning,
    select_best,
    summarize,
)
from aurelia_local.graphs.state import LoopInput, LoopState


def build_aurelia_graph() -> StateGraph:
    """Return the loop's graph, not yet compiled (the caller picks the checkpointer)."""
    g = StateGraph(LoopState, context_schema=ServedContext, input_schema=LoopInput)
    g.add_node("generate_reasoning", generate_reasoning)
    g.add_node("summarize", summarize)
    g.add_node("evaluate_caption", evaluate_caption)
    g.add_node("build_feedback", build_feedback)
    g.add_node("select_best", select_best)
    g.add_edge(START, "generate_reasoning")
    g.add_edge("generate_reasoning", "summarize")
    g.add_edge("summarize", "evaluate_caption")
    g.add_edge("build_feedback", "generate_reasoning")
    g.add_edge("select_best", END)
    return g
