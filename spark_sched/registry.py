"""One registry idiom for everything chosen by name: policies, guards, job kinds, plugins, experiments.

The Kubernetes scheduling framework's rule: a framework never imports its
plugins; whoever assembles the in-tree set registers them. A `Registry` is a
named, typed mapping with the toolkit's one error for a bad name, so every
"unknown X" reads the same: `<kind> = 'x' is not valid; allowed: a, b`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from spark_sched.errors import SparkSchedError

T = TypeVar("T")


class RegistryError(SparkSchedError):
    """A name that is not registered, or registered twice."""


class Registry(Generic[T]):
    """Entries of one kind by name, in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register `entry` as `name`; a second entry of the same name is a programming error."""
        if name in self._entries and self._entries[name] is not entry:
            raise RegistryError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`: `@POLICIES.register("lb")`."""
        return lambda entry: self.add(name, entry)

    def get(self, name: str) -> T:
        """The entry called `name`, or one clear error naming the valid choices."""
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(f"{self.kind} = {name!r} is not valid; allowed: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
