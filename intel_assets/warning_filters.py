"""Dagster warnings about features the project uses knowingly, silenced where they arise.

Dagster marks some features beta or superseded and warns once per process that uses them. The
project opts into each of these on purpose (the reason is beside it), so the warnings tell a user
nothing they can act on; any other warning still shows. The filters go in when the package is
imported (code servers, run workers, tests) and, through `PYTHONWARNINGS`, in the processes the
`intel-assets` command starts (`dagster dev`, its webserver and daemon), which warn before they
import any of our code.
"""

import re
import warnings
from collections.abc import Mapping

OPTED_IN: Mapping[str, str] = {
    # Single-run backfills (DESIGN.md): a week of hours is one run.
    "Parameter `backfill_policy` of function `asset` is currently in beta": "single-run backfills",
    # dagster.yaml's python_logs handler writes every run's lines to stdout as JSON.
    "Handling yaml-defined logging configuration is currently in beta": "JSON run logs",
    # The brief's main command is `dagster dev`; `dg dev` would need a dg project layout.
    "Function `dev_command` is superseded": "`dagster dev` as the main command",
    # Code references: each asset in the UI links to the file and line that defines it.
    "Function `with_source_code_references` is currently in beta": "code references",
    "Class `LocalFileCodeReference` is currently in beta": "code references",
    "Class `CodeReferencesMetadataValue` is currently in beta": "code references",
    # Check results recorded on the partition they checked (issue 18); Dagster 1.13 has no
    # other way to show them per partition.
    "Specifying a partitions_def on an AssetCheckSpec": "checks per partition",
    # Dagster's own build_schedule_from_partitioned_job calls its deprecated method; nothing in
    # the project calls it.
    "Function `JobDefinition.run_request_for_partition` is deprecated": "Dagster's own call",
}
"""The start of each warning's message, and why the project uses what it warns about."""


def silence() -> None:
    """Ignore the warnings of `OPTED_IN` in this process."""
    for start in OPTED_IN:
        warnings.filterwarnings("ignore", message=re.escape(start))


def python_warnings(existing: str | None = None) -> str:
    """A `PYTHONWARNINGS` value that ignores the warnings of `OPTED_IN` (after `existing`)."""
    present = existing.split(",") if existing else []
    return ",".join(present + [f"ignore:{s}" for s in OPTED_IN if f"ignore:{s}" not in present])
