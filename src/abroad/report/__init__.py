"""The offline HTML report: one self-contained file with a map, tables and charts.

Fill a ``ReportData`` (the map part from arrays with ``map_from_arrays``) and call
``write_report(data, path)``. The report only renders what it is given.
"""

from abroad.report.assets_loader import ReportAssetsMissingError
from abroad.report.data import (
    Cell,
    Chart,
    KeyFigure,
    MapData,
    PlaceMark,
    ReportData,
    Series,
    StationMark,
    Table,
    map_from_arrays,
)
from abroad.report.html import render_report, write_report

__all__ = [
    "Cell",
    "Chart",
    "KeyFigure",
    "MapData",
    "PlaceMark",
    "ReportAssetsMissingError",
    "ReportData",
    "Series",
    "StationMark",
    "Table",
    "map_from_arrays",
    "render_report",
    "write_report",
]
