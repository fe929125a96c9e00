"""Where the settings file is and how it is read: one TOML document, whoever reads a section of it.

`spark_sched.config` turns the whole document into `Settings`; a mechanism that
needs only its own section (the priority controller's `[priority]`) reads it
here too, so neither imports the other and both refuse a broken file alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from spark_sched.errors import SettingsError
from spark_sched.tomlread import TomlError, loads, read_text

DEFAULT_SETTINGS_FILE = Path("conf/spark-sched.toml")


def read_settings_file(path: str | os.PathLike[str] | None = None) -> tuple[dict[str, Any], str] | None:
    """The settings file's document and its name: `path`, else `conf/spark-sched.toml`; None when neither is given.

    A file that cannot be read or is not TOML is one SettingsError naming it.
    """
    if path is None:
        if not DEFAULT_SETTINGS_FILE.is_file():
            return None
        path = DEFAULT_SETTINGS_FILE
    file = Path(path)
    try:
        return loads(read_text(file)), str(file)
    except OSError as exc:
        raise SettingsError("settings file", str(file), "a readable TOML file", str(file)) from exc
    except TomlError as exc:
        raise SettingsError("TOML syntax", str(exc), "valid TOML", str(file)) from exc
