"""``abroad demo-live`` shows the operations console live: in real headless Chromium (Debian's,
by Playwright) the console's stations update while the replay runs, and the nowcasts appear.
Conditions are waited for; nothing is timed."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scenario_factory import write_scenario
from server.live_server import free_port
from server.test_live_browser import CHROMIUM, WAIT_MS

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)"
)


def read_banner(proc: subprocess.Popen[str]) -> dict[str, str]:
    """The console address, password and database folder demo-live prints at start."""
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    text = "".join(lines)
    found = {
        "console": re.search(r"console:\s+(\S+)", text),
        "password": re.search(r"password: (\S+)", text),
        "folder": re.search(r"database in (\S+),", text),
    }
    assert all(found.values()), text + (proc.stderr.read() if proc.stderr else "")
    return {k: m[1] for k, m in found.items() if m is not None}


def test_the_console_shows_stations_updating_during_a_replay(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    abroad = shutil.which("abroad", path=str(Path(sys.executable).parent))
    assert abroad is not None
    scenario = write_scenario(tmp_path / "tiny")
    cmd = [abroad, "demo-live", str(scenario), "--port", str(free_port())]
    # 08:00-21:00 at 300x: reports every 3 s for about 2.5 minutes; the test ends as soon as
    # what it waits for has happened
    proc = subprocess.Popen(
        [*cmd, "--speed", "300", "--every", "15"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = read_banner(proc)
        expect.set_options(timeout=WAIT_MS)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
            )
            try:
                page = browser.new_page()
                page.set_default_timeout(WAIT_MS)
                page.goto(banner["console"].split("/elections/")[0] + "/login")
                page.get_by_label("User name").fill("admin")
                page.get_by_label("Password").fill(banner["password"])
                page.get_by_role("button", name="Log in").click()
                page.goto(banner["console"])
                expect(page.locator("#station-count")).to_have_text("2")
                taken = page.locator("#station-emb td").nth(1)
                expect(taken).not_to_have_text("no report")
                first = taken.inner_text()
                # a later report arrives and the page redraws without a reload
                expect(taken).not_to_have_text(first)
                expect(page.locator("#station-cg td").nth(1)).not_to_have_text("no report")
                # the nowcaster has predicted the station's day: "mean (low–high)"
                expect(page.locator("#station-emb td.wait")).to_have_text(
                    re.compile(r"^\d+ \(\d+–\d+\)$")
                )
                expect(page.locator("#station-emb td.left")).to_have_text(
                    re.compile(r"^\d+ \(\d+–\d+\)$")
                )
                # its chart: the reported line as dots
                page.get_by_role("button", name="Embassy (emb)").click()
                expect(page.locator("#chart circle.seen").first).to_be_visible()
            finally:
                browser.close()
        assert proc.poll() is None  # still serving
    finally:
        # SIGTERM (as Ctrl-C): a process started from a pytest-xdist worker inherits SIGINT
        # ignored, so Python would not turn it into KeyboardInterrupt
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=240)  # drains its output (and the server's) while it stops
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    assert not Path(banner["folder"]).exists()  # the throwaway database is gone
