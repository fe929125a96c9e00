"""What /proc says about processes: state, parent, group, command line, descendants, CPU time.

The toolkit stops exactly the processes it started and measures the load of
the others; both need the process tree, read here once. Reading /proc never
signals anything (processes are never found or killed by name).
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
# indexes into the fields after the command name in /proc/<pid>/stat (man 5 proc, field number minus 3)
STATE, PPID, PGRP, UTIME, STIME, CUTIME, CSTIME = 0, 1, 2, 11, 12, 13, 14


def stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces); None if it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def pids() -> list[int]:
    return [int(entry) for entry in os.listdir(PROC) if entry.isdigit()]


def process_alive(pid: int) -> bool:
    """True when pid runs and is not a zombie."""
    fields = stat_fields(pid)
    return fields is not None and fields[STATE] != "Z"


def cmdline(pid: int) -> str:
    """The command line with spaces between arguments; empty when the process is gone."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def group_members(pgid: int) -> list[int]:
    """Live pids whose process group is `pgid` (a daemon and the executors it forked)."""
    members = []
    for pid in pids():
        fields = stat_fields(pid)
        if fields is not None and int(fields[PGRP]) == pgid and fields[STATE] != "Z":
            members.append(pid)
    return members


def parents() -> dict[int, int]:
    """pid -> parent pid of every process now."""
    found = {}
    for pid in pids():
        fields = stat_fields(pid)
        if fields is not None:
            found[pid] = int(fields[PPID])
    return found


def descendants(root: int, parent_of: dict[int, int] | None = None) -> set[int]:
    """Every live pid below `root` in the process tree (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for pid, parent in (parents() if parent_of is None else parent_of).items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def cpu_ticks(pid_set: set[int]) -> int:
    """utime + stime + cutime + cstime of `pid_set` (cu/cs: their reaped children), in clock ticks."""
    total = 0
    for pid in pid_set:
        fields = stat_fields(pid)
        if fields is not None:
            total += sum(int(fields[i]) for i in (UTIME, STIME, CUTIME, CSTIME))
    return total
