"""Settings: `conf/spark-sched.toml` and keyword overrides, parsed once into a typed object.

Every key the file may hold is a field of `Settings`; an unknown key is refused
(it is most likely a typo) with the file, the key and the keys that exist.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark_sched.compat import tomllib
from spark_sched.errors import SettingsError

DEFAULT_SETTINGS_FILE = Path("conf/spark-sched.toml")
MEASURE_SOURCES = ("spark", "sparkmeasure")


def default_state_dir() -> Path:
    """One state directory per user: `$SPARK_SCHED_STATE_DIR`, else XDG's state home."""
    explicit = os.environ.get("SPARK_SCHED_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "spark-sched"


@dataclass(frozen=True)
class Settings:
    """Everything the toolkit reads from its settings file (one field per documented key)."""

    app_name: str = "spark-sched"
    master: str = "local[2]"
    state_dir: Path = field(default_factory=default_state_dir)
    event_log_dir: Path | None = None
    measure: str = "spark"
    sparkmeasure_jar: str = ""
    pools: Path | None = None
    locality: str = ""
    spark_conf: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"

    @property
    def event_log_path(self) -> Path:
        """Where the event log goes: the configured directory, else `<state_dir>/events`."""
        return self.event_log_dir or self.state_dir / "events"

    def replace(self, **overrides: Any) -> Settings:
        """A copy with keyword overrides applied and validated like file values."""
        known = {f.name for f in dataclasses.fields(self)} - {"source"}
        for key in overrides:
            if key not in known:
                raise SettingsError(key, overrides[key], sorted(known), "configure() keyword")
        values = {k: _coerce(k, v, "configure() keyword") for k, v in overrides.items()}
        return dataclasses.replace(self, **values)


# TOML layout: section -> key -> Settings field name.
_LAYOUT: dict[str, dict[str, str]] = {
    "app": {"name": "app_name", "master": "master"},
    "paths": {"state_dir": "state_dir", "event_log_dir": "event_log_dir"},
    "measure": {"source": "measure", "sparkmeasure_jar": "sparkmeasure_jar"},
    "pools": {"file": "pools"},
    "locality": {"wait": "locality"},
}


def _coerce(name: str, value: Any, source: str) -> Any:
    """Check one value's type and range; return it in the field's type."""
    if name in ("state_dir", "event_log_dir", "pools"):
        if value is None or value == "":
            if name == "state_dir":
                return default_state_dir()
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise SettingsError(name, value, "a path (string)", source)
        return Path(value).expanduser()
    if name == "measure":
        if value not in MEASURE_SOURCES:
            raise SettingsError("measure.source", value, MEASURE_SOURCES, source)
        return value
    if name == "spark_conf":
        if not isinstance(value, dict):
            raise SettingsError("spark", value, "a table of Spark conf keys to string values", source)
        return {str(k): _spark_value(k, v, source) for k, v in value.items()}
    if not isinstance(value, str):
        raise SettingsError(name, value, "a string", source)
    return value


def _spark_value(key: str, value: Any, source: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise SettingsError(f"spark.{key}", value, "a string, number or boolean", source)


def parse_settings(data: dict[str, Any], source: str) -> Settings:
    """Turn a parsed TOML document into Settings, refusing unknown sections and keys."""
    values: dict[str, Any] = {}
    sections = sorted([*_LAYOUT, "spark"])
    for section, body in data.items():
        if section == "spark":
            values["spark_conf"] = _coerce("spark_conf", body, source)
            continue
        if section not in _LAYOUT:
            raise SettingsError(section, body, [f"[{s}]" for s in sections], source)
        if not isinstance(body, dict):
            raise SettingsError(section, body, "a table", source)
        for key, value in body.items():
            if key not in _LAYOUT[section]:
                raise SettingsError(f"{section}.{key}", value, [f"{section}.{k}" for k in _LAYOUT[section]], source)
            name = _LAYOUT[section][key]
            values[name] = _coerce(name, value, source)
    return Settings(source=source, **values)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the settings file: the given path, else `conf/spark-sched.toml` if present, else defaults."""
    if path is None:
        if not DEFAULT_SETTINGS_FILE.is_file():
            return Settings()
        path = DEFAULT_SETTINGS_FILE
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise SettingsError("settings file", str(file), "a readable TOML file", str(file)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("TOML syntax", str(exc), "valid TOML", str(file)) from exc
    return parse_settings(data, str(file))
