"""Drive headless Chromium over the DevTools protocol on a pipe, and record network traffic.

Two independent recorders:

* the DevTools protocol (``--remote-debugging-pipe``): every request the page issues, any scheme;
* a local "proxy" (a TCP listener on 127.0.0.1 given as ``--proxy-server``, loopback not
  bypassed): any connection the browser tries to open to the network lands here, and is
  recorded and closed without an answer.

Only the standard library; Chromium's flags keep its own background traffic off.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def find_chromium() -> str | None:
    # Debian's /usr/bin/chromium is a shell wrapper that adds flags enabling extension updates
    # (network traffic unrelated to the page): use the binary behind it when there is one.
    for direct in ("/usr/lib/chromium/chromium",):
        if os.access(direct, os.X_OK):
            return direct
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


BROWSER_OWN_TRAFFIC = (
    re.compile(r"^CONNECT accounts\.google\.com:443 "),
    re.compile(r"^CONNECT update\.googleapis\.com:443 "),
    re.compile(r"^POST http://update\.googleapis\.com/service/update2/json\?"),
    re.compile(r"^GET http://clients2\.google\.com/time/1/current\?"),
)
"""Chromium's own background calls (sign-in probe, on-demand component update check, network
time) that this build makes even for about:blank and with every background-networking switch
off. They are not caused by the page; anything else reaching the proxy is."""


def page_caused(proxy_requests: list[str]) -> list[str]:
    """The proxy entries not explained by Chromium's own background traffic."""
    return [r for r in proxy_requests if not any(p.match(r) for p in BROWSER_OWN_TRAFFIC)]


class RecordingProxy:
    """Accepts TCP connections on 127.0.0.1, records the first bytes of each, closes them."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    head = conn.recv(512).split(b"\r\n", 1)[0]
                except OSError:
                    head = b"<no data>"
                self.requests.append(head.decode("latin-1"))

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=2)


@dataclass
class PageRun:
    """What happened when the page was opened."""

    requests: list[str] = field(default_factory=list)
    """URLs of every request the page made (from Network.requestWillBeSent)."""
    proxy_requests: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    extra: Any = None
    """The value of ``extra_js`` (a JSON string, parsed), evaluated after the screenshot."""
    console_errors: list[str] = field(default_factory=list)
    screenshot_png: bytes = b""
    seconds: float = 0.0


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc = proc
        self.write_fd = write_fd
        self.read_fd = read_fd
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        with os.fdopen(self.read_fd, "rb", buffering=0) as f:
            while True:
                chunk = f.read(1 << 16)
                if not chunk:
                    return
                buf += chunk
                while b"\0" in buf:
                    msg, buf = buf.split(b"\0", 1)
                    self.messages.put(json.loads(msg))

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout_s: float = 10.0,
    ) -> dict[str, Any]:
        self.next_id += 1
        mid = self.next_id
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            m = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return dict(m.get("result", {}))
            self.events.append(m)

    def wait_event(self, method: str, timeout_s: float) -> dict[str, Any]:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + timeout_s
        while True:
            m = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            self.events.append(m)
            if m.get("method") == method:
                return m

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(self.messages.get(timeout=0.05))
            except queue.Empty:
                continue


COUNT_JS = """JSON.stringify({
  countries: document.querySelectorAll('path.abroad-country').length,
  states: document.querySelectorAll('path.abroad-state').length,
  places: document.querySelectorAll('path.abroad-place').length,
  far_places: document.querySelectorAll('path.abroad-far').length,
  stations: document.querySelectorAll('path.abroad-station').length,
  closed_stations: document.querySelectorAll('path.abroad-closed').length,
  lines: document.querySelectorAll('path.abroad-line').length,
  interactive: document.querySelectorAll('.leaflet-interactive').length,
  map_ready: document.documentElement.getAttribute('data-map-ready') === '1' ? 1 : 0,
  charts: document.querySelectorAll('figure.chart svg').length,
  legend_rows: document.querySelectorAll('#map-legend .row').length
})"""


def open_page(
    chromium: str,
    html: Path,
    work: Path,
    *,
    width: int = 1280,
    height: int = 2000,
    settle_s: float = 1.0,
    extra_js: str = "",
    media: str = "screen",
) -> PageRun:
    """Open ``html`` via file:// in headless Chromium; record requests, counts, a screenshot."""
    t0 = time.monotonic()
    proxy = RecordingProxy()
    cmd_r, cmd_w = os.pipe()  # we write commands, Chromium reads them on fd 3
    res_r, res_w = os.pipe()  # Chromium writes responses on fd 4, we read them
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--metrics-recording-only",
        "--mute-audio",
        f"--user-data-dir={work / 'profile'}",
        f"--proxy-server=127.0.0.1:{proxy.port}",
        "--proxy-bypass-list=<-loopback>",
        "--remote-debugging-pipe",
        "about:blank",
    ]
    # Chromium expects the pipe on fds 3 and 4: a tiny Python trampoline puts them there
    # (sh cannot: dash only redirects single-digit fds, and ours are higher under pytest)
    trampoline = (
        "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
        "os.execv(sys.argv[3], sys.argv[3:])"
    )
    with open(work / "chromium.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, str(cmd_r), str(res_w), chromium, *args],
            pass_fds=(cmd_r, res_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    os.close(cmd_r)
    os.close(res_w)
    pipe = _Pipe(proc, cmd_w, res_r)
    run = PageRun()
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Network", "Page", "Runtime", "Log"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        if media != "screen":
            pipe.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
        pipe.call("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
        pipe.wait_event("Page.loadEventFired", timeout_s=15)
        pipe.drain(settle_s)  # anything the scripts would fetch after load
        value = pipe.call(
            "Runtime.evaluate", {"expression": COUNT_JS, "returnByValue": True}, session=session
        )["result"]["value"]
        run.counts = {k: int(v) for k, v in json.loads(value).items()}
        shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=session)
        run.screenshot_png = base64.b64decode(shot["data"])
        if extra_js:
            extra = pipe.call(
                "Runtime.evaluate",
                {"expression": extra_js, "returnByValue": True},
                session=session,
            )["result"]["value"]
            run.extra = json.loads(extra)
        pipe.drain(0.2)
        with contextlib.suppress(RuntimeError, queue.Empty):
            pipe.call("Browser.close", timeout_s=3)
    finally:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        os.close(cmd_w)
        proxy.close()
    for e in pipe.events:
        method = e.get("method")
        params = e.get("params", {})
        if method == "Network.requestWillBeSent":
            run.requests.append(str(params["request"]["url"]))
        elif method == "Runtime.exceptionThrown":
            run.console_errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            run.console_errors.append(str(params["entry"].get("text")))
    run.proxy_requests = list(proxy.requests)
    run.seconds = time.monotonic() - t0
    return run
