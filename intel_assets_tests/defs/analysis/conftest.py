"""Analysis fixtures: the collection tests' simulator, API resources and Dagster instance."""

from intel_assets_tests.defs.collection.conftest import instance, resources, simulator

__all__ = ["instance", "resources", "simulator"]
