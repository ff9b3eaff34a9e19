"""Structured logs: one JSON object per line, carrying the Dagster run id and partition.

Inside runs every line goes through Dagster's log manager: `context.log` calls, Dagster's own
events, and the records of our modules' `logging.getLogger(__name__)` loggers, which the
instance hands to Dagster because `dagster.yaml` lists `intel_assets` under
`python_logs.managed_python_loggers`. The same file installs a handler on the instance
(`python_logs.dagster_handler_config`) that writes each of those records to stdout through
`JsonLogFormatter`, with the run id, job, step and partition (or partition range) Dagster
attached to it. That is the instance's, not a job's: it holds for every run, whoever launches it
(a sensor, a schedule, the UI, a backfill) and whatever its run config. (A logger given to
`dg.Definitions(loggers=...)` would replace the console only in runs whose config names it.)
Dagster's coloured console stays on stderr for people; stdout is the stream for log shippers.

Outside runs, the long-running commands call `configure_cli_logging`, which sends our modules'
records through the same formatter to stderr, with the run fields null.

A line, e.g.:

    {"time": "2026-03-04T05:10:02.118Z", "level": "INFO", "logger": "intel_assets.resources.
     twitch", "message": "obtained a Twitch app token valid for 5011271 s", "run_id": "7c1f...",
     "job": "twitch_collection_job", "step": "twitch_streams", "partition": "fortnite"}

Fields: `time` (UTC, milliseconds), `level`, `logger` (the module's logger; `dagster` for
`context.log` and Dagster's events), `message`, `run_id`, `job`, `step`, `partition` or
`partition_range` ([first, last]), `event` (a Dagster event's type, e.g. STEP_SUCCESS) and
`error` (exception and traceback, when there is one). Messages never hold secrets (the
resources keep them out of every message).
"""

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

DAGSTER_META = "dagster_meta"
"""The attribute Dagster's log manager puts a record's run metadata under."""

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PROJECT_LOGGER = "intel_assets"


def _partition_fields(tags: Mapping[str, str]) -> dict[str, Any]:
    if PARTITION_TAG in tags:
        return {"partition": tags[PARTITION_TAG]}
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return {"partition_range": [tags[RANGE_START_TAG], tags[RANGE_END_TAG]]}
    return {"partition": None}


def log_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The JSON object of one record (see the module docstring for the fields)."""
    meta: Mapping[str, Any] = getattr(record, DAGSTER_META, None) or {}
    time = datetime.fromtimestamp(record.created, UTC)
    fields: dict[str, Any] = {
        "time": time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname,
        "logger": record.name,
        # Dagster rewrites a record's message as "job - run - step - message"; keep the message.
        "message": meta["orig_message"] if "orig_message" in meta else record.getMessage(),
        "run_id": meta.get("run_id"),
        "job": meta.get("job_name"),
        "step": meta.get("step_key"),
        **_partition_fields(meta.get("job_tags") or {}),
    }
    event = meta.get("dagster_event")
    if event is not None:
        fields["event"] = event.event_type_value
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


class JsonLogFormatter(logging.Formatter):
    """Formats each record as one line of JSON (`log_fields`)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as compact JSON; values JSON cannot hold are written as text."""
        return json.dumps(log_fields(record), ensure_ascii=False, default=str)


def configure_cli_logging(level: int = logging.INFO) -> None:
    """Send our modules' log records to stderr as JSON lines (for long-running commands)."""
    logger = logging.getLogger(PROJECT_LOGGER)
    if any(isinstance(h.formatter, JsonLogFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
