"""One error shape for every 4xx and 5xx: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from abroad.io.errors import Problem
from abroad.server.schemas import ErrorBody, ErrorDetail, ErrorResponse

log = logging.getLogger("abroad.server")

CODES = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
}


class ApiError(Exception):
    """Raised by routes for an expected failure; rendered in the one error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[ErrorDetail] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = headers


def problem_details(problems: Sequence[Problem]) -> list[ErrorDetail]:
    """Located input problems as error details: loc = [file, row, column or path]."""
    out = []
    for p in problems:
        loc: list[str | int] = [p.file]
        if p.row is not None:
            loc.append(p.row)
        if p.column is not None:
            loc.append(p.column)
        if p.path:
            loc.append(p.path)
        out.append(ErrorDetail(loc=loc, msg=p.message))
    return out


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[ErrorDetail] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=list(details)))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _wants_html(request: Request) -> bool:
    """A browser navigating the workspace pages (not the API) gets an HTML error page."""
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
        "accept", ""
    )


def _html(
    request: Request, status: int, message: str, details: Sequence[ErrorDetail] = ()
) -> Response:
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "error.html",
        {
            "me": getattr(request.state, "principal", None),
            "status": status,
            "message": message,
            "details": list(details),
        },
        status_code=status,
    )
    return response


def _code(status: int) -> str:
    return CODES.get(status, "http_" + str(status))


def install(app: FastAPI) -> None:
    """Route every error through the one shape."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if _wants_html(request):
            return _html(request, exc.status, exc.message, exc.details)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def http_error(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        code = headers.pop("X-Abroad-Code", None) or _code(exc.status_code)
        if exc.status_code == 304:
            return Response(status_code=304, headers=headers)
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if _wants_html(request):
            return _html(request, exc.status_code, message)
        return error_response(exc.status_code, code, message, headers=headers or None)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            ErrorDetail(
                loc=[x if isinstance(x, int) else str(x) for x in e.get("loc", ())],
                msg=str(e.get("msg", "invalid")),
            )
            for e in exc.errors()
        ]
        return error_response(422, "invalid_input", "the request is not valid", details)

    async def crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "internal error (logged on the server)")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, crash)
