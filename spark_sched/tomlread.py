"""TOML text to a dict, with every way that can fail as one `TomlError` (a ValueError).

`tomllib` reports syntax as TOMLDecodeError, but arrays or inline tables nested a
few thousand deep exhaust Python's recursion inside it (RecursionError), which
would escape as a traceback. Every reader of a TOML file goes through here.
"""

from __future__ import annotations

from typing import Any

from spark_sched.compat import tomllib


class TomlError(ValueError):
    """The text is not TOML this toolkit can read; str() says why, in one line."""


def loads(text: str) -> dict[str, Any]:
    """Parse TOML text; TomlError for bad syntax or nesting deeper than Python can follow."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(str(exc).splitlines()[0] if str(exc) else "invalid TOML") from None
    except RecursionError:
        raise TomlError("arrays or inline tables nested too deeply") from None


def read_text(path: Any) -> str:
    """A TOML file's text: UTF-8 as TOML requires; UnicodeDecodeError becomes TomlError (OSError stays)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as exc:
        raise TomlError(f"not UTF-8 (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r})") from None
