"""Where the time partitions start: the user's setting, else the first day `dev` seeded."""

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from intel_assets.cli import dev_partitions_start
from intel_assets.partitions import partitions_start
from intel_assets.settings import PROJECT_ROOT, Settings

NOW = datetime(2026, 12, 6, 19, 40, tzinfo=UTC)


def test_the_setting_is_a_date_and_defaults_to_the_projects_start():
    assert partitions_start({}) == date(2026, 1, 1)
    assert partitions_start({"INTEL_PARTITIONS_START": "2026-11-30"}) == date(2026, 11, 30)
    with pytest.raises(ValueError, match="INTEL_PARTITIONS_START='yesterday' is not a date"):
        partitions_start({"INTEL_PARTITIONS_START": "yesterday"})


def test_dev_starts_the_partitions_on_the_first_seeded_day_and_keeps_it(tmp_path: Path):
    settings = Settings(state_dir=tmp_path / "state")
    # Seeding ends at 19:00; two and a half days before it is 2026-12-04 07:00.
    assert dev_partitions_start(settings, 2.5, {}, NOW) == "2026-12-04"
    # A later start, another day, seeding nothing more: the same start.
    later = datetime(2027, 1, 9, 3, 0, tzinfo=UTC)
    assert dev_partitions_start(settings, 0, {}, later) == "2026-12-04"
    # The user's setting wins.
    chosen = {"INTEL_PARTITIONS_START": "2026-06-01"}
    assert dev_partitions_start(settings, 2, chosen, NOW) == "2026-06-01"


def test_seeding_that_stays_inside_today_starts_the_partitions_today(tmp_path: Path):
    # Half a day before 19:00 is 07:00 the same day; 20 hours before it, 23:00 the day before.
    assert dev_partitions_start(Settings(state_dir=tmp_path / "a"), 0.5, {}, NOW) == "2026-12-06"
    assert dev_partitions_start(Settings(state_dir=tmp_path / "b"), 20 / 24, {}, NOW) == (
        "2026-12-05"
    )


def test_dev_without_seeding_starts_today_and_a_folder_seeded_earlier_keeps_the_old_start(
    tmp_path: Path,
):
    assert dev_partitions_start(Settings(state_dir=tmp_path / "a"), 0, {}, NOW) == "2026-12-06"
    seeded = Settings(state_dir=tmp_path / "b")
    seeded.state_dir.mkdir()
    (seeded.state_dir / "history-seeded").write_text("2026-10-01T00:00:00+00:00")
    assert dev_partitions_start(seeded, 2, {}, NOW) == "2026-01-01"


def test_the_definitions_take_the_start_from_the_environment():
    # Their start, not their first key: which keys exist depends on the machine's clock.
    script = (
        "from intel_assets.partitions import daily_partitions, hourly_partitions, "
        "monthly_partitions\n"
        "print(*(p.start.isoformat() for p in "
        "(hourly_partitions, daily_partitions, monthly_partitions)))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script],
        env={"INTEL_PARTITIONS_START": "2026-12-04", "PATH": ""},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # The month holding the start is a partition of its own, so it can be archived.
    assert shown == [
        "2026-12-04T00:00:00+00:00",
        "2026-12-04T00:00:00+00:00",
        "2026-12-01T00:00:00+00:00",
    ]
