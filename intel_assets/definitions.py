"""The one `Definitions` of Creator Intel: every domain's definitions merged with the resources.

Each domain under `intel_assets/defs/` exposes its own `dg.Definitions` (assets, checks,
schedules, sensors); this module merges them and binds the resources, configured from the
environment when a run starts (secrets through `dg.EnvVar`).
"""

import dagster as dg
from dagster_aws.s3 import S3Resource

from intel_assets.defs.aggregation.definitions import defs as aggregation_defs
from intel_assets.defs.archive.definitions import defs as archive_defs
from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse


def build_resources() -> dict[str, object]:
    """The resources every domain shares, configured from the environment at run time."""
    warehouse = PostgresWarehouse(url=dg.EnvVar("INTEL_POSTGRES_URL"))
    hot_tier = RedisHotTier(url=dg.EnvVar("INTEL_REDIS_URL"))
    # S3 endpoint, region and credentials: boto3 reads AWS_* from the environment itself.
    archive = ArchiveStore(url=dg.EnvVar("INTEL_ARCHIVE_URL"), s3=S3Resource())
    return {
        "warehouse": warehouse,
        "hot_tier": hot_tier,
        "archive": archive,
    }


@dg.definitions
def defs() -> dg.Definitions:
    """Creator Intel's asset graph, checks, schedules and sensors, with their resources."""
    domains: list[dg.Definitions] = [aggregation_defs, archive_defs]
    return dg.Definitions.merge(*domains, dg.Definitions(resources=build_resources()))
