"""The admin route class: authenticate first, then render every error as admin JSON."""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from scimbridge.admin.auth import authorize_admin
from scimbridge.admin.errors import (
    AdminError,
    error_from_http_exception,
    error_from_validation,
)

logger = logging.getLogger(__name__)


class AdminRoute(APIRoute):
    """A route that checks the admin token, then runs the endpoint.

    The token is checked before FastAPI reads the body, so an unauthenticated
    request gets 401 (or 404 while the API is disabled) whatever it sends.
    Every failure of the request, from authentication, body validation or the
    endpoint, is rendered here in the admin format, so it never reaches the
    application's exception handlers.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_admin(request: Request) -> Response:
            try:
                authorize_admin(request)
                return await handle(request)
            except AdminError as exc:
                return exc.to_response()
            except RequestValidationError as exc:
                return error_from_validation(exc)
            except HTTPException as exc:
                return error_from_http_exception(exc)
            except Exception:
                logger.exception(
                    "admin request failed method=%s path=%s",
                    request.method,
                    request.url.path,
                )
                return AdminError(
                    "internal server error, logged on the server"
                ).to_response()

        return handle_as_admin
