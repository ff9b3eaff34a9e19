"""The collection domain: snapshot assets, their jobs and the sensors that schedule them."""

import dagster as dg

from intel_assets.defs.collection.assets import (
    twitch_collection_job,
    twitch_streams,
    youtube_collection_job,
    youtube_videos,
)
from intel_assets.defs.collection.checks import twitch_streams_checks, youtube_videos_checks
from intel_assets.defs.collection.sensors import collection_sensor, game_discovery_sensor
from intel_assets.defs.collection.twitch_channels import (
    twitch_channels,
    twitch_channels_job,
    twitch_channels_schedule,
)
from intel_assets.defs.collection.twitch_channels_checks import twitch_channels_checks

defs = dg.Definitions(
    assets=[youtube_videos, twitch_streams, twitch_channels],
    asset_checks=[youtube_videos_checks, twitch_streams_checks, twitch_channels_checks],
    jobs=[youtube_collection_job, twitch_collection_job, twitch_channels_job],
    schedules=[twitch_channels_schedule],
    sensors=[collection_sensor, game_discovery_sensor],
)
