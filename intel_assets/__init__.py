"""Creator Intel: YouTube and Twitch game intelligence as a Dagster asset graph."""

from intel_assets import warning_filters

warning_filters.silence()
