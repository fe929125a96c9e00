"""The toolkit's one exception family.

Every error a user can cause names where it came from (file, field), the value
that was refused and what would have been accepted, so the CLI can print it as
one line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


def printable(text: str) -> str:
    """`text` safe to show as one line: characters that are not printable (newlines, bidi controls) as escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class SparkSchedError(Exception):
    """Base of every error spark-sched raises on purpose."""


class SettingsError(SparkSchedError):
    """A setting (file, field, value) that cannot be used."""

    def __init__(
        self,
        field: str,
        value: object,
        allowed: str | Iterable[str],
        source: str | None = None,
    ) -> None:
        self.field = field
        self.value = value
        self.source = source
        self.allowed = allowed if isinstance(allowed, str) else ", ".join(allowed)
        where = f"{source}: " if source else ""
        super().__init__(printable(f"{where}{field} = {value!r} is not valid; allowed: {self.allowed}"))


class ClusterError(SparkSchedError):
    """The local cluster could not be started, found or stopped."""


class JavaMissingError(SparkSchedError):
    """No usable Java (17 or newer) on this machine."""


class JobError(SparkSchedError):
    """A bundled job could not be found or run."""
