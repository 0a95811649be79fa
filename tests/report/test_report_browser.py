"""Headless Chromium opens the report from file:// and makes no network request; the map draws.

Skipped only when no Chromium is installed (``make browser`` installs Debian's as root).
Set ABROAD_SCREENSHOT_DIR to keep the screenshot for a look.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest
from report_browser import find_chromium, open_page, page_caused

from abroad.report import ReportData, write_report

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (run `make browser` as root to install it)"
)


SORT_JS = """(function () {
  var table = document.querySelectorAll("table.sortable")[1];  // 'Stations' (after variants)
  var th = table.querySelectorAll("th")[1];  // 'Voters'
  function column() {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return r.cells[1].textContent;
    });
  }
  th.click();
  var asc = column();
  th.click();
  return JSON.stringify([asc, column()]);
})()"""


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def test_report_makes_no_request_and_draws_the_map(sample_data: ReportData, tmp_path: Path) -> None:
    assert CHROMIUM is not None and sample_data.map is not None
    report = tmp_path / "report.html"
    write_report(sample_data, report)
    run = open_page(CHROMIUM, report, tmp_path, width=1280, height=2000, extra_js=SORT_JS)

    # (a) nothing but the report file itself was requested, by any scheme, and nothing reached
    # the network (the proxy every connection would go through)
    assert run.requests == [report.resolve().as_uri()]
    assert page_caused(run.proxy_requests) == []
    assert run.console_errors == []

    # (b) the map rendered: country and state outlines, every place, every station
    m = sample_data.map
    far = sum(1 for p in m.places if p.distance_km is not None and p.distance_km > m.far_km)
    assert run.counts["map_ready"] == 1
    assert run.counts["countries"] >= 200
    assert run.counts["states"] == 56
    assert run.counts["places"] == len(m.places)
    assert run.counts["far_places"] == far
    assert run.counts["stations"] == len(m.stations)
    assert run.counts["closed_stations"] == sum(1 for s in m.stations if not s.is_open)
    assert run.counts["lines"] == sum(1 for p in m.places if p.station_id is not None)
    assert run.counts["interactive"] == len(m.places) + len(m.stations)
    assert run.counts["charts"] == len(sample_data.charts)
    assert run.counts["legend_rows"] == 7

    # (c) a screenshot of the page
    assert _png_size(run.screenshot_png) == (1280, 2000)
    assert len(run.screenshot_png) > 50_000  # a blank page compresses to a few kB
    shot = tmp_path / "report.png"
    shot.write_bytes(run.screenshot_png)
    keep = os.environ.get("ABROAD_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report.png")

    # (d) tables sort by a click on a header: numbers as numbers, empty cells last
    ascending, descending = run.extra
    assert ascending == ["900", "1,400", "2,600", "5,200", "–"]
    assert descending == ["5,200", "2,600", "1,400", "900", "–"]


def test_the_recorders_do_see_requests_a_page_makes(tmp_path: Path) -> None:
    """Negative control: a page that does reach out is caught by both recorders."""
    assert CHROMIUM is not None
    page = tmp_path / "leaky.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>leaky</p>"
        '<img src="http://tiles.example.invalid/1/2/3.png">'
        '<script>fetch("https://cdn.example.invalid/x.js").catch(function () {});</script>'
        "</body></html>",
        encoding="utf-8",
    )
    run = open_page(CHROMIUM, page, tmp_path, width=400, height=300, settle_s=1.5)
    assert "http://tiles.example.invalid/1/2/3.png" in run.requests
    assert "https://cdn.example.invalid/x.js" in run.requests
    caught = page_caused(run.proxy_requests)
    assert any("tiles.example.invalid" in r for r in caught), run.proxy_requests
    assert any("cdn.example.invalid" in r for r in caught), run.proxy_requests
