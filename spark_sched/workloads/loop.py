"""A workload's driver-side thread: a daemon loop that runs until `stop()`, started and stopped in one way.

Event generators, batch feeders and HIGH arrivals all keep a load going
beside Spark; each is a subclass that writes `_loop` and waits on `_stop`
between steps, so `stop()` ends it promptly.
"""

from __future__ import annotations

import threading
from typing import Self


class BackgroundLoop:
    """Runs `_loop` on a named daemon thread; `stop()` sets `_stop` and joins for at most `join_s`."""

    join_s = 10.0

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.join_s)

    def _loop(self) -> None:
        raise NotImplementedError
