"""Batch calls in which one bad request fails only itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def each_or_error(
    call: Callable[[list], Sequence[Any]], items: list, fatal: tuple[type[BaseException], ...] = ()
) -> list[Any]:
    """Return ``call(items)``; when the batch fails, call each item alone.

    Each item that fails alone gets its exception object in its place in the list. Exceptions of a
    ``fatal`` type (an engine that is gone) are raised instead: retrying item by item cannot help.
    """
    try:
        return list(call(items))
    except fatal:
        raise
    except Exception:  # noqa: BLE001 - isolate the request that fails; the others still get answers
        results: list[Any] = []
        for item in items:
            try:
                results.append(call([item])[0])
            except fatal:
                raise
            except Exception as exc:  # noqa: BLE001 - becomes this item's result
                results.append(exc)
        return results
