"""One way to draw a figure: matplotlib's Agg backend (no display), saved and closed in one place.

Benches, workloads and reports draw PNGs on machines without a display and in
long-running processes; a figure left open leaks memory, and a backend chosen
after pyplot was imported is ignored. `figure()` settles both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DPI = 100


@contextmanager
def figure(path: Path, *, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6.0, 4.0),
           squeeze: bool = True, **subplots: Any) -> Iterator[tuple[Any, Any]]:
    """Yield (fig, axes) from `plt.subplots`; on exit lay out, save to `path` (parents created) and close."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=squeeze, **subplots)
    try:
        yield fig, axes
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
