"""Timing and formatting shared by the benchmarks.

The machines are shared and noisy, so a comparison runs its contenders interleaved (ours,
reference, ours, reference, ...) and keeps each one's median: a burst of noise then hits both.
"""

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any


def timed(action: Callable[[], Any]) -> float:
    """Seconds `action` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved_medians(
    contenders: Mapping[str, Callable[[], Any]],
    repeats: int,
    before_each: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """Each contender's median time over `repeats` rounds, run in turn within each round.

    Args:
        contenders: Name to action.
        repeats: Rounds.
        before_each: Run (untimed) before every timed action, e.g. to empty a table.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, action in contenders.items():
            if before_each is not None:
                before_each()
            times[name].append(timed(action))
    return {name: statistics.median(values) for name, values in times.items()}


def seconds(value: float) -> str:
    """A duration for the table: ms below a second."""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def rate(count: float, elapsed: float, unit: str) -> str:
    """`count` per second, e.g. "152,300 rows/s"."""
    return f"{count / elapsed:,.0f} {unit}/s" if elapsed > 0 else f"- {unit}/s"


def times(value: float) -> str:
    """A ratio for the table, e.g. "12.3x"."""
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def row(
    what: str,
    ours: str,
    reference: str,
    ratio: str,
    target: str,
    *,
    met: bool | None,
    note: str = "",
    missed: str = "",
) -> dict[str, Any]:
    """A table row (see `harness`); `missed` (why, and what would reach the target) joins the
    note when the target is not met."""
    if met is False and missed:
        note = f"{note} **Missed:** {missed}" if note else f"**Missed:** {missed}"
    return {
        "what": what,
        "ours": ours,
        "reference": reference,
        "ratio": ratio,
        "target": target,
        "met": met,
        "note": note,
    }
