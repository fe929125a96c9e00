"""sparkMeasure's jar: where it comes from (one place, one order) and how to build it from its sources.

sparkMeasure is published on Maven Central only; the PyPI `sparkmeasure` package is just the
Python wrapper. Machines that cannot reach Maven still have everything needed to build the jar:
pip's pyspark ships Spark's own Scala compiler (`jars/scala-compiler-2.13.*.jar`), and sparkMeasure's
core is eight Scala files. So the jar is resolved in this order, each step saying in one line
what it chose and why:

1. an explicit jar: `$SPARK_SCHED_SPARKMEASURE_JAR`, else `[measure] sparkmeasure_jar`;
2. a jar the toolkit built before (`<state_dir>/jars/`, the user's default state dir, then the
   install's own `<sys.prefix>/share/spark-sched/jars/`, where `make test` and the image put it);
3. a source folder named by `$SPARK_SCHED_SPARKMEASURE_SOURCE`: built now, into the state dir;
4. `spark.jars.packages` with sparkMeasure's Maven coordinates for the running Spark's Scala version.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spark_sched.errors import SettingsError, SparkSchedError
from spark_sched.files import replaced

if TYPE_CHECKING:
    from spark_sched.config import Settings

JAR_ENV = "SPARK_SCHED_SPARKMEASURE_JAR"
SOURCE_ENV = "SPARK_SCHED_SPARKMEASURE_SOURCE"
VERSION = "0.28"
COMPILER_MAIN = "scala.tools.nsc.Main"
COMPILE_TIMEOUT_S = 600
_said: set[str] = set()


class JarBuildError(SparkSchedError):
    """sparkMeasure's jar could not be built (missing sources, no Java, a compile error)."""


@dataclass(frozen=True)
class JarChoice:
    """What the resolver chose: a local jar path, or Maven coordinates for spark.jars.packages, and why."""

    path: Path | None
    package: str | None
    reason: str

    def spark_conf(self) -> dict[str, str]:
        """The Spark conf that puts this jar on the driver's and executors' classpath."""
        if self.path is not None:
            return {"spark.jars": str(self.path)}
        return {"spark.jars.packages": str(self.package)}

    def line(self) -> str:
        where = str(self.path) if self.path is not None else f"spark.jars.packages={self.package}"
        return f"spark-sched: sparkMeasure jar: {where} ({self.reason})"


def pyspark_jars_dir() -> Path:
    """The `jars/` folder of the running pyspark: Spark's classpath, Scala compiler included."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "jars"


def scala_binary_version(jars: Path | None = None) -> str:
    """"2.13" for Spark 4 (read from the scala-library jar pyspark ships, so it follows the install)."""
    folder = jars or pyspark_jars_dir()
    for jar in sorted(folder.glob("scala-library-*.jar")):
        match = re.match(r"scala-library-(\d+\.\d+)\.", jar.name)
        if match:
            return match.group(1)
    return "2.13"


def maven_package(version: str = VERSION) -> str:
    """sparkMeasure's Maven coordinates for this Spark's Scala version."""
    return f"ch.cern.sparkmeasure:spark-measure_{scala_binary_version()}:{version}"


def jar_name(version: str = VERSION) -> str:
    return f"spark-measure_{scala_binary_version()}-{version}.jar"


def install_jars_dir() -> Path:
    """The install's own jar folder (the venv's, or the image's): shared by every user of that install."""
    return Path(sys.prefix) / "share" / "spark-sched" / "jars"


def cache_dirs(settings: Settings) -> list[Path]:
    """Where built jars are kept: the settings' state dir, the user's default one, then the install's."""
    from spark_sched.config import default_state_dir

    dirs = [Path(settings.state_dir) / "jars", default_state_dir() / "jars", install_jars_dir()]
    return list(dict.fromkeys(d.expanduser() for d in dirs))


def _explicit(settings: Settings) -> JarChoice | None:
    env = os.environ.get(JAR_ENV, "")
    setting = (settings.sparkmeasure_jar, f"{settings.source}: [measure] sparkmeasure_jar")
    path, where = (env, JAR_ENV) if env else setting
    if not path:
        return None
    jar = Path(path).expanduser()
    if not jar.is_file():
        raise SettingsError("sparkmeasure_jar", path, "an existing .jar file", where)
    return JarChoice(jar.resolve(), None, f"named by {where}")


def _cached(settings: Settings) -> JarChoice | None:
    for folder in cache_dirs(settings):
        jar = folder / jar_name()
        if jar.is_file():
            return JarChoice(jar.resolve(), None, f"built before by `spark-sched measure build-jar`, found in {folder}")
    return None


