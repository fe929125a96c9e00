"""The YSB-like event source: ad-event files written atomically, and the views each window should count."""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path

from spark_sched.workloads.loop import BackgroundLoop

CAMPAIGNS = 10
ADS_PER_CAMPAIGN = 10
EVENT_TYPES = ("view", "click", "purchase")


class EventGenerator(BackgroundLoop):
    """Writes YSB-like ad-event files (atomically: temp file, then rename) and remembers what it wrote."""

    def __init__(self, directory: Path, every_s: float = 0.2, events_per_file: int = 200, seed: int = 7) -> None:
        super().__init__("spark-sched-event-generator")
        self.dir = directory
        self.every_s = every_s
        self.events_per_file = events_per_file
        self.rng = random.Random(seed)
        self.written_ms: dict[int, float] = {}
        self.expected: dict[tuple[int, int], int] = {}  # (campaign, window start s) -> views

    def start(self) -> EventGenerator:
        self.dir.mkdir(parents=True, exist_ok=True)
        return super().start()

    def _loop(self) -> None:
        seq = 0
        while not self._stop.is_set():
            self.write_file(seq)
            seq += 1
            self._stop.wait(self.every_s)

    def write_file(self, seq: int) -> None:
        now_ms = time.time() * 1000.0
        lines = []
        for _ in range(self.events_per_file):
            ad = self.rng.randrange(CAMPAIGNS * ADS_PER_CAMPAIGN)
            kind = self.rng.choice(EVENT_TYPES)
            event_ms = int(now_ms - self.rng.random() * 500)
            lines.append(json.dumps({"ad_id": ad, "event_type": kind, "event_time": event_ms, "file_seq": seq}))
            if kind == "view":
                key = (campaign_of(ad), (event_ms // 1000) // 10 * 10)
                self.expected[key] = self.expected.get(key, 0) + 1
        fd, tmp = tempfile.mkstemp(dir=self.dir.parent, prefix=".events-")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.written_ms[seq] = time.time() * 1000.0
        os.replace(tmp, self.dir / f"events-{seq:06d}.json")



def campaign_of(ad_id: int) -> int:
    """The ad -> campaign lookup (YSB keeps it in Redis)."""
    return ad_id // ADS_PER_CAMPAIGN

