"""OAuth-shaped bodies for failures outside the endpoints' own handling.

An unknown path or method under ``/oauth2`` and an unexpected exception in an
endpoint return an OAuth error body (RFC 6749 section 5.2 names the
fields), not the SCIM error body the rest of the application uses.
"""

import inspect
import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from scimbridge.provider.routes import NO_STORE, PREFIX

logger = logging.getLogger(__name__)


def is_provider_path(path: str) -> bool:
    return path.startswith(f"{PREFIX}/") or path.startswith("/.well-known/")


def install_provider_error_handlers(app: FastAPI) -> None:
    """Wrap the handlers installed before, handling provider paths only."""
    http_fallback = app.exception_handlers.get(HTTPException, http_exception_handler)
    error_fallback = app.exception_handlers.get(Exception)

    async def handle_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if is_provider_path(request.url.path):
            error = "invalid_request" if exc.status_code < 500 else "server_error"
            description = {404: "no such endpoint", 405: "method not allowed"}.get(
                exc.status_code, str(exc.detail)
            )
            return JSONResponse(
                {"error": error, "error_description": description},
                status_code=exc.status_code,
                headers={**NO_STORE, **(exc.headers or {})},
            )
        response = http_fallback(request, exc)
        if inspect.isawaitable(response):
            response = await response
        return response

    async def handle_exception(request: Request, exc: Exception) -> Response:
        if is_provider_path(request.url.path):
            logger.exception(
                "unexpected error method=%s path=%s", request.method, request.url.path
            )
            return JSONResponse(
                {"error": "server_error", "error_description": "internal error"},
                status_code=500,
                headers=NO_STORE,
            )
        if error_fallback is None:
            raise exc
        response = error_fallback(request, exc)
        if inspect.isawaitable(response):
            response = await response
        return response

    app.add_exception_handler(HTTPException, handle_http_exception)
    app.add_exception_handler(Exception, handle_exception)
