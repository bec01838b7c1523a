"""The one registry mechanism: frozen tables of frozen entries, and lazy ``package.module:attr`` paths.

Model families, zoo targets, scorers, benchmarks and evaluation arms are all ``Registry`` objects of
``Entry`` subclasses (the built-in ones are data in ``aurelia_local.core.catalog``). An entry's
``key`` is snake_case and is also its module or file name, its CLI choice and its results column.
Entries name code by dotted path (a string); only the layer that uses an entry resolves it, with
``load``, so reading a registry imports nothing heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from aurelia_local.core.errors import ConfigError

KEY_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"


class Entry(BaseModel):
    """One row of a registry: a snake_case key, a one-line summary and the capability fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str = Field(pattern=KEY_PATTERN, description="snake_case; also the CLI choice and results column")
    summary: str = Field(min_length=1, pattern=r"^[^\n]+$", description="one line")

    def capabilities(self) -> dict[str, Any]:
        """Every field but ``key`` and ``summary`` (computed ones included), as plain data."""
        return self.model_dump(mode="json", exclude={"key", "summary"})


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """A frozen, ordered table of entries of one kind (``kind`` names it in error messages)."""

    __slots__ = ("kind", "_entries")

    def __init__(self, kind: str, entries: Iterable[E]):
        table: dict[str, E] = {}
        for entry in entries:
            if entry.key in table:
                raise ConfigError(f"{kind} registry: duplicate key {entry.key!r}")
            table[entry.key] = entry
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "_entries", MappingProxyType(table))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the {self.kind} registry is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"the {self.kind} registry is frozen")

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, keys={list(self._entries)})"

    def __iter__(self) -> Iterator[E]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def keys(self) -> tuple[str, ...]:
        """Every key, in registration order."""
        return tuple(self._entries)

    def unknown(self, key: str) -> str:
        """The message for a key that is not registered: it names the choices."""
        return f"unknown {self.kind} {key!r}; choose from {', '.join(self._entries)}"

    def get(self, key: str) -> E:
        """The entry of ``key``, or a ``ConfigError`` that lists the keys."""
        try:
            return self._entries[key]
        except KeyError:
            raise ConfigError(self.unknown(key)) from None

    def check(self, key: str) -> str:
        """Return ``key`` when registered, else raise ``ValueError`` (for pydantic validators)."""
        if key not in self._entries:
            raise ValueError(self.unknown(key))
        return key

    def select(self, predicate: Callable[[E], bool]) -> tuple[E, ...]:
        """The entries for which ``predicate`` holds, in order."""
        return tuple(e for e in self._entries.values() if predicate(e))

    def merged(self, entries: Iterable[E]) -> Registry[E]:
        """A new registry: these entries added, replacing those with the same key (in place)."""
        table = dict(self._entries)
        for entry in entries:
            table[entry.key] = entry
        return Registry(self.kind, table.values())


def load(dotted: str) -> Any:
    """Import and return the object ``dotted`` names (``"package.module:attr"``, attr may be dotted)."""
    module_name, sep, attr = dotted.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"dotted path {dotted!r} must read 'package.module:attribute'")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"dotted path {dotted!r}: cannot import {module_name} ({exc})") from None
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(f"dotted path {dotted!r}: {module_name} has no attribute {attr!r}") from None
    return found
