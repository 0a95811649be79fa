"""The map library and outlines the report inlines, read from the package's asset folder.

The folder ``abroad/report/assets`` is produced at install time by ``make assets``
(tools/build_assets.py from pinned npm packages); it is not in git.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

ASSET_FILES = (
    "leaflet.js",
    "leaflet.css",
    "world-countries.geojson",
    "us-states.geojson",
    "NOTICE.txt",
)


class ReportAssetsMissingError(RuntimeError):
    """The report's offline assets are not installed."""


@dataclass(frozen=True)
class ReportAssets:
    leaflet_js: str
    leaflet_css: str
    world_geojson: str
    us_states_geojson: str
    notice: str


@cache
def load_assets() -> ReportAssets:
    """Read the assets once per process; ReportAssetsMissingError says how to build them."""
    return load_assets_from(resources.files("abroad.report").joinpath("assets"))


def load_assets_from(folder: Traversable) -> ReportAssets:
    """Read the assets from ``folder`` (the package's asset folder, or another for tests)."""
    missing = [name for name in ASSET_FILES if not folder.joinpath(name).is_file()]
    if missing:
        raise ReportAssetsMissingError(
            f"the report's offline map assets are missing ({', '.join(missing)} in "
            f"abroad/report/assets): run `make assets` in the repository (it runs `npm ci` in "
            "web/ and tools/build_assets.py)"
        )

    def read(name: str) -> str:
        return folder.joinpath(name).read_text(encoding="utf-8")

    return ReportAssets(
        leaflet_js=read("leaflet.js"),
        leaflet_css=read("leaflet.css"),
        world_geojson=read("world-countries.geojson").strip(),
        us_states_geojson=read("us-states.geojson").strip(),
        notice=read("NOTICE.txt").strip(),
    )