def _from_source(settings: Settings) -> JarChoice | None:
    source = os.environ.get(SOURCE_ENV, "")
    if not source:
        return None
    jar = build_jar(Path(source), cache_dirs(settings)[0])
    return JarChoice(jar, None, f"built now from {SOURCE_ENV}={source}")


def resolve(settings: Settings) -> JarChoice:
    """The sparkMeasure jar to use, by the module's documented order (never raises for a missing cache)."""
    for step in (_explicit, _cached, _from_source):
        choice = step(settings)
        if choice is not None:
            return choice
    package = maven_package()
    return JarChoice(None, package, "no local jar named, built or cached; Spark fetches it from a Maven repository")


def say(choice: JarChoice) -> None:
    """Print the resolver's one line, once per process and choice."""
    line = choice.line()
    if line not in _said:
        _said.add(line)
        print(line, file=sys.stderr)


def java_executable() -> str:
    """`$JAVA_HOME/bin/java`, else `java` on PATH, else one clear error."""
    home = os.environ.get("JAVA_HOME")
    candidates = [str(Path(home) / "bin" / "java")] if home else []
    candidates.append("java")
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise JarBuildError(
        "build-jar: java = not found (JAVA_HOME, PATH) is not valid; allowed: a Java 17+ runtime "
        "(apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
    )


def scala_sources(source: Path) -> list[Path]:
    """The .scala files of a sparkMeasure source folder (its `src/` or the folder itself), or one clear error."""
    if not source.is_dir():
        raise JarBuildError(f"build-jar: --source = {str(source)!r} is not valid; allowed: an existing directory")
    folder = source / "src" if (source / "src").is_dir() else source
    files = sorted(folder.glob("*.scala"))
    if not files:
        raise JarBuildError(
            f"build-jar: --source = {str(source)!r} is not valid; allowed: a directory holding sparkMeasure's "
            f".scala files (directly or in src/); found none in {folder}"
        )
    return files


def _fingerprint(files: list[Path], jars: Path) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    digest.update(",".join(sorted(p.name for p in jars.glob("scala-*.jar"))).encode())
    return digest.hexdigest()


def _compile(files: list[Path], classes: Path, jars: Path) -> None:
    classpath = str(jars / "*")
    command = [java_executable(), "-cp", classpath, COMPILER_MAIN, "-nowarn", "-classpath", classpath,
               "-d", str(classes), *map(str, files)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise JarBuildError(f"build-jar: the Scala compiler ran over {COMPILE_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        first = next((ln for ln in (done.stderr + done.stdout).splitlines() if "error" in ln.lower()), "")
        raise JarBuildError(f"build-jar: the Scala compiler failed (exit {done.returncode}): {first.strip()[:300]}")


def _pack(classes: Path, jar: Path, fingerprint: str) -> None:
    """Write the jar atomically and world-readable (`files.replaced`): no half-written jar is ever left."""
    jar.parent.mkdir(parents=True, exist_ok=True)
    with replaced(jar) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        manifest = f"Manifest-Version: 1.0\nCreated-By: spark-sched build-jar\nSpark-Sched-Source: {fingerprint}\n"
        out.writestr("META-INF/MANIFEST.MF", manifest)
        for file in sorted(classes.rglob("*.class")):
            out.write(file, file.relative_to(classes).as_posix())


def _built_from(jar: Path) -> str:
    try:
        with zipfile.ZipFile(jar) as archive:
            manifest = archive.read("META-INF/MANIFEST.MF").decode()
    except (OSError, KeyError, zipfile.BadZipFile):
        return ""
    match = re.search(r"Spark-Sched-Source: (\w+)", manifest)
    return match.group(1) if match else ""


def build_jar(source: Path, out_dir: Path, version: str = VERSION) -> Path:
    """Compile sparkMeasure's sources with pyspark's own Scala compiler into `out_dir/spark-measure_<s>-<v>.jar`.

    Up to date (same sources, same Scala) is not rebuilt. Needs only a Java runtime: the
    compiler, Scala library and Spark's classes all come from pip's pyspark.
    """
    files = scala_sources(source)
    jars = pyspark_jars_dir()
    if not any(jars.glob("scala-compiler-*.jar")):
        raise JarBuildError(f"build-jar: pyspark's jars folder {jars} has no scala-compiler jar; allowed: pyspark 4.x")
    fingerprint = _fingerprint(files, jars)
    jar = Path(out_dir).expanduser() / jar_name(version)
    if jar.is_file() and _built_from(jar) == fingerprint:
        return jar.resolve()
    java_executable()
    with tempfile.TemporaryDirectory(prefix="spark-sched-scalac-") as classes:
        _compile(files, Path(classes), jars)
        _pack(Path(classes), jar, fingerprint)
    return jar.resolve()
