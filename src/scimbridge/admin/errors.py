"""Admin API errors, sent as ``{"error": code, "error_description": text}``.

::

    AdminError              500 server_error
     +-- InvalidRequest     400 invalid_request
     +-- InvalidToken       401 invalid_token
     +-- Forbidden          403 forbidden
     +-- ResourceNotFound   404 not_found
     +-- Conflict           409 conflict

FastAPI's own failures take the same shape: :func:`error_from_validation`
renders body validation errors as 400 invalid_request, and
:func:`error_from_http_exception` renders HTTPExceptions such as routing's 404
and 405. The admin routes render all of these themselves (see
:class:`scimbridge.admin.routing.AdminRoute`), so the SCIM error handlers
installed on the application never format an admin error.
"""

import inspect
from collections.abc import Mapping
from typing import ClassVar

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

ADMIN_PREFIX = "/admin"

ERROR_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
}
"""The ``error`` code of each status that an HTTPException can carry."""


class AdminError(Exception):
    """Root of the admin API errors, each class with its HTTP status and error code."""

    status_code: ClassVar[int] = 500
    error: ClassVar[str] = "server_error"

    def __init__(
        self, description: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.description = description
        self.headers = dict(headers or {})

    def to_response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status_code,
            headers=self.headers,
        )


class InvalidRequest(AdminError):
    status_code = 400
    error = "invalid_request"


class InvalidToken(AdminError):
    status_code = 401
    error = "invalid_token"


class Forbidden(AdminError):
    status_code = 403
    error = "forbidden"


class ResourceNotFound(AdminError):
    status_code = 404
    error = "not_found"


class Conflict(AdminError):
    status_code = 409
    error = "conflict"


def is_admin_path(path: str) -> bool:
    """Return whether an application path (without the root path) is under /admin."""
    return path == ADMIN_PREFIX or path.startswith(f"{ADMIN_PREFIX}/")


def error_from_http_exception(exc: HTTPException) -> JSONResponse:
    """Render an HTTPException, such as routing's 404 and 405, in the admin format."""
    status = exc.status_code
    default_code = "server_error" if status >= 500 else "invalid_request"
    return JSONResponse(
        {
            "error": ERROR_CODES.get(status, default_code),
            "error_description": str(exc.detail),
        },
        status_code=status,
        headers=exc.headers,
    )


def error_from_validation(exc: RequestValidationError) -> JSONResponse:
    """Render a request validation failure as 400 invalid_request."""
    problems = [_describe_problem(error) for error in exc.errors()]
    return InvalidRequest("; ".join(problems) or "invalid request").to_response()


def _describe_problem(error: Mapping[str, object]) -> str:
    if error.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    location = error.get("loc")
    parts = list(location) if isinstance(location, (list, tuple)) else []
    if parts[:1] == ["body"]:
        parts = parts[1:]
    where = ".".join(str(part) for part in parts) or "request body"
    return f"{where}: {problem_message(error)}"


def problem_message(error: Mapping[str, object]) -> str:
    """Return a pydantic error's message, without the "Value error, " of validators."""
    context = error.get("ctx")
    if error.get("type") == "value_error" and isinstance(context, Mapping):
        return str(context.get("error"))
    return str(error.get("msg"))


def install_admin_error_handlers(app: FastAPI) -> None:
    """Render HTTP errors of unmatched /admin paths (404, 405) in the admin format.

    The handler wraps the HTTPException handler installed before it and
    passes every other path to that one, so call this after the SCIM error
    handlers are installed.
    """
    fallback = app.exception_handlers.get(HTTPException, http_exception_handler)

    async def handle_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if is_admin_path(_app_path(request)):
            return error_from_http_exception(exc)
        response = fallback(request, exc)
        if inspect.isawaitable(response):
            response = await response
        return response

    app.add_exception_handler(HTTPException, handle_http_exception)


def _app_path(request: Request) -> str:
    path: str = request.scope["path"]
    root_path: str = request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        return path[len(root_path) :]
    return path
