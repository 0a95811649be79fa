"""The API's own description (OpenAPI at /api/openapi.json, a browsable page at /api/docs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from abroad.server.access import Principal, allow
from abroad.server.schemas import Role

router = APIRouter(tags=["meta"])


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Principal = allow(Role.PUBLIC)) -> JSONResponse:
    """The OpenAPI description of the API."""
    return JSONResponse(request.app.openapi())


@router.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
def docs(request: Request, _: Principal = allow(Role.PUBLIC)) -> Any:
    """A browsable page of the API (no CDN: rendered from the OpenAPI by our own script)."""
    return request.app.state.templates.TemplateResponse(request, "api_docs.html", {})


@router.get("/healthz", include_in_schema=False)
def health(_: Principal = allow(Role.PUBLIC)) -> dict[str, str]:
    """Liveness probe for proxies and orchestrators."""
    return {"status": "ok"}
