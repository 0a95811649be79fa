"""The planner workspace in real headless Chromium (Debian's, driven by Playwright).

Runs ``abroad serve`` as a real process: log in, upload the bundled example, run a plan with
a short time limit, watch its progress, open the report, adopt the plan.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abroad.cli import app as cli

from server.conftest import PASSWORD, Backend
from tests_paths import EXAMPLE

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 240_000
"""Upper bound on waits (stops a hung test; not a timing assertion)."""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(backends: dict[str, Backend]) -> Iterator[str]:
    url = backends["sqlite"].make_url()  # the tiny election and one account per role
    port = _free_port()
    abroad = shutil.which("abroad", path=str(Path(sys.executable).parent))
    assert abroad is not None
    proc = subprocess.Popen(
        [abroad, "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        proc.stderr.read().decode() if proc.stderr else ""
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["serve", "--db", f"sqlite:///{tmp_path / 'new.db'}"])
    assert r.exit_code == 1
    assert "abroad db upgrade --db" in r.output


def test_planner_uploads_plans_watches_progress_reads_report_and_adopts(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(server + "/")
            expect(page.get_by_role("link", name="Log in")).to_be_visible()  # 401 page
            page.goto(server + "/login")
            page.get_by_label("User name").fill("planner")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Elections")).to_be_visible()

            # Every file of the example folder (scenario.yaml names its tables and tours file).
            files = sorted(str(p) for p in EXAMPLE.iterdir() if p.suffix in (".yaml", ".csv"))
            page.locator('input[type="file"]').set_input_files(files)
            page.get_by_role("button", name="Upload and import").click()
            expect(page.get_by_role("heading", name="Imported: us-2024")).to_be_visible()
            page.get_by_role("link", name="Open the election").click()
            expect(page.locator("#stations-source")).to_have_text("status quo")

            page.locator('input[name="time_limit_seconds"]').fill("2")
            page.locator('input[name="replications"]').fill("3")
            page.get_by_role("button", name="Start").click()
            page.wait_for_url("**/jobs/*")

            seen: list[float] = []
            deadline = time.monotonic() + WAIT_MS / 1000
            while time.monotonic() < deadline:
                # Status first, then the bar: the page sets both in one update, so a final
                # status read here guarantees the bar read next is the final one too (read the
                # other way round, a poll landing between the two reads paired an old bar
                # value with the final status).
                status = page.locator("#job-status").inner_text()
                seen.append(float(page.locator("#job-progress").evaluate("e => e.value")))
                if status in ("succeeded", "failed"):
                    break
                time.sleep(0.1)
            assert page.locator("#job-status").inner_text() == "succeeded", page.locator(
                "#job-error"
            ).inner_text()
            assert any(0 < v < 1 for v in seen), seen  # the bar moved while it ran
            assert seen[-1] == 1.0

            report = page.locator("#report-link").get_attribute("href")
            assert report is not None
            rpage = context.new_page()
            rpage.goto(server + report)
            assert "us-2024" in rpage.content()
            rpage.close()

            page.get_by_role("link", name="Open the plan").click()
            expect(page.locator("#adopt")).to_be_visible()
            page.locator("#adopt").click()
            expect(page.locator("#stations-source")).to_contain_text("adopted plan")
            expect(page.locator("strong.badge")).to_have_text("adopted")
        finally:
            browser.close()
