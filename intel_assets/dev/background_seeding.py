"""History seeding beside a running Dagster: the flag that pauses live collection, and backfills.

`intel-assets dev` serves the UI at once and seeds in a process of its own. While that process
replays the past, it holds a flag in Redis (`SEEDING_KEY`, 2 minutes, renewed every step):
the live `collection_sensor` of the daemon then skips with that reason, since a live collection
would move a game's collection state to now and the replay would find nothing due. As the hours
are seeded, the process asks the running webserver for backfills of them, exactly as the UI's
*Materialize* dialog does (`launchPartitionBackfill`), so the Runs page shows the history
arriving and every seeded partition ends materialized.
"""

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import redis

from intel_assets.resources.redis_keys import SEEDING_KEY, SEEDING_TTL_SECONDS

"""How long the flag outlives its last renewal: a killed seeding pauses collection no longer."""

SEEDING_TAG = "intel/seeding"
"""Tag of the backfills (and so the runs) a seeding launches."""

HOURLY_ASSETS: tuple[str, ...] = ("hourly_metrics",)
DAILY_ASSETS: tuple[str, ...] = (
    "daily_rollup",
    "duration_performance",
    "regional_performance",
    "premiere_performance",
)

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
}
"""
READY = "{ version }"
UNFINISHED = {"REQUESTED", "CANCELING", "FAILING"}


def process_token() -> str:
    """Who holds the flag: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def hold_seeding_flag(client: redis.Redis) -> None:
    """Set or renew the flag for this process."""
    client.set(SEEDING_KEY, process_token(), ex=SEEDING_TTL_SECONDS)


def release_seeding_flag(client: redis.Redis) -> None:
    """Drop the flag if this process holds it."""
    if client.get(SEEDING_KEY) in (process_token(), process_token().encode()):
        client.delete(SEEDING_KEY)


def seeding_elsewhere(client: redis.Redis) -> str | None:
    """The holder of the flag when another process seeds, else None."""
    holder = client.get(SEEDING_KEY)
    if holder is None:
        return None
    text = holder.decode() if isinstance(holder, bytes) else str(holder)
    return None if text == process_token() else text


def hour_key(at: datetime) -> str:
    """The hourly partition key of the hour starting at `at`."""
    return f"{at:%Y-%m-%d-%H:%M}"


def full_days(start: datetime, end: datetime) -> tuple[str, str] | None:
    """First and last key of the UTC days wholly inside `[start, end)`, or None if none is."""
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(days=1)
    last = end.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    if last < first:
        return None
    return f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"


@dataclass
class SeedingBackfills:
    """Backfills of the seeded hours and days through a running webserver's GraphQL API.

    Attributes:
        url: The webserver, e.g. `http://127.0.0.1:3000`.
        launched: The ids of the backfills launched so far.
    """

    url: str
    launched: list[str] = field(default_factory=list)

    def _post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        answer.raise_for_status()
        body = answer.json()
        if body.get("errors"):
            raise RuntimeError(f"the webserver refused {query.split()[0]}: {body['errors']}")
        return body["data"]

    def wait_until_ready(self, timeout_s: float = 300) -> None:
        """Wait until the webserver answers GraphQL."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._post(READY)
                return
            except (httpx.HTTPError, RuntimeError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def launch(self, ranges: Sequence[tuple[str, str, str]], title: str) -> str:
        """Launch one backfill of `(asset, first key, last key)` ranges; its id."""
        params = {
            "partitionsByAssets": [
                {"assetKey": {"path": [asset]}, "partitions": {"range": {"start": a, "end": b}}}
                for asset, a, b in ranges
            ],
            "tags": [{"key": SEEDING_TAG, "value": "true"}],
            "title": title,
        }
        answer = self._post(LAUNCH, {"params": params})["launchPartitionBackfill"]
        if answer["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill {title!r} not launched: {answer}")
        self.launched.append(answer["backfillId"])
        return answer["backfillId"]

    def launch_hours(self, start: datetime, end: datetime) -> str:
        """Backfill `hourly_metrics` for the hours of `[start, end)`."""
        last = end - timedelta(hours=1)
        return self.launch(
            [(a, hour_key(start), hour_key(last)) for a in HOURLY_ASSETS],
            f"seeded hours {hour_key(start)} to {hour_key(last)}",
        )

    def launch_days(self, first: str, last: str) -> str:
        """Backfill the daily assets for the days `first` to `last`."""
        return self.launch(
            [(a, first, last) for a in DAILY_ASSETS], f"seeded days {first} to {last}"
        )

    def wait_for_all(self, timeout_s: float = 1800) -> dict[str, str]:
        """Wait until every launched backfill has finished; their statuses by id."""
        deadline = time.monotonic() + timeout_s
        statuses: dict[str, str] = {}
        while True:
            for backfill in self.launched:
                if statuses.get(backfill, "REQUESTED") in UNFINISHED:
                    found = self._post(BACKFILL_STATUS, {"id": backfill})
                    statuses[backfill] = found["partitionBackfillOrError"]["status"]
            if not any(s in UNFINISHED for s in statuses.values()) or time.monotonic() > deadline:
                return statuses
            time.sleep(2)
