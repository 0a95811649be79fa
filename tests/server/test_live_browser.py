"""The station's reporting page offline, in real headless Chromium (Debian's, by Playwright):
cut the network, file three reports, restore it: all three arrive, each exactly once (as one
bulk filing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from abroad.server.db import Database

from server.conftest import PASSWORD, Backend
from server.live_server import Served

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 60_000
"""Upper bound on waits (stops a hung test; not a timing assertion)."""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)"
)


@pytest.fixture
def served(backends: dict[str, Backend]) -> Iterator[Served]:
    s = Served(backends["sqlite"].make_url(), tokens=backends["sqlite"].template.tokens).start()
    try:
        yield s
    finally:
        s.stop()


@contextmanager
def logged_in(served: Served, username: str) -> Iterator[tuple[Any, Any]]:
    """(browser context, page) of real headless Chromium, logged in as ``username``."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(served.base + "/login")
            page.get_by_label("User name").fill(username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            yield context, page
        finally:
            browser.close()


def stored_reports(url: str) -> list[tuple[str, str]]:
    db = Database.open(url)
    try:
        with db.read() as s:
            rows = s.execute(text("SELECT client_id, payload FROM station_reports"))
            return [(str(a), str(b)) for a, b in rows]
    finally:
        db.dispose()


def test_reports_filed_offline_arrive_exactly_once(served: Served) -> None:
    from playwright.sync_api import expect

    with logged_in(served, "staff") as (context, page):
        page.goto(served.base + "/elections/tiny/stations/emb/report")
        expect(page.locator("#pending-count")).to_have_text("0")

        context.set_offline(True)
        for n in (120, 180, 260):
            page.get_by_label("People in line now").fill(str(n))
            page.get_by_label("Incident (free text)").fill(f"line {n}")
            page.get_by_label("Incident (free text)").press("Tab")
            page.keyboard.press("Tab")  # the form is usable from the keyboard
            page.get_by_role("button", name="File report").press("Enter")
        expect(page.locator("#pending-count")).to_have_text("3")
        expect(page.locator("#sync-state")).to_contain_text("retrying")
        assert stored_reports(served.db_url) == []

        posted: list[str] = []
        page.on("requestfinished", lambda r: posted.append(r.url) if r.method == "POST" else None)
        context.set_offline(False)
        expect(page.locator("#pending-count")).to_have_text("0")
        expect(page.locator("#sent li")).to_have_count(3)
        # the three waiting went as one bulk filing
        assert posted == [served.base + "/api/elections/tiny/stations/emb/reports/bulk"]
        # a reload finds nothing left on the device to send
        page.reload()
        expect(page.locator("#pending-count")).to_have_text("0")
    rows = stored_reports(served.db_url)
    assert len(rows) == 3
    assert len({cid for cid, _ in rows}) == 3
    assert sorted(n for n in (120, 180, 260) if any(f'"line {n}"' in p for _, p in rows)) == [
        120,
        180,
        260,
    ]


def test_a_4xx_is_shown_for_correction_and_kept(served: Served) -> None:
    from playwright.sync_api import expect

    with logged_in(served, "staff") as (_, page):
        page.goto(served.base + "/elections/tiny/stations/emb/report")
        # both a count and a length: the server answers 422
        page.get_by_label("People in line now").fill("10")
        page.get_by_label("or the line's length (metres)").fill("30")
        page.get_by_role("button", name="File report").click()
        expect(page.locator("#rejected li")).to_have_count(1)
        expect(page.locator("#rejected li")).to_contain_text("line_length_m")
        page.locator("#rejected li").get_by_role("button", name="Correct").click()
        expect(page.get_by_label("People in line now")).to_have_value("10")
        page.get_by_label("or the line's length (metres)").fill("")
        page.get_by_role("button", name="File report").click()
        expect(page.locator("#sent li")).to_have_count(1)
        expect(page.locator("#rejected li")).to_have_count(0)
    assert len(stored_reports(served.db_url)) == 1


def test_a_4xx_in_a_bulk_filing_is_shown_for_correction_and_the_rest_arrive(
    served: Served,
) -> None:
    """Two reports filed offline, one of them invalid (a count and a length): back online they
    go as one bulk filing; the valid one is stored, the other shown for correction."""
    from playwright.sync_api import expect

    with logged_in(served, "staff") as (context, page):
        page.goto(served.base + "/elections/tiny/stations/emb/report")
        context.set_offline(True)
        page.get_by_label("People in line now").fill("40")
        page.get_by_role("button", name="File report").click()
        page.get_by_label("People in line now").fill("10")
        page.get_by_label("or the line's length (metres)").fill("30")
        page.get_by_role("button", name="File report").click()
        expect(page.locator("#pending-count")).to_have_text("2")
        context.set_offline(False)
        expect(page.locator("#sent li")).to_have_count(1)
        expect(page.locator("#rejected li")).to_have_count(1)
        expect(page.locator("#rejected li")).to_contain_text("line_length_m")
    rows = stored_reports(served.db_url)
    assert len(rows) == 1 and '"people_in_line": 40' in rows[0][1]


def test_the_console_shows_every_station_with_its_nowcast_and_alerts(served: Served) -> None:
    import json
    import urllib.request

    from playwright.sync_api import expect

    # staff of emb report a long line over the API with the station's device token
    token = served.tokens["station_emb"]
    for cid, hhmm, line, done, incident in (
        ("con-0001", "09:00", 300, 100, None),
        ("con-0002", "13:00", 2000, 1200, "printer jammed at desk 2"),
    ):
        req = urllib.request.Request(
            served.base + "/api/elections/tiny/stations/emb/reports",
            data=json.dumps(
                {
                    "client_id": cid,
                    "taken_at": f"2024-03-17T{hhmm}:00-04:00",
                    "people_in_line": line,
                    "processed": done,
                    "incident": incident,
                }
            ).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 201
    with logged_in(served, "admin") as (_, page):
        page.goto(served.base + "/elections/tiny/console")
        expect(page.locator("#console tbody tr")).to_have_count(2)
        row = page.locator("#station-emb")
        expect(row.locator("td.left")).not_to_have_text("–")  # the nowcaster ran
        expect(row).to_contain_text("left_at_close")
        expect(row).to_contain_text("extend")
        # the state between the nowcaster's two passes (alerts stored, actions not yet): the
        # console says so instead of showing an alert without actions
        db = Database.open(served.db_url)
        try:
            with db.write() as s:
                s.execute(
                    text(
                        "UPDATE station_nowcasts SET result = "
                        "json_set(result, '$.actions_pending', json('true')) "
                        "WHERE station_key = 'emb'"
                    )
                )
                s.execute(
                    text("UPDATE station_alerts SET actions = '[]' WHERE station_key = 'emb'")
                )
        finally:
            db.dispose()
        expect(row.locator("li.actions-pending").first).to_have_text("actions being computed…")
        expect(row).not_to_contain_text("extend")
        # cg never reported although it opened at 08:00 (Houston): silent
        # (raised in the nowcaster's pass after emb's nowcast: the next poll may bring it)
        expect(page.locator("#station-cg")).to_contain_text("silent", timeout=30_000)
        hot = page.locator('#map path.leaflet-interactive[stroke="#b00020"]')
        expect(hot).to_have_count(2)  # the stations with open alerts, in red
        # keyboard only: focus the station's name, press Enter, land on the charts
        row.get_by_role("button", name="Embassy (emb)").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#chart-title")).to_be_focused()
        expect(page.locator("#chart circle.seen")).to_have_count(2)  # the two reports
        expect(page.locator("#chart polyline.predicted")).to_have_count(1)
        # processed voters: reported (two dots), planned (dashed), predicted (with its band)
        processed = page.locator("#processed-chart")
        expect(processed.locator("circle.seen")).to_have_count(2)
        expect(processed.locator("polyline.planned")).to_have_count(1)
        expect(processed.locator("polyline.predicted")).to_have_count(1)
        expect(page.locator("#processed-desc")).to_contain_text("reported 1200")
        # the timeline: the reports, the incident, the alert raised; filtered to the station
        timeline = page.locator("#timeline")
        expect(timeline).to_contain_text("printer jammed at desk 2")
        expect(timeline.locator("li.tl-alert_raised").first).to_be_visible()
        expect(timeline.locator("li.tl-report")).to_have_count(2)
        expect(page.get_by_label("Show")).to_have_value("emb")
        row.get_by_role("button", name="Acknowledge").first.click()
        expect(row.locator(".alert-acknowledged").first).to_be_visible()
        expect(timeline.locator("li.tl-alert_acknowledged")).to_have_count(1)
        # the thresholds form: raise the people-left threshold, the nowcaster judges again
        left_field = page.get_by_label("People predicted still in line at closing, at least")
        expect(left_field).to_have_value("20")
        left_field.fill("1000000")
        left_field.press("Enter")  # submits from the keyboard
        expect(page.locator("#settings-state")).to_contain_text("Saved")
        expect(row.locator(".alert-acknowledged").first).to_contain_text("no longer predicted")


def test_the_console_fits_a_phone_and_shows_staff_their_stations_only(served: Served) -> None:
    import json
    import urllib.request

    from playwright.sync_api import expect

    for station, token, cid, taken, incident in (
        ("emb", served.tokens["station_emb"], "pho-0001", "2024-03-17T10:00:00-04:00", "emb leak"),
    ):
        req = urllib.request.Request(
            served.base + f"/api/elections/tiny/stations/{station}/reports",
            data=json.dumps(
                {
                    "client_id": cid,
                    "taken_at": taken,
                    "people_in_line": 40,
                    "incident": incident,
                }
            ).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 201
    with logged_in(served, "staff_other") as (_, page):  # mission staff of cg
        page.set_viewport_size({"width": 375, "height": 740})
        page.goto(served.base + "/elections/tiny/console")
        expect(page.locator("#console tbody tr")).to_have_count(1)
        expect(page.locator("#station-cg")).to_be_visible()
        # only cg's items (it never reported, so it may already be flagged silent), none of emb
        expect(page.locator("#timeline")).not_to_contain_text("emb leak")
        expect(page.locator("#timeline")).not_to_contain_text("emb:")
        # thresholds are shown, read-only, without a save button
        expect(page.get_by_label("No report for (minutes)")).to_have_value("45")
        expect(page.get_by_label("No report for (minutes)")).to_have_attribute("readonly", "")
        expect(page.get_by_role("button", name="Save thresholds")).to_have_count(0)
        # nothing wider than the phone: the table scrolls inside its own box
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
