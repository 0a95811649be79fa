"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from abroad import __version__
from abroad.server import errors
from abroad.server.access import ACCESS_ATTR, Access, AccessCache
from abroad.server.config import Settings
from abroad.server.db import Database, check_schema
from abroad.server.jobs import JobRunner, sweep_stale
from abroad.server.routes import (
    admin_api,
    auth_api,
    live_api,
    live_console_api,
    live_pages,
    meta,
    pages,
    public_api,
    stations_api,
    workspace_api,
)
from abroad.server.schemas import Role
from abroad.server.services.ingest import Ingest
from abroad.server.services.nowcaster import Nowcaster

HERE = Path(__file__).resolve().parent
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over the limit with 413 (by Content-Length, or while reading).

    Also adds the security headers to every response (no sniffing, no framing).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.error_response(
            413, "too_large", f"the request body is over {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


def create_app(settings: Settings, *, check: bool = True) -> FastAPI:
    """The app on ``settings.db_url``; raises ``SchemaOutOfDate`` when the schema is behind."""
    db = Database.open(settings.db_url)
    if check:
        try:
            check_schema(db)
        except Exception:
            db.dispose()
            raise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweep_stale(db, settings)
        runner = JobRunner(db, settings)
        app.state.jobs = runner
        app.state.nowcaster = Nowcaster(settings.db_url) if settings.nowcast_thread else None
        try:
            yield
        finally:
            app.state.ingest.close()
            if app.state.nowcaster is not None:
                app.state.nowcaster.close()
            runner.close()
            db.dispose()

    app = FastAPI(
        title="abroad",
        version=__version__,
        description=(
            "Plan and run in-person voting for citizens abroad. Every route declares the roles "
            "that may call it (see docs/reference/roles.md). Errors have one shape: "
            '`{"error": {"code", "message", "details": [{"loc", "msg"}]}}`.'
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.ingest = Ingest(db, enabled=settings.group_commit)
    app.state.access_cache = AccessCache.of(db, settings.access_cache_seconds)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    errors.install(app)
    for module in (
        meta,
        auth_api,
        public_api,
        workspace_api,
        stations_api,
        live_api,
        live_console_api,
        admin_api,
        pages,
        live_pages,
    ):
        app.include_router(module.router)
    static = StaticFiles(directory=str(HERE / "static"))
    setattr(static, ACCESS_ATTR, Access(frozenset({Role.PUBLIC})))
    app.mount("/static", static, name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    return app
