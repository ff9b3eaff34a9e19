"""How long each job may run before Dagster's run monitoring marks it failed.

Run monitoring (`dagster.yaml`) fails a run older than its `dagster/max_runtime` tag, and runs
without one (a materialization launched from the UI) after the instance-wide
`max_runtime_seconds`. With the default run launcher that is also how a run whose worker process
died leaves STARTED: the launcher cannot tell a dead worker from a busy one, so each job's limit
is a few times its longest healthy run, and a dead collection is failed within minutes.
"""

MAX_RUNTIME_TAG = "dagster/max_runtime"


def max_runtime(minutes: int) -> dict[str, str]:
    """The run tag that limits a job's runs to `minutes`."""
    return {MAX_RUNTIME_TAG: str(minutes * 60)}
