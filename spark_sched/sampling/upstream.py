"""Upstream outputs: how many bytes a task's output holds (what the intermediate choice balances across racks)."""

from __future__ import annotations

import pickle
from typing import Any


def nbytes(record: Any) -> int:
    """Approximate bytes of one record: exact for bytes/str, summed over tuples, pickled size otherwise."""
    if isinstance(record, (bytes, bytearray, memoryview)):
        return len(record)
    if isinstance(record, str):
        return len(record.encode())
    if isinstance(record, (tuple, list)):
        return sum(nbytes(r) for r in record)
    if isinstance(record, (int, float)):
        return 8
    return len(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
