"""Settings: `conf/spark-sched.toml` and keyword overrides, parsed once into a typed object.

Every key the file may hold is a field of `Settings`; an unknown key is refused
(it is most likely a typo) with the file, the key and the keys that exist.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SettingsError
from spark_sched.settings_file import DEFAULT_SETTINGS_FILE as DEFAULT_SETTINGS_FILE  # public here too
from spark_sched.settings_file import read_settings_file

if TYPE_CHECKING:
    from spark_sched.priority.settings import PrioritySettings

MEASURE_SOURCES = ("spark", "sparkmeasure")
# The master URLs Spark 4 parses (SparkContext.createTaskScheduler); anything else fails only once a JVM is up.
MASTER_FORMS = ("local", "local[N]", "local[*]", "local[N,F]", "local-cluster[N,C,M]", "spark://HOST:PORT", "yarn",
                "k8s://URL")
_MASTER = re.compile(
    r"local(\[(\*|[1-9][0-9]*)(,\s*[0-9]+)?\])?|local-cluster\[\s*[1-9][0-9]*\s*,\s*[1-9][0-9]*\s*,\s*[1-9][0-9]*\s*\]"
    r"|spark://[A-Za-z0-9.\-\[\]:]+:[0-9]+(,[A-Za-z0-9.\-\[\]:]+:[0-9]+)*|yarn|k8s://\S+"
)
# Spark's ACL lists are comma-separated user or group names; "*" means everyone.
_ACL_NAME = re.compile(r"\*|[A-Za-z0-9_.@$][A-Za-z0-9_.@$\-]*")


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
    ui_kill_enabled: bool = False
    acls_enable: bool = False
    admin_acls: tuple[str, ...] = ()
    modify_acls: tuple[str, ...] = ()
    view_acls: tuple[str, ...] = ()
    priority: PrioritySettings = field(default_factory=lambda: _priority({}, "defaults"))
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
    "access": {
        "ui_kill_enabled": "ui_kill_enabled",
        "acls_enable": "acls_enable",
        "admin_acls": "admin_acls",
        "modify_acls": "modify_acls",
        "view_acls": "view_acls",
    },
}
_ACCESS_FLAGS = ("ui_kill_enabled", "acls_enable")
_ACCESS_LISTS = ("admin_acls", "modify_acls", "view_acls")


def _coerce(name: str, value: Any, source: str) -> Any:
    """Check one value's type and range; return it in the field's type."""
    if name in ("state_dir", "event_log_dir", "pools"):
        if value is None or value == "":
            if name == "state_dir":
                return default_state_dir()
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise SettingsError(name, value, "a path (string)", source)
        try:
            return Path(value).expanduser()
        except RuntimeError as exc:  # "~user" for a user this machine does not have
            raise SettingsError(name, value, "a path whose ~ or ~user exists on this machine", source) from exc
    if name == "measure":
        if value not in MEASURE_SOURCES:
            raise SettingsError("measure.source", value, MEASURE_SOURCES, source)
        return value
    if name == "master":
        return check_master(value, source)
    if name in _ACCESS_FLAGS:
        if not isinstance(value, bool):
            raise SettingsError(f"access.{name}", value, "true or false", source)
        return value
    if name in _ACCESS_LISTS:
        return _acl_list(name, value, source)
    if name == "priority":
        return _priority(value, source)
    if name == "spark_conf":
        if not isinstance(value, dict):
            raise SettingsError("spark", value, "a table of Spark conf keys to string values", source)
        return {str(k): _spark_value(k, v, source) for k, v in value.items()}
    if not isinstance(value, str):
        raise SettingsError(name, value, "a string", source)
    return value


def check_master(value: Any, source: str, field: str = "app.master") -> str:
    """A master URL in one of Spark's forms (MASTER_FORMS), else SettingsError naming where it came from."""
    if isinstance(value, str) and value.startswith("sc://"):
        raise SettingsError(field, value, f"{', '.join(MASTER_FORMS)} (a Spark Connect URL has no SparkContext for the "
                            "toolkit's controller and jobs; start the server with `spark-sched connect conf`)", source)
    if not isinstance(value, str) or not _MASTER.fullmatch(value):
        raise SettingsError(field, value, MASTER_FORMS, source)
    return value


def _acl_list(name: str, value: Any, source: str) -> tuple[str, ...]:
    """A list of user/group names for one of Spark's ACLs (no commas or blanks: Spark splits on commas)."""
    names = value if isinstance(value, (list, tuple)) else None
    if names is None or not all(isinstance(n, str) and _ACL_NAME.fullmatch(n) for n in names):
        raise SettingsError(f"access.{name}", value, 'a list of user or group names such as ["alice", "ops"], or ["*"]',
                            source)
    return tuple(names)


def _spark_value(key: str, value: Any, source: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise SettingsError(f"[spark] {key}", value, "a string, number or boolean", source)


def parse_settings(data: dict[str, Any], source: str) -> Settings:
    """Turn a parsed TOML document into Settings, refusing unknown sections and keys."""
    values: dict[str, Any] = {}
    sections = sorted([*_LAYOUT, "spark", "priority"])
    for section, body in data.items():
        if section == "spark":
            values["spark_conf"] = _coerce("spark_conf", body, source)
            continue
        if section == "priority":  # nested tables (guard options, classes): parsed by spark_sched.priority.settings
            values["priority"] = _priority(body, source)
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


def _priority(body: Any, source: str) -> PrioritySettings:
    """The `[priority]` table (or a PrioritySettings given to replace()), checked by spark_sched.priority.settings."""
    from spark_sched.priority.settings import PrioritySettings, parse_priority  # late: it pulls in pyspark

    return body if isinstance(body, PrioritySettings) else parse_priority(body, source)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the settings file: the given path, else `conf/spark-sched.toml` if present, else defaults."""
    found = read_settings_file(path)
    return Settings() if found is None else parse_settings(*found)
