"""What every benchmark shares: the project on sys.path, where the real data is, median timing."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The real files (never committed): ../shared/data beside the project, or where
#: MNIST_ENGINE_SHARED_DATA points (a git worktree lives elsewhere).
SHARED_DATA = Path(os.environ.get("MNIST_ENGINE_SHARED_DATA", ROOT.parent / "shared" / "data"))
MNIST_DATA = SHARED_DATA / "mnist"


def require_real_data(bench: str, *paths: Path) -> None:
    """Stops the benchmark with a clear message when a real data file it needs is absent."""
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise SystemExit(
            f"{bench}: the real data is not here ({', '.join(missing)}); nothing measured"
        )


def median_time(action: Callable[[], object], runs: int = 5) -> float:
    """Median wall time in seconds of `runs` calls of `action` (the machine is shared and noisy)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
