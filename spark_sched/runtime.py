"""Where Spark's own launchers live (pip's pyspark) and whether Java can run them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from spark_sched.errors import JavaMissingError

MIN_JAVA = 17
JAVA_HINT = "install Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"


def spark_home() -> Path:
    """pyspark's package directory, which pip lays out as a SPARK_HOME (bin/, jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def spark_bin(name: str) -> Path:
    """A launcher script of pyspark's, e.g. `spark-submit` or `spark-class`."""
    return spark_home() / "bin" / name


def java_executable() -> str | None:
    """The java Spark's launchers will pick: `$JAVA_HOME/bin/java`, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_major_version(java: str) -> int | None:
    """The major version `java -version` reports (8 for 1.8), or None if it cannot be read."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java() -> str:
    """The java to use; raises one clear error when it is missing or older than 17."""
    java = java_executable()
    if java is None:
        raise JavaMissingError(f"java not found; {JAVA_HINT}")
    major = java_major_version(java)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major else "Java of unknown version"
        raise JavaMissingError(f"{java} is {found}, Spark 4 needs {MIN_JAVA} or newer; {JAVA_HINT}")
    return java
