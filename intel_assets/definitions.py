"""The one `Definitions` of Creator Intel: every domain's assets merged with the resources."""

import dagster as dg

from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse


def build_resources() -> dict[str, object]:
    """The resources every domain shares, configured from the environment at run time."""
    return {
        "warehouse": PostgresWarehouse(url=dg.EnvVar("INTEL_POSTGRES_URL")),
        "hot_tier": RedisHotTier(url=dg.EnvVar("INTEL_REDIS_URL")),
    }


defs = dg.Definitions(resources=build_resources())
