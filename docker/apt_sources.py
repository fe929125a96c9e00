"""Read this machine's own apt sources: the Debian mirror a debootstrap base must use.

The build must fetch Debian packages from whatever mirror the machine is set up
with (a corporate mirror, a snapshot, a proxy), so nothing here names a host: the
mirror is read at run time from /etc/apt/sources.list and sources.list.d, the
same files apt reads. Only entries for the wanted release (`bookworm`,
`bookworm-updates`, `bookworm-security`) with the `main` component are kept;
third-party repositories are left out (their keys are not in a bare base).

    python3 docker/apt_sources.py mirror bookworm    # the URI debootstrap should use
    python3 docker/apt_sources.py list bookworm      # sources.list lines for the base image
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

APT_DIR = Path("/etc/apt")


@dataclass(frozen=True)
class Source:
    """One `deb URI suite main` entry."""

    uri: str
    suite: str

    def line(self) -> str:
        return f"deb {self.uri} {self.suite} main"


def _one_line_entries(text: str) -> list[tuple[str, str, list[str]]]:
    """(uri, suite, components) of each `deb` line in the one-line format."""
    entries = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # options such as [signed-by=...]
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 3:
            entries.append((words[0], words[1], words[2:]))
    return entries


def _deb822_entries(text: str) -> list[tuple[str, str, list[str]]]:
    """(uri, suite, components) for every URI x suite of each enabled `Types: deb` stanza."""
    entries = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for raw in stanza.splitlines():
            if raw.startswith("#") or ":" not in raw:
                continue
            key, value = raw.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        components = fields.get("components", "").split()
        for uri in fields.get("uris", "").split():
            entries += [(uri, suite, components) for suite in fields.get("suites", "").split()]
    return entries


def machine_sources(codename: str, apt_dir: Path = APT_DIR) -> list[Source]:
    """The Debian `main` entries of `codename` (and its -updates/-security suites) apt uses here."""
    wanted = {codename, f"{codename}-updates", f"{codename}-security", f"{codename}/updates"}
    found: list[Source] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file() or path.suffix not in (".list", ".sources"):
            continue
        text = path.read_text(errors="replace")
        entries = _deb822_entries(text) if path.suffix == ".sources" else _one_line_entries(text)
        for uri, suite, components in entries:
            source = Source(uri.rstrip("/"), suite)
            if suite in wanted and "main" in components and source not in found:
                found.append(source)
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("mirror", "list"):
        print("usage: apt_sources.py mirror|list CODENAME", file=sys.stderr)
        return 2
    what, codename = argv
    sources = machine_sources(codename)
    main_suite = [s for s in sources if s.suite == codename]
    if not main_suite:
        print(f"{APT_DIR}: no 'deb ... {codename} main' entry in this machine's apt sources", file=sys.stderr)
        return 1
    if what == "mirror":
        print(main_suite[0].uri)
    else:
        print("\n".join(s.line() for s in sources))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
