"""The one `Definitions` of Creator Intel: every domain's definitions merged with the resources.

Each domain under `intel_assets/defs/` exposes its own `dg.Definitions` (assets, checks,
schedules, sensors); this module merges them and binds the resources, configured from the
environment when a run starts (secrets through `dg.EnvVar`).
"""

import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from intel_assets.defs.aggregation.definitions import defs as aggregation_defs
from intel_assets.defs.analysis.definitions import defs as analysis_defs
from intel_assets.defs.archive.definitions import defs as archive_defs
from intel_assets.defs.asset_metadata import with_catalog_metadata
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.defs.collection.definitions import defs as collection_defs
from intel_assets.defs.operations.definitions import defs as operations_defs
from intel_assets.execution import executor_from_environment
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.twitch import TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource
from intel_assets.settings import (
    DEFAULT_TWITCH_API_URL,
    DEFAULT_TWITCH_AUTH_URL,
    DEFAULT_YOUTUBE_API_URL,
)


def build_resources() -> dict[str, object]:
    """The resources every domain shares, configured from the environment at run time."""
    hot_tier = RedisHotTier(url=dg.EnvVar("INTEL_REDIS_URL"))
    # The warehouse counts the rows it writes in Redis, for the Prometheus metrics.
    warehouse = PostgresWarehouse(url=dg.EnvVar("INTEL_POSTGRES_URL"), metrics=hot_tier)
    # S3 endpoint, region and credentials: boto3 reads AWS_* from the environment itself.
    archive = ArchiveStore(url=dg.EnvVar("INTEL_ARCHIVE_URL"), s3=S3Resource())
    # Base URLs are not secrets: read when the definitions load (never at import), with the
    # real APIs as defaults. Keys and secrets stay EnvVars, resolved only inside runs.
    youtube = YouTubeResource(
        api_key=dg.EnvVar("YOUTUBE_API_KEY"),
        api_url=os.environ.get("YOUTUBE_API_URL") or DEFAULT_YOUTUBE_API_URL,
        redis=hot_tier,
        warehouse=warehouse,
    )
    twitch = TwitchResource(
        client_id=dg.EnvVar("TWITCH_CLIENT_ID"),
        client_secret=dg.EnvVar("TWITCH_CLIENT_SECRET"),
        api_url=os.environ.get("TWITCH_API_URL") or DEFAULT_TWITCH_API_URL,
        auth_url=os.environ.get("TWITCH_AUTH_URL") or DEFAULT_TWITCH_AUTH_URL,
        redis=hot_tier,
        warehouse=warehouse,
    )
    return {
        "warehouse": warehouse,
        "hot_tier": hot_tier,
        "archive": archive,
        "youtube": youtube,
        "twitch": twitch,
        "collection_policy": CollectionPolicy(),
    }


@dg.definitions
def defs() -> dg.Definitions:
    """Creator Intel's asset graph, checks, schedules and sensors, with their resources.

    Every asset gets its owners, table metadata and code reference (`defs/asset_metadata.py`);
    every job runs its steps with the executor `INTEL_EXECUTOR` selects (`execution.py`).
    """
    domains: list[dg.Definitions] = [
        collection_defs,
        analysis_defs,
        aggregation_defs,
        archive_defs,
        operations_defs,
    ]
    merged = dg.Definitions.merge(*domains)
    every = list(merged.assets or [])
    assets = [a for a in every if isinstance(a, dg.AssetsDefinition)]
    if len(assets) != len(every):
        raise TypeError("every domain defines its assets as AssetsDefinitions")
    return dg.Definitions(
        assets=with_catalog_metadata(assets),
        asset_checks=merged.asset_checks,
        jobs=merged.jobs,
        schedules=merged.schedules,
        sensors=merged.sensors,
        resources=build_resources(),
        executor=executor_from_environment(os.environ),
    )
