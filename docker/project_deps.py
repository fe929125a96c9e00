"""Print a project's dependencies from pyproject.toml, one per line, for `pip install -r`.

The Dockerfile installs dependencies before it copies the source, so that a change
to the code does not re-download them; this reads them from pyproject.toml (the one
list there is), and docker/constraints.txt pins their versions.

    python3 project_deps.py pyproject.toml [EXTRA ...]
"""

from __future__ import annotations

import sys

import tomllib  # Python >= 3.11: the image bases are 3.11


def dependencies(pyproject: str, extras: list[str]) -> list[str]:
    """`[project].dependencies`, plus each named optional-dependencies group."""
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    deps = list(project.get("dependencies", []))
    for extra in extras:
        deps += project.get("optional-dependencies", {})[extra]
    return deps


if __name__ == "__main__":
    print("\n".join(dependencies(sys.argv[1], sys.argv[2:])))
