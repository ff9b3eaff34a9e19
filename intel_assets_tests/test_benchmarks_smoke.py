"""The benchmarks at smoke sizes: each must run and check its own row counts; no timing here."""

from pathlib import Path

import pytest

from benchmarks import environment, harness


@pytest.mark.long
def test_every_benchmark_runs_at_smoke_size_and_gives_complete_rows(
    postgres_server_url: str, redis_url: str, tmp_path: Path
):
    environment.drop_leftover_databases(postgres_server_url)
    available = harness.available()
    # Every benchmark of this issue is here; the API's joins when its module exists.
    assert set(available) >= {
        "quota", "ingest", "hourly", "backfill", "archive", "sensor", "hot_tier", "workers",
    }  # fmt: skip
    names = [name for name in available if name not in harness.HEAVY]

    with environment.use(environment.BenchEnvironment(postgres_server_url, redis_url, tmp_path)):
        outcomes = harness.run_all(names, smoke=True)

    assert [o.name for o in outcomes] == names
    for outcome in outcomes:
        assert outcome.error is None
        assert outcome.rows, outcome.name
        for row in outcome.rows:
            assert all(str(row[key]).strip() for key in harness.ROW_KEYS), row
    table = harness.markdown(outcomes, smoke=True, command="smoke test")
    # One table line per row, under the header and its rule.
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + sum(len(o.rows) for o in outcomes)
