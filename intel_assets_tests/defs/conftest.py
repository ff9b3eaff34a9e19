"""Fixtures shared by the tests of the asset definitions."""

from collections.abc import Iterator

import dagster as dg
import pytest


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A throwaway Dagster instance (a package's own `instance` fixture overrides it)."""
    with dg.instance_for_test() as test_instance:
        yield test_instance
