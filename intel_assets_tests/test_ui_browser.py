"""The Dagster UI as a browser renders it: the asset graph and a partitioned asset's pages.

Headless Chromium (Debian's `chromium` package) renders each page, JavaScript and GraphQL
included, and the test reads the resulting DOM. Where no Chromium is installed (CI machines
have Python and PyPI only, and a browser cannot be downloaded at run time) the test is skipped
and says so.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from intel_assets_tests.conftest import DagsterDev

ERROR_BANNERS = (
    "Unexpected GraphQL error",
    "Something went wrong",
    "An unexpected error occurred",
    "PythonError",
    "Page not found",
)
"""Texts the UI shows when a page or a query of it failed."""


def find_chromium() -> str | None:
    """A headless-capable Chromium on this machine, or None."""
    chosen = os.environ.get("INTEL_CHROMIUM")
    if chosen:
        return chosen
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def rendered(chromium: str, url: str, screenshot: Path | None = None) -> str:
    """The DOM of `url` once the page has loaded and settled; optionally a screenshot of it."""
    base = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1600,1000",
        # Virtual time runs while the page waits on the network, so its queries finish first.
        "--virtual-time-budget=25000",
    ]
    if screenshot is not None:
        subprocess.run(
            [*base, f"--screenshot={screenshot}", url], check=True, capture_output=True, timeout=120
        )
    done = subprocess.run(
        [*base, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip(
            "no Chromium on this machine (apt-get install chromium, or set INTEL_CHROMIUM): "
            "the browser test runs where one is installed"
        )
    return found


def test_the_asset_graph_and_a_partitioned_assets_pages_render_without_error(
    chromium: str, dagster_dev: DagsterDev
):
    shots = os.environ.get("INTEL_SCREENSHOTS_DIR")
    pages = {
        "asset-graph": f"{dagster_dev.url}/asset-groups",
        "hourly-partitions": f"{dagster_dev.url}/assets/hourly_metrics?view=partitions",
        "hourly-checks": f"{dagster_dev.url}/assets/hourly_metrics?view=checks",
    }
    doms = {
        name: rendered(chromium, url, Path(shots) / f"{name}.png" if shots else None)
        for name, url in pages.items()
    }
    for name, dom in doms.items():
        for banner in ERROR_BANNERS:
            assert banner not in dom, (name, banner)
    # The global graph opens with each group collapsed to a node of its own.
    assert "Global asset lineage" in doms["asset-graph"]
    for group in ("collection", "analysis", "aggregation", "archive"):
        assert f">{group}<" in doms["asset-graph"], group
    for name in ("hourly-partitions", "hourly-checks"):
        assert "hourly_metrics" in doms[name], (name, doms[name][-2000:])
    assert "hourly_metrics_cover_every_game_with_data" in doms["hourly-checks"]
