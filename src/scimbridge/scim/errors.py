"""SCIM error responses (RFC 7644 section 3.12) for every failure under /scim.

Every failure, including unknown routes, wrong methods, validation errors and
unexpected exceptions, leaves as a SCIM Error body with the SCIM media type.
No framework default body and no traceback reaches the client.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from scim2_models import (
    ConflictException,
    Error,
    InvalidFilterException,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    SCIMException,
    UniquenessException,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from scimbridge.directory.errors import (
    DirectoryError,
    InvalidMembers,
    InvalidQuery,
    InvalidRecord,
    InvalidSort,
    NotFound,
    UniquenessConflict,
    VersionMismatch,
)
from scimbridge.scim.media import ScimResponse

logger = logging.getLogger(__name__)

SCIM_PREFIX = "/scim/"


def error_response(
    status: int,
    detail: str,
    scim_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> ScimResponse:
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
    }
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    return ScimResponse(body, status_code=status, headers=headers)


def scim_exception_response(exc: SCIMException) -> ScimResponse:
    return error_response(exc.status, error_detail(exc), exc.scim_type or None)


def error_detail(exc: SCIMException) -> str:
    """Return the exception's detail, reworded when it wraps a pydantic error.

    scim2-models raises PATCH value errors with the multi-line text of the
    pydantic ValidationError, which names Python classes. The client gets the
    first error's message and path instead.
    """
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ValidationError):
        errors = Error.from_validation_errors(cause)
        if errors and errors[0].detail:
            return errors[0].detail
    return exc.detail


def validation_exception(exc: ValidationError) -> SCIMException:
    """Turn the first error of a pydantic validation into its SCIM exception."""
    errors = Error.from_validation_errors(exc)
    first = errors[0] if errors else Error(status=400, detail="invalid request")
    scim_exc = SCIMException(detail=first.detail or "invalid request")
    scim_exc.status = first.status or 400
    scim_exc.scim_type = first.scim_type or ""
    return scim_exc


def directory_exception(exc: DirectoryError) -> SCIMException:
    """Translate a directory rule failure into the SCIM error it means."""
    if isinstance(exc, NotFound):
        return NotFoundException(
            detail=f"{exc.resource_type} {exc.resource_id} not found"
        )
    if isinstance(exc, UniquenessConflict):
        return UniquenessException(detail=str(exc))
    if isinstance(exc, VersionMismatch):
        return PreconditionFailedException(
            detail="the resource changed: If-Match does not match its current version"
        )
    if isinstance(exc, InvalidMembers | InvalidRecord):
        return InvalidValueException(detail=str(exc))
    if isinstance(exc, InvalidSort):
        return InvalidValueException(detail=str(exc))
    if isinstance(exc, InvalidQuery):
        return InvalidFilterException(detail=str(exc))
    return ConflictException(detail=str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers that turn every failure into a SCIM error response."""

    @app.exception_handler(SCIMException)
    async def _scim(_request: Request, exc: SCIMException) -> Response:
        response = scim_exception_response(exc)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
        return response

    @app.exception_handler(DirectoryError)
    async def _directory(_request: Request, exc: DirectoryError) -> Response:
        return scim_exception_response(directory_exception(exc))

    @app.exception_handler(ValidationError)
    async def _validation(_request: Request, exc: ValidationError) -> Response:
        return scim_exception_response(validation_exception(exc))

    @app.exception_handler(RequestValidationError)
    async def _request_validation(
        _request: Request, exc: RequestValidationError
    ) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        location = ".".join(str(part) for part in first.get("loc", ()))
        detail = f"invalid request parameter {location}: {first.get('msg', '')}"
        return error_response(400, detail.strip(), "invalidValue")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            detail = f"no SCIM endpoint at {request.url.path}"
        elif exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
        else:
            detail = str(exc.detail)
        return error_response(exc.status_code, detail, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception(
            "unexpected error method=%s path=%s", request.method, request.url.path
        )
        return error_response(500, "internal server error; the request was not applied")
